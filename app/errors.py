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


class ParcelError(EnvironmentFault):
    """A sync parcel file (docs/parcels.md) was refused; nothing was changed.

    ``message`` is plain English for a status line or the CLI; the UI shows
    its own translation chosen by the type (the text is marked for
    translation where it is shown, like the sync errors)."""

    default_message = "This file cannot be used as a Fieldbook sync parcel."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class NotAParcel(ParcelError):
    """The file does not start like a parcel, or is the other direction's
    kind (an answer handed to the server, an outgoing parcel imported)."""

    default_message = "This file is not a Fieldbook sync parcel."


class ParcelTooNew(ParcelError):
    """A newer Fieldbook wrote it, in a format version this one cannot read."""

    default_message = "This parcel was made by a newer Fieldbook. Update Fieldbook to use it."


class ParcelTruncated(ParcelError):
    """The file ends before the parcel does (a copy cut short, a stick pulled)."""

    default_message = "This parcel is incomplete: the file was cut short. Copy it again."


class ParcelTampered(ParcelError):
    """A byte was changed after sealing: decryption or the signature failed."""

    default_message = "This parcel was damaged or changed after it was made, and cannot be used."


class ParcelForeign(ParcelError):
    """Sealed for another server or device, or signed by a key not registered."""

    default_message = "This parcel belongs to another device or another server."


class ParcelExpired(ParcelError):
    """Older than its ``expires_at`` by the server's clock."""

    default_message = "This parcel has expired. Make a new one on the laptop."


class ParcelTooLarge(ParcelError):
    """Its payload inflates beyond what the reader accepts (a zip bomb)."""

    default_message = "This parcel is too large to open."


class ParcelNotReady(ParcelError):
    """This laptop cannot make or open parcels yet: it has not signed in with
    a connection since it got its parcel keys (or since it became a new
    device for sync)."""

    default_message = ("This laptop is not set up for sync parcels yet. Sign in once with a "
                       "connection, then make the parcel.")


class ParcelKeyInvalid(ParcelError):
    """Stored key bytes are not a parcel key of the expected kind."""

    default_message = "The stored parcel key is damaged."
