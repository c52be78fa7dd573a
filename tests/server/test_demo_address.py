"""``fieldbook-server demo`` prints the address the server really uses (issue 10,
item 7), and ``demo --serve`` (``make demo``) serves on exactly that address."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.server.cli import main
from app.server.tables import User

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``fieldbook-server ARGS`` in-process on the test database; returns (code, out, err)."""
    monkeypatch.setenv("FIELDBOOK_SERVER_DATABASE_URL", db_url)
    for name in ("FIELDBOOK_SERVER_HOST", "FIELDBOOK_SERVER_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_demo_prints_the_address_of_its_options(cli: Any) -> None:
    code, out, _err = cli("demo", "--port", "8799")
    assert code == 0
    assert "Server address for Fieldbook: http://127.0.0.1:8799" in out
    assert out.rstrip().endswith("Start the server with: fieldbook-server serve --port 8799")
    assert "8700" not in out


def test_demo_prints_the_address_of_the_environment(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDBOOK_SERVER_PORT", "8711")
    monkeypatch.setenv("FIELDBOOK_SERVER_HOST", "0.0.0.0")
    code, out, _err = cli("demo")
    assert code == 0
    assert "Server address for Fieldbook: http://<this computer's address>:8711" in out
    assert out.rstrip().endswith("Start the server with: fieldbook-server serve")  # the same variables apply
    code, out, _err = cli("demo", "--host", "::1", "--port", "8712")
    assert "Server address for Fieldbook: http://[::1]:8712" in out


def test_a_bad_port_makes_no_users(cli: Any, session: Session) -> None:
    code, out, err = cli("demo", "--serve", "--port", "70000")
    assert code == 2
    assert "PORT must be between 1 and 65535" in err
    assert "Demo cohort" not in out
    assert session.scalars(select(User)).all() == []


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read_until(process: subprocess.Popen[str], pattern: str) -> tuple[re.Match[str], str]:
    """Lines of the process's output up to the first matching ``pattern``."""
    assert process.stdout is not None
    seen = ""
    for line in process.stdout:
        seen += line
        match = re.search(pattern, line)
        if match:
            return match, seen
    raise AssertionError(f"the demo ended without {pattern!r}:\n{seen}")


def _wait_for_health(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"nothing answered on {url}")


@pytest.mark.slow
def test_demo_serve_listens_on_the_address_it_printed(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDBOOK_SERVER_")}
    env.update(FIELDBOOK_SERVER_DATABASE_URL=f"sqlite:///{tmp_path / 'server.db'}",
               FIELDBOOK_SERVER_DATA_DIR=str(tmp_path), PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.server.cli", "demo", "--serve", "--port", str(port)],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        address, _ = _read_until(process, r"^Server address for Fieldbook: (\S+)$")
        login, _ = _read_until(process, r"^fellow1\s+(\S+)\s+fellow$")
        starting, before = _read_until(process, r"^Starting the server on (\S+) ")
        assert "Start the server with" not in before
        url = address[1]
        assert url == starting[1] == f"http://127.0.0.1:{port}"
        _wait_for_health(url, process)
        signed_in = requests.post(url + "/api/v1/auth/login",
                                  json={"username": "fellow1", "password": login[1]}, timeout=10)
        assert signed_in.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
