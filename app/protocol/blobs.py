"""The attachment (blob) wire protocol, shared by the client and the server.

Files travel apart from record sync (docs/attachments.md): addressed by the
SHA-256 of their content, uploaded with resumable ``PUT``s that the server
keeps even when the connection drops mid-body, downloaded with ``Range``.
Nothing here imports Qt, FastAPI or requests.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import Field, StringConstraints, with_config
from typing_extensions import TypedDict

from app.protocol.sync import ANSWER, Seq, reader

BLOBS_PATH: Final = "/blobs"  # under API_PREFIX: /api/v1/blobs/{sha256}
SHA256_RE: Final = re.compile(r"^[0-9a-f]{64}$")
# Request headers of an upload PUT.
SIZE_HEADER: Final = "Fieldbook-Blob-Size"  # the whole file's size in bytes
TYPE_HEADER: Final = "Fieldbook-Blob-Type"  # its media type (one of ALLOWED_TYPES)
OFFSET_HEADER: Final = "Fieldbook-Blob-Offset"  # where this body starts in the file
UPLOAD_PIECE_BYTES: Final = 4 * 1024 * 1024  # bytes the client sends in one PUT at most
DEFAULT_MAX_FILE_BYTES: Final = 50 * 1024 * 1024  # server setting MAX_FILE_BYTES
DEFAULT_QUOTA_BYTES: Final = 2 * 1024 * 1024 * 1024  # server setting QUOTA_BYTES, per user

BlobState = Literal["missing", "partial", "complete"]


@with_config(ANSWER)
class BlobStatus(TypedDict):
    """``GET /api/v1/blobs/{sha256}/status`` and the answer of every PUT."""

    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    # complete: this user may read it there (nothing to send); else as if absent
    state: BlobState
    offset: Annotated[Seq, Field(description="bytes of this user's unfinished upload the server "
                                              "holds (0 when missing)")]
    size: Annotated[Seq, Field(description="the file's size when known (0 when missing)")]


BLOB_STATUS: Final = reader(BlobStatus)


class AttachmentRef(TypedDict):
    """One element of a record's ``attachments`` field (synced like any field)."""

    sha256: str
    name: str  # the file name as the user attached it (shown, never used as a path)
    size: int
    type: str  # media type, one of ALLOWED_TYPES


# Media types Fieldbook accepts, and how each file must begin.
ALLOWED_TYPES: Final[dict[str, tuple[bytes, ...]]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),  # and "WEBP" at offset 8 (checked below)
    "application/pdf": (b"%PDF-",),
    # Office Open XML files are zip archives.
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
}
EXTENSIONS: Final[dict[str, str]] = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
SNIFF_BYTES: Final = 16  # how much of a file's start ``matches_type`` needs
HASH_CHUNK_BYTES: Final = 1024 * 1024  # how much ``sha256_of_file`` reads at a time


def type_for_name(name: str) -> str | None:
    """The media type for a file name's extension, or None if not accepted."""
    dot = name.rfind(".")
    return EXTENSIONS.get(name[dot:].lower()) if dot >= 0 else None


def matches_type(media_type: str, head: bytes) -> bool:
    """Whether a file starting with ``head`` (its first ``SNIFF_BYTES`` bytes
    or all of it) is what ``media_type`` claims. Both sides check: the
    client before copying a file in, the server before keeping one."""
    magics = ALLOWED_TYPES.get(media_type)
    if not magics or not any(head.startswith(m) for m in magics):
        return False
    if media_type == "image/webp":
        return head[8:12] == b"WEBP"
    return True


def is_sha256(value: str) -> bool:
    return bool(SHA256_RE.match(value))


def sha256_of_file(path: Path) -> str:
    """The file's SHA-256 (hex), read a piece at a time: files go up to the
    size limit, so neither side holds one whole in memory to hash it."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
