"""The record kinds and their fields, declared once.

Everything that deals with fields walks this registry instead of naming
fields itself: validation, the store's change log, the search index, the
editors in the UI and (later) sync and export. Labels are English source text
marked for translation; the UI shows them through ``QCoreApplication.translate``
with the context ``"Field"`` (choice labels: ``"Choice"``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from app.i18n_marker import QT_TRANSLATE_NOOP

TITLE_MAX = 200
SHORT_TEXT_MAX = 200
LONG_TEXT_MAX = 20_000
TAGS_MAX = 30
TAG_MAX = 40
STEPS_MAX = 50
ATTACHMENTS_MAX = 50  # files on one record (docs/attachments.md)
ATTACHMENT_NAME_MAX = 255


class FieldType(enum.Enum):
    TEXT = "text"  # one line
    LONGTEXT = "longtext"  # paragraphs
    CHOICE = "choice"  # one code out of ``choices``
    INT = "int"
    FLOAT = "float"
    DATE = "date"
    BOOL = "bool"
    STEPS = "steps"  # the lesson procedure: list of LessonStep dicts
    TAGS = "tags"  # list of short strings
    # list of AttachmentRef dicts (docs/attachments.md). The generic editor
    # skips this type: the UI shows its own attachments strip instead.
    ATTACHMENTS = "attachments"


@dataclass(frozen=True)
class Choice:
    code: str  # stable value stored and synced
    label: str  # English source text, translated in the UI (context "Choice")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    type: FieldType
    required: bool = False
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Choice, ...] = ()  # CHOICE: the codes; INT: names of the numbers
    searchable: bool = False
    unit: str = ""  # e.g. "min", shown as a suffix
    # False: the generic editor form makes no input for it (attachments have
    # their own widget and are changed through app.models.attachments).
    in_form: bool = True

    def choice_codes(self) -> frozenset[str]:
        return frozenset(c.code for c in self.choices)


class Kind(enum.StrEnum):
    LESSON_PLAN = "lesson_plan"
    TRAINING = "training"
    EXCHANGE = "exchange"
    # A 教案 template (docs/templates.md): synced like any record, never listed.
    LESSON_TEMPLATE = "lesson_template"


class Status(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


STATUS_LABELS: dict[Status, str] = {
    Status.DRAFT: QT_TRANSLATE_NOOP("Choice", "Draft"),
    Status.SUBMITTED: QT_TRANSLATE_NOOP("Choice", "Submitted"),
    Status.APPROVED: QT_TRANSLATE_NOOP("Choice", "Approved"),
    Status.RETURNED: QT_TRANSLATE_NOOP("Choice", "Returned"),
}

SUBJECTS = (
    Choice("chinese", QT_TRANSLATE_NOOP("Choice", "Chinese")),
    Choice("math", QT_TRANSLATE_NOOP("Choice", "Mathematics")),
    Choice("english", QT_TRANSLATE_NOOP("Choice", "English")),
    Choice("science", QT_TRANSLATE_NOOP("Choice", "Science")),
    Choice("morality_law", QT_TRANSLATE_NOOP("Choice", "Morality and Law")),
    Choice("music", QT_TRANSLATE_NOOP("Choice", "Music")),
    Choice("art", QT_TRANSLATE_NOOP("Choice", "Art")),
    Choice("pe", QT_TRANSLATE_NOOP("Choice", "Physical Education")),
    Choice("it", QT_TRANSLATE_NOOP("Choice", "Information Technology")),
    Choice("other", QT_TRANSLATE_NOOP("Choice", "Other")),
)

TRAINING_TYPES = (
    Choice("summer_institute", QT_TRANSLATE_NOOP("Choice", "Summer institute")),
    Choice("workshop", QT_TRANSLATE_NOOP("Choice", "Workshop")),
    Choice("online_course", QT_TRANSLATE_NOOP("Choice", "Online course")),
    Choice("school_research", QT_TRANSLATE_NOOP("Choice", "School-based teaching research")),
    Choice("mentoring", QT_TRANSLATE_NOOP("Choice", "Mentoring or observation")),
    Choice("other", QT_TRANSLATE_NOOP("Choice", "Other")),
)

EXCHANGE_TYPES = (
    Choice("visit", QT_TRANSLATE_NOOP("Choice", "Exchange visit")),
    Choice("shadowing", QT_TRANSLATE_NOOP("Choice", "Job shadowing")),
    Choice("co_taught", QT_TRANSLATE_NOOP("Choice", "Co-taught or parallel lesson")),
    Choice("observation", QT_TRANSLATE_NOOP("Choice", "Lesson observation and critique")),
    Choice("student_pairing", QT_TRANSLATE_NOOP("Choice", "Student pairing activity")),
    Choice("rotation", QT_TRANSLATE_NOOP("Choice", "Teacher rotation")),
    Choice("other", QT_TRANSLATE_NOOP("Choice", "Other")),
)

DIRECTIONS = (
    Choice("we_visited", QT_TRANSLATE_NOOP("Choice", "We visited")),
    Choice("they_visited", QT_TRANSLATE_NOOP("Choice", "They visited")),
    Choice("online", QT_TRANSLATE_NOOP("Choice", "Online")),
)

# Grades are stored as numbers: 1-9 as they always were (一年级…九年级), 0 for
# kindergarten and 10-12 for the three years of senior secondary school. An
# INT field with ``choices`` is picked from a list showing their labels; the
# codes are the numbers as text.
GRADE_PRESCHOOL = 0
GRADE_SENIOR_3 = 12
GRADES = (
    Choice("0", QT_TRANSLATE_NOOP("Choice", "Preschool")),
    Choice("1", QT_TRANSLATE_NOOP("Choice", "Grade 1")),
    Choice("2", QT_TRANSLATE_NOOP("Choice", "Grade 2")),
    Choice("3", QT_TRANSLATE_NOOP("Choice", "Grade 3")),
    Choice("4", QT_TRANSLATE_NOOP("Choice", "Grade 4")),
    Choice("5", QT_TRANSLATE_NOOP("Choice", "Grade 5")),
    Choice("6", QT_TRANSLATE_NOOP("Choice", "Grade 6")),
    Choice("7", QT_TRANSLATE_NOOP("Choice", "Grade 7")),
    Choice("8", QT_TRANSLATE_NOOP("Choice", "Grade 8")),
    Choice("9", QT_TRANSLATE_NOOP("Choice", "Grade 9")),
    Choice("10", QT_TRANSLATE_NOOP("Choice", "Senior 1")),
    Choice("11", QT_TRANSLATE_NOOP("Choice", "Senior 2")),
    Choice("12", QT_TRANSLATE_NOOP("Choice", "Senior 3")),
)

# A lesson step is a dict with these keys; minutes is an int >= 0.
STEP_KEYS = ("phase", "minutes", "teacher", "students")
STEP_LABELS = {
    "phase": QT_TRANSLATE_NOOP("Field", "Phase"),
    "minutes": QT_TRANSLATE_NOOP("Field", "Minutes"),
    "teacher": QT_TRANSLATE_NOOP("Field", "Teacher activity"),
    "students": QT_TRANSLATE_NOOP("Field", "Student activity"),
}


def _text(name: str, label: str, *, required: bool = False, search: bool = True) -> FieldSpec:
    return FieldSpec(
        name, label, FieldType.TEXT, required=required, max_length=SHORT_TEXT_MAX, searchable=search
    )


def _long(name: str, label: str) -> FieldSpec:
    return FieldSpec(name, label, FieldType.LONGTEXT, max_length=LONG_TEXT_MAX, searchable=True)


def _attachments() -> FieldSpec:
    """The same field on every kind: files travel apart from the record, only
    their references (sha256, name, size, type) are in it."""
    return FieldSpec(
        "attachments",
        QT_TRANSLATE_NOOP("Field", "Attachments"),
        FieldType.ATTACHMENTS,
        max_length=ATTACHMENTS_MAX,
        in_form=False,
    )


LESSON_FIELDS = (
    FieldSpec(
        "title",
        QT_TRANSLATE_NOOP("Field", "Title"),
        FieldType.TEXT,
        required=True,
        max_length=TITLE_MAX,
        searchable=True,
    ),
    FieldSpec(
        "subject", QT_TRANSLATE_NOOP("Field", "Subject"), FieldType.CHOICE, choices=SUBJECTS
    ),
    FieldSpec(
        "grade",
        QT_TRANSLATE_NOOP("Field", "Grade"),
        FieldType.INT,
        minimum=GRADE_PRESCHOOL,
        maximum=GRADE_SENIOR_3,
        choices=GRADES,
    ),
    _text("class_name", QT_TRANSLATE_NOOP("Field", "Class")),
    FieldSpec("planned_date", QT_TRANSLATE_NOOP("Field", "Planned date"), FieldType.DATE),
    FieldSpec(
        "duration_minutes",
        QT_TRANSLATE_NOOP("Field", "Duration"),
        FieldType.INT,
        minimum=1,
        maximum=600,
        unit=QT_TRANSLATE_NOOP("Field", "min"),
    ),
    _text("unit", QT_TRANSLATE_NOOP("Field", "Unit or textbook section")),
    _long("objectives", QT_TRANSLATE_NOOP("Field", "Learning objectives")),
    _long("key_points", QT_TRANSLATE_NOOP("Field", "Key points and difficulties")),
    _long("materials", QT_TRANSLATE_NOOP("Field", "Materials and resources")),
    FieldSpec(
        "procedure",
        QT_TRANSLATE_NOOP("Field", "Procedure"),
        FieldType.STEPS,
        max_length=STEPS_MAX,
        searchable=True,
    ),
    _long("assessment", QT_TRANSLATE_NOOP("Field", "Assessment")),
    _long("homework", QT_TRANSLATE_NOOP("Field", "Homework")),
    _long("reflection", QT_TRANSLATE_NOOP("Field", "Post-lesson reflection")),
    # Anything else the plan says (an imported 教案's 板书设计…): schema v7.
    _long("notes", QT_TRANSLATE_NOOP("Field", "Other notes")),
    FieldSpec(
        "tags", QT_TRANSLATE_NOOP("Field", "Tags"), FieldType.TAGS, max_length=TAGS_MAX,
        searchable=True,
    ),
    _attachments(),
)

# What a template carries of a lesson plan: the reusable structure, not the
# date, the class, the reflection or the files of one lesson.
TEMPLATE_CONTENT = (
    "subject", "grade", "duration_minutes", "unit", "objectives", "key_points", "materials",
    "procedure", "assessment", "homework", "notes", "tags",
)
_LESSON_BY_NAME = {f.name: f for f in LESSON_FIELDS}

TEMPLATE_FIELDS = (
    FieldSpec(
        "title",
        QT_TRANSLATE_NOOP("Field", "Template name"),
        FieldType.TEXT,
        required=True,
        max_length=TITLE_MAX,
        searchable=True,
    ),
    *(_LESSON_BY_NAME[name] for name in TEMPLATE_CONTENT),
    # A trainer's template shared with the cohorts they train (schema v8).
    FieldSpec("shared", QT_TRANSLATE_NOOP("Field", "Shared with my cohorts"), FieldType.BOOL),
)

TRAINING_FIELDS = (
    FieldSpec(
        "title",
        QT_TRANSLATE_NOOP("Field", "Title"),
        FieldType.TEXT,
        required=True,
        max_length=TITLE_MAX,
        searchable=True,
    ),
    FieldSpec(
        "training_type",
        QT_TRANSLATE_NOOP("Field", "Type"),
        FieldType.CHOICE,
        choices=TRAINING_TYPES,
    ),
    _text("provider", QT_TRANSLATE_NOOP("Field", "Provider or trainer")),
    FieldSpec("start_date", QT_TRANSLATE_NOOP("Field", "Start date"), FieldType.DATE),
    FieldSpec("end_date", QT_TRANSLATE_NOOP("Field", "End date"), FieldType.DATE),
    FieldSpec(
        "hours",
        QT_TRANSLATE_NOOP("Field", "Hours"),
        FieldType.FLOAT,
        minimum=0,
        maximum=2000,
    ),
    _text("location", QT_TRANSLATE_NOOP("Field", "Location")),
    FieldSpec("online", QT_TRANSLATE_NOOP("Field", "Online"), FieldType.BOOL),
    _long("topics", QT_TRANSLATE_NOOP("Field", "Topics")),
    _long("takeaways", QT_TRANSLATE_NOOP("Field", "Key takeaways")),
    _long("action_plan", QT_TRANSLATE_NOOP("Field", "Action plan")),
    _attachments(),
)

EXCHANGE_FIELDS = (
    FieldSpec(
        "partner_school",
        QT_TRANSLATE_NOOP("Field", "Partner school"),
        FieldType.TEXT,
        required=True,
        max_length=SHORT_TEXT_MAX,
        searchable=True,
    ),
    FieldSpec(
        "exchange_type",
        QT_TRANSLATE_NOOP("Field", "Type"),
        FieldType.CHOICE,
        choices=EXCHANGE_TYPES,
    ),
    FieldSpec(
        "direction", QT_TRANSLATE_NOOP("Field", "Direction"), FieldType.CHOICE, choices=DIRECTIONS
    ),
    FieldSpec("exchange_date", QT_TRANSLATE_NOOP("Field", "Date"), FieldType.DATE),
    FieldSpec(
        "duration_hours",
        QT_TRANSLATE_NOOP("Field", "Duration (hours)"),
        FieldType.FLOAT,
        minimum=0,
        maximum=1000,
    ),
    FieldSpec(
        "teacher_count",
        QT_TRANSLATE_NOOP("Field", "Participating teachers"),
        FieldType.INT,
        minimum=0,
        maximum=10_000,
    ),
    FieldSpec(
        "student_count",
        QT_TRANSLATE_NOOP("Field", "Participating students"),
        FieldType.INT,
        minimum=0,
        maximum=100_000,
    ),
    _long("activities", QT_TRANSLATE_NOOP("Field", "Activities")),
    _long("observations", QT_TRANSLATE_NOOP("Field", "Observations")),
    _long("outcomes", QT_TRANSLATE_NOOP("Field", "Outcomes and follow-ups")),
    _attachments(),
)


@dataclass(frozen=True)
class KindSpec:
    kind: Kind
    label: str  # plural, for the sidebar
    singular: str
    fields: tuple[FieldSpec, ...]
    title_field: str  # what the list shows as the record's name
    date_field: str  # the date the list sorts and filters by
    list_columns: tuple[str, ...]
    # False: not a kind of the sidebar, lists, counts, search, dashboard or
    # review queue (templates: chosen from New's chooser only).
    listed: bool = True
    # True: only the owner changes it, an admin neither (templates are personal).
    owner_only: bool = False
    by_name: dict[str, FieldSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    def field(self, name: str) -> FieldSpec:
        return self.by_name[name]


KINDS: dict[Kind, KindSpec] = {
    Kind.LESSON_PLAN: KindSpec(
        Kind.LESSON_PLAN,
        QT_TRANSLATE_NOOP("Kind", "Lesson plans"),
        QT_TRANSLATE_NOOP("Kind", "Lesson plan"),
        LESSON_FIELDS,
        title_field="title",
        date_field="planned_date",
        list_columns=("title", "subject", "grade", "planned_date"),
    ),
    Kind.TRAINING: KindSpec(
        Kind.TRAINING,
        QT_TRANSLATE_NOOP("Kind", "Training"),
        QT_TRANSLATE_NOOP("Kind", "Training record"),
        TRAINING_FIELDS,
        title_field="title",
        date_field="start_date",
        list_columns=("title", "training_type", "start_date", "hours"),
    ),
    Kind.EXCHANGE: KindSpec(
        Kind.EXCHANGE,
        QT_TRANSLATE_NOOP("Kind", "Exchanges"),
        QT_TRANSLATE_NOOP("Kind", "Exchange log"),
        EXCHANGE_FIELDS,
        title_field="partner_school",
        date_field="exchange_date",
        list_columns=("partner_school", "exchange_type", "direction", "exchange_date"),
    ),
    Kind.LESSON_TEMPLATE: KindSpec(
        Kind.LESSON_TEMPLATE,
        QT_TRANSLATE_NOOP("Kind", "Lesson plan templates"),
        QT_TRANSLATE_NOOP("Kind", "Lesson plan template"),
        TEMPLATE_FIELDS,
        title_field="title",
        date_field="planned_date",  # (none of its own; never listed or filtered)
        list_columns=("title", "subject", "grade"),
        listed=False,
        owner_only=True,
    ),
}
# The kinds the sidebar, the lists, counts and search show, in that order.
LISTED_KINDS: tuple[Kind, ...] = tuple(k for k, spec in KINDS.items() if spec.listed)

# Fields every record has besides its kind's own. Only ``status`` and
# ``deleted`` are user-changeable and therefore tracked in the change log.
TRACKED_META_FIELDS = ("status", "deleted")
# The revision chain (docs/review.md): set when a record is created and never
# changed. They travel in the change group that creates a revision (>= 2) and
# come back in pulls like any field, but no local edit writes them.
REVISION_FIELDS = ("revision_of", "revision")


def kind_spec(kind: str | Kind) -> KindSpec:
    return KINDS[Kind(kind)]


def all_field_names() -> frozenset[str]:
    return frozenset(f.name for spec in KINDS.values() for f in spec.fields)
