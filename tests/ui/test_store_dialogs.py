"""Opening an unusable store: the user is asked, the file is never overwritten."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from app.models import schema
from app.models.store import Store, make_backup
from app.paths import backup_dir, store_path
from app.ui.store_dialogs import CorruptStoreBox, open_store_interactive

DAMAGED = b"SQLite format 3\x00" + b"\x13" * 5000


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def clicking(choice: str, seen: list[QMessageBox]):  # type: ignore[no-untyped-def]
    """A chooser that clicks the button for ``choice`` like the user would."""

    def choose(box: QMessageBox) -> None:
        seen.append(box)
        if isinstance(box, CorruptStoreBox):
            box.buttons_by_choice[choice].click()
        else:
            box.button(QMessageBox.StandardButton.Close).click()

    return choose


def test_newer_store_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = store_path(tmp_path)
    Store.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {schema.CURRENT_VERSION + 3}")
    before = digest(path)
    seen: list[QMessageBox] = []
    assert open_store_interactive(tmp_path, chooser=clicking("", seen)) is None
    assert "newer version of Fieldbook" in seen[0].text()
    assert "not been changed" in seen[0].informativeText()
    assert digest(path) == before


@pytest.fixture
def damaged_with_backup(tmp_path: Path) -> Path:
    path = store_path(tmp_path)
    store = Store.open(path)
    store.create("lesson_plan", {"title": "备份里的教案"}, author="a")
    store.close()
    make_backup(path, backup_dir(tmp_path), "daily")
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.write_bytes(DAMAGED)
    return tmp_path


def kept_aside(folder: Path) -> list[Path]:
    return sorted(folder.glob("fieldbook.db.damaged-*"))


def test_restore_the_backup_keeps_the_damaged_file(damaged_with_backup: Path) -> None:
    backup = next((damaged_with_backup / "backups").glob("*.db"))
    with sqlite3.connect(backup) as conn:
        device_before = conn.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0]
    seen: list[QMessageBox] = []
    store = open_store_interactive(damaged_with_backup, chooser=clicking(CorruptStoreBox.RESTORE, seen))
    assert store is not None
    assert [r.cells[0] for r in store.search("教案")] == ["备份里的教案"]
    assert store.device_id != device_before, "a restored copy syncs as a new device"
    store.close()
    [aside] = [p for p in kept_aside(damaged_with_backup) if not p.name.endswith(("-wal", "-shm"))]
    assert aside.read_bytes() == DAMAGED
    assert "cannot read" in seen[0].text()


def test_start_empty_keeps_the_damaged_file(damaged_with_backup: Path) -> None:
    store = open_store_interactive(damaged_with_backup, chooser=clicking(CorruptStoreBox.NEW, []))
    assert store is not None
    assert store.counts() == {"lesson_plan": 0, "training": 0, "exchange": 0}
    store.close()
    assert kept_aside(damaged_with_backup)[0].read_bytes() == DAMAGED


def test_another_folder(damaged_with_backup: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    store = open_store_interactive(
        damaged_with_backup,
        chooser=clicking(CorruptStoreBox.ELSEWHERE, []),
        pick_folder=lambda: str(elsewhere),
    )
    assert store is not None and store.path == store_path(elsewhere)
    store.close()
    assert store_path(damaged_with_backup).read_bytes() == DAMAGED


def test_quit_changes_nothing(damaged_with_backup: Path) -> None:
    files = sorted(p.name for p in damaged_with_backup.iterdir())
    assert open_store_interactive(damaged_with_backup, chooser=clicking(CorruptStoreBox.QUIT, [])) is None
    assert sorted(p.name for p in damaged_with_backup.iterdir()) == files
    assert store_path(damaged_with_backup).read_bytes() == DAMAGED


def test_without_a_backup_restore_is_not_offered(tmp_path: Path) -> None:
    store_path(tmp_path).write_bytes(DAMAGED)
    seen: list[QMessageBox] = []
    open_store_interactive(tmp_path, chooser=clicking(CorruptStoreBox.QUIT, seen))
    assert CorruptStoreBox.RESTORE not in seen[0].buttons_by_choice  # type: ignore[attr-defined]
