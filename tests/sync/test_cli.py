"""``fieldbook sync|status|export|import`` against a real server on loopback."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import cli
from app.models.store import Store
from app.paths import store_path
from tests.sync.conftest import ROOT, LiveServer

LESSON = {"title": "认识分数", "subject": "math", "grade": 3, "tags": ["分数", "三年级"]}


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str,
        stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def fill(folder: Path, count: int = 3) -> list[str]:
    store = Store.open(store_path(folder))
    try:
        ids = [store.create("lesson_plan", {**LESSON, "title": f"第{i}课"}, author="李老师").id
               for i in range(count)]
        store.create("training", {"title": "=国培计划", "hours": 24.0, "online": True}, author="李老师")
        store.create("exchange", {"partner_school": "城关一小", "teacher_count": 4}, author="李老师")
        return ids
    finally:
        store.close()


@pytest.mark.slow
def test_sync_status_and_failures(
    live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "li"
    fill(home)
    pw = live_server.users["li"] + "\n"

    code, out, err = run(monkeypatch, capsys, "sync", "--data-dir", str(home))
    assert code == cli.EXIT_USAGE and "--server" in err

    code, out, err = run(monkeypatch, capsys, "sync", "--server", live_server.url, "--user", "li",
                         "--password-stdin", "--data-dir", str(home), stdin="wrong password\n")
    assert code == cli.EXIT_FAILED and "not correct" in err

    code, out, err = run(monkeypatch, capsys, "sync", "--server", live_server.url, "--user", "li",
                         "--password-stdin", "--data-dir", str(home), stdin=pw)
    assert code == cli.EXIT_OK, err
    assert "Synced: sent 5 change(s)" in out

    code, out, err = run(monkeypatch, capsys, "status", "--data-dir", str(home))
    assert code == cli.EXIT_OK
    assert live_server.url in out and "li (li 老师), fellow" in out
    assert "0 change(s) not yet sent" in out
    assert "3 lesson plans, 1 training, 1 exchanges" in out
    assert "Last synced:    never" not in out

    # No keyring here: the next run has no stored sign-in and no terminal to ask.
    code, out, err = run(monkeypatch, capsys, "sync", "--data-dir", str(home))
    assert code == cli.EXIT_FAILED and "--password-stdin" in err

    live_server.stop()
    code, out, err = run(monkeypatch, capsys, "sync", "--password-stdin", "--retries", "0",
                         "--data-dir", str(home), stdin=pw)
    assert code == cli.EXIT_FAILED and "No connection" in err


@pytest.mark.slow
def test_mass_delete_needs_the_flag(
    live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    ids = fill(a, 12)
    pw = live_server.users["li"] + "\n"
    args = ("--server", live_server.url, "--user", "li", "--password-stdin")
    assert run(monkeypatch, capsys, "sync", *args, "--data-dir", str(a), stdin=pw)[0] == 0
    assert run(monkeypatch, capsys, "sync", *args, "--data-dir", str(b), stdin=pw)[0] == 0
    store = Store.open(store_path(b))
    for rid in ids:
        store.delete(rid)
    store.close()
    assert run(monkeypatch, capsys, "sync", "--password-stdin", "--data-dir", str(b), stdin=pw)[0] == 0

    code, _, err = run(monkeypatch, capsys, "sync", "--password-stdin", "--data-dir", str(a), stdin=pw)
    assert code == cli.EXIT_MASS_DELETE
    assert "12 of your 14" in err and "--yes-mass-delete" in err
    code, _, err = run(monkeypatch, capsys, "sync", "--password-stdin", "--yes-mass-delete",
                       "--data-dir", str(a), stdin=pw)
    assert code == cli.EXIT_OK, err
    store = Store.open(store_path(a))
    assert sum(store.counts().values()) == 2
    store.close()


def test_export_json_and_import_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    fill(source)
    exported = tmp_path / "records.json"
    code, out, _ = run(monkeypatch, capsys, "export", "--format", "json", "--output", str(exported),
                       "--data-dir", str(source))
    assert code == 0 and "Exported 5 record(s)" in out
    records = json.loads(exported.read_text(encoding="utf-8"))
    assert len(records) == 5
    lesson = next(r for r in records if r["kind"] == "lesson_plan")
    assert set(lesson) == {"id", "kind", "status", "author", "created_at", "updated_at", "revision",
                           "revision_of", "fields"}
    assert (lesson["revision"], lesson["revision_of"]) == (1, None)
    assert lesson["fields"]["tags"] == ["分数", "三年级"]
    assert lesson["fields"]["planned_date"] is None

    code, out, err = run(monkeypatch, capsys, "import", str(exported), "--data-dir", str(target))
    assert code == 0, err
    assert "5 new" in out
    code, out, _ = run(monkeypatch, capsys, "import", str(exported), "--data-dir", str(target))
    assert "0 new, 0 updated, 5 unchanged" in out, "importing twice changes nothing"

    again = tmp_path / "again.json"
    run(monkeypatch, capsys, "export", "--format", "json", "--output", str(again), "--data-dir", str(target))
    strip = [{k: v for k, v in r.items() if k not in ("created_at", "updated_at")}
             for r in json.loads(again.read_text(encoding="utf-8"))]
    assert strip == [{k: v for k, v in r.items() if k not in ("created_at", "updated_at")}
                     for r in records]

    # An edit in the file updates the record, as a local edit that will sync.
    lesson["fields"]["grade"] = 5
    lesson["status"] = "submitted"
    exported.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    code, out, _ = run(monkeypatch, capsys, "import", str(exported), "--data-dir", str(target))
    assert "1 updated" in out
    store = Store.open(store_path(target))
    try:
        got = store.get(lesson["id"])
        assert (got.values["grade"], got.status) == (5, "submitted")
        assert {c.field for c in store.changes_since()} >= {"grade", "status"}
    finally:
        store.close()


def test_a_bad_record_imports_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([
        {"kind": "lesson_plan", "fields": {"title": "好的"}},
        {"kind": "lesson_plan", "fields": {"title": "坏的", "grade": 99}},
        {"kind": "spaceship", "fields": {}},
        {"kind": "training", "id": "not-a-uuid", "fields": {"title": "x"}},
        {"kind": "training", "fields": {"title": "x", "colour": "red"}},
    ], ensure_ascii=False), encoding="utf-8")
    code, _, err = run(monkeypatch, capsys, "import", str(bad), "--data-dir", str(folder))
    assert code == cli.EXIT_FAILED
    assert "record 1: grade: Must be at most" in err
    assert "record 2: unknown kind 'spaceship'" in err
    assert "record 3: id 'not-a-uuid'" in err
    assert "record 4: colour: Unknown field." in err
    assert "nothing was imported" in err
    store = Store.open(store_path(folder))
    assert sum(store.counts().values()) == 0
    store.close()

    (tmp_path / "nolist.json").write_text('{"kind": "lesson_plan"}', encoding="utf-8")
    for name in ("nolist.json", "missing.json"):
        code, _, err = run(monkeypatch, capsys, "import", str(tmp_path / name), "--data-dir", str(folder))
        assert code == cli.EXIT_FAILED and name in err


def test_csv_export_opens_in_excel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    fill(folder, 2)
    target = tmp_path / "records.csv"
    code, _, _ = run(monkeypatch, capsys, "export", "--format", "csv", "--output", str(target),
                     "--data-dir", str(folder))
    assert code == 0
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "a BOM, so Excel and WPS read UTF-8"
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 4
    assert [r["kind"] for r in rows].count("lesson_plan") == 2
    lesson = next(r for r in rows if r["kind"] == "lesson_plan")
    assert lesson["tags"] == "分数; 三年级"
    assert lesson["grade"] == "3"
    training = next(r for r in rows if r["kind"] == "training")
    assert training["title"] == "'=国培计划", "no formula runs when the file is opened"
    assert training["online"] == "true" and training["hours"] == "24"
    assert training["grade"] == ""

    only = tmp_path / "training.csv"
    run(monkeypatch, capsys, "export", "--format", "csv", "--kind", "training", "--output", str(only),
        "--data-dir", str(folder))
    header = only.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert "grade" not in header and "hours" in header


@pytest.mark.slow
def test_the_fieldbook_command_runs_the_cli_without_qt(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    fill(folder, 1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    probe = (
        "import sys; from app.__main__ import main; code = main(sys.argv[1:]); "
        "assert 'PySide6' not in sys.modules, 'the CLI imported Qt'; sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", probe, "export", "--format", "json",
                           "--data-dir", str(folder)], capture_output=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    exported = json.loads(done.stdout.decode("utf-8"))
    assert [r["fields"]["title"] for r in exported if r["kind"] == "lesson_plan"] == ["第0课"]
    usage = subprocess.run([sys.executable, "-m", "app", "export", "--format", "xml"],
                           capture_output=True, env=env, cwd=ROOT, timeout=120)
    assert usage.returncode == cli.EXIT_USAGE


# --- import: one transaction, repeatable ------------------------------------------

# Run in a child process: the CLI, paused right before the commit that would
# leave at least argv[1] records in the store, until the test kills it. Every
# engine is hooked (SQLAlchemy's class-level event), so no private name is patched.
_PAUSED_BEFORE_COMMIT = """
import sqlite3
import sys
from sqlalchemy import Engine, event

threshold = int(sys.argv[1])

@event.listens_for(Engine, "commit")
def pause_before_commit(conn):
    try:
        records = conn.connection.driver_connection.execute("SELECT count(*) FROM records").fetchone()[0]
    except sqlite3.OperationalError:  # no records table yet: the store is being made
        return
    if records >= threshold:
        sys.stdout.write("committing\\n")
        sys.stdout.flush()
        sys.stdin.readline()  # killed here

from app import cli
sys.exit(cli.main(sys.argv[2:]))
"""


def write_import_file(path: Path, count: int) -> Path:
    """``count`` records, every other one without an id (as a hand-made file has)."""
    store_items: list[dict[str, object]] = []
    for i in range(count):
        item: dict[str, object] = {"kind": "lesson_plan",
                                   "fields": {**LESSON, "title": f"第{i}课 认识分数和小数"}}
        if i % 2:
            item["id"] = str(uuid.UUID(int=i + 1))
        store_items.append(item)
    path.write_text(json.dumps(store_items, ensure_ascii=False), encoding="utf-8")
    return path


def record_count(folder: Path) -> int:
    store = Store.open(store_path(folder))
    try:
        return sum(store.counts().values())
    finally:
        store.close()


def test_importing_the_same_file_again_never_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    source = write_import_file(tmp_path / "records.json", 10)
    code, out, err = run(monkeypatch, capsys, "import", str(source), "--data-dir", str(folder))
    assert code == cli.EXIT_OK, err
    assert "10 new" in out
    code, out, err = run(monkeypatch, capsys, "import", str(source), "--data-dir", str(folder))
    assert code == cli.EXIT_OK, err
    assert "0 new, 0 updated, 10 unchanged" in out, "records without an id are found again"
    assert record_count(folder) == 10


@pytest.mark.slow
def test_an_import_killed_before_it_commits_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    count = 1000
    folder = tmp_path / "data"
    source = write_import_file(tmp_path / "records.json", count)
    child = subprocess.Popen(
        [sys.executable, "-c", _PAUSED_BEFORE_COMMIT, str(count // 2),
         "import", str(source), "--data-dir", str(folder)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
    )
    try:
        assert child.stdout is not None and child.stderr is not None
        started = child.stdout.readline()
        assert started == b"committing\n", child.stderr.read().decode(errors="replace")
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=60)
    assert record_count(folder) == 0, "a killed import leaves none of its records"

    for _ in range(2):
        code, out, err = run(monkeypatch, capsys, "import", str(source), "--data-dir", str(folder))
        assert code == cli.EXIT_OK, err
        assert record_count(folder) == count
    assert f"0 new, 0 updated, {count} unchanged" in out


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs: a store fits, a 4,000-record import (~7 MB) does not."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("filling a disk needs a small tmpfs, and mounting one needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        pytest.skip(f"this machine does not let the test mount a tmpfs: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True, timeout=60)


@pytest.mark.slow
def test_an_import_that_fills_the_disk_leaves_nothing(
    small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    count = 4000
    folder = small_disk / "data"
    source = write_import_file(tmp_path / "records.json", count)
    code, _, err = run(monkeypatch, capsys, "import", str(source), "--data-dir", str(folder))
    assert code == cli.EXIT_FAILED
    assert "nothing was imported: the disk is full" in err and "import the file again" in err
    assert "Traceback" not in err
    assert record_count(folder) == 0

    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True, timeout=60)
    for _ in range(2):
        code, _, err = run(monkeypatch, capsys, "import", str(source), "--data-dir", str(folder))
        assert code == cli.EXIT_OK, err
        assert record_count(folder) == count
