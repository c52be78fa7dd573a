"""The server's tables (created and changed only by the Alembic migrations in
``app/server/migrations``). Works on PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# JSONB on PostgreSQL (compact, indexable), JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY, not BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    # Where a fellow teaches: trainers filter and report by it (docs/review.md).
    school: Mapped[str] = mapped_column(String(100), default="", server_default=text("''"))
    role: Mapped[str] = mapped_column(String(16))  # fellow | trainer | admin
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # In every access token; bumping it ends them all on the next request
    # (password change or reset, deactivation: app/server/security.py).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Why the user's sessions were ended (``session_revoked_reuse``), told on
    # the next successful sign-in and then cleared.
    session_notice: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Cohort(Base):
    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CohortMember(Base):
    """A fellow (in at most one cohort) or a trainer (in any number)."""

    __tablename__ = "cohort_members"

    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class RefreshToken(Base):
    """A rotating refresh token, stored only as a hash. Reusing a rotated
    token revokes its whole family (a stolen token is then useless)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(32))  # the session: one sign-in on one device
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Set when a refresh spent this token: the hash of the token it issued
    # (a retry within the grace gets that same token back).
    successor_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)

    # "Is this session live?" (a token of the family not revoked) is asked on
    # every request: one index seek.
    __table_args__ = (Index("ix_refresh_tokens_family_revoked_at", "family", "revoked_at"),)


class LoginFailure(Base):
    """Recent failed sign-ins, for throttling: per (user name, source), per
    source across names (``username == ""``) and per name across sources
    (``source == ""``); see ``security.check_throttle``."""

    __tablename__ = "login_failures"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServerState(Base):
    """One row: the sequence counter. Taking it with a row lock inside the
    push transaction makes seq order equal commit order, so a pull can never
    skip a write that commits late."""

    __tablename__ = "server_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)


class Device(Base):
    """The highest local seq applied from one (user, device): replayed
    batches at or below it apply nothing."""

    __tablename__ = "devices"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DeviceKeys(Base):
    """A device's public parcel keys (base64 of DevicePublicKeys.to_bytes()),
    registered at sign-in: the server checks a parcel's signature with them
    and seals the answer for that device alone (docs/parcels.md)."""

    __tablename__ = "device_keys"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    keys: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DeliveredParcel(Base):
    """A parcel already applied, with the push answers given, so delivering
    it again returns the same answer and applies nothing twice."""

    __tablename__ = "delivered_parcels"
    __table_args__ = (Index("ix_delivered_parcels_expires_at", "expires_at"),)

    parcel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(String(64))
    push_responses: Mapped[Any] = mapped_column(JSONType)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SyncRecord(Base):
    """The current state of one record: each field's value and the version
    that set it, ``versions[field] = [clock, device, seq]``."""

    __tablename__ = "records"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    versions: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    seq: Mapped[int] = mapped_column(BigInteger)  # seq of the latest write

    __table_args__ = (Index("ix_records_owner_seq", "owner_id", "seq"), Index("ix_records_seq", "seq"))


class SyncConflict(Base):
    """A value that lost to a concurrent edit, kept for the record's author."""

    __tablename__ = "conflicts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    field: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    clock: Mapped[int] = mapped_column(BigInteger)
    device: Mapped[str] = mapped_column(String(64))
    winner_clock: Mapped[int] = mapped_column(BigInteger)
    winner_device: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_conflicts_owner_seq", "owner_id", "seq"),)


class SyncNotice(Base):
    """A message for one user (e.g. the record you deleted came back)."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    record_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_notices_user_seq", "user_id", "seq"),)


class Review(Base):
    """One entry of a record's review thread (docs/review.md): append-only,
    never edited. ``owner_id`` is the record's owner, so a pull finds the
    entries of the owners it sends by ``(owner_id, seq)``."""

    __tablename__ = "reviews"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the client's UUID
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(16))  # submit | withdraw | approve | return | comment
    body: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(16))  # accepted | superseded
    reason: Mapped[str] = mapped_column(Text, default="")
    basis: Mapped[Any] = mapped_column(JSONType, default=list)  # [clock, device] decided on
    written_at: Mapped[str] = mapped_column(Text, default="")  # the device's clock: shown only
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)  # server time
    seq: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_reviews_owner_seq", "owner_id", "seq"),
        Index("ix_reviews_record_seq", "record_id", "seq"),
    )


class Blob(Base):
    """A file the server holds whole, named by the SHA-256 of its content
    (docs/attachments.md); its bytes are in ``<blob dir>/<sha[:2]>/<sha>``.
    Kept once however many records or users use it."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(128))
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    complete: Mapped[bool] = mapped_column(Boolean, default=True)


class Upload(Base):
    """One user's unfinished upload of a blob: ``offset`` bytes of it are in
    ``<blob dir>/partial/<user>-<sha>``, kept across dropped connections."""

    __tablename__ = "uploads"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(128))
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RecordBlob(Base):
    """Which records use which blob, kept by the push from each record's
    ``attachments`` field, and who put the reference there (``attached_by``):
    a record grants its readers a file only when that user holds it
    (``BlobHolder``). No foreign key to ``blobs``: a record names its files
    before they arrive."""

    __tablename__ = "record_blobs"

    record_id: Mapped[str] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    attached_by: Mapped[int] = mapped_column(ForeignKey("users.id", name="fk_record_blobs_attached_by_users"))

    __table_args__ = (Index("ix_record_blobs_sha256", "sha256"),)


class BlobHolder(Base):
    """A user who has proven they have a blob's bytes (docs/attachments.md
    "Who may read a file"): ``how`` is ``upload`` (they sent the whole file
    and its SHA-256 checked out, even when the server had it already) or
    ``reference`` (they attached it while they could read it already).
    Knowing a hash proves nothing, so nothing else makes a row."""

    __tablename__ = "blob_holders"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256", ondelete="CASCADE"), primary_key=True)
    since: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    how: Mapped[str] = mapped_column(String(16))  # upload | reference

    __table_args__ = (Index("ix_blob_holders_sha256", "sha256"),)


__all__ = [
    "Base",
    "Blob",
    "BlobHolder",
    "Cohort",
    "CohortMember",
    "Device",
    "LoginFailure",
    "RecordBlob",
    "RefreshToken",
    "Review",
    "ServerState",
    "SyncConflict",
    "SyncNotice",
    "SyncRecord",
    "Upload",
    "User",
]
