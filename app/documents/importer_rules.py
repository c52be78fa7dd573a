"""What the Word importer recognises: labels, step columns, minutes, grades, dates.

A fellow's 教案 names its parts in many ways (课题, 课题名称, Topic…); each
synonym table below maps those names to a field of the lesson-plan registry.
Choices (subjects, grades) are read from the registry at run time, so a grade
added there is recognised here without a change.
"""

from __future__ import annotations

import datetime as dt
import re

from app.models.fields import Kind, kind_spec

NOTES_FIELD = "notes"

# Field -> the names a document may give it (compared without case, spaces,
# numbering and a trailing colon). Parts with no field of their own (板书设计)
# go to the notes under their own name.
FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "title": ("课题", "课题名称", "课名", "教学课题", "教学内容", "title", "topic", "lesson title",
              "lesson"),
    "subject": ("学科", "科目", "subject"),
    "grade": ("年级", "授课年级", "grade", "year"),
    "class_name": ("班级", "授课班级", "class"),
    "planned_date": ("日期", "授课日期", "授课时间", "上课时间", "上课日期", "date"),
    "duration_minutes": ("时长", "课时长度", "上课时长", "duration", "length"),
    "unit": ("单元", "所属单元", "教材", "教材版本", "unit", "textbook"),
    "objectives": ("教学目标", "学习目标", "目标", "三维目标", "objectives", "objective",
                   "learning objectives", "aims", "goals"),
    "key_points": ("教学重难点", "重难点", "教学重点", "教学难点", "重点", "难点", "重点难点",
                   "教学重点与难点", "教学重点和难点", "key points", "key points and difficulties",
                   "difficulties"),
    "materials": ("教学准备", "课前准备", "教具", "教具准备", "教学资源", "教学用具", "学具",
                  "resources", "materials", "materials and resources", "preparation"),
    "procedure": ("教学过程", "教学步骤", "教学流程", "procedure", "teaching procedure",
                  "lesson procedure", "teaching process"),
    "assessment": ("教学评价", "学习评价", "评价", "assessment", "evaluation"),
    "homework": ("作业", "布置作业", "作业布置", "课后作业", "作业设计", "homework", "assignment"),
    "reflection": ("教学反思", "课后反思", "反思", "reflection", "post-lesson reflection"),
    NOTES_FIELD: ("板书设计", "板书", "备注", "其他", "board design", "blackboard design",
                  "blackboard plan", "notes", "other notes"),
}

# Column headers of a procedure table -> the step key they fill.
STEP_COLUMNS: dict[str, tuple[str, ...]] = {
    "phase": ("教学环节", "环节", "教学步骤", "步骤", "阶段", "流程", "phase", "step", "stage"),
    "minutes": ("时间", "时长", "用时", "时间分配", "预设时间", "minutes", "time", "min",
                "duration"),
    "teacher": ("教师活动", "教师", "教师行为", "教学内容", "teacher", "teacher activity",
                "teacher's activity", "teacher activities"),
    "students": ("学生活动", "学生", "学生行为", "students", "student activity",
                 "student activities", "learner activity"),
}
# Further columns of a procedure table (设计意图…) stay in the step's teacher text.
EXTRA_COLUMN = "extra"

SINGLE_LINE_FIELDS = frozenset(
    {"title", "subject", "grade", "class_name", "planned_date", "duration_minutes", "unit"}
)

# Chinese subject names -> registry codes (the registry's own English labels
# are recognised too, see ``subject_code``).
SUBJECT_NAMES: dict[str, tuple[str, ...]] = {
    "chinese": ("语文",),
    "math": ("数学",),
    "english": ("英语",),
    "science": ("科学",),
    "morality_law": ("道德与法治", "道法", "品德与社会", "品德与生活", "思想品德"),
    "music": ("音乐",),
    "art": ("美术",),
    "pe": ("体育", "体育与健康"),
    "it": ("信息技术", "信息科技"),
}

_NUMBERING = re.compile(
    r"^\s*(?:[（(]?[一二三四五六七八九十]+[)）、.．]|[（(]?\d{1,2}[)）、.．]|第[一二三四五六七八九十\d]+(?:部分|步|环节|课时)?[、.．:：]"
    r"|[【\[])\s*"
)
_LABEL_TAIL = re.compile(r"[】\]]?\s*[:：]?\s*$")
_LABEL_SPLIT = re.compile(r"^(.{1,24}?)\s*[】\]]?\s*[:：]\s*(.*)$", re.DOTALL)
_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}
_CN_NUMBER = "[零一二两三四五六七八九十]+"
_MINUTES = re.compile(
    rf"(\d{{1,3}}|{_CN_NUMBER})\s*(?:分钟|分|mins?\b|minutes?\b|['′’])", re.IGNORECASE
)
_BARE_NUMBER = re.compile(r"^\s*[（(]?\s*(\d{1,3})\s*[)）]?\s*$")
_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _table(synonyms: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {_key(name): target for target, names in synonyms.items() for name in names}


_LABELS = _table(FIELD_LABELS)
_COLUMNS = _table(STEP_COLUMNS)


def normalise(text: str) -> str:
    """Whitespace collapsed: how texts are compared for the nothing-dropped check."""
    return " ".join(text.split())


def _bare(text: str) -> str:
    """A candidate label without its numbering (一、, 1., 【), brackets and colon."""
    return _key(_LABEL_TAIL.sub("", _NUMBERING.sub("", text)))


def is_numbered(text: str) -> bool:
    """Starts like a numbered heading: 一、 （二） 3. 第一步：【"""
    return _NUMBERING.match(text) is not None


def label_field(text: str) -> str | None:
    """The field a whole text names when it is only a label (``"一、教学目标："``)."""
    if len(text) > 40:
        return None
    return _LABELS.get(_bare(text))


def split_label(text: str) -> tuple[str, str, str] | None:
    """``(field, label, value)`` for ``"课题：认识分数"`` or a bare ``"教学目标"``."""
    field = label_field(text)
    if field is not None:
        return field, text.strip(), ""
    match = _LABEL_SPLIT.match(_NUMBERING.sub("", text.strip()))
    if match is None:
        return None
    field = _LABELS.get(_key(match.group(1)))
    if field is None:
        return None
    label = text.strip()[: len(text.strip()) - len(match.group(2))].strip()
    return field, label, match.group(2).strip()


def step_column(text: str) -> str | None:
    return _COLUMNS.get(_bare(text))


def _cn_number(text: str) -> int | None:
    """一…九十九 (enough for grades and minutes)."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in _CN_DIGITS and c != "十" for c in text):
        return None
    if "十" not in text:
        return _CN_DIGITS[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def minutes_in(text: str) -> int | None:
    """Minutes written anywhere in a text: "5分钟", "5'", "5 min", "（10分）"."""
    match = _MINUTES.search(text)
    if match is None:
        return None
    number = _cn_number(match.group(1))
    return number if number is not None and number <= 600 else None


def exact_minutes(text: str) -> int | None:
    """Minutes when the text says nothing else ("5分钟", "（10分）", or a bare "5")."""
    bare = _BARE_NUMBER.match(text)
    if bare is not None:
        number = int(bare.group(1))
        return number if number <= 600 else None
    match = _MINUTES.search(text)
    if match is None or normalise(text.replace(match.group(0), "")).strip("（）() ") != "":
        return None
    return minutes_in(text)


def exact_date(text: str) -> dt.date | None:
    match = _DATE.match(text)
    if match is None:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def subject_code(text: str) -> str | None:
    """The registry's subject code for a name such as 数学 or Mathematics."""
    wanted = _key(text)
    spec = kind_spec(Kind.LESSON_PLAN).field("subject")
    for choice in spec.choices:
        if wanted in (_key(choice.label), choice.code) or wanted in SUBJECT_NAMES.get(choice.code, ()):
            return choice.code
    return None


_GRADE_PATTERNS = (
    (re.compile(rf"^({_CN_NUMBER}|\d{{1,2}})\s*年级$"), 0),
    (re.compile(r"^(?:grade|year)\s*(\d{1,2})$"), 0),
    (re.compile(rf"^初\s*({_CN_NUMBER}|\d)$"), 6),
    (re.compile(r"^junior\s*(\d)$"), 6),
    (re.compile(rf"^高\s*({_CN_NUMBER}|\d)$"), 9),
    (re.compile(rf"^高中\s*({_CN_NUMBER}|\d)\s*年级$"), 9),
    (re.compile(r"^senior\s*(\d)$"), 9),
)
_PRESCHOOL_NAMES = ("学前", "学前班", "幼儿园", "大班", "中班", "小班", "preschool", "kindergarten")


def grade_number(text: str) -> int | None:
    """三年级 → 3, 初一 → 7, 高一 → 10, 学前 → 0, Grade 3 → 3 — only when the
    registry has that grade (another version may have fewer or more)."""
    wanted = _key(text)
    spec = kind_spec(Kind.LESSON_PLAN).field("grade")
    codes = {c.code for c in spec.choices}
    for choice in spec.choices:
        if wanted == _key(choice.label):
            return int(choice.code)
    number: int | None = 0 if wanted in _PRESCHOOL_NAMES else None
    for pattern, offset in _GRADE_PATTERNS:
        match = pattern.match(wanted)
        if match is not None:
            digit = _cn_number(match.group(1))
            number = None if digit is None else digit + offset
            break
    if number is None:
        return None
    in_range = (spec.minimum is None or number >= spec.minimum) and (
        spec.maximum is None or number <= spec.maximum
    )
    return number if in_range and (not codes or str(number) in codes) else None
