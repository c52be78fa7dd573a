"""What a user typed survives the app being killed, with no save pressed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.models.store import Store

TEXT = "认识分数 第一课时"


def stored_titles(path: Path) -> list[str]:
    if not path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as conn:
            return [row[0] for row in conn.execute("SELECT title FROM records")]
    except sqlite3.Error:
        return []


@pytest.mark.slow
def test_typing_survives_sigkill(tmp_path: Path) -> None:
    store_file = tmp_path / "fieldbook.db"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.typist", str(tmp_path), TEXT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "TYPED", process.stderr.read() if process.stderr else ""
        typed_at = time.monotonic()
        # The autosave comes ~0.7 s after typing stops; the bound only stops a
        # hang, so a loaded machine cannot fail a correct run.
        while TEXT not in stored_titles(store_file):
            assert time.monotonic() - typed_at < 60, "the autosave never happened"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)  # no chance to clean up
    finally:
        process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()
    assert process.returncode == -signal.SIGKILL

    store = Store.open(store_file)
    try:
        [row] = store.search("分数")
        assert store.get(row.id).values["title"] == TEXT
        assert any(c.field == "title" and c.value == TEXT for c in store.changes_since())
    finally:
        store.close()
