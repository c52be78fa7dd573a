"""User preferences, each declared once with its type and default.

Stored with QSettings (the registry on Windows, an ini file elsewhere). Code
reads ``settings.get(LANGUAGE)`` rather than spelling keys and casting values
in many places (the way MusicBrainz Picard declares its options).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from PySide6.QtCore import QByteArray, QSettings

T = TypeVar("T", str, int, bool, QByteArray)


@dataclass(frozen=True)
class Setting(Generic[T]):
    key: str
    default: T


LANGUAGE = Setting("ui/language", "system")  # "system", "zh_CN" or "en"
AUTHOR_NAME = Setting("user/name", "")
WINDOW_GEOMETRY = Setting("window/geometry", QByteArray())
WINDOW_STATE = Setting("window/state", QByteArray())
SPLITTER_STATE = Setting("window/splitter", QByteArray())
LAST_KIND = Setting("window/kind", "lesson_plan")
LAST_BACKUP_DAY = Setting("store/last_backup_day", "")
# Attachments (docs/attachments.md): photos are made smaller before attaching;
# trainers may fetch the files of the records waiting for their review.
DOWNSCALE_PHOTOS = Setting("attachments/downscale_photos", True)
PREFETCH_FOR_REVIEW = Setting("attachments/prefetch_for_review", False)


def get(setting: Setting[T]) -> T:
    """The stored value converted to the declared type; the default if it
    cannot be (a hand-edited or foreign settings file must not crash us)."""
    value: Any = QSettings().value(setting.key, setting.default)
    kind: Any = type(setting.default)
    if isinstance(value, kind):
        return cast(T, value)
    try:
        converted: Any = str(value).lower() in ("1", "true", "yes") if kind is bool else kind(value)
    except (TypeError, ValueError):
        return setting.default
    return cast(T, converted)


def put(setting: Setting[T], value: T) -> None:
    QSettings().setValue(setting.key, value)
