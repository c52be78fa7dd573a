"""The sync wire protocol, shared by the client engine and the server.

Plain data (JSON over HTTP, gzip both ways); see docs/sync.md for the rules.
Each message is defined once, here, as a ``TypedDict`` whose fields carry
their bounds (``Annotated``): the code on both sides handles plain dicts
typed by these classes, and pydantic validates the same classes on the wire,
where they arrive. The server validates every request with them (FastAPI
reads them as the endpoints' bodies and states them in its OpenAPI schema);
the client validates every answer with them (:func:`read_push_response`,
:func:`read_pull_response`) before any of it reaches the store. So client and
server cannot disagree about a message: there is only one of each.

Requests are strict and closed (an unknown key is refused: a client of ours
never sends one). Answers are as strict in every value, but an unknown key
is dropped rather than refused: servers are upgraded before the laptops in
the field, and a field added to an answer must not stop older clients.

Nothing here imports Qt, FastAPI or requests: both sides build on it.
"""

from __future__ import annotations

import gzip
import json
from typing import Annotated, Any, Final, Literal, NotRequired, TypeVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    with_config,
)

# pydantic reads TypedDicts from typing_extensions on Python < 3.12.
from typing_extensions import TypedDict

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
KindName = Literal["lesson_plan", "training", "exchange", "lesson_template"]

# Review entries (docs/review.md). ``submit`` and ``withdraw`` are written by
# the server when it applies an owner's status change; clients push only
# ``approve``, ``return`` and ``comment``.
ReviewAction = Literal["submit", "withdraw", "approve", "return", "comment"]
ReviewOutcome = Literal["accepted", "superseded", "rejected"]
MAX_REVIEW_BODY: Final = 5000  # characters of a comment
MAX_PUSH_REVIEWS: Final = 500  # review entries per push request
# A review body past MAX_REVIEW_BODY is refused per entry (the rest of the push
# applies); one past this is not from a Fieldbook client and refuses the request.
REVIEW_BODY_HARD_MAX: Final = 16 * MAX_REVIEW_BODY
REVIEW_ACTION_MAX: Final = 32
WRITTEN_AT_MAX: Final = 64

# Clocks, seqs and cursors are below this: JSON's safe integers, which every
# JSON reader (JavaScript's, validators working in floats) takes exactly. Real
# ones stay far below: a million changes a day would take 24 million years.
SEQ_LIMIT: Final = 2**53
MAX_FIELDS_PER_CHANGE: Final = 64  # a kind has about 20 fields; more is not a real change
MAX_SCOPE: Final = 100_000  # owner ids in a pull's scope
MAX_RESUME_CHARS: Final = 1_000_000
UUID_PATTERN: Final = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
DEVICE_PATTERN: Final = r"^[0-9A-Za-z_-]{1,64}$"
FIELD_PATTERN: Final = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
PEOPLE_HASH_PATTERN: Final = r"^[0-9a-f]{0,64}$"
RESUME_PATTERN: Final = r"^[0-9]+:[0-9,]*$"
ORDER_CODE: Final = "changes_out_of_order"

# --- value types: the bounds every message states ---------------------------


def _encodable(value: str) -> str:
    """Refuse lone surrogates (valid JSON escapes, but not text) and NUL."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains characters that are not text") from None
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


# What ``_encodable`` refuses, said in the OpenAPI schema (it stays the check:
# its message is clearer than a pattern's). Only NUL: lone surrogates cannot
# be written in a pattern every JSON-schema validator compiles (Rust's regex
# refuses them), and no generator of text makes them.
TEXT_PATTERN: Final = r"^[^\u0000]*$"
TEXT_SCHEMA: Final = Field(json_schema_extra={"pattern": TEXT_PATTERN})
# Text that can be stored and encoded (it states its own pattern: for another
# one, use ``str`` with that pattern instead). Put length limits *before* the
# validator (``Annotated[str, Field(max_length=9), AfterValidator(encodable)]``)
# for pydantic's "String should have at most 9 characters" message.
Text = Annotated[str, TEXT_SCHEMA, AfterValidator(_encodable)]
encodable = _encodable  # for other bodies' text fields (the server's auth bodies)


def _whole(value: object) -> object:
    """JSON has one kind of number: to a JSON schema (and to clients that
    write every number as a float) ``7.0`` is the integer 7, so it is taken
    as such; anything else is left to the strict check."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Whole = BeforeValidator(_whole)
Seq = Annotated[int, Field(ge=0, lt=SEQ_LIMIT), Whole]
OwnerId = Annotated[int, Field(ge=1, lt=SEQ_LIMIT), Whole]
RecordId = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]
FieldName = Annotated[str, StringConstraints(pattern=FIELD_PATTERN)]
# The range the schema states is the one this server speaks; outside it the
# answer says which side is too old (426 below, 400 ``protocol_too_new`` above),
# so only the plausible range is refused by the type itself.
Protocol = Annotated[int, Field(
    ge=1, lt=1000, json_schema_extra={"minimum": MIN_SUPPORTED_PROTOCOL, "maximum": PROTOCOL_VERSION},
    description=f"the sync protocol of the request: this server speaks {MIN_SUPPORTED_PROTOCOL} to "
    f"{PROTOCOL_VERSION} (426 `client_too_old` below, 400 `protocol_too_new` above)",
), Whole]


def _not_server(value: str) -> str:
    if value == SERVER_DEVICE:
        raise ValueError(f"{SERVER_DEVICE!r} is reserved for the server's own writes")
    return value


DeviceId = Annotated[
    str, StringConstraints(pattern=DEVICE_PATTERN), AfterValidator(_not_server),
    Field(json_schema_extra={"not": {"const": SERVER_DEVICE}}),
]
DeviceName = Annotated[str, StringConstraints(pattern=DEVICE_PATTERN)]

# Requests: strict and closed. Answers: strict, unknown keys dropped.
REQUEST: Final = ConfigDict(strict=True, extra="forbid")
ANSWER: Final = ConfigDict(strict=True, extra="ignore")


# --- push --------------------------------------------------------------------


@with_config(REQUEST)
class PushChange(TypedDict):
    """One local transaction's changes to one record."""

    seq: Annotated[Seq, Field(description="the device's change-log seq (the highest of the group)")]
    record_id: Annotated[RecordId, Field(description="the record's UUID, lower case")]
    kind: KindName
    clock: Annotated[Seq, Field(description="Lamport clock of the local transaction")]
    known: Annotated[Seq, Field(description="the client's pull cursor when the edit was made")]
    fields: Annotated[dict[FieldName, Any], Field(
        max_length=MAX_FIELDS_PER_CHANGE, json_schema_extra={"additionalProperties": False},
        description="field name -> new JSON value (a name not of the kind rejects the group)",
    )]


@with_config(REQUEST)
class PushReview(TypedDict):
    """A comment or decision made on this device, queued until pushed.

    Only the shape is checked on the wire: an unknown action, a body over
    MAX_REVIEW_BODY or a bad basis is refused for that entry alone, with a
    reason (docs/review.md), so the rest of the push still syncs."""

    id: Annotated[RecordId, Field(description="a UUID made by the client; a replay stores nothing twice")]
    record_id: RecordId
    # approve | return | comment (str, not ReviewAction: see above)
    action: Annotated[str, Field(min_length=1, max_length=REVIEW_ACTION_MAX,
                                 description="approve | return | comment")]
    body: Annotated[str, Field(
        max_length=REVIEW_BODY_HARD_MAX,
        description=f"the comment; at most {MAX_REVIEW_BODY} characters, required for return",
    )]
    # approve/return: the record's ``status`` version [clock, device] the
    # reviewer decided on (from its pulled record); [] for a comment.
    basis: Annotated[list[Seq | DeviceName], Field(
        max_length=2,
        description="approve/return: the record's status version [clock, device]; [] for a comment",
    )]
    written_at: Annotated[Text, Field(max_length=WRITTEN_AT_MAX,
                                      description="the device's clock, ISO 8601: shown only")]


@with_config(REQUEST)
class PushRequest(TypedDict):
    protocol: Protocol
    device_id: DeviceId
    changes: Annotated[list[PushChange], Field(
        max_length=MAX_PUSH_CHANGES,
        description=f"seqs unique, each record's in ascending order (else 422 `{ORDER_CODE}`)",
    )]
    reviews: NotRequired[Annotated[list[PushReview], Field(
        max_length=MAX_PUSH_REVIEWS,
        description="review entries, applied after `changes` in the same transaction",
    )]]
    # The batch follows directly after the one ending at this seq (protocol 1,
    # added later): applied only if the server holds this device's changes up
    # to it, else 409 ``push_gap`` with nothing applied. It lets a client send
    # a batch while the one before is still being applied.
    after: NotRequired[Annotated[Seq, Field(
        description="apply only if the server holds this device's changes up to this seq "
        "(else 409 `push_gap`, nothing applied)",
    )]]


def order_problem(changes: list[PushChange]) -> str | None:
    """Why the groups are not in an order the server can apply, or ``None``.

    Seqs are unique, and each record's groups come in the order of their seq
    (they are applied in that order); groups of different records may come in
    any order (the client puts those of one kind together: they compress far
    better). A JSON schema cannot state a rule across items, so the server
    checks this and answers 422 ``changes_out_of_order``: a code of its own
    tells clients (and schema fuzzers) it is this rule and not the shape."""
    last: dict[str, int] = {}
    seen: set[int] = set()
    for change in changes:
        seq, record_id = change["seq"], change["record_id"]
        if seq in seen:
            return f"Two changes have the same seq ({seq})."
        seen.add(seq)
        if last.get(record_id, -1) > seq:
            return f"The changes of record {record_id} must come in the order of their seq."
        last[record_id] = seq
    return None


# A field's version as the server holds it: [value, clock, device].
HeldVersion = tuple[Any, Seq, str]


@with_config(ANSWER)
class PushResult(TypedDict):
    seq: Seq
    outcome: Outcome
    reason: NotRequired[str]
    fields: NotRequired[list[str]]
    # For a rejected group of a record the user sees (protocol 1, added
    # later): each of the group's fields as the server holds it, ``[value,
    # clock, device]``, or ``None`` where it holds no version. The client puts
    # its copy back to it, so a refused change does not stay on one laptop.
    current: NotRequired[Annotated[dict[str, HeldVersion | None], Field(
        description="rejected, of a record the user sees: each field of the group as the server "
        "holds it, `[value, clock, device]` (null: no version); the client puts its copy back",
    )]]


@with_config(ANSWER)
class ReviewResult(TypedDict):
    id: str
    outcome: ReviewOutcome
    reason: NotRequired[str]  # for superseded and rejected: plain words for the user


@with_config(ANSWER)
class PushResponse(TypedDict):
    protocol: int
    last_seq: Annotated[Seq, Field(description="highest seq of this device the server holds")]
    results: Annotated[list[PushResult], Field(
        description="only the groups that were not simply applied")]
    reviews: NotRequired[Annotated[list[ReviewResult], Field(
        description="one answer for each review entry of the request")]]


# --- pull --------------------------------------------------------------------


@with_config(REQUEST)
class PullRequest(TypedDict):
    protocol: Protocol
    cursor: Seq
    scope: Annotated[
        Annotated[list[OwnerId], Field(max_length=MAX_SCOPE)] | None,
        Field(description="owners whose records the client holds; null at first"),
    ]
    limit: NotRequired[Annotated[int, Field(
        ge=0, lt=SEQ_LIMIT, description=f"records per page; at most {PULL_PAGE_MAX} are sent",
    ), Whole]]
    # The previous page's ``resume`` while its ``more`` was true (stored with
    # the cursor and scope); absent or None when a pull run starts.
    resume: NotRequired[Annotated[
        Annotated[str, Field(max_length=MAX_RESUME_CHARS, pattern=RESUME_PATTERN)] | None,
        Field(description="the previous page's `resume`, while `more` was true"),
    ]]
    # The pulling device (optional, added later in protocol 1): the server
    # then leaves out fields whose current version this device wrote itself,
    # which it has already (its own push coming back). Owners sent whole
    # (newly visible) still come complete.
    device_id: NotRequired[Annotated[DeviceId, Field(
        description="the pulling device: fields it wrote itself are left out")]]
    # What the pulling device knows the server confirmed of its pushes
    # (optional, added later in protocol 1). Below the server's mark for
    # this device, its store is older than what it pushed: its own writes
    # are sent back too, as it may no longer have them.
    pushed_seq: NotRequired[Annotated[Seq, Field(
        description="the device's pushes it knows confirmed; below the server's mark its own "
        "fields are sent too (its store is older than what it pushed)")]]
    # The ``people_hash`` of the people list the client holds (protocol 1,
    # added with reviews): the list is sent again only when it changed.
    people_hash: NotRequired[Annotated[str, StringConstraints(pattern=PEOPLE_HASH_PATTERN), Field(
        description="the `people_hash` the client holds: `people` is left out if unchanged",
    )]]


# A field's version in a pull page: [value, clock, index into ``devices``].
PulledVersion = tuple[Any, Seq, Annotated[int, Field(ge=0)]]


@with_config(ANSWER)
class RemoteRecord(TypedDict):
    id: RecordId
    kind: str
    owner: int
    author: str
    created_at: str
    # only fields changed after the cursor (all fields for newly visible owners)
    fields: Annotated[dict[str, PulledVersion], Field(
        description="field -> [value, clock, index into `devices`]")]


@with_config(ANSWER)
class RemoteConflict(TypedDict):
    id: int
    record_id: str
    field: str
    value: Any  # the value that lost, kept so the author can restore it
    clock: int
    device: str
    winner_clock: int
    winner_device: str


@with_config(ANSWER)
class Notice(TypedDict):
    id: int
    record_id: str
    kind: str  # e.g. "restored_after_delete"
    message: str


@with_config(ANSWER)
class RemoteReview(TypedDict):
    """A stored review entry (append-only), as the record's viewers get it."""

    id: str
    record_id: str
    author_id: int
    author: str  # display name
    action: ReviewAction
    body: str
    outcome: Literal["accepted", "superseded"]  # rejected ones are not stored
    reason: str  # why superseded ("" when accepted)
    at: Annotated[str, Field(description="server time, ISO 8601 UTC: the order of a record's thread")]
    seq: int


@with_config(ANSWER)
class Person(TypedDict):
    """Someone whose records the user sees (for names, schools, cohorts)."""

    id: int
    name: str
    role: Role
    school: str
    cohorts: list[str]


@with_config(ANSWER)
class PullResponse(TypedDict):
    protocol: int
    cursor: Seq
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
    resume: NotRequired[Annotated[str, Field(
        description="send back with the next page while `more`")]]
    reviews: NotRequired[Annotated[list[RemoteReview], Field(
        description="review entries with seq in the page's range (left out when none)")]]
    # The people behind ``scope`` (and the user), sent only when they differ
    # from the request's ``people_hash``; ``people_hash`` always.
    people: NotRequired[Annotated[list[Person], Field(
        description="the people behind `scope` and the user; only when `people_hash` changed")]]
    people_hash: NotRequired[Annotated[str, Field(
        description="sha256 of the canonical `people` list")]]


class ErrorBody(TypedDict):
    code: str
    message: str


# --- reading answers -----------------------------------------------------------

_Message = TypeVar("_Message")


class MalformedMessage(ValueError):
    """A body that is not the message it should be (the first problem, in
    plain words; pydantic's full report goes to the log)."""


def reader(message: type[_Message]) -> TypeAdapter[_Message]:
    """The validator of one message, built once (building costs a few ms)."""
    return TypeAdapter(message)


def read(adapter: TypeAdapter[_Message], body: bytes | str) -> _Message:
    """``body`` (JSON text, as received) checked as the message ``adapter``
    reads. Parsed and checked in one pass by pydantic-core, in JSON's own
    terms: strict, yet an array is a tuple where a message says so."""
    try:
        return adapter.validate_json(body)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise MalformedMessage(f"{where}: {first['msg']}") from error


PUSH_RESPONSE: Final = reader(PushResponse)
PULL_RESPONSE: Final = reader(PullResponse)


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
