"""Checks and normalises field values, whoever supplies them.

The same rules serve the editors (messages beside each field), the store
(which refuses a bad value and changes nothing) and, later, import and sync.
Values arrive either as Python objects from the UI or as JSON from a file or
the network; ``coerce`` turns both into one canonical Python form:

==========  =======================  ==================
type        Python                   JSON
==========  =======================  ==================
TEXT        str (one line)           string
LONGTEXT    str                      string
CHOICE      str code or None         string or null
INT         int or None              number or null
FLOAT       float or None            number or null
DATE        datetime.date or None    "YYYY-MM-DD"/null
BOOL        bool                     true/false
STEPS       list[dict]               list of objects
TAGS        list[str]                list of strings
ATTACHMENTS list[AttachmentRef]      list of objects
==========  =======================  ==================

A problem is *blocking* when the value must not be stored (wrong type, out of
range, too long, end before start). A missing required field is reported but
not blocking: a draft may be incomplete, and refusing to save it would lose the
rest of what the user typed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.i18n_marker import QT_TRANSLATE_NOOP
from app.models.fields import (
    ATTACHMENT_NAME_MAX,
    STEP_KEYS,
    TAG_MAX,
    FieldSpec,
    FieldType,
    KindSpec,
    kind_spec,
)
from app.protocol.blobs import ALLOWED_TYPES, AttachmentRef, is_sha256

MIN_YEAR = 1990
MAX_YEAR = 2100
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Problem:
    """A message about one field. ``message`` is English source text with
    ``{name}`` placeholders, translated in the UI under context "Validation"."""

    message: str
    args: Mapping[str, object] = field(default_factory=dict)
    blocking: bool = True
    # For a rule across fields: all the fields whose change can cause it.
    involves: frozenset[str] = frozenset()

    def english(self) -> str:
        return self.message.format(**self.args)

    def __str__(self) -> str:
        return self.english()


class _Invalid(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.english())
        self.problem = problem


def _bad(message: str, **args: object) -> _Invalid:
    return _Invalid(Problem(message, args))


def empty_value(spec: FieldSpec) -> Any:
    """The value a field has before anyone fills it in."""
    if spec.type in (FieldType.TEXT, FieldType.LONGTEXT):
        return ""
    if spec.type in (FieldType.STEPS, FieldType.TAGS, FieldType.ATTACHMENTS):
        return []
    if spec.type is FieldType.BOOL:
        return False
    return None


def is_empty(spec: FieldSpec, value: Any) -> bool:
    return value is None or value == "" or value == [] or (
        spec.type is FieldType.BOOL and value is False
    )


def _check_text(spec: FieldSpec, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad(QT_TRANSLATE_NOOP("Validation", "Must be text."))
    if _CONTROL.search(value):
        raise _bad(QT_TRANSLATE_NOOP("Validation", "Contains characters that are not allowed."))
    if spec.type is FieldType.TEXT:
        value = " ".join(value.splitlines())
    if spec.max_length is not None and len(value) > spec.max_length:
        raise _bad(
            QT_TRANSLATE_NOOP("Validation", "At most {max} characters (now {count})."),
            max=spec.max_length,
            count=len(value),
        )
    return str(value)


def _check_number(spec: FieldSpec, value: Any) -> int | float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _bad(QT_TRANSLATE_NOOP("Validation", "Must be a number."))
    if spec.type is FieldType.INT:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise _bad(QT_TRANSLATE_NOOP("Validation", "Must be a whole number.")) from None
        if not isinstance(value, int):
            raise _bad(QT_TRANSLATE_NOOP("Validation", "Must be a whole number."))
        number: int | float = value
    else:
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise _bad(QT_TRANSLATE_NOOP("Validation", "Must be a number.")) from None
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise _bad(QT_TRANSLATE_NOOP("Validation", "Must be a number."))
        number = float(value)
    if spec.minimum is not None and number < spec.minimum:
        raise _bad(QT_TRANSLATE_NOOP("Validation", "Must be at least {min}."), min=_num(spec.minimum))
    if spec.maximum is not None and number > spec.maximum:
        raise _bad(QT_TRANSLATE_NOOP("Validation", "Must be at most {max}."), max=_num(spec.maximum))
    return number


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _check_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    elif isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise _bad(QT_TRANSLATE_NOOP("Validation", "Not a valid date (YYYY-MM-DD).")) from None
    if not isinstance(value, dt.date):
        raise _bad(QT_TRANSLATE_NOOP("Validation", "Not a valid date (YYYY-MM-DD)."))
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise _bad(
            QT_TRANSLATE_NOOP("Validation", "The year must be between {low} and {high}."),
            low=MIN_YEAR,
            high=MAX_YEAR,
        )
    return value


def _check_choice(spec: FieldSpec, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value not in spec.choice_codes():
        raise _bad(QT_TRANSLATE_NOOP("Validation", "Not one of the allowed choices."))
    return value


def _check_steps(spec: FieldSpec, value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(QT_TRANSLATE_NOOP("Validation", "Must be a list of steps."))
    if spec.max_length is not None and len(value) > spec.max_length:
        raise _bad(QT_TRANSLATE_NOOP("Validation", "At most {max} steps."), max=spec.max_length)
    steps: list[dict[str, Any]] = []
    for raw in value:
        if not isinstance(raw, Mapping) or set(raw) - set(STEP_KEYS):
            raise _bad(QT_TRANSLATE_NOOP("Validation", "Must be a list of steps."))
        minutes = raw.get("minutes") or 0
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= 600:
            raise _bad(
                QT_TRANSLATE_NOOP("Validation", "Step minutes must be a whole number from 0 to 600.")
            )
        step: dict[str, Any] = {"minutes": minutes}
        for key in ("phase", "teacher", "students"):
            text = raw.get(key) or ""
            if not isinstance(text, str) or _CONTROL.search(text):
                raise _bad(QT_TRANSLATE_NOOP("Validation", "Must be a list of steps."))
            limit = 200 if key == "phase" else 5_000
            if len(text) > limit:
                raise _bad(
                    QT_TRANSLATE_NOOP("Validation", "A step's text is longer than {max} characters."),
                    max=limit,
                )
            step[key] = text
        steps.append({k: step[k] for k in STEP_KEYS})
    return steps


def _check_tags(spec: FieldSpec, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [t for t in re.split(r"[,，、;；\s]+", value) if t]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise _bad(QT_TRANSLATE_NOOP("Validation", "Must be a list of tags."))
    tags: list[str] = []
    for tag in (t.strip() for t in value):
        if not tag or tag in tags:
            continue
        if len(tag) > TAG_MAX or _CONTROL.search(tag):
            raise _bad(QT_TRANSLATE_NOOP("Validation", "Each tag at most {max} characters."), max=TAG_MAX)
        tags.append(tag)
    if spec.max_length is not None and len(tags) > spec.max_length:
        raise _bad(QT_TRANSLATE_NOOP("Validation", "At most {max} tags."), max=spec.max_length)
    return tags


_REF_KEYS = frozenset(AttachmentRef.__annotations__)


def _check_ref(raw: Any) -> AttachmentRef:
    """One attachment reference: what a pushed or imported record may claim
    about a file (the server checks the bytes themselves when they arrive)."""
    if not isinstance(raw, Mapping) or set(raw) != _REF_KEYS:
        raise _bad(QT_TRANSLATE_NOOP("Validation", "Must be a list of attachments."))
    sha, name, size, media_type = raw["sha256"], raw["name"], raw["size"], raw["type"]
    if not isinstance(sha, str) or not is_sha256(sha):
        raise _bad(QT_TRANSLATE_NOOP("Validation", "An attachment has no valid SHA-256."))
    if (not isinstance(name, str) or not 1 <= len(name) <= ATTACHMENT_NAME_MAX
            or _CONTROL.search(name) or "\n" in name or "\r" in name):
        raise _bad(
            QT_TRANSLATE_NOOP("Validation", "An attachment's name must have 1 to {max} characters."),
            max=ATTACHMENT_NAME_MAX,
        )
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise _bad(QT_TRANSLATE_NOOP("Validation", "An attachment's size must be above zero."))
    if not isinstance(media_type, str) or media_type not in ALLOWED_TYPES:
        raise _bad(QT_TRANSLATE_NOOP("Validation", "An attachment's file type is not accepted."))
    return AttachmentRef(sha256=sha, name=name, size=size, type=media_type)


def _check_attachments(spec: FieldSpec, value: Any) -> list[AttachmentRef]:
    """A list of references in the order given; the same blob twice under
    the same name is kept once."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(QT_TRANSLATE_NOOP("Validation", "Must be a list of attachments."))
    refs: list[AttachmentRef] = []
    for raw in value:
        ref = _check_ref(raw)
        if ref not in refs:
            refs.append(ref)
    if spec.max_length is not None and len(refs) > spec.max_length:
        raise _bad(QT_TRANSLATE_NOOP("Validation", "At most {max} attachments."), max=spec.max_length)
    return refs


def coerce(spec: FieldSpec, value: Any) -> Any:
    """Return the canonical value, or raise ``_Invalid`` (see ``check_field``)."""
    match spec.type:
        case FieldType.TEXT | FieldType.LONGTEXT:
            return _check_text(spec, value)
        case FieldType.INT | FieldType.FLOAT:
            return _check_number(spec, value)
        case FieldType.DATE:
            return _check_date(value)
        case FieldType.CHOICE:
            return _check_choice(spec, value)
        case FieldType.BOOL:
            if value is None:
                return False
            if not isinstance(value, bool):
                raise _bad(QT_TRANSLATE_NOOP("Validation", "Must be yes or no."))
            return value
        case FieldType.STEPS:
            return _check_steps(spec, value)
        case FieldType.TAGS:
            return _check_tags(spec, value)
        case FieldType.ATTACHMENTS:
            return _check_attachments(spec, value)
    raise AssertionError(spec.type)  # pragma: no cover


def check_field(spec: FieldSpec, value: Any) -> tuple[Any, Problem | None]:
    """Canonical value and ``None``, or the original value and its problem."""
    try:
        return coerce(spec, value), None
    except _Invalid as exc:
        return value, exc.problem


def cross_field_problems(spec: KindSpec, values: Mapping[str, Any]) -> dict[str, Problem]:
    """Rules that involve more than one field, on canonical values."""
    problems: dict[str, Problem] = {}
    if spec.kind == "training":
        start, end = values.get("start_date"), values.get("end_date")
        if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
            problems["end_date"] = Problem(
                QT_TRANSLATE_NOOP("Validation", "The end date is before the start date."),
                involves=frozenset({"start_date", "end_date"}),
            )
    if spec.kind in ("lesson_plan", "lesson_template"):
        steps = values.get("procedure") or []
        duration = values.get("duration_minutes")
        total = sum(int(s.get("minutes") or 0) for s in steps if isinstance(s, Mapping))
        if steps and isinstance(duration, int) and total != duration:
            problems["procedure"] = Problem(
                QT_TRANSLATE_NOOP(
                    "Validation", "The steps add up to {total} min, the lesson lasts {duration} min."
                ),
                {"total": total, "duration": duration},
                blocking=False,
                involves=frozenset({"procedure", "duration_minutes"}),
            )
    return problems


def required_problems(spec: KindSpec, values: Mapping[str, Any]) -> dict[str, Problem]:
    return {
        f.name: Problem(QT_TRANSLATE_NOOP("Validation", "Required."), blocking=False)
        for f in spec.fields
        if f.required and is_empty(f, values.get(f.name))
    }


def validate_record(kind: str, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Problem]]:
    """Check a whole record: canonical values of the good fields and every problem.

    Unknown field names are a blocking problem (under the unknown name), so a
    hostile or outdated file cannot smuggle columns into the store.
    """
    spec = kind_spec(kind)
    clean: dict[str, Any] = {}
    problems: dict[str, Problem] = {}
    for name, value in values.items():
        fspec = spec.by_name.get(name)
        if fspec is None:
            problems[name] = Problem(QT_TRANSLATE_NOOP("Validation", "Unknown field."))
            continue
        canonical, problem = check_field(fspec, value)
        if problem is None:
            clean[name] = canonical
        else:
            problems[name] = problem
    for name, problem in cross_field_problems(spec, clean).items():
        problems.setdefault(name, problem)
    for name, problem in required_problems(spec, clean).items():
        if name in values:
            problems.setdefault(name, problem)
    return clean, problems


def to_json(spec: FieldSpec, value: Any) -> Any:
    """Canonical Python value -> JSON-ready value (for the change log and export)."""
    if spec.type is FieldType.DATE and isinstance(value, dt.date):
        return value.isoformat()
    return value


def from_json(spec: FieldSpec, value: Any) -> Any:
    return coerce(spec, value)
