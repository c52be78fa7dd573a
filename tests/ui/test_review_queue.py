"""The trainer's review queue: listing, order, filters, counts, and deciding from it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QPushButton

from app.models import reviews
from app.models.store import Store
from app.ui.review_queue import ReviewQueueModel
from app.ui.review_ui import QUEUE_PAGE
from tests.ui.review_seed import (
    FELLOW_A,
    FELLOW_B,
    T0,
    TRAINER,
    Env,
    MakeEnv,
    add_people,
    make_env,
    record_of,
    server_entry,
    sidebar_texts,
    sign_in_as,
    type_chinese,
)

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")
__all__ = ["make_env"]

LEFT = Qt.MouseButton.LeftButton


def seed(store: Store) -> dict[str, str]:
    """Three submissions of two fellows, submitted on different days, and a draft."""
    sign_in_as(store, TRAINER, "trainer", "李培训")
    add_people(store)
    ids = {}
    for key, owner, kind, values, day in (
        ("b_late", FELLOW_B, "lesson_plan", {"title": "认识分数"}, 5),
        ("a_early", FELLOW_A, "lesson_plan", {"title": "长方形的面积"}, 1),
        ("a_training", FELLOW_A, "training", {"title": "暑期培训", "hours": 6}, 3),
    ):
        record = record_of(store, owner, kind, values)
        server_entry(store, record.id, "submit", author_id=owner, author="fellow",
                     at=T0 + dt.timedelta(days=day), seq=day, seen=True)
        ids[key] = record.id
    record_of(store, FELLOW_A, "lesson_plan", {"title": "草稿"}, status="draft")
    return ids


def queue_titles(env: Env) -> list[str]:
    model = env.ui.queue.model()
    return [model.index(row, 4).data() for row in range(model.rowCount())]


def open_queue(env: Env) -> None:
    env.window.show_page(QUEUE_PAGE)
    assert env.window.current_page() == QUEUE_PAGE


def test_the_queue_lists_submissions_oldest_first(
    make_env: MakeEnv, store: Store, qtmodeltester: Any
) -> None:
    seed(store)
    env = make_env()
    open_queue(env)
    assert queue_titles(env) == ["长方形的面积", "暑期培训", "认识分数"]
    assert any(text.startswith("Review queue (3)") for text in sidebar_texts(env.window))
    count = env.ui.queue.findChild(QLabel, "review_queue_count")
    assert count is not None and count.text() == "3 waiting"
    qtmodeltester.check(env.ui.queue.model())


def test_the_queue_filters_by_fellow_kind_school_and_date(make_env: MakeEnv, store: Store) -> None:
    seed(store)
    env = make_env()
    open_queue(env)
    queue = env.ui.queue
    fellow = queue.combo("fellow")
    labels = [fellow.itemText(i) for i in range(fellow.count())]
    assert labels == ["All fellows", "张伟 (1)", "王芳 (2)"]
    fellow.setCurrentIndex(fellow.findData(FELLOW_A))
    assert queue_titles(env) == ["长方形的面积", "暑期培训"]
    kind = queue.combo("kind")
    kind.setCurrentIndex(kind.findData("training"))
    assert queue_titles(env) == ["暑期培训"]
    queue.set_filters(school="河西小学")
    assert queue_titles(env) == ["认识分数"]
    queue.set_filters(date_from=dt.date(2024, 5, 3), date_to=dt.date(2024, 5, 4))
    assert queue_titles(env) == ["暑期培训"]
    queue.clear_filters()
    assert len(queue_titles(env)) == 3


def test_opening_a_submission_shows_it_read_only_with_decisions(make_env: MakeEnv, store: Store) -> None:
    ids = seed(store)
    env = make_env()
    open_queue(env)
    env.ui.queue.open_row(0)
    editor = env.window.editor
    assert editor.current_id() == ids["a_early"]
    assert editor.is_read_only()
    assert env.window.current_page() == QUEUE_PAGE  # the queue stays beside the record
    panel = env.ui.panel
    assert panel.isVisible()
    for name in ("review_approve", "review_return"):
        button = panel.findChild(QPushButton, name)
        assert button is not None and button.isVisible()
    for name in ("review_submit", "review_withdraw", "review_new_revision"):
        button = panel.findChild(QPushButton, name)
        assert button is not None and not button.isVisible()
    hint = panel.findChild(QLabel, "review_comment_hint")
    assert hint is not None and hint.isVisible()
    assert "comment is required" in hint.text()


def test_approving_queues_the_decision_and_empties_the_row(
    make_env: MakeEnv, store: Store, qtbot: Any
) -> None:
    ids = seed(store)
    env = make_env()
    open_queue(env)
    env.ui.queue.open_row(0)
    approve = env.ui.panel.findChild(QPushButton, "review_approve")
    assert approve is not None
    qtbot.mouseClick(approve, LEFT)
    entries = reviews.thread(store, ids["a_early"])
    assert [(e.action, e.pending) for e in entries][-1] == ("approve", True)
    assert queue_titles(env) == ["暑期培训", "认识分数"]
    texts = env.ui.panel.entry_texts()
    assert "waiting to be sent" in texts[-1]
    assert not approve.isVisible()  # one decision per submission
    note = env.ui.panel.findChild(QLabel, "review_note")
    assert note is not None and "waiting to be sent" in note.text()


def test_returning_without_a_comment_is_blocked_and_says_why(
    make_env: MakeEnv, store: Store, qtbot: Any
) -> None:
    ids = seed(store)
    env = make_env()
    open_queue(env)
    env.ui.queue.open_row(0)
    panel = env.ui.panel
    give_back = panel.findChild(QPushButton, "review_return")
    assert give_back is not None
    qtbot.mouseClick(give_back, LEFT)
    problem = panel.findChild(QLabel, "review_problem")
    assert problem is not None and problem.isVisible()
    assert "before returning" in problem.text()
    assert reviews.pending_reviews(store) == 0
    assert len(queue_titles(env)) == 3

    comment = panel.findChild(QPlainTextEdit, "review_comment")
    assert comment is not None
    type_chinese(comment, "教学目标要更具体")
    assert not problem.isVisible()
    qtbot.mouseClick(give_back, LEFT)
    last = reviews.thread(store, ids["a_early"])[-1]
    assert (last.action, last.body, last.pending) == ("return", "教学目标要更具体", True)
    assert comment.toPlainText() == ""
    assert len(queue_titles(env)) == 2


def test_no_queue_without_a_reviewer_account(make_env: MakeEnv, store: Store) -> None:
    env = make_env()
    assert not any(text.startswith("Review queue") for text in sidebar_texts(env.window))
    assert any(text.startswith("Dashboard") for text in sidebar_texts(env.window))


def test_the_queue_model_is_a_sound_model(qtmodeltester: Any, store: Store) -> None:
    seed(store)
    model = ReviewQueueModel()
    model.set_rows(reviews.review_queue(store))
    assert model.rowCount() == 3
    qtmodeltester.check(model)
