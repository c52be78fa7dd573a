"""Where the refresh token lives between sessions: the OS keyring, or nowhere.

The refresh token is the one secret that lets Fieldbook sync without asking
for the password. It goes to the system keyring (Windows Credential Manager,
macOS Keychain, Secret Service) under the service ``"Fieldbook"`` and the key
``"{server_url}|{username}"``. It is never written to the database or to a
plain file: when no keyring can be used (none installed, locked, a backend
that would write plain text), the token is kept in this process's memory
only, ``persistent`` is ``False`` and ``reason`` says why, so the UI can warn
"no keyring: you will need to sign in again next time".
"""

from __future__ import annotations

import logging

import keyring
import keyring.backend
import keyring.errors

log = logging.getLogger("fieldbook.sync")

SERVICE = "Fieldbook"

# Backends that cannot keep a secret safely or at all.
_UNUSABLE = {
    ("keyring.backends.fail", "Keyring"): "no keyring is available on this computer",
    ("keyring.backends.null", "Keyring"): "the keyring is disabled",
    ("keyrings.alt.file", "PlaintextKeyring"): "the only keyring stores passwords as plain text",
}


def token_key(server_url: str, username: str) -> str:
    return f"{server_url.rstrip('/')}|{username}"


def _unusable_reason(backend: keyring.backend.KeyringBackend) -> str | None:
    cls = type(backend)
    reason = _UNUSABLE.get((cls.__module__, cls.__name__))
    if reason:
        return reason
    if cls.__module__ == "keyring.backends.chainer" and not getattr(backend, "backends", None):
        return "no keyring is available on this computer"
    return None


class TokenStore:
    """Save, load and delete refresh tokens. Never raises for keyring trouble."""

    def __init__(self, backend: keyring.backend.KeyringBackend | None = None) -> None:
        self._memory: dict[str, str] = {}
        self.persistent = False
        self.reason = ""
        try:
            self._backend: keyring.backend.KeyringBackend | None = backend or keyring.get_keyring()
        except Exception as exc:  # a broken keyring configuration must not stop the app
            self._backend = None
            self._fall_back(f"the keyring could not be loaded ({exc})")
            return
        unusable = _unusable_reason(self._backend)
        if unusable:
            self._backend = None
            self._fall_back(unusable)
        else:
            self.persistent = True

    def _fall_back(self, reason: str) -> None:
        log.warning("Sign-in will not be remembered after Fieldbook closes: %s", reason)
        self.persistent = False
        self.reason = reason

    def save(self, server_url: str, username: str, token: str) -> None:
        key = token_key(server_url, username)
        if self._backend is not None:
            try:
                self._backend.set_password(SERVICE, key, token)
                self._memory.pop(key, None)
                return
            except (keyring.errors.KeyringError, NotImplementedError, OSError) as exc:
                self._backend = None
                self._fall_back(f"the keyring refused to store the sign-in ({exc})")
        self._memory[key] = token

    def load(self, server_url: str, username: str) -> str | None:
        key = token_key(server_url, username)
        if key in self._memory:
            return self._memory[key]
        if self._backend is None:
            return None
        try:
            return self._backend.get_password(SERVICE, key)
        except (keyring.errors.KeyringError, NotImplementedError, OSError) as exc:
            log.warning("Could not read the sign-in from the keyring: %s", exc)
            return None

    def delete(self, server_url: str, username: str) -> None:
        key = token_key(server_url, username)
        self._memory.pop(key, None)
        if self._backend is None:
            return
        try:
            self._backend.delete_password(SERVICE, key)
        except keyring.errors.PasswordDeleteError:
            pass  # nothing was stored
        except (keyring.errors.KeyringError, NotImplementedError, OSError) as exc:
            log.warning("Could not remove the sign-in from the keyring: %s", exc)


__all__ = ["SERVICE", "TokenStore", "token_key"]
