"""The words of sync: the status line's "Synced at …", "N changes waiting",
failures named by their type with what they mean for the user, and the
server's common refusal reasons, in the user's language.

No state here: ``SyncController`` (sync_controller.py) picks the words for
the phase it is in; the sign-in dialog and the refusals list share them.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QCoreApplication

from app.errors import StoreError
from app.i18n_marker import QT_TRANSLATE_NOOP
from app.sync.errors import (
    AccountMismatch,
    BadResponse,
    BadServerAddress,
    Offline,
    RequestRejected,
    SecureConnectionFailed,
    ServerUnavailable,
    SyncError,
    Throttled,
)
from app.ui.i18n import DATE_FORMAT, format_clock


def translate(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


def local_time(when: dt.datetime) -> dt.datetime:
    return when.astimezone() if when.tzinfo else when


def describe_synced(when: dt.datetime, now: dt.datetime | None = None, *, by_parcel: bool = False) -> str:
    """"Synced at 14:05" today, "Synced on 2024-05-03 at 14:05" another day
    (``i18n.format_clock``: the one clock format); "Synced by parcel at …"
    when an answer parcel, not a connection, brought the newest state (the
    time is the server's, when it answered)."""
    when = local_time(when)
    now = now or dt.datetime.now().astimezone()
    clock = format_clock(when)
    if when.date() == now.date():
        if by_parcel:
            return translate("Sync", "Synced by parcel at {time}").format(time=clock)
        return translate("Sync", "Synced at {time}").format(time=clock)
    if by_parcel:
        return translate("Sync", "Synced by parcel on {date} at {time}").format(
            date=when.strftime(DATE_FORMAT), time=clock)
    return translate("Sync", "Synced on {date} at {time}").format(
        date=when.strftime(DATE_FORMAT), time=clock)


def describe_waiting(count: int) -> str:
    if count == 1:
        return translate("Sync", "1 change waiting")
    return translate("Sync", "{count} changes waiting").format(count=count)


# The server's reasons for refusing a change (app/server/sync_service.py) are
# English; the common ones are translated here, any other is shown as written.
REASON_CONTEXT = "SyncRefusal"
KNOWN_REASONS = (
    QT_TRANSLATE_NOOP("SyncRefusal", "You cannot change this record: it belongs to someone else."),
    QT_TRANSLATE_NOOP("SyncRefusal", "refused by the server"),
    # 教案 templates (app/server/sync/templates.py)
    QT_TRANSLATE_NOOP("SyncRefusal", "You cannot change this template: it belongs to someone else."),
    QT_TRANSLATE_NOOP("SyncRefusal", "Only a trainer shares templates, with the cohorts they train."),
    QT_TRANSLATE_NOOP("SyncRefusal", "A template is not submitted for review."),
)


def tr_reason(reason: str) -> str:
    return translate(REASON_CONTEXT, reason) if reason in KNOWN_REASONS else reason


def describe_refused(count: int) -> str:
    if count == 1:
        return translate("Sync", "1 change refused by the server")
    return translate("Sync", "{count} changes refused by the server").format(count=count)


def describe_failure(exc: BaseException) -> tuple[str, str]:
    """``(reason, explanation)``: a few plain words for the status line and
    what it means for the user, chosen by the error's type."""
    if isinstance(exc, SecureConnectionFailed):
        return (
            translate("Sync", "no secure connection"),
            translate("Sync", "Could not open a secure connection to the server. "
                              "Check that the computer's date and time are correct."),
        )
    if isinstance(exc, BadResponse):
        return (
            translate("Sync", "the server's answer could not be read"),
            translate("Sync", "The answer did not come from a Fieldbook server. This can happen on "
                              "a network that shows a login page first, or when the address is wrong."),
        )
    if isinstance(exc, ServerUnavailable):
        return (
            translate("Sync", "the server is not available right now"),
            translate("Sync", "The server did not answer in time or is having trouble. "
                              "Your changes are saved on this computer."),
        )
    if isinstance(exc, Throttled):
        return (
            translate("Sync", "the server is busy"),
            translate("Sync", "The server asked Fieldbook to wait before trying again."),
        )
    if isinstance(exc, AccountMismatch):
        return (
            translate("Sync", "the records here belong to another account"),
            translate("Sync", "The records on this computer belong to {user} on {server}. "
                              "Sign in with that account.").format(user=exc.expected, server=exc.server_url),
        )
    if isinstance(exc, BadServerAddress):
        return (
            translate("Sync", "the server address is not valid"),
            translate("Sync", "Sign out, then sign in with the right server address."),
        )
    if isinstance(exc, RequestRejected):
        return (
            translate("Sync", "the server refused the request"),
            translate("Sync", "The server did not accept what Fieldbook sent. "
                              "Your changes are kept on this computer."),
        )
    if isinstance(exc, Offline):
        return (
            translate("Sync", "no connection"),
            translate("Sync", "Fieldbook cannot reach the server. Your changes are saved on this "
                              "computer and will be sent when the connection is back."),
        )
    if isinstance(exc, StoreError):
        return (
            translate("Sync", "the data file could not be written"),
            translate("Sync", "Fieldbook could not save what it received. "
                              "Check that the disk is not full."),
        )
    if isinstance(exc, SyncError):
        return translate("Sync", "the sync did not finish"), translate("Sync", "Fieldbook will try again.")
    return (
        translate("Sync", "an unexpected error"),
        translate("Sync", "Please tell your support person; the details are in Fieldbook's log file."),
    )



def no_keyring_text() -> str:
    return translate("Sync", "This computer has no password keyring: "
                             "you will need to sign in again next time Fieldbook starts.")
