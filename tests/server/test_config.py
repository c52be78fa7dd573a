"""Settings from the environment; the secret in development and production."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from app.server.config import ConfigError, Settings, load_or_create_secret

GOOD_SECRET = "Vq3s9-Xk2LmP7wRt4yZb8NcJ6hFd1gAe5uQo"


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    base = {"FIELDBOOK_SERVER_DATA_DIR": str(tmp_path / "data")}
    base.update({f"FIELDBOOK_SERVER_{k.upper()}": v for k, v in values.items()})
    return base


def test_defaults_just_work(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path))
    assert settings.env == "development"
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'server.db'}"
    assert (settings.host, settings.port) == ("127.0.0.1", 8700)
    assert (settings.access_token_minutes, settings.refresh_token_days) == (15, 30)
    assert len(settings.secret) >= 32


def test_default_data_dir_is_the_platform_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELDBOOK_SERVER_DATA_DIR", raising=False)
    settings = Settings.from_env({})
    assert "fieldbook-server" in settings.database_url
    assert settings.database_url.endswith("server.db")


def test_development_generates_and_keeps_a_secret(tmp_path: Path) -> None:
    first = Settings.from_env(env(tmp_path))
    second = Settings.from_env(env(tmp_path))
    assert first.secret == second.secret  # a restart keeps sessions valid
    path = first.secret_path()
    assert path == tmp_path / "data" / "secret.key"
    if sys.platform != "win32":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Beside the SQLite file when the database is configured elsewhere.
    other = Settings.from_env(env(tmp_path, database_url=f"sqlite:///{tmp_path / 'db' / 'x.db'}"))
    assert other.secret_path() == tmp_path / "db" / "secret.key"
    assert other.secret != first.secret


def test_secret_file_race_and_damage(tmp_path: Path) -> None:
    path = tmp_path / "s" / "secret.key"
    assert load_or_create_secret(path) == load_or_create_secret(path)
    path.write_text("short")
    with pytest.raises(ConfigError, match="damaged"):
        load_or_create_secret(path)


@pytest.mark.parametrize(
    "secret, message",
    [
        ("", "not set"),
        ("abc123", "too short"),
        ("changethis", "too short"),
        ("change-me", "too short"),
        ("a" * 40, "placeholder"),
        ("secret" * 6, "placeholder"),
    ],
)
def test_production_refuses_unsafe_secrets(tmp_path: Path, secret: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env(tmp_path, env="production", secret=secret))
    assert not (tmp_path / "data" / "secret.key").exists()  # nothing generated


def test_production_accepts_a_real_secret(tmp_path: Path) -> None:
    settings = Settings.from_env(
        env(tmp_path, env="production", secret=GOOD_SECRET, database_url="postgresql://u@db/fieldbook")
    )
    assert settings.is_production
    assert settings.secret == GOOD_SECRET


@pytest.mark.parametrize(
    "values, message",
    [
        ({"env": "staging"}, "development' or 'production"),
        ({"port": "http"}, "whole number"),
        ({"port": "70000"}, "between 1 and 65535"),
        ({"access_token_minutes": "0"}, "at least 1"),
        ({"database_url": "not a url"}, "not a database URL"),
    ],
)
def test_bad_values_are_explained(tmp_path: Path, values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env(tmp_path, **values))


def test_values_are_typed(tmp_path: Path) -> None:
    settings = Settings.from_env(
        env(
            tmp_path,
            port="9000",
            host="0.0.0.0",
            access_token_minutes="5",
            env="Production",
            secret=GOOD_SECRET,
        )
    )
    assert settings.port == 9000
    assert settings.access_token_minutes == 5
    assert settings.env == "production"
    assert settings.host == "0.0.0.0"
