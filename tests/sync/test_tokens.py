"""The refresh token goes to a keyring, or stays in memory and says so."""

from __future__ import annotations

import keyring.backend
import keyring.errors
import pytest

from app.sync.tokens import SERVICE, TokenStore, token_key


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that works, like Windows Credential Manager would."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring's base __init__ is unannotated
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.secrets.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


class LockedKeyring(MemoryKeyring):
    """A keyring that is there but refuses (locked, no D-Bus session...)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("the keyring is locked")


def test_a_working_keyring_keeps_the_token_across_instances() -> None:
    backend = MemoryKeyring()
    tokens = TokenStore(backend)
    assert tokens.persistent and tokens.reason == ""
    tokens.save("https://fb.example.org/", "li", "secret-1")
    assert backend.secrets == {(SERVICE, "https://fb.example.org|li"): "secret-1"}
    assert TokenStore(backend).load("https://fb.example.org", "li") == "secret-1"
    assert tokens.load("https://fb.example.org", "wang") is None
    tokens.delete("https://fb.example.org", "li")
    tokens.delete("https://fb.example.org", "li")  # twice is fine
    assert TokenStore(backend).load("https://fb.example.org", "li") is None


def test_without_a_keyring_the_token_lives_in_memory_only() -> None:
    tokens = TokenStore()  # tests/conftest.py selects keyring's "fail" backend
    assert not tokens.persistent
    assert "keyring" in tokens.reason
    tokens.save("https://fb.example.org", "li", "secret-1")
    assert tokens.load("https://fb.example.org", "li") == "secret-1"
    assert TokenStore().load("https://fb.example.org", "li") is None, "not written anywhere"
    tokens.delete("https://fb.example.org", "li")
    assert tokens.load("https://fb.example.org", "li") is None


def test_a_keyring_that_refuses_falls_back_to_memory(caplog: pytest.LogCaptureFixture) -> None:
    tokens = TokenStore(LockedKeyring())
    assert tokens.persistent
    tokens.save("https://fb.example.org", "li", "secret-1")
    assert not tokens.persistent
    assert "locked" in tokens.reason
    assert tokens.load("https://fb.example.org", "li") == "secret-1"
    assert any("will not be remembered" in r.getMessage() for r in caplog.records)


def test_token_keys_ignore_a_trailing_slash() -> None:
    assert token_key("https://fb.example.org/", "li") == token_key("https://fb.example.org", "li")
