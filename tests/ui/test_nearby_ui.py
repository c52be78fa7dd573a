"""File → Share with a trainer nearby… and File → Fellows nearby…, clicked and
typed as people do, against a real server on loopback and real exchange
sockets with mDNS on this machine: the fellow's laptop never connects after
signing in; the trainer's comment reaches her before he leaves, his next
sync delivers her parcel, and the next meeting makes her synced by parcel."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QMenu, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from app.models import reviews
from app.sync import lan, nearby, replica
from app.sync.client import ApiClient
from app.ui.i18n import Translations
from app.ui.main_window import MainWindow
from app.ui.nearby_collect import CollectDialog
from app.ui.nearby_share import ShareDialog
from app.ui.nearby_ui import nearby_ui
from app.ui.review_panel import entry_header
from app.ui.sync_controller import SyncController
from app.ui.sync_ui import SyncUi
from app.ui.tasks import TaskRunner
from tests.sync.conftest import Laptop, LiveServer

pytestmark = [pytest.mark.slow,
              pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")]

LEFT = Qt.MouseButton.LeftButton
WAIT_MS = 30_000  # mDNS announcing and a sync against the loopback server
LESSON = {"title": "认识分数", "subject": "math", "grade": 3}
LOOPBACK = "127.0.0.1"


def _deaf(_peer: lan.Peer) -> None:
    """What a laptop hears of mDNS on a network that drops multicast."""


class Window:
    """A laptop's window with the nearby actions, sharing and browsing on loopback."""

    def __init__(self, machine: Laptop, multicast: bool) -> None:
        self.runner = TaskRunner()
        self.window = MainWindow(machine.store, self.runner, Translations())
        self.sync = SyncController(machine.store, self.runner, tokens=machine.tokens,
                                   client_factory=lambda url: ApiClient(url, timeout=(3, 15)),
                                   watch_network=False)
        self.sync_ui = SyncUi(self.window, self.sync)
        self.ui = nearby_ui(  # wired as the app wires it, sharing and browsing on loopback
            self.window, machine.store, self.sync,
            make_sharing=lambda on_event: nearby.Sharing(machine.store, on_event, interface=LOOPBACK),
            make_browser=lambda added, removed: lan.Browser(
                added if multicast else _deaf, removed if multicast else _deaf, interface=LOOPBACK))
        self.messages: list[str] = []
        self.ui.message.connect(self.messages.append)
        self.changed = 0
        self.ui.changed.connect(self._count_change)
        self.window.show()

    def _count_change(self) -> None:
        self.changed += 1

    def action(self, name: str) -> QAction:
        menu = self.window.findChild(QMenu, "menu_file")
        assert menu is not None
        [action] = [a for a in menu.actions() if a.objectName() == name]
        return action

    def close(self) -> None:
        self.ui.shutdown()
        self.sync.shutdown(20)
        self.window.close()
        self.runner.wait()
        self.window.deleteLater()
        QCoreApplication.processEvents()


@pytest.fixture
def opened(qtbot: QtBot) -> Iterator[Callable[..., Window]]:
    made: list[Window] = []

    def make(machine: Laptop, *, multicast: bool = True) -> Window:
        made.append(Window(machine, multicast))
        qtbot.waitExposed(made[-1].window)
        return made[-1]

    yield make
    for window in made:
        window.close()


def child(parent: QWidget, kind: type[Any], name: str) -> Any:
    found = parent.findChild(kind, name)
    assert found is not None, name
    return found


def click(qtbot: QtBot, parent: QWidget, name: str) -> None:
    button = child(parent, QPushButton, name)
    assert button.isVisible() and button.isEnabled(), name
    qtbot.mouseClick(button, LEFT)


def from_the_file_menu(window: Window, name: str, hidden: str) -> None:
    """Trigger ``name``, the one of the two nearby actions this account's menu shows."""
    action = window.action(name)
    assert action.isVisible() and not window.action(hidden).isVisible()
    action.trigger()


def start_sharing(qtbot: QtBot, village: Window) -> ShareDialog:
    from_the_file_menu(village, "action_share_nearby", hidden="action_fellows_nearby")
    dialog = village.ui.share_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.focusWidget() is child(dialog, QPushButton, "start_sharing")  # Space starts it
    click(qtbot, dialog, "start_sharing")
    qtbot.waitUntil(lambda: dialog.sharing, timeout=WAIT_MS)
    assert len(dialog.code()) == 6 and "Waiting for the trainer" in dialog.event_texts()[0]
    return dialog


def open_fellows_nearby(trainer: Window) -> CollectDialog:
    from_the_file_menu(trainer, "action_fellows_nearby", hidden="action_share_nearby")
    dialog = trainer.ui.collect_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.focusWidget() is child(dialog, QLineEdit, "nearby_code")
    return dialog


def choose_peer_and_type(qtbot: QtBot, dialog: CollectDialog, code: str) -> None:
    peers = child(dialog, QListWidget, "nearby_peers")
    qtbot.waitUntil(lambda: peers.count() == 1 and peers.isVisible(), timeout=WAIT_MS)
    item = peers.item(0)
    qtbot.mouseClick(peers.viewport(), LEFT, pos=peers.visualItemRect(item).center())
    assert peers.currentItem() is item
    field = child(dialog, QLineEdit, "nearby_code")
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, code)


def test_a_village_visit_and_the_next_one_in_the_windows(
        qtbot: QtBot, live_server: LiveServer, laptop: Callable[..., Laptop],
        opened: Callable[..., Window]) -> None:
    li, zhao = laptop("li"), laptop("zhao")
    record = li.store.create("lesson_plan", LESSON, author="李").id
    reviews.submit(li.store, record)
    li.sync()
    zhao.sync()
    # In the village: li writes a plan, zhao comments on the submitted one.
    li.store.create("lesson_plan", {**LESSON, "title": "第二课"}, author="李")
    reviews.add_comment(zhao.store, record, "板书可以再清楚些")
    village, trainer = opened(li), opened(zhao)

    share = start_sharing(qtbot, village)
    collect = open_fellows_nearby(trainer)
    wrong = "000000" if share.code() != "000000" else "111111"
    choose_peer_and_type(qtbot, collect, wrong)
    click(qtbot, collect, "nearby_exchange")
    qtbot.waitUntil(lambda: "code does not match" in collect.problem_text(), timeout=WAIT_MS)
    assert replica.pending_count(li.store) == 1  # a wrong code took nothing

    field = child(collect, QLineEdit, "nearby_code")
    assert field.hasFocus() and field.selectedText() == wrong  # retyping replaces it
    qtbot.keyClicks(field, f"{share.code()[:3]} {share.code()[3:]}")  # read out in two halves
    qtbot.keyClick(field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Took li 老师's work" in collect.result_text(), timeout=WAIT_MS)
    assert "Handed over 1 of your comment(s)" in collect.result_text()
    assert "answer(s) from the server" not in collect.result_text() and not collect.problem_text()
    assert collect.peer_texts()[0].startswith("li 老师 · exchanged at ")
    assert "1 parcel(s) to deliver and 0 answer(s)" in collect.carried_text()

    # The fellow sees the comment before the trainer leaves, as not yet confirmed.
    qtbot.waitUntil(lambda: village.changed >= 1)
    events = share.event_texts()
    assert any("took your work: 1 change(s)" in text for text in events)
    assert any("zhao 老师 gave you 1 comment(s)" in text for text in events)
    [handed] = [e for e in reviews.thread(li.store, record) if e.provisional]
    assert handed.body == "板书可以再清楚些"
    assert "pending server confirmation" in entry_header(handed)

    # In town: the trainer's sync delivers what he carries, by itself.
    sync_now(qtbot, trainer)
    qtbot.waitUntil(lambda: trainer.ui.courier.counts() == (0, 1), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: any("Delivered 1 parcel(s)" in m for m in trainer.messages))
    assert "0 parcel(s) to deliver and 1 answer(s)" in collect.carried_text()

    # The next visit: the answer goes back, and li is synced without a signal.
    choose_peer_and_type(qtbot, collect, share.code())
    click(qtbot, collect, "nearby_exchange")
    qtbot.waitUntil(lambda: "Handed back 1 answer(s) from the server" in collect.result_text(),
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: replica.pending_count(li.store) == 0, timeout=WAIT_MS)
    assert any("Synced by parcel" in text for text in share.event_texts())
    qtbot.waitUntil(lambda: village.sync._describe()[0].startswith("Synced by parcel"))
    # Her parcel of this meeting (what she asks for next) is carried for the next trip.
    assert "1 parcel(s) to deliver and 0 answer(s)" in collect.carried_text()
    # The server's copy of the comment replaced the one handed over in the room.
    thread = reviews.thread(li.store, record)
    assert [e.body for e in thread if e.action == "comment"] == ["板书可以再清楚些"]
    assert not any(e.provisional for e in thread)

    # Closing the window stops sharing: the laptop leaves the trainer's list.
    share.reject()
    assert not share.sharing
    qtbot.waitUntil(lambda: not collect.peer_texts(), timeout=WAIT_MS)


def test_sharing_before_the_first_sign_in_says_what_to_do(
        qtbot: QtBot, live_server: LiveServer, laptop: Callable[..., Laptop],
        opened: Callable[..., Window]) -> None:
    village = opened(laptop("li", sign_in=False))
    village.action("action_share_nearby").trigger()
    dialog = village.ui.share_dialog
    assert dialog is not None
    click(qtbot, dialog, "start_sharing")
    qtbot.waitUntil(lambda: bool(dialog.problem_text()), timeout=WAIT_MS)
    assert "sign in once with a connection" in dialog.problem_text()
    assert not dialog.sharing and child(dialog, QPushButton, "start_sharing").isEnabled()


def sync_now(qtbot: QtBot, window: Window) -> None:
    action = window.window.findChild(QAction, "action_sync_now")
    assert action is not None and action.isEnabled()
    action.trigger()
    qtbot.waitUntil(lambda: window.sync.api_client() is not None and not window.sync.busy,
                    timeout=WAIT_MS)


def test_no_one_nearby_and_deliver_now(
        qtbot: QtBot, live_server: LiveServer, laptop: Callable[..., Laptop],
        opened: Callable[..., Window]) -> None:
    li, zhao = laptop("li"), laptop("zhao")
    li.store.create("lesson_plan", LESSON, author="李")
    trainer = opened(zhao)
    sync_now(qtbot, trainer)  # signed in and synced: nothing carried yet
    share = nearby.Sharing(li.store, interface=LOOPBACK)
    code = share.start()
    try:
        nearby.Courier(zhao.store).exchange(share.peer(), code)
    finally:
        share.close()
    collect = open_fellows_nearby(trainer)
    # Nobody shares any more: the empty state says what the fellow does.
    title = child(collect, QLabel, "nearby_empty_title")
    assert title.isVisible() and title.text() == "No one is sharing nearby yet"
    assert not child(collect, QPushButton, "nearby_exchange").isEnabled()
    assert "1 parcel(s) to deliver" in collect.carried_text()
    click(qtbot, collect, "nearby_deliver")
    qtbot.waitUntil(lambda: "Delivered 1 parcel(s)" in collect.result_text(), timeout=WAIT_MS)
    assert trainer.ui.courier.counts() == (0, 1)
    assert not child(collect, QPushButton, "nearby_deliver").isEnabled()


def test_what_the_fellow_is_told_of_each_kind_of_event(qtbot: QtBot, tmp_path: Any) -> None:
    from app.errors import ParcelTampered
    from app.models.store import Store

    store = Store.open(tmp_path / "fieldbook.db")
    try:
        dialog = ShareDialog(lambda on_event: nearby.Sharing(store, on_event, interface=LOOPBACK))
        qtbot.addWidget(dialog)
        told = dialog.describe
        assert told(nearby.SharingEvent("comments", 2, "赵老师")) == (
            "赵老师 gave you 2 comment(s) or decision(s), pending server confirmation.")
        assert told(nearby.SharingEvent("comments", 0, "赵老师", withdrawn=1)) == (
            "1 comment(s) given in person earlier were refused by the server and are removed.")
        refused = told(nearby.SharingEvent("refused", detail=ParcelTampered.default_message))
        assert refused.endswith("the file is damaged or was changed; nothing was applied")
        assert "Start sharing again" in told(nearby.SharingEvent("locked"))
    finally:
        store.close()


def test_where_mdns_does_not_get_through_the_address_is_typed(
        qtbot: QtBot, live_server: LiveServer, laptop: Callable[..., Laptop],
        opened: Callable[..., Window]) -> None:
    li, zhao = laptop("li"), laptop("zhao")
    li.store.create("lesson_plan", LESSON, author="李")
    # A network that drops multicast: the trainer's laptop hears no one.
    village, trainer = opened(li), opened(zhao, multicast=False)
    share = start_sharing(qtbot, village)
    collect = open_fellows_nearby(trainer)
    assert child(collect, QLabel, "nearby_empty_title").isVisible()

    click(qtbot, collect, "nearby_type_address")
    address: QLineEdit = child(collect, QLineEdit, "nearby_address")
    assert collect.focusWidget() is address
    qtbot.keyClicks(address, "192.168.43")
    qtbot.keyClick(address, Qt.Key.Key_Return)
    assert "for example 192.168.43.27:53211" in collect.problem_text()
    assert not collect.peer_texts()

    address.clear()
    qtbot.keyClicks(address, share.address())
    click(qtbot, collect, "nearby_find")
    qtbot.waitUntil(lambda: len(collect.peer_texts()) == 1, timeout=WAIT_MS)
    assert not collect.problem_text() and not address.isVisible()
    field = child(collect, QLineEdit, "nearby_code")
    assert collect.focusWidget() is field
    qtbot.keyClicks(field, share.code())
    qtbot.keyClick(field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Took li 老师's work" in collect.result_text(), timeout=WAIT_MS)
    assert trainer.ui.courier.counts() == (1, 0)
