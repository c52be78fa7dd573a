"""Sync in the window: real widgets, a real store, the real server on loopback.

The server is ``live_server`` from tests/sync/conftest.py (shared with every
window test through tests/ui/conftest.py). Syncs run on the controller's
own worker thread, edits on a real ``TaskRunner``: the tests wait for what a
user would see in the status line.
"""

from __future__ import annotations

import datetime as dt
import random
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QToolButton,
    QWidget,
)

from app.models import reviews
from app.models.orm import Record
from app.models.store import Store
from app.sync import replica
from app.sync.client import ApiClient
from app.sync.engine import Backoff
from app.sync.engine import sign_in as engine_sign_in
from app.sync.errors import (
    AuthRequired,
    BadServerAddress,
    ClientTooOld,
    Offline,
    ServerUnavailable,
    SyncError,
    Throttled,
)
from app.sync.tokens import TokenStore
from app.ui import settings
from app.ui.conflicts import ConflictPanel
from app.ui.i18n import Translations
from app.ui.main_window import MainWindow
from app.ui.refusals import RefusalsDialog
from app.ui.review_ui import DASHBOARD_PAGE, ReviewUi
from app.ui.sync_controller import LAST_SERVER, Phase, SyncController
from app.ui.sync_dialogs import SignInDialog, sign_in_error_text
from app.ui.sync_ui import SyncUi
from app.ui.sync_words import describe_synced
from app.ui.tasks import TaskRunner
from tests.sync.conftest import Laptop, LiveServer

# The offscreen platform warns whenever a shown window's size limits change.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")

LEFT = Qt.MouseButton.LeftButton
WAIT_MS = 30_000  # a sync against the loopback server, with a cold start of its workers
LESSON = {"title": "认识分数", "subject": "math", "grade": 3}


@dataclass
class Env:
    window: MainWindow
    controller: SyncController
    ui: SyncUi
    store: Store
    runner: TaskRunner

    def state(self) -> str:
        label = self.window.findChild(QLabel, "sync_state")
        assert label is not None
        return label.text()

    def tooltip(self) -> str:
        label = self.window.findChild(QLabel, "sync_state")
        assert label is not None
        return label.toolTip()


MakeEnv = Callable[..., Env]


def quick_client(url: str) -> ApiClient:
    return ApiClient(url, timeout=(3, 15))


@pytest.fixture
def make_env(qtbot: Any, store: Store) -> Iterator[MakeEnv]:
    made: list[Env] = []

    def make(
        *,
        tokens: TokenStore | None = None,
        client_factory: Callable[[str], ApiClient] = quick_client,
        start: bool = True,
        edit_delay_ms: int = 300,
        backoff: Backoff | None = None,
    ) -> Env:
        runner = TaskRunner()
        window = MainWindow(store, runner, Translations())
        controller = SyncController(
            store, runner, tokens=tokens, client_factory=client_factory,
            backoff=backoff or Backoff(base=0.2, cap=1.0), edit_delay_ms=edit_delay_ms,
            watch_network=False,
        )
        ui = SyncUi(window, controller)
        env = Env(window, controller, ui, store, runner)
        made.append(env)
        window.show()
        qtbot.waitExposed(window)
        if start:
            controller.start()
        return env

    yield make
    for env in made:
        env.controller.shutdown(20)
        if env.window.isVisible():
            env.window.close()
        env.runner.wait()
        env.window.deleteLater()
    QCoreApplication.processEvents()


def signed_in_tokens(store: Store, server: LiveServer, username: str = "li") -> TokenStore:
    """Sign the store in as ``username`` the way the dialog would, before the window opens."""
    tokens = TokenStore()
    client = ApiClient(server.url)
    try:
        engine_sign_in(store, client, tokens, server.url, username, server.users[username])
    finally:
        client.close()
    return tokens


def wait_synced(qtbot: Any, env: Env) -> None:
    qtbot.waitUntil(lambda: env.state().startswith("Synced at ") and not env.controller.busy,
                    timeout=WAIT_MS)


def type_title(qtbot: Any, env: Env, text: str) -> None:
    title = env.window.editor.field_widget("title")
    assert isinstance(title, QLineEdit)
    title.setFocus()
    title.selectAll()
    qtbot.keyClicks(title, text)


def cell_text(table: QTableWidget, row: int, column: int) -> str:
    item = table.item(row, column)
    assert item is not None, (row, column)
    return item.text()


def titles(store: Store) -> set[str]:
    with store.reading() as session:
        from app.models.orm import Record

        return {r.title for r in session.query(Record).filter(Record.deleted.is_(False))}


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An address that accepts connections and never answers (a server that hangs)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


# Only bounds a hang (a test that fails before it lets the requests go).
HANG_S = 60.0


class HeldSession(requests.Session):
    """Requests wait until the test lets them go, as a request to a server
    that does not answer waits, and then go to the real (silent) server.
    Records the thread each request ran on."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.released = threading.Event()
        self.threads: list[threading.Thread] = []

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        self.threads.append(threading.current_thread())
        self.entered.set()
        self.released.wait(HANG_S)
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def held_session() -> Iterator[HeldSession]:
    session = HeldSession()
    yield session
    session.released.set()  # a failed test must not leave the sync thread waiting
    session.close()


class LongestWait(random.Random):
    """Jitter that always picks the longest wait: with a long backoff, no
    retry of its own starts while a test counts the syncs."""

    def uniform(self, a: float, b: float) -> float:
        return b


def pretend_signed_in(store: Store, url: str) -> TokenStore:
    replica.set_account(store, server_url=url, username="li", user_id=1, role="fellow")
    tokens = TokenStore()
    tokens.save(url, "li", "a-refresh-token")
    return tokens


# --- signing in, and syncing by itself --------------------------------------------------


@pytest.mark.slow
def test_sign_in_through_the_dialog_then_edits_sync_by_themselves(
    qtbot: Any, make_env: MakeEnv, live_server: LiveServer, laptop: Callable[..., Laptop]
) -> None:
    env = make_env()
    assert env.state() == "Sync: not set up"
    qtbot.waitUntil(lambda: env.controller.remembers_sign_in() is not None)

    env.ui.sync_now_action.trigger()  # not signed in: "Sync now" asks to sign in
    dialog = env.ui.sign_in_dialog
    assert isinstance(dialog, SignInDialog) and dialog.isVisible()
    note = dialog.findChild(QLabel, "keyring_note")
    assert note is not None and note.isVisible()  # the tests run without a keyring
    assert note.text() == ("This computer has no password keyring: you will need to sign in again "
                           "next time Fieldbook starts.")
    password = dialog.findChild(QLineEdit, "password")
    assert password is not None and password.echoMode() is QLineEdit.EchoMode.Password
    button = dialog.findChild(QPushButton, "sign_in_button")
    assert button is not None

    dialog.fill(live_server.url, "li", "not-the-password")
    qtbot.mouseClick(button, LEFT)
    assert dialog.busy, "signing in runs in the background"
    busy = dialog.findChild(QWidget, "sign_in_busy")
    assert busy is not None and busy.isVisible()
    qtbot.waitUntil(lambda: dialog.error_text() != "", timeout=WAIT_MS)
    assert dialog.error_text() == "The user name or password is not correct."
    assert dialog.isVisible() and env.state() == "Sync: not set up"

    dialog.fill(live_server.url, "li", live_server.users["li"])
    qtbot.mouseClick(button, LEFT)
    qtbot.waitUntil(lambda: env.ui.sign_in_dialog is None, timeout=WAIT_MS)  # closed and deleted
    wait_synced(qtbot, env)
    assert settings.get(LAST_SERVER) == live_server.url
    assert env.ui.sign_out_action.isEnabled() and not env.ui.sign_in_action.isEnabled()

    # An edit goes to the server by itself, a moment after typing stops.
    env.window.new_record()
    type_title(qtbot, env, "Fractions for grade 3")
    qtbot.waitUntil(lambda: replica.pending_count(env.store) == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: replica.pending_count(env.store) == 0, timeout=WAIT_MS)
    wait_synced(qtbot, env)
    other = laptop("li")
    other.sync()
    assert "Fractions for grade 3" in titles(other.store)


@pytest.mark.slow
def test_a_server_that_goes_away_and_comes_back(
    qtbot: Any, make_env: MakeEnv, store: Store, live_server: LiveServer
) -> None:
    env = make_env(tokens=signed_in_tokens(store, live_server))
    wait_synced(qtbot, env)

    live_server.stop()
    env.window.new_record()
    type_title(qtbot, env, "Written offline")
    qtbot.waitUntil(lambda: env.state() == "Offline — 1 change waiting", timeout=WAIT_MS)
    assert "Next try at" in env.tooltip()
    assert "will be sent when the connection is back" in env.tooltip()

    # No new edit: the waiting change goes out on a later try, once the server is back.
    live_server.start()
    qtbot.waitUntil(lambda: replica.pending_count(store) == 0, timeout=WAIT_MS)
    wait_synced(qtbot, env)


def test_the_window_stays_responsive_while_the_server_does_not_answer(
    qtbot: Any, make_env: MakeEnv, store: Store, silent_server: str, held_session: HeldSession
) -> None:
    """The mechanism, not a stopwatch: while a sync's request is held (as by
    a server that does not answer), it waits on the sync's own thread and the
    GUI thread goes on handling timers, typing and saves."""
    tokens = pretend_signed_in(store, silent_server)
    env = make_env(
        tokens=tokens, start=False, backoff=Backoff(base=3600, cap=3600, rng=LongestWait()),
        client_factory=lambda url: ApiClient(url, timeout=(2, 1), session=held_session),
    )
    busy: list[bool] = []
    env.controller.busy_changed.connect(busy.append)
    env.controller.start()
    assert env.controller.busy and env.state() == "Syncing…"
    qtbot.waitUntil(held_session.entered.is_set, timeout=WAIT_MS)
    assert threading.main_thread() not in held_session.threads, "the request waits off the GUI thread"

    # The event loop runs while the request waits: a timer fires...
    ticked: list[bool] = []
    QTimer.singleShot(0, lambda: ticked.append(True))
    qtbot.waitUntil(lambda: ticked == [True], timeout=WAIT_MS)
    # ...and saving is not held up by the sync: it has its own thread.
    env.window.new_record()
    type_title(qtbot, env, "Saved while syncing")
    qtbot.waitUntil(lambda: env.window.editor.save_state() == "saved", timeout=WAIT_MS)
    assert "Saved while syncing" in titles(store)
    assert env.controller.busy and busy == [True], "the sync is still waiting for the server"
    assert env.controller.sync_now() and env.controller.sync_now()  # asked again: queued, not doubled

    held_session.released.set()  # the requests now reach the silent server and time out
    qtbot.waitUntil(lambda: len(busy) >= 4, timeout=WAIT_MS)
    assert busy == [True, False, True, False], "the second sync ran once the first was over"
    assert not env.controller.busy
    assert threading.main_thread() not in held_session.threads
    assert env.state() == "Sync failed: the server is not available right now"
    assert "Next try at" in env.tooltip() and "Details:" in env.tooltip()


# --- the mass-delete guard and conflicts ---------------------------------------------------


@pytest.mark.slow
def test_the_mass_delete_question_and_dont_remove(
    qtbot: Any, make_env: MakeEnv, store: Store, live_server: LiveServer, laptop: Callable[..., Laptop]
) -> None:
    tokens = signed_in_tokens(store, live_server)
    ids = [store.create("lesson_plan", {**LESSON, "title": f"第{i}课"}, author="李老师").id
           for i in range(14)]
    env = make_env(tokens=tokens)
    wait_synced(qtbot, env)
    other = laptop("li")
    other.sync()
    for rid in ids[:12]:
        other.store.delete(rid)
    other.sync()

    env.ui.sync_now_action.trigger()
    qtbot.waitUntil(lambda: env.ui.mass_delete_dialog is not None, timeout=WAIT_MS)
    box = env.ui.mass_delete_dialog
    assert box is not None and box.isVisible()
    assert box.text() == ("The server would remove 12 of your 14 records. This can happen if the server "
                          "was reset or you connected to the wrong server. Remove them?")
    assert box.defaultButton() is box.keep_button
    assert env.controller.busy and env.state() == "Sync is waiting for your answer"
    qtbot.mouseClick(box.keep_button, LEFT)
    qtbot.waitUntil(lambda: not env.controller.busy, timeout=WAIT_MS)
    assert env.state() == "Sync paused: the server would remove 12 of your 14 records"
    assert sum(store.counts().values()) == 14, "nothing was removed"
    assert env.controller.retry_at is None, "it waits for the user"

    env.ui.sync_now_action.trigger()  # asked again; this time the user agrees
    qtbot.waitUntil(lambda: env.ui.mass_delete_dialog is not None, timeout=WAIT_MS)
    box = env.ui.mass_delete_dialog
    assert box is not None
    qtbot.mouseClick(box.remove_button, LEFT)
    wait_synced(qtbot, env)
    assert sum(store.counts().values()) == 2


@pytest.mark.slow
def test_a_conflict_is_marked_and_the_other_value_restored(
    qtbot: Any, make_env: MakeEnv, store: Store, live_server: LiveServer, laptop: Callable[..., Laptop]
) -> None:
    tokens = signed_in_tokens(store, live_server)
    rid = store.create("lesson_plan", LESSON, author="李老师").id
    env = make_env(tokens=tokens)
    wait_synced(qtbot, env)
    other = laptop("li")
    other.sync()
    other.store.update(rid, {"title": "Title from the other laptop"})
    other.sync()

    # The same field edited here without having seen the other edit.
    env.window.open_record(rid)
    type_title(qtbot, env, "Title from this laptop")
    qtbot.waitUntil(lambda: env.controller.conflict_count == 1, timeout=WAIT_MS)
    wait_synced(qtbot, env)
    panel = env.window.findChild(ConflictPanel, "conflict_panel")
    assert panel is not None
    qtbot.waitUntil(panel.isVisible)
    counter = env.window.findChild(QToolButton, "sync_conflicts")
    assert counter is not None and counter.isVisible() and counter.text() == "1 conflict"
    [conflict] = replica.conflicts_for(store, rid)
    now = store.get(rid).values["title"]
    assert {now, conflict.value} == {"Title from the other laptop", "Title from this laptop"}
    current = panel.findChild(QLabel, f"current_{conflict.id}")
    other_value = panel.findChild(QLabel, f"other_{conflict.id}")
    assert current is not None and current.text().endswith(f": {now}")
    assert other_value is not None and other_value.text().endswith(f": {conflict.value}")
    title = env.window.editor.field_widget("title")
    assert isinstance(title, QLineEdit)
    qtbot.waitUntil(lambda: title.text() == now)

    restore = panel.findChild(QPushButton, f"restore_{conflict.id}")
    assert restore is not None
    qtbot.mouseClick(restore, LEFT)
    qtbot.waitUntil(lambda: title.text() == conflict.value, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not panel.isVisible() and not counter.isVisible(), timeout=WAIT_MS)
    assert store.get(rid).values["title"] == conflict.value
    # The restored value is an edit like any other: it syncs and wins everywhere.
    qtbot.waitUntil(lambda: replica.pending_count(store) == 0, timeout=WAIT_MS)
    wait_synced(qtbot, env)
    other.sync()
    assert other.store.get(rid).values["title"] == conflict.value


@pytest.mark.slow
def test_a_notice_tells_that_a_deleted_record_came_back(
    qtbot: Any, make_env: MakeEnv, store: Store, live_server: LiveServer, laptop: Callable[..., Laptop]
) -> None:
    tokens = signed_in_tokens(store, live_server)
    rid = store.create("lesson_plan", LESSON, author="李老师").id
    env = make_env(tokens=tokens)
    wait_synced(qtbot, env)
    other = laptop("li")
    other.sync()
    other.store.update(rid, {"title": "Still needed"})
    other.sync()

    env.window.open_record(rid)
    env.window.delete_selected()  # without having seen the other edit
    qtbot.waitUntil(lambda: "A record you deleted was restored because someone edited it"
                    in env.window.statusBar().currentMessage(), timeout=WAIT_MS)
    assert "Still needed" in env.window.statusBar().currentMessage()
    assert store.get(rid).values["title"] == "Still needed"
    qtbot.waitUntil(lambda: replica.unseen_notices(store) == [], timeout=WAIT_MS)


def write_past_the_guard(store: Store, record_id: str, name: str, value: Any) -> None:
    """A change the store itself refuses (someone else's record), logged as an
    older Fieldbook would have: only the server is left to refuse it."""
    with store.writing() as work:
        record = work.session.get(Record, record_id)
        assert record is not None
        if name == "deleted":
            work.set_meta(record, name, value)
        else:
            setattr(record, name, value)
            work.log_change(record, name, value, work.tick())


def press_sync_now(qtbot: Any, env: Env) -> None:
    env.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is env.window)
    qtbot.keyClick(env.window, Qt.Key.Key_F5)


@pytest.mark.slow
def test_a_refused_change_is_told_shown_on_the_record_and_undone(
    qtbot: Any, make_env: MakeEnv, store: Store, live_server: LiveServer, laptop: Callable[..., Laptop]
) -> None:
    fellow = laptop("li")
    rid = fellow.store.create("lesson_plan", LESSON, author="李老师").id
    fellow.sync()
    env = make_env(tokens=signed_in_tokens(store, live_server, "zhao"))  # li's trainer
    wait_synced(qtbot, env)

    write_past_the_guard(store, rid, "title", "Changed by the trainer")
    press_sync_now(qtbot, env)
    qtbot.waitUntil(lambda: "The server did not accept your change to “认识分数”"
                    in env.window.statusBar().currentMessage(), timeout=WAIT_MS)
    assert store.get(rid).values["title"] == LESSON["title"], "put back to the server's copy"
    assert env.state().endswith(" · 1 change refused by the server")
    [refusal] = replica.rejections(store, rid)
    panel = env.window.findChild(ConflictPanel, "conflict_panel")
    assert panel is not None
    env.window.open_record(rid)
    qtbot.waitUntil(panel.isVisible)
    dismiss = panel.findChild(QPushButton, f"dismiss_{refusal.seq}")
    assert dismiss is not None
    qtbot.mouseClick(dismiss, LEFT)
    qtbot.waitUntil(lambda: not panel.isVisible(), timeout=WAIT_MS)
    assert replica.rejections(store, rid) == []
    fellow.sync()
    assert fellow.store.get(rid).values["title"] == LESSON["title"]


@pytest.mark.slow
def test_a_trainer_cannot_delete_a_fellows_record_and_a_refused_delete_comes_back(
    qtbot: Any, make_env: MakeEnv, store: Store, live_server: LiveServer, laptop: Callable[..., Laptop]
) -> None:
    fellow = laptop("li")
    rid = fellow.store.create("lesson_plan", LESSON, author="李老师").id
    other = fellow.store.create("lesson_plan", {**LESSON, "title": "Plants"}, author="李老师").id
    reviews.submit(fellow.store, rid)
    fellow.sync()
    env = make_env(tokens=signed_in_tokens(store, live_server, "zhao"), start=False)
    review = ReviewUi(env.window, store, env.runner, env.controller)
    env.controller.start()
    wait_synced(qtbot, env)
    qtbot.waitUntil(lambda: env.window.list_model().rowCount() == 2, timeout=WAIT_MS)

    # The panel says read-only, and Delete does nothing: not the key, not the button.
    table = env.window.table()
    row = env.window.list_model().row_of(rid)
    assert row is not None
    qtbot.mouseClick(table.viewport(), LEFT, pos=table.visualRect(table.model().index(row, 0)).center())
    assert env.window.editor.current_id() == rid and env.window.editor.is_read_only()
    delete = next(a for a in env.window.actions() + table.actions() if a.objectName() == "action_delete")
    assert not delete.isEnabled()
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    button = env.window.toolbar().widgetForAction(delete)
    assert button is not None
    qtbot.mouseClick(button, LEFT)
    assert store.get(rid).title == LESSON["title"]
    assert replica.pending_count(store) == 0

    # Two changes the server refuses (written past the store's guard).
    write_past_the_guard(store, rid, "deleted", True)
    write_past_the_guard(store, other, "title", "Trainer's title")
    env.window.refresh_records()
    assert env.window.list_model().row_of(rid) is None
    press_sync_now(qtbot, env)
    qtbot.waitUntil(lambda: env.state().endswith(" · 2 changes refused by the server")
                    and not env.controller.busy, timeout=WAIT_MS)
    assert env.state().startswith("Synced at ")
    qtbot.waitUntil(lambda: env.window.list_model().row_of(rid) is not None, timeout=WAIT_MS)
    assert store.get(rid).status == "submitted"
    assert store.get(other).title == "Plants"

    details = env.window.findChild(QToolButton, "sync_refusals")
    assert details is not None and details.isVisible()
    qtbot.mouseClick(details, LEFT)
    dialog = env.window.findChild(RefusalsDialog, "refusals_dialog")
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    table_of_refusals = dialog.table()
    cells = {(cell_text(table_of_refusals, r, 0), cell_text(table_of_refusals, r, 1),
              cell_text(table_of_refusals, r, 2)) for r in range(table_of_refusals.rowCount())}
    why = "You cannot change this record: it belongs to someone else."
    assert cells == {("认识分数", "Delete", why), ("Plants", "Title", why)}

    # Nothing is sent again, and the dashboard counts the record that came back.
    press_sync_now(qtbot, env)
    wait_synced(qtbot, env)
    assert replica.pending_count(store) == 0 and len(replica.rejections(store)) == 2
    env.window.show_page(DASHBOARD_PAGE)
    model = review.dashboard.model()
    qtbot.waitUntil(lambda: model.rowCount() > 0, timeout=WAIT_MS)
    totals = model.rowCount() - 1
    figures = [str(model.index(totals, model.keys().index(key)).data())
               for key in ("lessons_submitted", "lessons_waiting")]
    assert figures == ["1", "1"]

    dismiss = dialog.findChild(QPushButton, "refusals_dismiss")
    assert dismiss is not None
    qtbot.mouseClick(dismiss, LEFT)
    qtbot.waitUntil(lambda: not details.isVisible(), timeout=WAIT_MS)
    assert replica.rejections(store) == []
    assert "refused" not in env.state()
    fellow.sync()
    assert fellow.store.get(rid).title == LESSON["title"] and fellow.store.get(other).title == "Plants"


# --- signing out ------------------------------------------------------------------------


@pytest.mark.slow
def test_sign_out_asks_while_changes_wait(
    qtbot: Any, make_env: MakeEnv, store: Store, live_server: LiveServer
) -> None:
    tokens = signed_in_tokens(store, live_server)
    env = make_env(tokens=tokens)
    wait_synced(qtbot, env)
    store.create("lesson_plan", LESSON, author="李老师")  # not sent yet

    env.ui.sign_out_action.trigger()
    box = env.ui.sign_out_box
    assert box is not None and box.isVisible()
    assert box.text().startswith("1 change waiting to be sent to the server.")
    qtbot.mouseClick(box.sign_out_button, LEFT)
    qtbot.waitUntil(lambda: env.state() == "Sync: signed out", timeout=WAIT_MS)
    assert not env.controller.is_signed_in
    assert tokens.load(live_server.url, "li") is None
    assert env.ui.sign_in_action.isEnabled() and not env.ui.sign_out_action.isEnabled()
    assert replica.pending_count(store) == 1, "the change stays on this computer"
    env.ui.sync_now_action.trigger()
    dialog = env.ui.sign_in_dialog
    assert dialog is not None and dialog.isVisible()
    for name, text in (("server_url", live_server.url), ("username", "li"), ("password", "")):
        field = dialog.findChild(QLineEdit, name)
        assert field is not None and field.text() == text


def test_signing_out_stops_a_sync_that_waits_for_the_server(
    qtbot: Any, make_env: MakeEnv, store: Store, silent_server: str
) -> None:
    tokens = pretend_signed_in(store, silent_server)
    env = make_env(tokens=tokens, client_factory=lambda url: ApiClient(url, timeout=(1, 1)))
    assert env.controller.busy
    env.controller.sign_out()
    assert env.state() == "Signing out…"
    qtbot.waitUntil(lambda: env.state() == "Sync: signed out", timeout=WAIT_MS)
    assert not env.controller.busy and env.controller.retry_at is None
    assert tokens.load(silent_server, "li") is None
    env.controller.note_local_change()
    assert not env.controller.sync_now()


# --- what the status line says, without a server -------------------------------------------


class FailingClient(ApiClient):
    error: Exception = SyncError()

    def ensure_access(self) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "text", "retries"),
    [
        (Offline(), "Offline — 1 change waiting", True),
        (ServerUnavailable(status=503), "Sync failed: the server is not available right now", True),
        (Throttled(1.5), "Sync failed: the server is busy", True),
        (ClientTooOld(), "Please update Fieldbook", False),
        (AuthRequired(), "Please sign in again", False),
    ],
)
def test_the_status_line_names_each_failure(
    qtbot: Any, make_env: MakeEnv, store: Store, error: Exception, text: str, retries: bool
) -> None:
    url = "http://127.0.0.1:9"
    tokens = pretend_signed_in(store, url)
    store.create("lesson_plan", LESSON, author="李老师")

    def factory(base_url: str) -> ApiClient:
        client = FailingClient(base_url)
        client.error = error
        return client

    env = make_env(tokens=tokens, client_factory=factory)
    qtbot.waitUntil(lambda: not env.controller.busy and env.state() == text, timeout=WAIT_MS)
    assert (env.controller.retry_at is not None) is retries
    if retries:
        assert "Next try at" in env.tooltip()
    if isinstance(error, AuthRequired):
        env.ui.sync_now_action.trigger()
        assert env.ui.sign_in_dialog is not None and env.ui.sign_in_dialog.isVisible()


def test_no_keyring_means_signing_in_again_after_a_restart(
    qtbot: Any, make_env: MakeEnv, store: Store
) -> None:
    replica.set_account(store, server_url="http://127.0.0.1:9", username="li", user_id=1, role="fellow")
    env = make_env()  # the token of the last session was in memory only
    qtbot.waitUntil(lambda: env.state() == "Please sign in again", timeout=WAIT_MS)
    assert "no password keyring" in env.tooltip()
    assert env.controller.phase is Phase.SIGN_IN_AGAIN


def test_the_status_line_follows_the_language(
    qtbot: Any, make_env: MakeEnv, store: Store
) -> None:
    translations = Translations()
    try:
        env = make_env(tokens=pretend_signed_in(store, "http://127.0.0.1:9"),
                       client_factory=lambda url: _failing(url, ClientTooOld()))
        qtbot.waitUntil(lambda: env.state() == "Please update Fieldbook", timeout=WAIT_MS)
        translations.install("zh_CN")
        qtbot.waitUntil(lambda: env.state() == "请更新田野手册")
        assert env.ui.menu.title() == "同步(&Y)"
    finally:
        translations.install("en")
    qtbot.waitUntil(lambda: env.state() == "Please update Fieldbook")


def _failing(url: str, error: Exception) -> ApiClient:
    client = FailingClient(url)
    client.error = error
    return client


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (Offline(), "The server cannot be reached. Check the address and the internet connection."),
        (Throttled(29.2), "Too many sign-in attempts. Please wait 30 seconds and try again."),
        (ClientTooOld(), "This version of Fieldbook is too old for the server. Please update Fieldbook."),
        (BadServerAddress(), "The server address is not valid. It should look like "
                             "https://fieldbook.example.org."),
    ],
)
def test_sign_in_errors_in_plain_words(qapp: QApplication, error: Exception, text: str) -> None:
    assert sign_in_error_text(error) == text


def test_synced_today_shows_the_time_and_another_day_the_date(qapp: QApplication) -> None:
    now = dt.datetime(2024, 5, 3, 14, 30).astimezone()
    assert describe_synced(now.replace(hour=14, minute=5), now) == "Synced at 14:05"
    assert describe_synced(now - dt.timedelta(days=1), now) == "Synced on 2024-05-02 at 14:30"


def test_refused_changes_are_counted_in_chinese_too(qapp: QApplication) -> None:
    from app.ui.refusals import tr_reason
    from app.ui.sync_words import describe_refused

    translations = Translations()
    try:
        translations.install("zh_CN")
        assert describe_refused(2) == "2 项修改被服务器拒绝"
        assert tr_reason("You cannot change this record: it belongs to someone else.") == (
            "您不能修改这条记录：它属于别人。")
        assert tr_reason("An unknown reason.") == "An unknown reason."
    finally:
        translations.install("en")
    assert describe_refused(1) == "1 change refused by the server"
