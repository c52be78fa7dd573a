"""One error hierarchy for the whole application.

Following qutebrowser, errors are split by whose fault they are:
``EnvironmentFault`` is the machine's (disk full, locked or unreadable file) and
gets a plain message for the user; ``FieldbookBug`` is ours and gets logged with
a traceback. Data code raises these and never shows a dialog itself.
"""

from __future__ import annotations


class FieldbookError(Exception):
    """Base of every error Fieldbook raises on purpose."""


class EnvironmentFault(FieldbookError):
    """Something outside the program went wrong; the user can act on it."""


class FieldbookBug(FieldbookError):
    """An invariant of our own code was broken."""


class StoreError(EnvironmentFault):
    """The local store cannot be used as it is."""

    def __init__(self, path: object, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


class StoreTooNewError(StoreError):
    """The store was written by a newer Fieldbook; we must not touch it."""

    def __init__(self, path: object, found: int, supported: int) -> None:
        super().__init__(path, f"schema version {found} is newer than {supported}")
        self.found = found
        self.supported = supported


class StoreCorruptError(StoreError):
    """The file is not a readable Fieldbook store."""


class StoreBusyError(StoreError):
    """Another program holds the store locked."""


class DiskFullError(StoreError):
    """The disk has no room to save."""


class ValidationFailed(FieldbookError):
    """Input was rejected; ``problems`` maps field names to messages."""

    def __init__(self, problems: dict[str, object]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


class RecordNotFound(FieldbookError):
    """No live record has that id."""
