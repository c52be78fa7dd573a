"""Fixtures for driving the real widgets on a real store in a temp folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication, QSettings

# The loopback server and its laptops (tests/sync/conftest.py), for every
# window test that syncs against a real server: shared, not copied.
from tests.sync.conftest import _server_template, laptop, live_server

__all__ = ["_server_template", "laptop", "live_server"]


@pytest.fixture(autouse=True)
def _isolated_settings(qapp: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """QSettings in a temp ini file, never the user's."""
    folder = tmp_path_factory.mktemp("qsettings")
    QCoreApplication.setOrganizationName("FieldbookTests")
    QCoreApplication.setApplicationName("FieldbookTests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    QSettings().clear()
    yield
    QSettings().clear()


@pytest.fixture
def runner(qapp: object) -> object:
    from app.ui.tasks import InlineRunner

    return InlineRunner()
