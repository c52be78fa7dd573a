"""The import graph of ``app`` runs strictly downward.

ui, cli, server → sync → protocol/models → errors/paths. An upward arrow
(say, the store importing the sync engine) ties layers that must stay apart:
the server would drag in the client, the models would drag in the network.
The graph is read from the source with ``ast`` (imports inside functions
count too), so nothing has to be imported to check it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

# package -> the app packages it must never import.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "app.protocol": ("app.models", "app.sync", "app.server", "app.ui", "app.cli", "app.documents"),
    "app.models": ("app.sync", "app.server", "app.ui", "app.cli", "app.documents"),
    "app.sync": ("app.server", "app.ui", "app.cli"),
    "app.server": ("app.sync", "app.ui", "app.cli", "app.documents"),
    "app.documents": ("app.sync", "app.server", "app.ui", "app.cli"),
    "app.errors": ("app.models", "app.protocol", "app.sync", "app.server", "app.ui", "app.cli"),
    "app.paths": ("app.models", "app.protocol", "app.sync", "app.server", "app.ui", "app.cli"),
}


def module_name(path: Path) -> str:
    """``app/sync/engine.py`` → ``app.sync.engine``; packages drop ``__init__``."""
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path) -> Iterator[str]:
    """Every module an ``import``/``from … import`` in the file names, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def source_files() -> list[Path]:
    return sorted(APP.rglob("*.py"))


@pytest.mark.parametrize("path", source_files(), ids=lambda p: module_name(p))
def test_no_upward_import(path: Path) -> None:
    owner = module_name(path)
    rules = [banned for package, banned in FORBIDDEN.items() if within(owner, package)]
    upward = sorted(
        name
        for name in set(imported_names(path))
        for banned in rules
        for target in banned
        if within(name, target)
    )
    assert not upward, f"{owner} imports {upward}, which sit above it"


@pytest.mark.parametrize("path", source_files(), ids=lambda p: module_name(p))
def test_only_the_ui_imports_widgets(path: Path) -> None:
    owner = module_name(path)
    if within(owner, "app.ui"):
        return
    widgets = sorted(n for n in set(imported_names(path)) if within(n, "PySide6.QtWidgets"))
    assert not widgets, f"{owner} imports {widgets}; only app.ui may use QtWidgets"



def test_the_walk_sees_the_known_arrows() -> None:
    """Guards against a walker that silently finds nothing: the engine's real imports are seen."""
    names = set(imported_names(APP / "sync" / "engine.py"))
    assert any(within(n, "app.protocol") for n in names)
    assert any(within(n, "app.models") for n in names)
