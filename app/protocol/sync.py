"""The sync wire protocol, shared by the client engine and the server.

Plain data (JSON over HTTP, gzip both ways); see docs/sync.md for the rules.
Nothing here imports Qt, FastAPI or requests: both sides build on it.
"""

from __future__ import annotations

import gzip
import json
from typing import Any, Final, Literal, NotRequired, TypedDict

PROTOCOL_VERSION: Final = 1
MIN_SUPPORTED_PROTOCOL: Final = 1  # oldest client protocol the server accepts
PROTOCOL_HEADER: Final = "Fieldbook-Protocol"
API_PREFIX: Final = "/api/v1"

# Limits. The server answers 413 past them; the client batches below them.
MAX_BODY_BYTES: Final = 8 * 1024 * 1024  # compressed body as sent
MAX_INFLATED_BYTES: Final = 32 * 1024 * 1024  # body after gunzip (zip bombs)
MAX_PUSH_CHANGES: Final = 2000  # change groups per push request
PUSH_BATCH_BYTES: Final = 1024 * 1024  # the client's target uncompressed batch size
PULL_PAGE_MAX: Final = 5000  # records per pull page the server sends at most
PULL_PAGE_BYTES: Final = 2 * 1024 * 1024  # the server's target uncompressed page size
GZIP_MIN_BYTES: Final = 512  # smaller bodies are not worth compressing

# Fields every record has besides its kind's own; synced like any field.
META_FIELDS: Final = ("status", "deleted")
SERVER_DEVICE: Final = "server"  # device id of writes the server makes itself

Outcome = Literal["applied", "merged", "conflict", "rejected"]
Role = Literal["fellow", "trainer", "admin"]

# Review entries (docs/review.md). ``submit`` and ``withdraw`` are written by
# the server when it applies an owner's status change; clients push only
# ``approve``, ``return`` and ``comment``.
ReviewAction = Literal["submit", "withdraw", "approve", "return", "comment"]
ReviewOutcome = Literal["accepted", "superseded", "rejected"]
MAX_REVIEW_BODY: Final = 5000  # characters of a comment
MAX_PUSH_REVIEWS: Final = 500  # review entries per push request


class PushChange(TypedDict):
    """One local transaction's changes to one record."""

    seq: int  # the device's local change-log sequence (max of the group)
    record_id: str
    kind: str
    clock: int  # Lamport clock of the local transaction
    known: int  # the client's pull cursor when the edit was made
    fields: dict[str, Any]  # field name -> JSON value


class PushReview(TypedDict):
    """A comment or decision made on this device, queued until pushed."""

    id: str  # a UUID made by the client: a replayed push stores nothing twice
    record_id: str
    action: ReviewAction  # approve | return | comment
    body: str  # the comment: may be empty for approve, required for return
    # approve/return: the record's ``status`` version [clock, device] the
    # reviewer decided on (from its pulled record); [] for a comment.
    basis: list[Any]
    written_at: str  # the device's clock, ISO 8601: shown only, never ordered by


class PushRequest(TypedDict):
    protocol: int
    device_id: str
    changes: list[PushChange]
    reviews: NotRequired[list[PushReview]]  # applied after ``changes``, in order
    # The batch follows directly after the one ending at this seq (protocol 1,
    # added later): applied only if the server holds this device's changes up
    # to it, else 409 ``push_gap`` with nothing applied. It lets a client send
    # a batch while the one before is still being applied.
    after: NotRequired[int]


class PushResult(TypedDict):
    seq: int
    outcome: Outcome
    reason: NotRequired[str]
    fields: NotRequired[list[str]]
    # For a rejected group of a record the user sees (protocol 1, added
    # later): each of the group's fields as the server holds it, ``[value,
    # clock, device]``, or ``None`` where it holds no version. The client puts
    # its copy back to it, so a refused change does not stay on one laptop.
    current: NotRequired[dict[str, list[Any] | None]]


class ReviewResult(TypedDict):
    id: str
    outcome: ReviewOutcome
    reason: NotRequired[str]  # for superseded and rejected: plain words for the user


class PushResponse(TypedDict):
    protocol: int
    last_seq: int  # highest seq of this device the server holds
    results: list[PushResult]  # only outcomes other than "applied"
    reviews: NotRequired[list[ReviewResult]]  # one for each review of the request


class PullRequest(TypedDict):
    protocol: int
    cursor: int
    scope: list[int] | None  # owners whose records the client holds; None at first
    limit: NotRequired[int]
    # The previous page's ``resume`` while its ``more`` was true (stored with
    # the cursor and scope); absent or None when a pull run starts.
    resume: NotRequired[str | None]
    # The pulling device (optional, added later in protocol 1): the server
    # then leaves out fields whose current version this device wrote itself,
    # which it has already (its own push coming back). Owners sent whole
    # (newly visible) still come complete.
    device_id: NotRequired[str]
    # What the pulling device knows the server confirmed of its pushes
    # (optional, added later in protocol 1). Below the server's mark for
    # this device, its store is older than what it pushed: its own writes
    # are sent back too, as it may no longer have them.
    pushed_seq: NotRequired[int]
    # The ``people_hash`` of the people list the client holds (protocol 1,
    # added with reviews): the list is sent again only when it changed.
    people_hash: NotRequired[str]


class RemoteRecord(TypedDict):
    id: str
    kind: str
    owner: int
    author: str
    created_at: str
    # field -> [value, clock, index into PullResponse.devices]; only fields
    # changed after the cursor (all fields for newly visible owners).
    fields: dict[str, list[Any]]


class RemoteConflict(TypedDict):
    id: int
    record_id: str
    field: str
    value: Any  # the value that lost, kept so the author can restore it
    clock: int
    device: str
    winner_clock: int
    winner_device: str


class Notice(TypedDict):
    id: int
    record_id: str
    kind: str  # e.g. "restored_after_delete"
    message: str


class RemoteReview(TypedDict):
    """A stored review entry (append-only), as the record's viewers get it."""

    id: str
    record_id: str
    author_id: int
    author: str  # display name
    action: ReviewAction
    body: str
    outcome: ReviewOutcome  # accepted or superseded (rejected ones are not stored)
    reason: str  # why superseded ("" when accepted)
    at: str  # server time, ISO 8601 UTC: the order of a record's thread
    seq: int


class Person(TypedDict):
    """Someone whose records the user sees (for names, schools, cohorts)."""

    id: int
    name: str
    role: Role
    school: str
    cohorts: list[str]


class PullResponse(TypedDict):
    protocol: int
    cursor: int
    more: bool
    devices: list[str]
    records: list[RemoteRecord]
    conflicts: list[RemoteConflict]
    notices: list[Notice]
    scope: list[int]  # owners visible now
    removed: list[int]  # owners no longer visible: drop their records
    # Only while ``more``: an opaque token to send back with the next page
    # (see docs/sync.md, "Pages"). Without it a later page could miss fields
    # written before the page cut on records that changed again after it.
    resume: NotRequired[str]
    reviews: NotRequired[list[RemoteReview]]  # review entries with seq in the page's range
    # The people behind ``scope`` (and the user), sent only when they differ
    # from the request's ``people_hash``; ``people_hash`` always.
    people: NotRequired[list[Person]]
    people_hash: NotRequired[str]


class ErrorBody(TypedDict):
    code: str
    message: str


def version_key(clock: int, device: str) -> tuple[int, str]:
    """The total order every replica uses to pick a field's winner."""
    return (clock, device)


def encode(payload: Any, *, compress: bool = True) -> tuple[bytes, dict[str, str]]:
    """JSON body plus headers; gzip above ``GZIP_MIN_BYTES``."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    if compress and len(body) >= GZIP_MIN_BYTES:
        body = gzip.compress(body, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    return body, headers


class BodyTooLarge(ValueError):
    """A body (or what it inflates to) is over the limit."""


def inflate(body: bytes, encoding: str | None, limit: int = MAX_INFLATED_BYTES) -> bytes:
    """Gunzip a request body without letting it grow past ``limit``."""
    if not encoding or encoding == "identity":
        if len(body) > limit:
            raise BodyTooLarge(len(body))
        return body
    if encoding != "gzip":
        raise ValueError(f"unsupported Content-Encoding: {encoding}")
    import zlib

    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(body, limit + 1)
    if len(out) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge(limit)
    if not inflater.eof:
        raise ValueError("truncated gzip body")
    return out
