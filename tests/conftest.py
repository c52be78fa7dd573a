"""Suite-wide isolation: no test touches the real data directory, settings or
keyring, and any logged error (or Qt warning, via pytest-qt) fails the test."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from app.models.store import Store

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.setenv("FIELDBOOK_DATA_DIR", str(home / "fieldbook-data"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return home


@pytest.fixture(autouse=True)
def _fail_on_logged_errors(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    if request.node.get_closest_marker("allow_logged_errors"):
        return
    errors = [
        r for when in ("setup", "call") for r in caplog.get_records(when) if r.levelno >= logging.ERROR
    ]
    if errors:
        pytest.fail("Unexpected logged errors:\n" + "\n".join(r.getMessage() for r in errors))


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "fieldbook.db"


@pytest.fixture
def store(store_path: Path) -> Iterator[Store]:
    from app.models.store import Store

    opened = Store.open(store_path)
    yield opened
    opened.close()

