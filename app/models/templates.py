"""教案 templates (docs/templates.md): the built-in ones, the user's own and
those a trainer shares with the cohorts they train.

A user's template is a record of kind ``lesson_template`` in the same store
and sync as everything else (so it syncs, merges and replays like any
record), never listed: only New's chooser shows it. Its content fields are
a lesson plan's reusable ones (``fields.TEMPLATE_CONTENT``); ``shared`` says
whether its trainer shares it. The server sends a trainer's shared templates
to the fellows of their cohorts; when one is unshared it sends ``shared``
false, and this module then no longer offers it: a template shows here if
it is the user's own, or someone else's and shared.

The built-in templates are data in this module (Chinese text; an English
name marked for translation under the context "Template").

No Qt here: the UI (``app/ui/templates_ui.py``) runs these on the TaskRunner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import select

from app.errors import RecordNotFound, ValidationFailed
from app.i18n_marker import QT_TRANSLATE_NOOP
from app.models.fields import TEMPLATE_CONTENT, Kind, kind_spec
from app.models.orm import LessonTemplate, Meta
from app.models.store import RecordData, Store
from app.models.validation import Problem

LESSON_MINUTES: Final = 40  # one 课时 of primary and lower secondary school
_USER_ID: Final = "user_id"  # the signed-in account's meta key (app/sync/replica.py)
_NOT_A_PLAN = QT_TRANSLATE_NOOP("Validation", "Only a lesson plan can be saved as a template.")
_NO_NAME = QT_TRANSLATE_NOOP("Validation", "Give the template a name.")


@dataclass(frozen=True)
class Template:
    """A template the chooser offers: built in, the user's own, or shared."""

    key: str  # "builtin:<code>" or the template record's id
    name: str  # English source text for a built-in (context "Template"); the user's words otherwise
    values: Mapping[str, Any]  # the lesson-plan fields it fills in
    builtin: bool = False
    record_id: str | None = None  # the lesson_template record (not for built-ins)
    author: str = ""  # who made it (for "shared by …")
    shared: bool = False
    description: str = field(default="", compare=False)  # built-ins: English source text


def _step(phase: str, minutes: int, teacher: str, students: str) -> dict[str, Any]:
    return {"phase": phase, "minutes": minutes, "teacher": teacher, "students": students}


_BUILTIN_DATA: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    (
        "new_lesson",
        QT_TRANSLATE_NOOP("Template", "New lesson"),
        QT_TRANSLATE_NOOP(
            "Template", "Teach new content: review, introduce, explore, practise, sum up."),
        {
            "objectives": "1. 知识与技能：\n2. 过程与方法：\n3. 情感态度与价值观：",
            "key_points": "教学重点：\n教学难点：",
            "materials": "课件、教具、学习单",
            "procedure": [
                _step("复习导入", 5, "回顾旧知，创设情境，提出问题。", "回忆旧知，思考问题。"),
                _step("新知探究", 15,
                      "引导学生观察、操作、讨论，归纳新知。",
                      "动手操作，小组讨论，交流发现。"),
                _step("巩固练习", 12, "出示分层练习，巡视指导。", "独立练习，同伴互查。"),
                _step("课堂小结", 5, "引导学生说说本课收获。", "交流收获与疑问。"),
                _step("布置作业", 3, "布置基础题与拓展题。", "记录作业。"),
            ],
            "assessment": "课堂观察、练习正确率、学生自评与互评。",
            "homework": "基础作业：\n拓展作业：",
            "notes": "板书设计：\n课题\n一、\n二、",
        },
    ),
    (
        "review",
        QT_TRANSLATE_NOOP("Template", "Review lesson"),
        QT_TRANSLATE_NOOP(
            "Template", "Go over a unit: sort the knowledge, practise, correct common mistakes."),
        {
            "objectives": "1. 梳理本单元知识，形成知识网络。\n2. 通过练习查漏补缺，提高综合运用能力。",
            "key_points": "教学重点：知识的系统整理。\n教学难点：知识的综合运用。",
            "materials": "单元知识结构图、练习题、错题集",
            "procedure": [
                _step("明确目标", 3, "出示复习目标。", "明确本节课任务。"),
                _step("知识梳理", 12, "引导学生回顾，构建知识网络。", "自主整理，小组交流，完善知识结构图。"),
                _step("典型例题", 10, "讲解典型例题，点拨方法。", "思考、讲解思路。"),
                _step("分层练习", 10, "出示基础题、提高题，针对错题讲评。", "练习，订正错题。"),
                _step("总结反思", 5, "引导学生总结易错点。", "反思、记录易错点。"),
            ],
            "assessment": "练习正确率、错题订正情况。",
            "homework": "整理错题；完成复习练习。",
            "notes": "板书设计：\n单元知识结构图",
        },
    ),
    (
        "experiment",
        QT_TRANSLATE_NOOP("Template", "Experiment lesson"),
        QT_TRANSLATE_NOOP(
            "Template", "Ask a question, guess, plan and run an experiment, discuss the results."),
        {
            "objectives": (
                "1. 通过实验认识……\n"
                "2. 学会设计简单的实验，如实记录。\n"
                "3. 养成实事求是的科学态度和安全意识。"
            ),
            "key_points": "教学重点：实验的设计与操作。\n教学难点：根据现象得出结论。",
            "materials": "实验器材（每组一套）、实验记录单、安全提示",
            "procedure": [
                _step("提出问题", 5, "创设情境，提出探究问题。", "观察现象，提出问题。"),
                _step("猜想假设", 5, "鼓励学生大胆猜想。", "说出猜想及理由。"),
                _step("设计实验", 7, "引导讨论实验方法，强调安全。", "小组讨论，确定实验方案。"),
                _step("动手实验", 13, "巡视指导，提醒如实记录。", "分组实验，填写记录单。"),
                _step("交流结论", 7, "组织汇报，归纳结论。", "汇报现象与结论。"),
                _step("拓展延伸", 3, "联系生活，布置课后探究。", "思考生活中的应用。"),
            ],
            "assessment": "实验操作规范、记录单填写、小组合作情况。",
            "homework": "课后完成一个家庭小实验并记录。",
            "notes": "板书设计：\n问题 → 猜想 → 实验 → 结论",
        },
    ),
    (
        "reading",
        QT_TRANSLATE_NOOP("Template", "Reading lesson"),
        QT_TRANSLATE_NOOP(
            "Template", "Read a text: first reading, close reading, discussion, extension."),
        {
            "objectives": "1. 正确、流利、有感情地朗读课文。\n2. 理解课文内容，体会……\n3. 积累好词佳句。",
            "key_points": "教学重点：理解课文内容。\n教学难点：体会作者的思想感情。",
            "materials": "课件、生字卡片、阅读单",
            "procedure": [
                _step("激趣导入", 3, "谈话或图片导入，揭示课题。", "交流、读课题。"),
                _step("初读感知", 10, "指导自由读，检查生字词。", "自由读课文，认读生字词，说说主要内容。"),
                _step("精读品味", 15, "抓重点词句，引导品读、感悟。", "圈画批注，交流体会，有感情朗读。"),
                _step("拓展延伸", 8, "推荐同类阅读，读写结合。", "交流、小练笔。"),
                _step("总结作业", 4, "总结全文，布置作业。", "分享收获，记录作业。"),
            ],
            "assessment": "朗读水平、批注与交流的质量。",
            "homework": "有感情地朗读课文；完成阅读单。",
            "notes": "板书设计：\n课题\n关键词句",
        },
    ),
    (
        "practice_activity",
        QT_TRANSLATE_NOOP("Template", "Comprehensive practice activity"),
        QT_TRANSLATE_NOOP(
            "Template", "A hands-on activity: choose a topic, plan, act in groups, present."),
        {
            "objectives": (
                "1. 围绕主题开展调查、实践活动。\n"
                "2. 提高合作、动手与表达能力。\n"
                "3. 增强社会责任感。"
            ),
            "key_points": "教学重点：活动的组织与实施。\n教学难点：成果的整理与展示。",
            "materials": "活动方案表、调查表、展示用纸笔",
            "procedure": [
                _step("情境引入", 5, "创设情境，引出活动主题。", "交流生活经验。"),
                _step("确定主题", 5, "引导学生提出并确定小主题。", "讨论、确定小组主题。"),
                _step("制定方案", 10, "指导分工与计划。", "小组制定活动方案，明确分工。"),
                _step("实践探究", 12, "巡视指导，提供帮助。", "分组实践、调查、记录。"),
                _step("展示评价", 8, "组织展示与评价。", "汇报成果，互评。"),
            ],
            "assessment": "活动参与度、合作表现、成果质量（自评、互评、师评）。",
            "homework": "继续完善小组成果，课后与家人分享。",
            "notes": "板书设计：\n主题 → 方案 → 实践 → 展示",
        },
    ),
    (
        "english",
        QT_TRANSLATE_NOOP("Template", "English lesson"),
        QT_TRANSLATE_NOOP(
            "Template", "Warming-up, presentation, practice, production, summary, homework."),
        {
            "subject": "english",
            "objectives": "1. Knowledge: 学生能听、说、认读单词……和句型……\n"
                          "2. Skills: 能在情境中运用所学语言进行交流。\n3. Affect: 乐于用英语表达。",
            "key_points": "Key points: 单词与句型。\nDifficult points: 在真实情境中运用句型。",
            "materials": "PPT、单词卡片、录音、图片",
            "procedure": [
                _step("Warming-up", 3,
                      "Greeting; sing a song or play a game; 复习旧知。",
                      "Greet; sing and play."),
                _step("Presentation", 12, "用图片、情境呈现新单词和句型，领读。", "Listen, look and repeat."),
                _step("Practice", 12,
                      "组织机械操练和意义操练：pair work、游戏。",
                      "Practise in pairs and groups."),
                _step("Production", 8, "创设真实情境，布置交际任务。", "Role-play; use the language."),
                _step("Summary", 3, "引导学生总结本课所学。", "Sum up what they learned."),
                _step("Homework", 2, "布置听读与书写作业。", "Write down the homework."),
            ],
            "assessment": "课堂问答、pair work 表现、单词认读。",
            "homework": "1. Listen and read. 2. Copy the new words. 3. 用新句型和家人对话。",
            "notes": "板书设计：\nUnit … Lesson …\nNew words:\nSentences:",
        },
    ),
)


def _builtin(code: str, name: str, description: str, content: dict[str, Any]) -> Template:
    values = {"duration_minutes": LESSON_MINUTES, **content}
    return Template(f"builtin:{code}", name, values, builtin=True, description=description)


BUILTIN_TEMPLATES: Final[tuple[Template, ...]] = tuple(_builtin(*item) for item in _BUILTIN_DATA)


def builtin(code: str) -> Template:
    """A built-in template by its code (``new_lesson``, ``english``…)."""
    key = f"builtin:{code}"
    for template in BUILTIN_TEMPLATES:
        if template.key == key:
            return template
    raise KeyError(code)


def plan_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """What a new lesson plan gets from a template: its content fields only
    (never its name, which is not the lesson's 课题, nor ``shared``)."""
    return {name: values[name] for name in TEMPLATE_CONTENT if name in values}


# --- the user's templates ----------------------------------------------------------


def _user_id(store: Store) -> int | None:
    with store.reading() as session:
        value = session.execute(select(Meta.value).where(Meta.key == _USER_ID)).scalar_one_or_none()
    return int(value) if value else None


def user_templates(store: Store) -> tuple[list[Template], list[Template]]:
    """``(mine, shared with me)``, each by name: the user's own templates
    (made here and not synced yet, or owned by the signed-in account), and
    the live templates of others that are shared. Others' templates that are
    not shared (unshared by their trainer, or a fellow's own seen by their
    trainer or an admin) are not offered."""
    me = _user_id(store)
    spec = kind_spec(Kind.LESSON_TEMPLATE)
    mine: list[Template] = []
    shared: list[Template] = []
    with store.reading() as session:
        rows = session.scalars(
            select(LessonTemplate).where(LessonTemplate.deleted.is_(False))
        ).all()
        for row in rows:
            values = Store.values_of(row)
            own = row.owner_id is None or row.owner_id == me
            if not own and not values["shared"]:
                continue
            template = Template(
                row.id, str(values[spec.title_field]), plan_values(values), record_id=row.id,
                author=row.author, shared=bool(values["shared"]),
            )
            (mine if own else shared).append(template)
    return sorted(mine, key=_by_name), sorted(shared, key=_by_name)


def _by_name(template: Template) -> tuple[str, str]:
    return (template.name.casefold(), template.key)


def create_plan(store: Store, template: Template, *, author: str, title: str = "") -> RecordData:
    """A new draft lesson plan filled in from ``template`` (one transaction)."""
    return store.create(Kind.LESSON_PLAN.value, {**plan_values(template.values), "title": title},
                        author=author)


def save_as_template(store: Store, record_id: str, name: str, *, author: str,
                     shared: bool = False) -> RecordData:
    """A new template of the user's from a lesson plan's content, named
    ``name``. Raises ``ValidationFailed`` for an empty name or a record that
    is not a lesson plan, ``RecordNotFound`` for a record gone."""
    name = name.strip()
    if not name:
        raise ValidationFailed({"title": Problem(_NO_NAME)})
    plan = store.get(record_id)
    if plan.kind != Kind.LESSON_PLAN.value:
        raise ValidationFailed({"record": Problem(_NOT_A_PLAN)})
    values = {**plan_values(plan.values), "title": name, "shared": shared}
    return store.create(Kind.LESSON_TEMPLATE.value, values, author=author)


def set_shared(store: Store, template_id: str, shared: bool) -> RecordData:
    """Share a template of the user's with their cohorts, or stop sharing it
    (``RecordReadOnly`` for someone else's)."""
    _check_template(store, template_id)
    return store.update(template_id, {"shared": shared}).record


def delete_template(store: Store, template_id: str) -> RecordData:
    """Delete a template of the user's (a tombstone, synced like any delete)."""
    _check_template(store, template_id)
    return store.delete(template_id)


def _check_template(store: Store, template_id: str) -> None:
    if store.get(template_id).kind != Kind.LESSON_TEMPLATE.value:
        raise RecordNotFound(template_id)


__all__ = [
    "BUILTIN_TEMPLATES",
    "LESSON_MINUTES",
    "Template",
    "builtin",
    "create_plan",
    "delete_template",
    "plan_values",
    "save_as_template",
    "set_shared",
    "user_templates",
]
