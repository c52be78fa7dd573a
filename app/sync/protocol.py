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


class PushChange(TypedDict):
    """One local transaction's changes to one record."""

    seq: int  # the device's local change-log sequence (max of the group)
    record_id: str
    kind: str
    clock: int  # Lamport clock of the local transaction
    known: int  # the client's pull cursor when the edit was made
    fields: dict[str, Any]  # field name -> JSON value


class PushRequest(TypedDict):
    protocol: int
    device_id: str
    changes: list[PushChange]


class PushResult(TypedDict):
    seq: int
    outcome: Outcome
    reason: NotRequired[str]
    fields: NotRequired[list[str]]


class PushResponse(TypedDict):
    protocol: int
    last_seq: int  # highest seq of this device the server holds
    results: list[PushResult]  # only outcomes other than "applied"


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
