"""What can go wrong while syncing, as types the UI and the CLI can act on.

Every failure of the client, the engine or the token store reaches callers as
one of these (never a raw ``requests`` or ``keyring`` exception). Each has a
plain English message fit for a status line; the UI shows its own
translation chosen by the type and uses the attributes for the details.

``retryable`` says whether trying again later, without the user doing
anything, can help: the scheduler backs off and retries those, and stops on
the others until the user acts (signs in, updates, confirms).
"""

from __future__ import annotations

from typing import ClassVar

from app.errors import EnvironmentFault, FieldbookError
from app.protocol.blobs import BlobStatus


class SyncError(FieldbookError):
    """Base of every sync failure."""

    retryable: ClassVar[bool] = False
    default_message: ClassVar[str] = "Sync failed."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class Offline(SyncError, EnvironmentFault):
    """No connection: no network, DNS failure, connect timeout, dropped connection."""

    retryable = True
    default_message = "No connection to the server. Your changes are saved and will sync later."


class SecureConnectionFailed(SyncError, EnvironmentFault):
    """TLS failed, most often because the computer's date is wrong (a
    certificate then looks expired or not yet valid), or a hotspot's login page
    intercepts the connection."""

    retryable = True
    default_message = (
        "Could not open a secure connection to the server. "
        "Check that the computer's date and time are correct."
    )


class ServerUnavailable(SyncError, EnvironmentFault):
    """The server answered with a 5xx, timed out while answering, or sent
    something that is not a Fieldbook answer."""

    retryable = True
    default_message = "The server is not available right now. Fieldbook will try again later."

    def __init__(self, message: str | None = None, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BadResponse(ServerUnavailable):
    """An answer that is not what the protocol says (an HTML login page of a
    hotspot, a truncated body, a body far too large)."""

    default_message = "The server's answer could not be read. Fieldbook will try again later."


class BadServerAddress(SyncError):
    """The server address typed in is not an http(s) URL."""

    default_message = "The server address is not valid (it should look like https://fieldbook.example.org)."


class AuthRequired(SyncError):
    """No credentials, or the stored ones were revoked or expired: sign in again."""

    default_message = "Please sign in again to sync."


class InvalidCredentials(SyncError):
    """Wrong user name or password (or the account is disabled)."""

    default_message = "The user name or password is not correct."


class Throttled(SyncError):
    """Too many requests (or sign-in attempts): wait ``retry_after`` seconds."""

    retryable = True
    default_message = "The server asked Fieldbook to wait before trying again."

    def __init__(self, retry_after: float | None = None, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ClientTooOld(SyncError):
    """The server no longer accepts this version of Fieldbook."""

    default_message = "This version of Fieldbook is too old for the server. Please update Fieldbook."


class RequestRejected(SyncError):
    """The server refused a request (a 4xx other than the ones above)."""

    default_message = "The server refused the request."

    def __init__(self, code: str, message: str | None = None, *, status: int | None = None) -> None:
        super().__init__(message or f"The server refused the request ({code}).")
        self.code = code
        self.status = status


class AccountMismatch(SyncError):
    """The local records belong to another account or server: signing in as
    someone else would send one person's records to another's account."""

    default_message = "The records on this computer belong to another account."

    def __init__(self, expected: str, server_url: str) -> None:
        super().__init__(
            f"The records on this computer belong to {expected} on {server_url}; "
            "sign in with that account."
        )
        self.expected = expected
        self.server_url = server_url


class MassDeletePending(SyncError):
    """A pull would remove most of the local records; nothing was applied
    until the user confirms."""

    default_message = "The server would remove most of your records. Nothing was removed."

    def __init__(self, count: int, total: int) -> None:
        super().__init__(
            f"The server would remove {count} of your {total} records. "
            "Nothing was removed; confirm to continue."
        )
        self.count = count
        self.total = total


class ServerReset(SyncError):
    """The server holds fewer changes than this computer already received from
    it: its database was replaced or restored from a backup. Syncing on would
    leave this computer's records off the server without anyone noticing, so
    the sync stops having changed nothing here, until someone looks."""

    default_message = (
        "The server has lost changes that this computer already received from it "
        "(it may have been reset or restored from a backup). Nothing was changed on this "
        "computer. Please tell your administrator before syncing again."
    )

    def __init__(self, cursor: int, server_cursor: int) -> None:
        super().__init__()
        self.cursor = cursor  # what this store had pulled up to
        self.server_cursor = server_cursor  # the server's newest write now


class StoreRolledBack(SyncError):
    """The server already applied changes from this device that this store
    never made: the store file is older than what it sent (restored from a
    copy, or it lost its last transactions in a power cut on a disk that
    does not keep its promises). Its new changes reuse sequence numbers the
    server takes for replays. The engine answers by pushing as a new device
    (:meth:`~app.models.store.Store.renew_device_id`); it reaches the user
    only if that did not help."""

    default_message = (
        "The server has changes from this computer that its data no longer holds (the data file "
        "was restored from a copy, or lost its last changes when the power went off). Your changes "
        "are kept on this computer and were not sent. Please tell your support person."
    )

    def __init__(self, local_seq: int | None = None, server_seq: int | None = None,
                 message: str | None = None) -> None:
        super().__init__(message)
        self.local_seq = local_seq  # the newest change this store ever made, where known
        self.server_seq = server_seq  # the newest change of this device the server applied


class FileRefused(RequestRejected):
    """The server will not take this file (empty, too large, over the quota,
    a type it does not accept, content that is not its type, or bytes that
    do not match its hash): sending it again cannot help. ``code`` is the
    server's reason (``file_too_large``, ``quota_exceeded``, ...)."""

    default_message = "The server refused the file."


class NotAvailableYet(SyncError):
    """The server has no file for this attachment that the user may read
    yet: the record that uses it, or the file itself, has not arrived from
    the computer it was attached on."""

    retryable = True
    default_message = "This file is not on the server yet. It will be there after its author syncs."


class BlobOffsetMismatch(SyncError):
    """A piece of an upload started where the server does not hold it (a
    piece whose answer was lost arrived after all): continue from the
    server's ``status``. The transfer engine handles it; callers never see it."""

    retryable = True
    default_message = "The upload continues where the server has it."

    def __init__(self, status: BlobStatus, code: str = "offset_mismatch") -> None:
        super().__init__()
        self.status = status
        self.code = code  # upload_in_progress: a piece of it is still arriving there


class BlobCorrupt(SyncError):
    """A downloaded file did not have the content its name (its SHA-256)
    promises; it was thrown away and will be fetched again."""

    retryable = True
    default_message = "A downloaded file was damaged on the way. It will be downloaded again."


__all__ = [
    "AccountMismatch",
    "AuthRequired",
    "BadResponse",
    "BadServerAddress",
    "BlobCorrupt",
    "BlobOffsetMismatch",
    "ClientTooOld",
    "FileRefused",
    "InvalidCredentials",
    "MassDeletePending",
    "NotAvailableYet",
    "Offline",
    "RequestRejected",
    "SecureConnectionFailed",
    "ServerReset",
    "ServerUnavailable",
    "StoreRolledBack",
    "SyncError",
    "Throttled",
]
