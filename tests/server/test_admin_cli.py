"""``fieldbook-server`` commands and the admin functions behind them."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.server import admin, security
from app.server.cli import main
from app.server.tables import Cohort, CohortMember, RefreshToken, User

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``fieldbook-server ARGS`` in-process on the test database; returns (code, out, err)."""
    monkeypatch.setenv("FIELDBOOK_SERVER_DATABASE_URL", db_url)

    def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def members(session: Session, username: str) -> list[str]:
    session.expire_all()
    return sorted(
        session.scalars(select(Cohort.name).join(CohortMember).join(User).where(User.username == username))
    )


def test_create_user_and_sign_in(cli: Any, client: Any) -> None:
    code, out, err = cli(
        "create-user",
        "Li.Wei",
        "--role",
        "fellow",
        "--display-name",
        "李伟",
        "--password-stdin",
        stdin="correct horse\n",
    )
    assert (code, err) == (0, "")
    assert "Created fellow 'li.wei'" in out
    response = client.post("/api/v1/auth/login", json={"username": "li.wei", "password": "correct horse"})
    assert response.status_code == 200
    assert response.json()["user"]["display_name"] == "李伟"


def test_create_user_with_a_school(cli: Any, client: Any, session: Session) -> None:
    code, _out, err = cli(
        "create-user", "zhang", "--role", "fellow", "--school", " 红星小学 ", "--password-stdin",
        stdin="correct horse\n",
    )
    assert (code, err) == (0, "")
    assert admin.get_user(session, "zhang").school == "红星小学"
    body = client.post("/api/v1/auth/login", json={"username": "zhang", "password": "correct horse"}).json()
    assert body["user"]["school"] == "红星小学"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["school"] == "红星小学"
    # Without --school: none; a bad one is refused and creates nothing.
    assert cli("create-user", "li", "--role", "fellow", "--password-stdin", stdin="correct horse\n")[0] == 0
    assert admin.get_user(session, "li").school == ""
    code, _out, err = cli("create-user", "wang", "--role", "fellow", "--school", "x" * 101,
                          "--password-stdin", stdin="correct horse\n")
    assert code == 1 and "school is too long" in err
    with pytest.raises(admin.AdminError):
        admin.get_user(session, "wang")


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (
            ("create-user", "x y", "--role", "fellow", "--password-stdin"),
            "correct horse\n",
            "cannot be a user name",
        ),
        (("create-user", "ok", "--role", "fellow", "--password-stdin"), "short\n", "too short"),
        (("create-user", "ok", "--role", "fellow", "--password-stdin"), "\n", "No password"),
        (("assign", "nobody", "c"), None, "There is no user named 'nobody'"),
        (("unassign", "nobody", "c"), None, "There is no user named 'nobody'"),
        (("deactivate-user", "nobody"), None, "There is no user named 'nobody'"),
        (("create-cohort", "   "), None, "must not be empty"),
    ],
)
def test_bad_input_is_explained(cli: Any, args: tuple[str, ...], stdin: str | None, message: str) -> None:
    code, _out, err = cli(*args, stdin=stdin)
    assert code != 0
    assert message in err
    assert err.startswith("fieldbook-server: ")
    assert "Traceback" not in err


def test_duplicates_are_refused(cli: Any) -> None:
    assert (
        cli("create-user", "anna", "--role", "trainer", "--password-stdin", stdin="correct horse\n")[0] == 0
    )
    code, _out, err = cli(
        "create-user", "ANNA", "--role", "fellow", "--password-stdin", stdin="correct horse\n"
    )
    assert code == 1
    assert "A user named 'anna' already exists." in err
    assert cli("create-cohort", "Class A")[0] == 0
    code, _out, err = cli("create-cohort", "Class A")
    assert code == 1
    assert "A cohort named 'Class A' already exists." in err


def test_unknown_role_is_a_usage_error(cli: Any) -> None:
    with pytest.raises(SystemExit) as exc:
        cli("create-user", "bob", "--role", "boss")
    assert exc.value.code == 2


def test_password_prompt_twice(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["correct horse", "correct horse", "one password", "another one"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr(sys, "stdin", type("Tty", (io.StringIO,), {"isatty": lambda self: True})())
    assert cli("create-user", "zhao", "--role", "fellow")[0] == 0
    code, _out, err = cli("create-user", "qian", "--role", "fellow")
    assert code == 2
    assert "differ" in err


def test_no_terminal_and_no_password_stdin(cli: Any) -> None:
    code, _out, err = cli("create-user", "sun", "--role", "fellow", stdin="")
    assert code == 2
    assert "--password-stdin" in err


def test_assign_moves_a_fellow_but_not_a_trainer(cli: Any, session: Session) -> None:
    for name, role in (("f", "fellow"), ("t", "trainer"), ("boss", "admin")):
        assert cli("create-user", name, "--role", role, "--password-stdin", stdin="correct horse\n")[0] == 0
    for cohort in ("North", "South"):
        assert cli("create-cohort", cohort)[0] == 0

    assert cli("assign", "f", "North")[0] == 0
    code, out, _err = cli("assign", "f", "South")
    assert code == 0
    assert "moved from 'North'" in out
    assert members(session, "f") == ["South"]

    assert cli("assign", "t", "North")[0] == 0
    assert cli("assign", "t", "South")[0] == 0
    assert cli("assign", "t", "South")[0] == 0  # again: no change, no error
    assert members(session, "t") == ["North", "South"]

    code, _out, err = cli("assign", "boss", "North")
    assert code == 1
    assert "admin" in err
    code, _out, err = cli("assign", "t", "East")
    assert code == 1
    assert "There is no cohort named 'East'" in err

    assert cli("unassign", "t", "North")[0] == 0
    assert members(session, "t") == ["South"]
    code, _out, err = cli("unassign", "t", "North")
    assert code == 1
    assert "is not in the cohort" in err


def test_deactivate_user(cli: Any, client: Any, session: Session) -> None:
    cli("create-user", "wu", "--role", "fellow", "--password-stdin", stdin="correct horse\n")
    body = client.post("/api/v1/auth/login", json={"username": "wu", "password": "correct horse"}).json()
    code, out, _err = cli("deactivate-user", "wu")
    assert code == 0
    assert "deactivated" in out
    session.expire_all()
    assert session.scalars(select(User.active).where(User.username == "wu")).one() is False
    assert all(t.revoked_at is not None for t in session.scalars(select(RefreshToken)))
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"}).status_code
        == 401
    )


def test_reset_password(cli: Any, client: Any) -> None:
    cli("create-user", "zhao", "--role", "fellow", "--password-stdin", stdin="old horse 1\n")
    old = client.post("/api/v1/auth/login", json={"username": "zhao", "password": "old horse 1"}).json()
    code, out, _err = cli("reset-password", "zhao", "--password-stdin", stdin="new horse 2\n")
    assert code == 0 and "signed out" in out
    login = client.post("/api/v1/auth/login", json={"username": "zhao", "password": "new horse 2"})
    assert login.status_code == 200
    stale = client.post("/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]})
    assert stale.status_code == 401
    assert cli("reset-password", "nobody", "--password-stdin", stdin="new horse 2\n")[0] == 1


def test_demo(cli: Any, client: Any, session: Session) -> None:
    code, out, _err = cli("demo")
    assert code == 0
    assert admin.DEMO_COHORT in out
    assert "http://127.0.0.1:8700" in out
    logins = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in ("trainer", "fellow1", "fellow2"):
            logins[parts[0]] = parts[1]
    assert set(logins) == {"trainer", "fellow1", "fellow2"}
    for username, password in logins.items():
        response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, username
    assert members(session, "fellow1") == [admin.DEMO_COHORT]
    assert members(session, "trainer") == [admin.DEMO_COHORT]
    session.expire_all()
    schools = {admin.get_user(session, name).school for name in ("fellow1", "fellow2")}
    assert schools == {"红星小学", "青山小学"}
    # Again: new passwords, nothing duplicated.
    code, out2, _err = cli("demo")
    assert code == 0
    assert out2 != out
    session.expire_all()
    assert len(session.scalars(select(User)).all()) == 3


def test_admin_functions_directly(session: Session) -> None:
    user = admin.create_user(session, "Zhou", "correct horse", "trainer")
    assert (user.username, user.display_name, user.role, user.active) == ("zhou", "zhou", "trainer", True)
    with pytest.raises(admin.AdminError, match="Unknown role"):
        admin.create_user(session, "x", "correct horse", "root")
    with pytest.raises(admin.AdminError, match="too long"):
        admin.create_cohort(session, "c" * 101)
    with pytest.raises(admin.AdminError, match="not allowed"):
        admin.create_user(session, "y", "correct\x00horse", "fellow")
    assert len(admin.generate_password()) == 14
    admin.set_password(session, "zhou", "battery staple")
    session.expire_all()
    assert security.verify_password(admin.get_user(session, "zhou").password_hash, "battery staple")


def test_migrate_command(cli: Any) -> None:
    code, out, _err = cli("migrate")
    assert code == 0
    assert "up to date" in out


def test_unreachable_database_is_explained(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "FIELDBOOK_SERVER_DATABASE_URL",
        "postgresql+psycopg://nobody:pw@127.0.0.1:1/none?connect_timeout=2",
    )
    code = main(["migrate"])
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot use the database" in err
    assert "pw@" not in err  # the password is not shown


def test_production_without_secret_refuses(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FIELDBOOK_SERVER_ENV", "production")
    monkeypatch.delenv("FIELDBOOK_SERVER_SECRET", raising=False)
    assert main(["migrate"]) == 2
    assert "FIELDBOOK_SERVER_SECRET is not set" in capsys.readouterr().err


@pytest.mark.slow
def test_real_process(tmp_path: Path) -> None:
    """``python -m app.server.cli`` works as a program, with exit codes."""
    env = {
        **os.environ,
        "FIELDBOOK_SERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'server.db'}",
        "PYTHONPATH": str(ROOT),
    }

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.server.cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )

    made = run("create-user", "ma", "--role", "admin", "--password-stdin", stdin="correct horse\n")
    assert made.returncode == 0, made.stderr
    again = run("create-user", "ma", "--role", "admin", "--password-stdin", stdin="correct horse\n")
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert (tmp_path / "secret.key").exists()
    assert run("--help").returncode == 0
    assert run().returncode == 2
