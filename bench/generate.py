"""Deterministic, realistic benchmark data: lesson plans, training records and
exchange logs, mostly in Chinese, as a rural teacher (or a teaching-research
group) would write them.

    python -m bench.generate --count 50000 [--seed 42] [--out bench/.data/bench-50000-seed42.db]

The same ``count`` and ``seed`` always give the same records. A store that
was already built with the same count, seed, generator version and schema
version is reused (see the ``.json`` file beside it).

Records go in through ``Store.create_many`` (the store's own validated bulk
path, a few thousand per transaction); only the status is then set with a
plain SQL UPDATE, since the review workflow is not what is measured. The
store makes the ids, so they differ between builds; the content does not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from app.models import schema
from app.models.fields import Kind, Status
from app.models.store import Store
from bench import vocab

GENERATOR_VERSION = 3
DEFAULT_SEED = 42
DATA_DIR = Path(__file__).resolve().parent / ".data"

FIRST_DAY = dt.date(2023, 1, 1)
LAST_DAY = dt.date(2026, 6, 30)

KIND_WEIGHTS: tuple[tuple[Kind, int], ...] = (
    (Kind.LESSON_PLAN, 60),
    (Kind.TRAINING, 20),
    (Kind.EXCHANGE, 20),
)
STATUS_WEIGHTS: tuple[tuple[Status, int], ...] = (
    (Status.DRAFT, 34),
    (Status.SUBMITTED, 26),
    (Status.APPROVED, 32),
    (Status.RETURNED, 8),
)

T = TypeVar("T")


@dataclass(frozen=True)
class GeneratedRecord:
    kind: str
    author: str
    status: str
    values: dict[str, Any]


# --- helpers -------------------------------------------------------------------


def _weighted(rng: random.Random, pairs: Sequence[tuple[T, int]]) -> T:
    total = sum(w for _, w in pairs)
    pick = rng.random() * total
    for item, weight in pairs:
        pick -= weight
        if pick < 0:
            return item
    return pairs[-1][0]


def _fill(template: str, **slots: object) -> str:
    for key, value in slots.items():
        template = template.replace("{" + key + "}", str(value))
    return template


def _paragraph(
    rng: random.Random,
    pools: Sequence[Sequence[str]],
    low: int,
    high: int,
    *,
    numbered: bool = False,
    most: int | None = None,
    **slots: object,
) -> str:
    """Sentences drawn from ``pools`` (first pool first) until the text is
    somewhere between ``low`` and ``high`` characters long (or has ``most``
    sentences and at least ``low`` characters)."""
    target = rng.randint(low, high)
    sentences: list[str] = []
    length = 0

    def enough() -> bool:
        return length >= target or (most is not None and len(sentences) >= most and length >= low)

    for pool in pools:
        for template in rng.sample(list(pool), len(pool)):
            sentence = _fill(template, n=rng.randint(2, 12), **slots)
            if sentences and length + len(sentence) > high:
                continue
            sentences.append(sentence)
            length += len(sentence) + (3 if numbered else 0)
            if enough():
                break
        if enough():
            break
    if numbered:
        return "\n".join(f"{i}. {s}" for i, s in enumerate(sentences, 1))
    text = ""
    for sentence in sentences:  # a space only where English meets something
        if text and (text[-1].isascii() or sentence[0].isascii()):
            text += " "
        text += sentence
    return text


def _school_day(rng: random.Random, first: dt.date = FIRST_DAY, last: dt.date = LAST_DAY) -> dt.date:
    """A weekday in term time (no summer or winter holidays)."""
    span = (last - first).days
    while True:
        day = first + dt.timedelta(days=rng.randint(0, span))
        in_term = (
            dt.date(day.year, 2, 20) <= day <= dt.date(day.year, 7, 5)
            or day >= dt.date(day.year, 9, 1)
            or day <= dt.date(day.year, 1, 15)
        )
        if day.weekday() < 5 and in_term:
            return day


def _any_day(rng: random.Random) -> dt.date:
    return FIRST_DAY + dt.timedelta(days=rng.randint(0, (LAST_DAY - FIRST_DAY).days))


def _cn(number: int) -> str:
    return vocab.CN_NUMBERS[number - 1] if 1 <= number <= 10 else str(number)


def _partner_school(rng: random.Random) -> str:
    form = rng.randrange(10)
    place = rng.choice(vocab.PLACES)
    county = rng.choice(vocab.COUNTIES)
    if form == 0:
        return f"{place}第{_cn(rng.randint(1, 4))}小学"
    if form == 1:
        return f"{county}实验小学"
    if form == 2:
        return f"{place}镇中心小学"
    if form == 3:
        return f"{place}乡{rng.choice(vocab.VILLAGES)}村小学"
    if form == 4:
        return f"{rng.choice(vocab.CITIES)}市第{rng.randint(1, 15)}中学"
    if form == 5:
        return f"{county}民族小学"
    if form == 6:
        return f"{place}九年一贯制学校"
    if form == 7:
        return f"{county}第{_cn(rng.randint(1, 3))}中学"
    if form == 8:
        return f"{place}镇{rng.choice(vocab.VILLAGES)}教学点"
    if rng.random() < 0.3:
        return rng.choice(vocab.FOREIGN_SCHOOLS)
    return "城关第一小学"


# --- lesson plans ------------------------------------------------------------------


def _procedure(
    rng: random.Random, duration: int, topic: str, in_english: bool
) -> list[dict[str, Any]]:
    phases = vocab.PHASE_ORDERS[rng.choice((3, 4, 4, 5, 5, 5, 6, 6))]
    minutes = [rng.randint(*vocab.PHASES[p][1]) for p in phases]
    # The main phase takes up the rest, so the steps add up to the duration...
    main = phases.index("new")
    minutes[main] = max(5, duration - (sum(minutes) - minutes[main]))
    # ...except in a few plans, where the teacher has not balanced them yet.
    if rng.random() < 0.06:
        minutes[main] += rng.choice((-5, -3, 2, 5))
    steps = []
    for phase, mins in zip(phases, minutes, strict=True):
        if in_english:
            name = rng.choice(vocab.PHASES_IN_ENGLISH[phase])
            teacher = rng.choice(vocab.TEACHER_ACTIVITIES_IN_ENGLISH[phase])
            students = rng.choice(vocab.STUDENT_ACTIVITIES_IN_ENGLISH[phase])
        else:
            name = rng.choice(vocab.PHASES[phase][0])
            teacher = rng.choice(vocab.TEACHER_ACTIVITIES[phase])
            students = rng.choice(vocab.STUDENT_ACTIVITIES[phase])
        steps.append(
            {
                "phase": name,
                "minutes": mins,
                "teacher": _fill(teacher, topic=topic),
                "students": students,
            }
        )
    return steps


def _lesson_plan(rng: random.Random, status: Status) -> dict[str, Any]:
    subject: vocab.Subject = _weighted(rng, [(s, s.weight) for s in vocab.SUBJECTS])
    pattern, pool = rng.choice(subject.titles)
    topic = rng.choice(pool)
    unit_number = rng.randint(1, 8)
    title = _fill(pattern, t=topic, n=unit_number)
    if pattern.startswith("Unit"):
        topic = f"Unit {unit_number} {topic}"
    in_english = subject.code == "english" and rng.random() < 0.4
    if pool is vocab.PINYIN or pool is vocab.LITERACY:
        grade = rng.randint(1, 2)
    else:
        grade = _weighted(rng, [(g, 15) for g in range(1, 7)] + [(g, 3) for g in range(7, 10)])
    duration = 40 if grade <= 6 else 45
    if rng.random() < 0.05:
        duration *= 2  # a double period
    planned = _school_day(rng)
    term = "上册" if planned.month >= 8 or planned.month == 1 else "下册"
    slots: dict[str, Any] = {"topic": topic, "subject": subject.name}

    values: dict[str, Any] = {
        "title": title,
        "subject": subject.code,
        "grade": grade,
        "planned_date": planned,
        "duration_minutes": duration,
    }
    if rng.random() < 0.9:
        values["class_name"] = rng.choice(
            (
                f"{_cn(grade)}年级（{rng.randint(1, 4)}）班",
                f"{_cn(grade)}（{rng.randint(1, 3)}）班",
                f"{grade}.{rng.randint(1, 3)}班",
                "复式班（一、二年级）" if grade <= 2 else f"{_cn(grade)}年级",
            )
        )
    if rng.random() < 0.85:
        publisher = rng.choice(vocab.PUBLISHERS.get(subject.code, vocab.PUBLISHERS["other"]))
        values["unit"] = (
            f"{publisher} Unit {unit_number}"
            if subject.code == "english"
            else f"{publisher}{_cn(grade)}年级{term} 第{_cn(unit_number)}单元"
        )
    objective_pools: list[Sequence[str]] = (
        [vocab.OBJECTIVES_IN_ENGLISH]
        if in_english
        else [subject.objectives, vocab.OBJECTIVES_GENERIC]
    )
    values["objectives"] = _paragraph(
        rng, objective_pools, 50, 400, numbered=True, most=rng.randint(2, 5), **slots
    )
    key = _fill(rng.choice(subject.key_points), **slots)
    hard = _fill(rng.choice(subject.difficulties), **slots)
    values["key_points"] = f"教学重点：{key}。\n教学难点：{hard}。\n" + _paragraph(
        rng, [vocab.BREAKTHROUGH], 20, 150, most=rng.randint(1, 3)
    )
    values["materials"] = "、".join(
        rng.sample(list(subject.materials) + list(vocab.MATERIALS_GENERIC), rng.randint(2, 5))
    )
    values["procedure"] = _procedure(rng, duration, topic, in_english)
    if rng.random() < 0.8:
        pools: list[Sequence[str]] = (
            [vocab.ASSESSMENT_IN_ENGLISH] if in_english else [vocab.ASSESSMENT]
        )
        values["assessment"] = _paragraph(rng, pools, 15, 120, **slots)
    if rng.random() < 0.85:
        pools = [vocab.HOMEWORK_IN_ENGLISH] if in_english else [vocab.HOMEWORK]
        values["homework"] = _paragraph(rng, pools, 10, 80, numbered=True, **slots)
    # The reflection is written after the lesson: most drafts have none yet.
    if rng.random() < (0.3 if status is Status.DRAFT else 0.85):
        if in_english:
            pools = [vocab.REFLECTION_IN_ENGLISH]
        elif subject.code == "english":
            pools = [vocab.REFLECTION_MIXED, vocab.REFLECTION]
        else:
            pools = [vocab.REFLECTION]
        values["reflection"] = _paragraph(rng, pools, 50, 400, **slots)
    tag_pool = list(subject.tags) * 2 + list(vocab.TAGS_GENERIC)
    values["tags"] = list(dict.fromkeys(rng.sample(tag_pool, rng.randint(0, 5))))
    return values


# --- training records ---------------------------------------------------------------


def _training(rng: random.Random) -> dict[str, Any]:
    kind = _weighted(
        rng,
        (
            ("summer_institute", 18), ("workshop", 22), ("online_course", 22),
            ("school_research", 24), ("mentoring", 9), ("other", 5),
        ),
    )
    subject_spec = _weighted(rng, [(s, s.weight) for s in vocab.SUBJECTS])
    subject = subject_spec.name
    lessons = {
        "chinese": vocab.TEXTS, "math": vocab.MATH_TOPICS, "science": vocab.SCIENCE_TOPICS,
        "english": vocab.ENGLISH_UNITS,
    }.get(subject_spec.code, vocab.MATH_TOPICS + vocab.TEXTS)
    theme = rng.choice(vocab.TRAINING_THEMES)
    county = rng.choice(vocab.COUNTIES)
    online = kind == "online_course" or rng.random() < 0.1
    hours: float
    if kind == "summer_institute":
        year = rng.randint(2023, 2025)
        start = dt.date(year, 7, 5) + dt.timedelta(days=rng.randint(0, 45))
        days = rng.randint(3, 10)
        end = start + dt.timedelta(days=days - 1)
        hours = float(days * rng.choice((6, 7, 8)))
        title = rng.choice(
            (
                f"{year}年暑期{subject}教师集训",
                f"{year}年{county}暑期教师全员培训",
                f"国培计划（{year}）——乡村小学{subject}教师能力提升培训",
                f"{year}年省级骨干教师培训（{subject}）",
            )
        )
    else:
        start = _any_day(rng) if kind == "online_course" else _school_day(rng)
        if kind == "online_course":
            end = start + dt.timedelta(days=rng.randint(7, 60))
            hours = float(rng.randint(10, 50))
            title = rng.choice(
                (
                    *vocab.TRAINING_ENGLISH_TITLES,
                    "信息技术应用能力提升工程2.0",
                    f"国家中小学智慧教育平台：{start.year}年教师研修",
                    f"网络研修：{theme}",
                )
            )
        elif kind == "workshop":
            end = start + dt.timedelta(days=rng.choice((0, 0, 0, 1)))
            hours = rng.choice((2.0, 3.0, 3.5, 4.0, 6.0, 8.0, 12.0))
            title = rng.choice(
                (
                    f"新课标解读专题培训（{subject}）",
                    f"{county}小学{subject}教研活动：{theme}",
                    "班主任工作能力提升培训",
                    "心理健康教育专题讲座",
                    "家庭教育指导培训",
                    f"专题讲座：{theme}",
                )
            )
        elif kind == "school_research":
            end = start
            hours = rng.choice((1.0, 1.5, 2.0, 2.5, 3.0, 4.0))
            lesson = rng.choice(lessons)
            title = rng.choice(
                (
                    f"校本教研：{lesson}同课异构",
                    f"学区{subject}联片教研：{theme}",
                    f"{subject}教研组集体备课：{lesson}",
                    f"教研活动：{theme}",
                )
            )
        elif kind == "mentoring":
            end = start + dt.timedelta(days=rng.randint(0, 30))
            hours = float(rng.randint(2, 40))
            title = rng.choice(
                (
                    f"师徒结对：跟岗学习（{_partner_school(rng)}）",
                    f"听评课：{rng.choice(lessons)}",
                    "新教师入职指导",
                )
            )
        else:
            end = start
            hours = float(rng.randint(2, 8))
            title = rng.choice(("安全教育专题培训", "急救知识培训", f"{county}教育系统师德师风培训"))
    values: dict[str, Any] = {
        "title": title,
        "training_type": kind,
        "start_date": start,
        "hours": hours,
        "online": online,
    }
    if rng.random() < 0.93:  # a few are still going on
        values["end_date"] = end
    if rng.random() < 0.9:
        values["provider"] = rng.choice(vocab.PROVIDERS)
    values["location"] = "线上" if online else rng.choice(vocab.TRAINING_LOCATIONS)
    values["topics"] = _paragraph(rng, [vocab.TRAINING_TOPICS], 50, 300, theme=theme)
    if rng.random() < 0.85:
        values["takeaways"] = _paragraph(rng, [vocab.TRAINING_TAKEAWAYS], 50, 400, theme=theme)
    if rng.random() < 0.7:
        values["action_plan"] = _paragraph(
            rng, [vocab.TRAINING_ACTIONS], 30, 250, numbered=True, theme=theme
        )
    return values


# --- exchange logs -------------------------------------------------------------------


def _exchange(rng: random.Random) -> dict[str, Any]:
    school = _partner_school(rng)
    kind = _weighted(
        rng,
        (
            ("visit", 25), ("shadowing", 10), ("co_taught", 20), ("observation", 20),
            ("student_pairing", 12), ("rotation", 6), ("other", 7),
        ),
    )
    online = "online" in school or rng.random() < 0.12
    direction = "online" if online else rng.choice(("we_visited", "they_visited"))
    hours_range = {
        "visit": (3, 8), "shadowing": (8, 40), "co_taught": (1, 3), "observation": (1, 4),
        "student_pairing": (2, 6), "rotation": (40, 200), "other": (1, 6),
    }[kind]
    teachers = rng.randint(1, 3) if kind in ("rotation", "shadowing") else rng.randint(2, 25)
    if kind == "student_pairing":
        students = rng.randint(20, 120)
    elif kind == "co_taught":
        students = rng.randint(25, 60)
    else:
        students = rng.choice((0, 0, rng.randint(10, 300)))
    topic = rng.choice(vocab.MATH_TOPICS + vocab.TEXTS + vocab.SCIENCE_TOPICS)
    slots: dict[str, Any] = {"school": school, "topic": topic}
    values: dict[str, Any] = {
        "partner_school": school,
        "exchange_type": kind,
        "direction": direction,
        "exchange_date": _school_day(rng),
        "duration_hours": float(rng.randint(*hours_range)) + rng.choice((0.0, 0.0, 0.5)),
        "teacher_count": teachers,
        "student_count": students,
        "activities": _paragraph(rng, [vocab.EXCHANGE_ACTIVITIES], 50, 300, **slots),
    }
    if rng.random() < 0.85:
        values["observations"] = _paragraph(rng, [vocab.EXCHANGE_OBSERVATIONS], 40, 300, **slots)
    if rng.random() < 0.75:
        values["outcomes"] = _paragraph(rng, [vocab.EXCHANGE_OUTCOMES], 30, 250, **slots)
    return values


# --- the stream ------------------------------------------------------------------------


def generate_items(count: int, seed: int = DEFAULT_SEED) -> Iterator[GeneratedRecord]:
    """``count`` records with their author and final status."""
    rng = random.Random(seed)
    for _ in range(count):
        kind = _weighted(rng, KIND_WEIGHTS)
        status = _weighted(rng, STATUS_WEIGHTS)
        author = rng.choice(vocab.AUTHORS)
        if kind is Kind.LESSON_PLAN:
            values = _lesson_plan(rng, status)
        elif kind is Kind.TRAINING:
            values = _training(rng)
        else:
            values = _exchange(rng)
        yield GeneratedRecord(kind.value, author, status.value, values)


def generate_records(count: int, seed: int = DEFAULT_SEED) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(kind, values)`` pairs that ``validate_record`` accepts."""
    for item in generate_items(count, seed):
        yield item.kind, item.values


# --- loading ---------------------------------------------------------------------------

BATCH = 2_000  # records per Store.create_many transaction


def load(store: Store, items: Iterable[GeneratedRecord]) -> list[str]:
    """Put ``items`` into ``store`` through ``Store.create_many`` (one
    transaction per batch and author), then give each its generated status
    with a plain UPDATE of the ``status`` column (the workflow that would set
    it is not the benchmark's business). Returns the new ids in item order."""
    ids: list[str] = []
    statuses: list[tuple[str, str]] = []
    batch: list[GeneratedRecord] = []

    def flush() -> None:
        by_author: dict[str, list[GeneratedRecord]] = {}
        for item in batch:
            by_author.setdefault(item.author, []).append(item)
        for author, mine in by_author.items():
            new = store.create_many([(i.kind, i.values) for i in mine], author=author)
            ids.extend(new)
            statuses.extend((i.status, record_id) for i, record_id in zip(mine, new, strict=True))
        batch.clear()

    for item in items:
        batch.append(item)
        if len(batch) >= BATCH:
            flush()
    flush()
    conn = sqlite3.connect(store.path, isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("UPDATE records SET status = ? WHERE id = ?", statuses)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return ids


def default_path(count: int, seed: int = DEFAULT_SEED) -> Path:
    return DATA_DIR / f"bench-{count}-seed{seed}.db"


def _manifest(count: int, seed: int) -> dict[str, Any]:
    return {
        "count": count,
        "seed": seed,
        "generator_version": GENERATOR_VERSION,
        "schema_version": schema.CURRENT_VERSION,
    }


def _manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def is_cached(path: Path, count: int, seed: int = DEFAULT_SEED) -> bool:
    manifest = _manifest_path(path)
    if not (path.is_file() and manifest.is_file()):
        return False
    try:
        return bool(json.loads(manifest.read_text("utf-8")) == _manifest(count, seed))
    except (OSError, ValueError):
        return False


def _remove_store(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".json"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def build_store(
    path: Path, count: int, seed: int = DEFAULT_SEED, *, reuse: bool = True
) -> Path:
    """A store at ``path`` holding ``count`` generated records.

    Reuses the file if it was built with the same count, seed, generator and
    schema version; otherwise builds it beside ``path`` and moves it into
    place, so an interrupted build never leaves a half-filled store there.
    """
    path = Path(path)
    if reuse and is_cached(path, count, seed):
        return path
    _remove_store(path)
    building = path.with_name(path.name + ".building")
    _remove_store(building)
    try:
        store = Store.open(building)
        try:
            load(store, generate_items(count, seed))
        finally:
            store.close()
    except BaseException:
        _remove_store(building)
        raise
    building.rename(path)
    _manifest_path(path).write_text(json.dumps(_manifest(count, seed)), "utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build a benchmark store of generated records.")
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, help="store file (default: bench/.data/bench-N-seedS.db)")
    parser.add_argument("--force", action="store_true", help="rebuild even if a cached copy exists")
    args = parser.parse_args(argv)
    out: Path = args.out or default_path(args.count, args.seed)
    if not args.force and is_cached(out, args.count, args.seed):
        print(f"Reusing {out} ({args.count} records, seed {args.seed})")
        return 0
    began = time.perf_counter()
    build_store(out, args.count, args.seed, reuse=False)
    size = out.stat().st_size / 1e6
    print(f"Built {out}: {args.count} records in {time.perf_counter() - began:.1f} s, {size:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
