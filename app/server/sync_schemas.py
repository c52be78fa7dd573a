"""Pydantic models of the sync bodies, mirroring the TypedDicts in
``app/protocol/sync.py``: they validate requests strictly before any code of
ours runs and give the OpenAPI schema. A test keeps the two in step.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from app.protocol.sync import (
    MAX_PUSH_CHANGES,
    MAX_PUSH_REVIEWS,
    MAX_REVIEW_BODY,
    MIN_SUPPORTED_PROTOCOL,
    PROTOCOL_VERSION,
    PULL_PAGE_MAX,
    SERVER_DEVICE,
)
from app.server.schemas import Text

# Clocks, seqs and cursors are below this: JSON's safe integers, which every
# JSON reader (JavaScript's, validators working in floats) takes exactly. Real
# ones stay far below: a million changes a day would take 24 million years.
SEQ_LIMIT = 2**53
MAX_FIELDS_PER_CHANGE = 64  # a kind has about 20 fields; more is not a real change
MAX_SCOPE = 100_000  # owner ids in a pull's scope
MAX_RESUME_CHARS = 1_000_000
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
DEVICE_PATTERN = r"^[0-9A-Za-z_-]{1,64}$"
FIELD_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
PEOPLE_HASH_PATTERN = r"^[0-9a-f]{0,64}$"
# A review body past MAX_REVIEW_BODY is refused per entry (the rest of the push
# applies); one past this is not from a Fieldbook client and refuses the request.
REVIEW_BODY_HARD_MAX = 16 * MAX_REVIEW_BODY
REVIEW_ACTION_MAX = 32
WRITTEN_AT_MAX = 64

KindName = Literal["lesson_plan", "training", "exchange", "lesson_template"]


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
# so only the plausible range is refused by the model itself.
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


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class PushChangeModel(_Strict):
    seq: Seq = Field(description="the device's change-log seq (the highest of the group)")
    record_id: RecordId = Field(description="the record's UUID, lower case")
    kind: KindName
    clock: Seq = Field(description="Lamport clock of the local transaction")
    known: Seq = Field(description="the client's pull cursor when the edit was made")
    fields: dict[FieldName, Any] = Field(
        max_length=MAX_FIELDS_PER_CHANGE, json_schema_extra={"additionalProperties": False},
        description="field name -> new value (a name not of the kind rejects the group)",
    )


ORDER_CODE = "changes_out_of_order"


def order_problem(changes: list[PushChangeModel]) -> str | None:
    """Why the groups are not in an order the server can apply, or ``None``.

    Seqs are unique, and each record's groups come in the order of their seq
    (they are applied in that order); groups of different records may come in
    any order (the client puts those of one kind together: they compress far
    better). A JSON schema cannot state a rule across items, so the endpoint
    checks this and answers 422 ``changes_out_of_order``: a code of its own
    tells clients (and schema fuzzers) it is this rule and not the shape."""
    last: dict[str, int] = {}
    seen: set[int] = set()
    for change in changes:
        if change.seq in seen:
            return f"Two changes have the same seq ({change.seq})."
        seen.add(change.seq)
        if last.get(change.record_id, -1) > change.seq:
            return f"The changes of record {change.record_id} must come in the order of their seq."
        last[change.record_id] = change.seq
    return None


class PushReviewModel(_Strict):
    """A comment or decision. Only the shape is checked here: an unknown
    action, a body over MAX_REVIEW_BODY or a bad basis is refused for that
    entry alone, with a reason (docs/review.md), so the rest still syncs."""

    id: RecordId = Field(description="a UUID made by the client; a replay stores nothing twice")
    record_id: RecordId
    action: Annotated[str, Field(min_length=1, max_length=REVIEW_ACTION_MAX)] = Field(
        description="approve | return | comment"
    )
    body: Annotated[str, Field(max_length=REVIEW_BODY_HARD_MAX)] = Field(
        description=f"the comment; at most {MAX_REVIEW_BODY} characters, required for return"
    )
    basis: Annotated[
        list[Seq | Annotated[str, StringConstraints(pattern=DEVICE_PATTERN)]], Field(max_length=2)
    ] = Field(description="approve/return: the record's status version [clock, device]; [] for a comment")
    written_at: Annotated[Text, Field(max_length=WRITTEN_AT_MAX)] = Field(
        description="the device's clock, ISO 8601: shown only"
    )


class PushRequestModel(_Strict):
    protocol: Protocol
    device_id: DeviceId
    changes: Annotated[list[PushChangeModel], Field(max_length=MAX_PUSH_CHANGES)] = Field(
        description=f"seqs unique, each record's in ascending order (else 422 `{ORDER_CODE}`)"
    )
    reviews: Annotated[list[PushReviewModel], Field(max_length=MAX_PUSH_REVIEWS)] | None = Field(
        default=None, description="review entries, applied after `changes` in the same transaction"
    )
    after: Seq | None = Field(
        default=None,
        description="apply only if the server holds this device's changes up to this seq "
        "(else 409 `push_gap`, nothing applied)",
    )


class PushResultModel(BaseModel):
    seq: int
    outcome: Literal["applied", "merged", "conflict", "rejected"]
    reason: str | None = None
    fields: list[str] | None = None
    current: dict[str, list[Any] | None] | None = Field(
        default=None,
        description="rejected, of a record the user sees: each field of the group as the server "
        "holds it, `[value, clock, device]` (null: no version); the client puts its copy back",
    )


class ReviewResultModel(BaseModel):
    id: str
    outcome: Literal["accepted", "superseded", "rejected"]
    reason: str | None = None


class PushResponseModel(BaseModel):
    protocol: int
    last_seq: int = Field(description="highest seq of this device the server holds")
    results: list[PushResultModel] = Field(description="only the groups that were not simply applied")
    reviews: list[ReviewResultModel] | None = Field(
        default=None, description="one answer for each review entry of the request"
    )


class PullRequestModel(_Strict):
    protocol: Protocol
    cursor: Seq
    scope: Annotated[list[OwnerId], Field(max_length=MAX_SCOPE)] | None
    limit: Annotated[int, Field(ge=0, lt=SEQ_LIMIT), Whole] | None = Field(
        default=None, description=f"records per page; at most {PULL_PAGE_MAX} are sent"
    )
    resume: Annotated[str, Field(max_length=MAX_RESUME_CHARS, pattern=r"^[0-9]+:[0-9,]*$")] | None = (
        Field(default=None, description="the previous page's `resume`, while `more` was true")
    )
    device_id: DeviceId | None = Field(
        default=None, description="the pulling device: fields it wrote itself are left out"
    )
    pushed_seq: Seq | None = Field(
        default=None,
        description="the device's pushes it knows confirmed; below the server's mark its own "
        "fields are sent too (its store is older than what it pushed)",
    )
    people_hash: Annotated[str, StringConstraints(pattern=PEOPLE_HASH_PATTERN)] | None = Field(
        default=None, description="the `people_hash` the client holds: `people` is left out if unchanged"
    )


class RemoteRecordModel(BaseModel):
    id: str
    kind: str
    owner: int
    author: str
    created_at: str
    fields: dict[str, tuple[Any, int, int]] = Field(
        description="field -> [value, clock, index into `devices`]"
    )


class RemoteConflictModel(BaseModel):
    id: int
    record_id: str
    field: str
    value: Any
    clock: int
    device: str
    winner_clock: int
    winner_device: str


class NoticeModel(BaseModel):
    id: int
    record_id: str
    kind: str
    message: str


class RemoteReviewModel(BaseModel):
    id: str
    record_id: str
    author_id: int
    author: str
    action: Literal["submit", "withdraw", "approve", "return", "comment"]
    body: str
    outcome: Literal["accepted", "superseded"]
    reason: str
    at: str = Field(description="server time, ISO 8601 UTC: the order of a record's thread")
    seq: int


class PersonModel(BaseModel):
    id: int
    name: str
    role: Literal["fellow", "trainer", "admin"]
    school: str
    cohorts: list[str]


class PullResponseModel(BaseModel):
    protocol: int
    cursor: int
    more: bool
    devices: list[str]
    records: list[RemoteRecordModel]
    conflicts: list[RemoteConflictModel]
    notices: list[NoticeModel]
    scope: list[int]
    removed: list[int]
    resume: str | None = Field(default=None, description="send back with the next page while `more`")
    reviews: list[RemoteReviewModel] | None = Field(
        default=None, description="review entries with seq in the page's range (left out when none)"
    )
    people: list[PersonModel] | None = Field(
        default=None, description="the people behind `scope` and the user; only when `people_hash` changed"
    )
    people_hash: str | None = Field(default=None, description="sha256 of the canonical `people` list")
