"""Seeding a real store for the review UI tests: an account, people, fellows'
records and server-confirmed review entries, as a sync would have left them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QWidget
from sqlalchemy import update

from app.models.orm import Person, Record, Review
from app.models.store import RecordData, Store
from app.sync import replica
from app.ui.i18n import Translations
from app.ui.main_window import MainWindow
from app.ui.review_ui import ReviewUi
from app.ui.tasks import TaskRunner

TRAINER, FELLOW_A, FELLOW_B = 1, 2, 3
T0 = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)


def sign_in_as(store: Store, user_id: int, role: str, name: str = "") -> None:
    replica.set_account(store, server_url="https://fieldbook.test", username=f"user{user_id}",
                        user_id=user_id, role=role, display_name=name or f"User {user_id}")


def add_people(store: Store) -> None:
    with store.writing() as work:
        session = work.session
        session.add(Person(id=TRAINER, name="李培训", role="trainer", school="", cohorts=["2024"]))
        session.add(Person(id=FELLOW_A, name="王芳", role="fellow", school="城关小学", cohorts=["2024"]))
        session.add(Person(id=FELLOW_B, name="张伟", role="fellow", school="河西小学", cohorts=["2024"]))


def record_of(store: Store, owner: int | None, kind: str, values: dict[str, Any], *,
              status: str = "submitted", author: str = "fellow") -> RecordData:
    """A record as pulled: owned by ``owner`` with ``status``."""
    record = store.create(kind, values, author=author)
    with store.writing() as work:
        session = work.session
        session.execute(update(Record).where(Record.id == record.id)
                        .values(owner_id=owner, status=status))
    return store.get(record.id)


def server_entry(store: Store, record_id: str, action: str, *, author_id: int, author: str,
                 body: str = "", at: dt.datetime = T0, seq: int = 1, outcome: str = "accepted",
                 reason: str = "", seen: bool = False) -> str:
    """An entry the server stored (pulled back), unseen unless said."""
    entry_id = str(uuid.uuid4())
    with store.writing() as work:
        session = work.session
        session.add(Review(id=entry_id, record_id=record_id, author_id=author_id, author=author,
                           action=action, body=body, basis=[], outcome=outcome, reason=reason, at=at,
                           written_at=at, seq=seq, pending=False, seen=seen))
    return entry_id


@dataclass
class Env:
    window: MainWindow
    ui: ReviewUi
    store: Store


MakeEnv = Callable[[], Env]


@pytest.fixture
def make_env(qtbot: Any, store: Store, runner: TaskRunner) -> Iterator[MakeEnv]:
    made: list[Env] = []

    def make() -> Env:
        window = MainWindow(store, runner, Translations())
        ui = ReviewUi(window, store, runner)
        window.show()
        qtbot.waitExposed(window)
        env = Env(window, ui, store)
        made.append(env)
        return env

    yield make
    for env in made:
        if env.window.isVisible():
            env.window.close()
        env.window.deleteLater()
    QCoreApplication.processEvents()


def type_chinese(widget: QWidget, text: str) -> None:
    """Commit text the way an input method does (keyClicks cannot type Chinese)."""
    widget.setFocus()
    event = QInputMethodEvent()
    event.setCommitString(text)
    QApplication.sendEvent(widget, event)


def sidebar_texts(window: MainWindow) -> list[str]:
    bar = window.sidebar()
    return [bar.item(row).text() for row in range(bar.count()) if not bar.item(row).isHidden()]
