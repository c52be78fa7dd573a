"""The server never imports Qt: it runs on machines without PySide6."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys

    class ForbidQt:
        def find_spec(self, name, path=None, target=None):
            if name == "PySide6" or name.startswith(("PySide6.", "shiboken6")):
                raise ImportError(f"the server must not import {name}")
            return None

    sys.meta_path.insert(0, ForbidQt())
    sys.modules["PySide6"] = None  # even a cached import fails

    import app.server.app
    import app.server.cli
    from app.server.config import Settings
    from fastapi.testclient import TestClient

    settings = Settings(database_url=sys.argv[1], secret="no-qt-test-secret-8f3kD92mXq7Lw0Pz").resolved()
    from app.server.database import run_migrations
    run_migrations(settings.database_url)
    application = app.server.app.create_app(settings)
    with TestClient(application) as client:
        assert client.get("/health").json()["status"] == "ok"
        assert client.get("/openapi.json").status_code == 200
    prefixes = ("PySide6", "shiboken", "app.ui")
    loaded = sorted(m for m, mod in sys.modules.items() if mod is not None and m.startswith(prefixes))
    assert not loaded, loaded
    print("ok")
    """
)


@pytest.mark.slow
def test_server_imports_and_runs_without_qt(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, f"sqlite:///{tmp_path / 'server.db'}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
