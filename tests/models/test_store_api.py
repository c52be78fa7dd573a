"""The store's seam: other modules use ``Store.reading()`` / ``Store.writing()``
and the public methods, never the store's internals.

The private methods (``_write``, ``_update_in``, ``_tick``, ``_reindex``…)
hold the store's rules together: a record row, its change-log rows and its
search entry change in one transaction. Code outside ``store.py`` calling
them can break that without any test noticing, and ties every module to how
the store is built today. The source is read with ``ast`` (nothing is
imported), so the check also covers the benchmarks and tools.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.errors import ValidationFailed
from app.models.orm import Person, Record
from app.models.store import Store

ROOT = Path(__file__).resolve().parents[2]
STORE_SOURCE = ROOT / "app" / "models" / "store.py"
# The store's own tests may look inside it; everything else goes through the seam.
CHECKED = ("app", "bench", "tools", "tests")
MAY_LOOK_INSIDE = {STORE_SOURCE, ROOT / "tests" / "models" / "test_store.py"}
# The classes whose private names are the store's internals.
STORE_CLASSES = {"Store", "Work"}
LESSON = {"title": "认识分数", "subject": "math", "grade": 3}


def private_names() -> set[str]:
    """Every ``_name`` the store's classes define: methods, and attributes
    they set on ``self``."""
    tree = ast.parse(STORE_SOURCE.read_text(encoding="utf-8"))
    names: set[str] = set()
    for cls in tree.body:
        if not (isinstance(cls, ast.ClassDef) and cls.name in STORE_CLASSES):
            continue
        for node in ast.walk(cls):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
            elif (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
                  and isinstance(node.value, ast.Name) and node.value.id == "self"):
                names.add(node.attr)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def source_files() -> Iterator[Path]:
    for folder in CHECKED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path not in MAY_LOOK_INSIDE and ".venv" not in path.parts:
                yield path


def private_uses(path: Path, private: set[str]) -> Iterator[str]:
    """``file:line: expr._name`` for each access to one of the store's private
    names on something other than the file's own ``self``/``cls`` or an
    imported module (a class or module elsewhere may well have its own
    ``_write``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    own = {"self", "cls"} | {
        (alias.asname or alias.name).partition(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        or (isinstance(node, ast.ImportFrom) and node.module != "app.models.store")
        for alias in node.names
    }
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr in private):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in own:
            continue
        yield f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}"


def test_the_private_names_are_found() -> None:
    """Guards the check itself: were the names not found, it would pass on anything."""
    assert {"_write", "_update_in", "_tick", "_log_change", "_reindex", "_writer", "_store"} <= (
        private_names()
    )


def test_no_module_outside_the_store_uses_its_internals() -> None:
    private = private_names()
    found = [use for path in source_files() for use in private_uses(path, private)]
    assert found == [], "use Store.reading()/writing() and the public methods:\n" + "\n".join(found)


def test_a_unit_of_work_is_all_or_nothing(store: Store) -> None:
    """A refused edit inside a unit of work takes the caller's own writes with
    it (what attachments and reviews rely on: the blob's row, the entry)."""
    rid = store.create("lesson_plan", LESSON, author="a").id
    logged = store.changes_since()
    with pytest.raises(ValidationFailed), store.writing() as work:
        work.session.add(Person(id=7, name="王芳", role="fellow", school="", cohorts=[]))
        work.update(rid, {"title": "认识小数"})
        work.update(rid, {"grade": "not a grade"})
    assert store.get(rid).values["title"] == "认识分数"
    assert store.changes_since() == logged
    assert store.search("认识小数") == []
    with store.reading() as session:
        assert session.execute(select(func.count()).select_from(Person)).scalar_one() == 0


def test_a_unit_of_work_logs_indexes_and_ticks_once_per_transaction(store: Store) -> None:
    rid = store.create("lesson_plan", LESSON, author="a").id
    with store.writing() as work:
        work.update(rid, {"title": "认识小数"})
        record = work.session.get_one(Record, rid)
        work.set_meta(record, "status", "submitted")
        clock = work.tick()
    assert store.get(rid).status == "submitted"
    assert [r.id for r in store.search("小数")] == [rid]
    logged = {c.field: c.clock for c in store.changes_since()}
    assert logged["title"] < logged["status"] < clock, "every tick moves the Lamport clock on"
