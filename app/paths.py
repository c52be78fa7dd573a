"""Where Fieldbook keeps its files: one rule, used by the app, CLI and tests."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "Fieldbook"
DATA_DIR_ENV = "FIELDBOOK_DATA_DIR"
STORE_FILENAME = "fieldbook.db"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data folder: ``--data-dir``, else ``$FIELDBOOK_DATA_DIR``, else the OS default."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, APP_NAME, roaming=False))


def store_path(directory: Path) -> Path:
    return directory / STORE_FILENAME


def backup_dir(directory: Path) -> Path:
    return directory / "backups"
