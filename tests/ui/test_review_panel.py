"""The fellow's side of the review panel: buttons by status, the thread, unread markers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit, QPushButton, QToolButton

from app.models import reviews
from app.models.store import Store
from app.ui.list_model import UNREAD_ROLE
from tests.ui.review_seed import (
    FELLOW_A,
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


def button(env: Env, name: str) -> QPushButton:
    found = env.ui.panel.findChild(QPushButton, name)
    assert found is not None
    return found


def visible_buttons(env: Env) -> set[str]:
    names = ("review_submit", "review_withdraw", "review_new_revision", "review_approve", "review_return")
    return {name for name in names if button(env, name).isVisible()}


def title_edit(env: Env) -> QLineEdit:
    widget = env.window.editor.field_widget("title")
    assert isinstance(widget, QLineEdit)
    return widget


def as_fellow(store: Store) -> None:
    sign_in_as(store, FELLOW_A, "fellow", "王芳")
    add_people(store)


def test_submit_then_withdraw_locks_and_unlocks_the_editor(
    make_env: MakeEnv, store: Store, qtbot: Any
) -> None:
    as_fellow(store)
    record = record_of(store, FELLOW_A, "lesson_plan", {"title": "认识分数"}, status="draft")
    env = make_env()
    env.window.open_record(record.id)
    assert visible_buttons(env) == {"review_submit"}
    assert not env.window.editor.is_read_only()

    qtbot.mouseClick(button(env, "review_submit"), LEFT)
    assert store.get(record.id).status == "submitted"
    assert visible_buttons(env) == {"review_withdraw"}
    assert env.window.editor.is_read_only()
    assert title_edit(env).isReadOnly()

    qtbot.mouseClick(button(env, "review_withdraw"), LEFT)
    assert store.get(record.id).status == "draft"
    assert visible_buttons(env) == {"review_submit"}
    assert not title_edit(env).isReadOnly()


def test_a_returned_record_is_editable_and_can_be_submitted_again(make_env: MakeEnv, store: Store) -> None:
    as_fellow(store)
    record = record_of(store, FELLOW_A, "lesson_plan", {"title": "认识分数"}, status="returned")
    env = make_env()
    env.window.open_record(record.id)
    assert visible_buttons(env) == {"review_submit"}
    assert not env.window.editor.is_read_only()


def test_an_approved_record_is_read_only_and_starts_a_new_revision(
    make_env: MakeEnv, store: Store, qtbot: Any
) -> None:
    as_fellow(store)
    record = record_of(store, FELLOW_A, "lesson_plan", {"title": "认识分数"}, status="approved")
    env = make_env()
    env.window.open_record(record.id)
    assert visible_buttons(env) == {"review_new_revision"}
    assert env.window.editor.is_read_only()

    qtbot.mouseClick(button(env, "review_new_revision"), LEFT)
    opened = env.window.editor.current_id()
    assert opened is not None and opened != record.id
    revision = store.get(opened)
    assert (revision.status, revision.revision, revision.revision_of) == ("draft", 2, record.id)
    assert not env.window.editor.is_read_only()
    assert visible_buttons(env) == {"review_submit"}
    assert store.get(record.id).status == "approved"  # the approved one stays
    row = env.window.list_model().row_of(opened)
    assert row is not None
    assert "rev. 2" in env.window.list_model().index(row, 0).data()


def test_the_thread_shows_entries_pending_and_superseded(
    make_env: MakeEnv, store: Store, qtbot: Any
) -> None:
    as_fellow(store)
    record = record_of(store, FELLOW_A, "lesson_plan", {"title": "认识分数"}, status="returned")
    server_entry(store, record.id, "submit", author_id=FELLOW_A, author="王芳", seq=1, seen=True)
    server_entry(store, record.id, "return", author_id=TRAINER, author="李培训", body="目标不清楚",
                 at=T0 + dt.timedelta(hours=1), seq=2, seen=True)
    server_entry(store, record.id, "approve", author_id=4, author="赵老师", body="很好",
                 at=T0 + dt.timedelta(hours=2), seq=3, outcome="superseded",
                 reason="李培训 already returned this record", seen=True)
    reviews.add_comment(store, record.id, "我改好了")
    env = make_env()
    env.window.open_record(record.id)
    texts = env.ui.panel.entry_texts()
    assert len(texts) == 4
    assert texts[0].startswith("王芳 · Submitted for review")
    assert "李培训 · Returned for revision" in texts[1] and "目标不清楚" in texts[1]
    assert "Not applied: 李培训 already returned this record" in texts[2]
    assert "waiting to be sent" in texts[3] and "我改好了" in texts[3]
    assert "waiting to be sent" not in texts[1]


def test_a_long_thread_opens_scrolled_to_the_newest_entry(
    make_env: MakeEnv, store: Store, qtbot: Any
) -> None:
    """The decision is what the fellow opens the record for: it is in view,
    while the thread stays short enough to leave the form room."""
    as_fellow(store)
    record = record_of(store, FELLOW_A, "lesson_plan", {"title": "认识分数"}, status="approved")
    for i in range(8):
        server_entry(store, record.id, "comment", author_id=TRAINER, author="李培训", body=f"第{i}条意见",
                     at=T0 + dt.timedelta(hours=i), seq=i + 1, seen=True)
    server_entry(store, record.id, "approve", author_id=TRAINER, author="李培训", body="通过",
                 at=T0 + dt.timedelta(hours=9), seq=10, seen=True)
    env = make_env()
    env.window.open_record(record.id)
    labels = env.ui.panel.findChildren(QLabel, "review_entry")
    assert len(labels) == 9
    qtbot.waitUntil(lambda: not labels[-1].visibleRegion().isEmpty())
    assert labels[0].visibleRegion().isEmpty(), "the oldest scrolled out of view"


def test_a_comment_is_queued_and_shown(make_env: MakeEnv, store: Store, qtbot: Any) -> None:
    as_fellow(store)
    record = record_of(store, FELLOW_A, "lesson_plan", {"title": "认识分数"}, status="draft")
    env = make_env()
    env.window.open_record(record.id)
    comment_button = button(env, "review_comment_button")
    qtbot.mouseClick(comment_button, LEFT)
    assert env.ui.panel.problem_text() == "Write a comment first."
    assert reviews.pending_reviews(store) == 0
    box = env.ui.panel.findChild(QPlainTextEdit, "review_comment")
    assert box is not None
    type_chinese(box, "请看第二步")
    qtbot.mouseClick(comment_button, LEFT)
    assert reviews.pending_reviews(store) == 1
    assert "请看第二步" in env.ui.panel.entry_texts()[-1]


def test_unread_entries_mark_the_record_until_it_is_opened(make_env: MakeEnv, store: Store) -> None:
    as_fellow(store)
    record = record_of(store, FELLOW_A, "lesson_plan", {"title": "认识分数"}, status="returned")
    other = record_of(store, FELLOW_A, "lesson_plan", {"title": "分数的加法"}, status="draft")
    server_entry(store, record.id, "return", author_id=TRAINER, author="李培训", body="再想想", seq=2)
    server_entry(store, record.id, "comment", author_id=TRAINER, author="李培训", body="还有",
                 at=T0 + dt.timedelta(minutes=5), seq=3)
    env = make_env()
    model = env.window.list_model()
    row = model.row_of(record.id)
    assert row is not None
    assert model.index(row, 0).data(UNREAD_ROLE) is True
    assert model.index(model.row_of(other.id) or 0, 0).data(UNREAD_ROLE) is False
    assert model.index(row, 0).data(Qt.ItemDataRole.DecorationRole) is not None
    assert sidebar_texts(env.window)[0] == "Lesson plans (2) · 1 new"
    unread = env.window.findChild(QToolButton, "review_unread")
    assert unread is not None and unread.isVisible() and unread.text() == "2 new review comments"

    unread.click()  # opens the next unread record, which marks it read
    assert env.window.editor.current_id() == record.id
    assert reviews.unread_count(store) == 0
    assert any(text.startswith("New · ") for text in env.ui.panel.entry_texts())
    assert model.index(row, 0).data(UNREAD_ROLE) is False
    assert sidebar_texts(env.window)[0] == "Lesson plans (2)"
    assert not unread.isVisible()


def test_a_trainer_cannot_edit_a_fellows_draft(make_env: MakeEnv, store: Store) -> None:
    sign_in_as(store, TRAINER, "trainer")
    add_people(store)
    record = record_of(store, FELLOW_A, "lesson_plan", {"title": "认识分数"}, status="draft")
    env = make_env()
    env.window.open_record(record.id)
    assert env.window.editor.is_read_only()
    assert visible_buttons(env) == set()


def test_without_an_account_records_can_still_be_submitted(make_env: MakeEnv, store: Store) -> None:
    record = store.create("lesson_plan", {"title": "认识分数"}, author="me")
    env = make_env()
    env.window.open_record(record.id)
    assert visible_buttons(env) == {"review_submit"}
    button(env, "review_submit").click()
    assert store.get(record.id).status == "submitted"
    assert env.window.editor.is_read_only()
