"""File → Fellows nearby…: the trainer's side of a meeting in the room.

The laptops of fellows who turned sharing on (on the same Wi-Fi or phone
hotspot) are listed as mDNS finds them; the trainer chooses one, types the
six digits on its screen and exchanges: their parcel is carried to the
server, the answers carried for them and the trainer's own comments go
back at once (docs/parcels.md). The work is ``nearby.Courier`` and
``lan.Browser`` (no Qt); every exchange and delivery waits on the network,
so it runs on a ``NetworkRunner``, and discovery's threads post here through
queued signals.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QRegularExpression, QSize, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator, QShowEvent
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.sync import lan, nearby
from app.ui import style
from app.ui.empty_state import EmptyStack, EmptyState
from app.ui.i18n import format_clock
from app.ui.nearby_share import explain_nearby
from app.ui.parcels_ui import explain_refusal
from app.ui.tasks import NetworkRunner, log_failure
from app.ui.widgets import HeadedDialog

log = logging.getLogger("fieldbook.ui")

BrowserFactory = Callable[[Callable[[lan.Peer], None], Callable[[lan.Peer], None]], lan.Browser]
CODE_DIGITS = 6


class CarriedDelivery(QObject):
    """Delivering what this laptop carries, from the window (Deliver now) or
    after a direct sync: one round at a time, on a ``NetworkRunner``; both
    callers hear how it went through the signals."""

    started = Signal()
    finished = Signal(object)  # DeliveryRound
    failed = Signal(object)  # the exception; what was not delivered is kept

    def __init__(self, courier: nearby.Courier, api_client: Callable[[], Any],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.courier, self._api_client = courier, api_client
        self._network = NetworkRunner(self)
        self.busy = False

    def start(self) -> bool:
        """Deliver now; False when this laptop is not signed in (nothing started)."""
        client = self._api_client()
        if client is None:
            return False
        if not self.busy:
            self.busy = True
            self.started.emit()
            self._network.submit(lambda: self.courier.deliver_all(client), self._done, self._failed)
        return True

    def _done(self, result: nearby.DeliveryRound) -> None:
        self.busy = False
        self.finished.emit(result)

    def _failed(self, exc: Exception) -> None:
        self.busy = False
        log_failure("Could not deliver the carried parcels", exc)
        self.failed.emit(exc)


class CollectDialog(HeadedDialog):
    """Fellows' laptops nearby, the code, Exchange; what is carried, Deliver now."""

    _found = Signal(object)  # lan.Peer, from a discovery thread
    _lost = Signal(object)

    def __init__(self, delivery: CarriedDelivery, make_browser: BrowserFactory,
                 parent: QWidget | None = None) -> None:
        super().__init__("nearby_collect_dialog", "nearby", parent)
        self.setMinimumWidth(560)
        self._delivery, self._courier, self._make_browser = delivery, delivery.courier, make_browser
        self._browser: lan.Browser | None = None
        # session id -> (the fellow's name, when exchanged): the list names laptops it has met
        self._met: dict[str, tuple[str, dt.datetime]] = {}
        self._exchanging = False
        self._carrying = self._courier.counts()  # (to deliver, to hand back): re-read when it changes
        self._network = NetworkRunner(self)
        delivery.started.connect(self._render)
        delivery.finished.connect(self._on_delivered)
        delivery.failed.connect(self._on_delivery_failed)
        self._found.connect(self._on_found)
        self._lost.connect(self._on_lost)
        self._build()
        self.retranslate()

    def _build(self) -> None:
        self._peers = QListWidget(self)
        self._peers.setObjectName("nearby_peers")
        self._peers.setIconSize(QSize(24, 24))
        self._peers.currentItemChanged.connect(lambda *_args: self._render())
        self._empty = EmptyState("nearby_empty", "nearby", self)
        self._list = EmptyStack(self._peers, self._empty, self)
        self._list.setMinimumHeight(150)
        self._type_address = QPushButton(self)
        self._type_address.setObjectName("nearby_type_address")
        style.mark_role(self._type_address, "link")  # a way out, not the screen's action
        self._type_address.clicked.connect(lambda _checked=False: self._show_address_row())
        self._address_row = QWidget(self)
        self._address_label = QLabel(self._address_row)
        self._address = QLineEdit(self._address_row)
        self._address.setObjectName("nearby_address")
        self._address.returnPressed.connect(self.find_address)
        self._address_label.setBuddy(self._address)
        self._find = QPushButton(self._address_row)
        self._find.setObjectName("nearby_find")
        self._find.clicked.connect(lambda _checked=False: self.find_address())
        address_layout = QHBoxLayout(self._address_row)
        address_layout.setContentsMargins(0, 0, 0, 0)
        address_layout.addWidget(self._address_label)
        address_layout.addWidget(self._address, 1)
        address_layout.addWidget(self._find)
        self._address_row.hide()
        self._code_label = QLabel(self)
        self._code = QLineEdit(self)
        self._code.setObjectName("nearby_code")
        self._code.setMaxLength(CODE_DIGITS + 1)  # "482 913" as read out, or the six digits
        self._code.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,3} ?\d{0,3}"), self))
        self._code.textChanged.connect(lambda _text: self._render())
        self._code.returnPressed.connect(self.exchange)
        self._code_label.setBuddy(self._code)
        self._exchange = QPushButton(self)
        self._exchange.setObjectName("nearby_exchange")
        self._exchange.setIcon(style.icon("exchange", "#ffffff"))
        style.mark_primary(self._exchange)
        self._exchange.clicked.connect(lambda _checked=False: self.exchange())
        self._result = QLabel(self)
        self._result.setObjectName("nearby_result")
        self._result.setWordWrap(True)
        self._problem = QLabel(self)
        self._problem.setObjectName("nearby_problem")
        self._problem.setWordWrap(True)
        style.mark_role(self._problem, "warning")
        self._carried = QLabel(self)
        self._carried.setObjectName("nearby_carried")
        self._carried.setWordWrap(True)
        self._deliver = QPushButton(self)
        self._deliver.setObjectName("nearby_deliver")
        self._deliver.setIcon(style.icon("sync"))
        self._deliver.clicked.connect(lambda _checked=False: self.deliver())
        self._buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self._buttons.rejected.connect(self.reject)

        code_row = QHBoxLayout()
        code_row.addWidget(self._code_label)
        code_row.addWidget(self._code, 1)
        code_row.addWidget(self._exchange)
        line = QFrame(self)
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        carried_row = QHBoxLayout()
        carried_row.addWidget(self._carried, 1)
        carried_row.addWidget(self._deliver)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addLayout(self.heading())
        layout.addWidget(self._intro)
        layout.addWidget(self._list, 1)
        layout.addWidget(self._type_address, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self._address_row)
        layout.addLayout(code_row)
        layout.addWidget(self._result)
        layout.addWidget(self._problem)
        layout.addWidget(line)
        layout.addLayout(carried_row)
        layout.addWidget(self._buttons)
        self.setTabOrder(self._peers, self._type_address)
        self.setTabOrder(self._type_address, self._address)
        self.setTabOrder(self._address, self._find)
        self.setTabOrder(self._find, self._code)
        self.setTabOrder(self._code, self._exchange)
        self.setTabOrder(self._exchange, self._deliver)

    def retranslate(self) -> None:
        self.set_heading(self.tr("Fellows nearby"), self.tr(
            "Laptops on this Wi-Fi or hotspot that turned sharing on are listed here. Choose one and "
            "type the code on its screen: you take the fellow's work to the server, and your "
            "comments reach them at once."))
        self._empty.set_texts(
            self.tr("No one is sharing nearby yet"),
            self.tr("Ask the fellow to open File → Share with a trainer nearby… and start sharing, "
                    "on the same Wi-Fi or hotspot as this laptop."))
        self._type_address.setText(self.tr("Not in the list? Type the address on the fellow's screen…"))
        self._address_label.setText(self.tr("&Address:"))
        self._address.setPlaceholderText(self.tr("as shown on the fellow's screen, e.g. 192.168.43.27:53211"))
        self._find.setText(self.tr("&Find"))
        self._code_label.setText(self.tr("&Code:"))
        self._code.setPlaceholderText(self.tr("the 6 digits on the fellow's screen"))
        self._exchange.setText(self.tr("&Exchange"))
        self._deliver.setText(self.tr("&Deliver now"))
        self._deliver.setToolTip(self.tr("Send the parcels you carry to the server now"))
        self._relabel_peers()
        self._render()

    # --- showing ---

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._code.setFocus()  # the list picks its first laptop by itself: the code is what to type
        self.start_browsing()

    def start_browsing(self) -> None:
        """Look for laptops nearby while this window is open (opening mDNS
        sockets may wait on the network: off the GUI thread)."""
        if self._browser is not None:
            return

        def made(browser: lan.Browser) -> None:
            if self.isVisible() and self._browser is None:
                self._browser = browser
            else:
                self._network.submit(browser.close)

        self._network.submit(lambda: self._make_browser(self._found.emit, self._lost.emit), made,
                             lambda exc: self._failed(self.tr("Could not look for laptops nearby"), exc))
        self._render()

    def stop_browsing(self) -> None:
        browser, self._browser = self._browser, None
        if browser is not None:
            self._network.submit(browser.close)
        self._peers.clear()

    def done(self, result: int) -> None:
        self.stop_browsing()
        super().done(result)

    def peer_texts(self) -> list[str]:
        return [self._peers.item(row).text() for row in range(self._peers.count())]

    def result_text(self) -> str:
        return self._result.text() if self._result.isVisibleTo(self) else ""

    def problem_text(self) -> str:
        return self._problem.text() if self._problem.isVisibleTo(self) else ""

    def carried_text(self) -> str:
        return self._carried.text()

    def _on_found(self, peer: lan.Peer) -> None:
        if self._browser is not None:
            self._add_peer(peer, choose=False)

    def _add_peer(self, peer: lan.Peer, *, choose: bool) -> None:
        rows = [row for row in range(self._peers.count()) if self._same(self._peer(row), peer)]
        if rows:
            item = self._peers.item(rows[0])
        else:
            item = QListWidgetItem(style.icon("nearby"), "", self._peers)
            item.setData(Qt.ItemDataRole.UserRole, peer)
            self._relabel_peers()
        if choose or self._peers.currentItem() is None:
            self._peers.setCurrentItem(item)
        self._render()

    @staticmethod
    def _same(one: lan.Peer | None, other: lan.Peer) -> bool:
        """The same sharing, whether mDNS found it or its address was typed."""
        return one is not None and one.session_id == other.session_id

    # --- a typed address, where the network drops mDNS ---

    def _show_address_row(self) -> None:
        self._address_row.show()
        self._address.setFocus()

    def find_address(self) -> None:
        """Look for a sharing laptop at the typed address (off the GUI thread)."""
        try:
            host, port = lan.parse_address(self._address.text())
        except ValueError:
            self._show("", self.tr("Type the address as the fellow's screen shows it, for example "
                                   "192.168.43.27:53211."))
            return
        self._find.setEnabled(False)

        def found(peer: lan.Peer) -> None:
            self._find.setEnabled(True)
            self._address.clear()
            self._address_row.hide()
            self._show("", "")
            self._add_peer(peer, choose=True)
            self._code.setFocus()

        def failed(exc: Exception) -> None:
            self._find.setEnabled(True)
            self._failed(self.tr("No laptop is sharing at that address"), exc)

        self._network.submit(lambda: lan.peer_at(host, port), found, failed)

    def _on_lost(self, peer: lan.Peer) -> None:
        for row in range(self._peers.count()):
            if self._same(self._peer(row), peer):
                self._peers.takeItem(row)
                break
        self._render()

    def _peer(self, row: int) -> lan.Peer | None:
        item = self._peers.item(row)
        value = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return value if isinstance(value, lan.Peer) else None

    def _relabel_peers(self) -> None:
        for row in range(self._peers.count()):
            peer = self._peer(row)
            if peer is None:
                continue
            met = self._met.get(peer.session_id)
            self._peers.item(row).setText(
                self.tr("{name} · exchanged at {time}").format(name=met[0], time=format_clock(met[1]))
                if met else self.tr("A laptop sharing nearby ({address})").format(address=peer.host))

    def _render(self) -> None:
        self._list.set_empty(self._peers.count() == 0)
        digits = self._digits()
        current = self._peers.currentItem()
        self._exchange.setEnabled(current is not None and len(digits) == CODE_DIGITS
                                  and not self._exchanging)
        outgoing, answers = self._carrying
        if self._delivery.busy:
            self._carried.setText(self.tr("Delivering the parcels you carry…"))
        elif outgoing or answers:
            self._carried.setText(self.tr(
                "You carry {outgoing} parcel(s) to deliver and {answers} answer(s) to hand back. "
                "Parcels go to the server at your next sync, or now.").format(
                outgoing=outgoing, answers=answers))
        else:
            self._carried.setText(self.tr("You carry nothing for anyone now."))
        self._deliver.setEnabled(outgoing > 0 and not self._delivery.busy)

    def _digits(self) -> str:
        return self._code.text().replace(" ", "")

    def _show(self, result: str, problem: str) -> None:
        self._result.setText(result)
        self._result.setVisible(bool(result))
        self._problem.setText(problem)
        self._problem.setVisible(bool(problem))

    def _failed(self, what: str, exc: Exception) -> None:
        log_failure(what, exc)
        self._show("", self.tr("{what}: {why}").format(what=what, why=explain_nearby(exc)))

    # --- exchange ---

    def exchange(self) -> None:
        """Meet the chosen laptop with the typed code (off the GUI thread)."""
        peer = self._peer(self._peers.currentRow())
        code = self._digits()
        if peer is None or len(code) != CODE_DIGITS or self._exchanging:
            return
        self._exchanging = True
        self._show(self.tr("Exchanging with that laptop…"), "")
        self._render()

        def finished(report: nearby.ExchangeReport) -> None:
            self._exchanging = False
            self._met[peer.session_id] = (report.fellow, dt.datetime.now(dt.UTC))
            self._relabel_peers()
            self._code.clear()
            problem = "\n".join(self.tr("Refused by that laptop: {why}").format(why=explain_refusal(why))
                                for why in report.refused)
            self._show(self.describe(report), problem)
            self.refresh()

        def failed(exc: Exception) -> None:
            self._exchanging = False
            self._failed(self.tr("Could not exchange"), exc)
            self._render()
            self._code.setFocus()
            self._code.selectAll()

        self._network.submit(lambda: self._courier.exchange(peer, code), finished, failed)

    def describe(self, report: nearby.ExchangeReport) -> str:
        text = self.tr("Took {name}'s work; it goes to the server at your next sync.").format(
            name=report.fellow)
        if report.answers:
            text += " " + self.tr("Handed back {count} answer(s) from the server: the fellow is synced "
                                  "by parcel.").format(count=report.answers)
        if report.reviews:
            text += " " + self.tr("Handed over {count} of your comment(s) and decision(s).").format(
                count=report.reviews)
        return text

    # --- deliver ---

    def deliver(self) -> None:
        """Deliver every carried parcel now (the next direct sync does it anyway)."""
        if not self._delivery.start():
            self._show("", self.tr("Sign in on this laptop to deliver the parcels you carry; they "
                                   "are kept until then."))

    def _on_delivered(self, result: nearby.DeliveryRound) -> None:
        self._show(describe_delivery(result), "\n".join(explain_refusal(why) for why in result.refused))
        self.refresh()

    def _on_delivery_failed(self, exc: Exception) -> None:
        self._show("", self.tr("{what}: {why}").format(what=self.tr("Could not deliver"),
                                                      why=explain_nearby(exc)))
        self.refresh()  # a round stopped by the network keeps what it did not deliver

    def refresh(self) -> None:
        """Re-read what is carried (an exchange, a delivery, a sync that delivered)."""
        self._carrying = self._courier.counts()
        self._render()


def describe_delivery(result: nearby.DeliveryRound) -> str:
    text = QCoreApplication.translate(
        "CollectDialog", "Delivered {count} parcel(s); their answers go back at your next visit.").format(
        count=result.delivered)
    if result.refused:
        text += " " + QCoreApplication.translate(
            "CollectDialog", "{count} parcel(s) were refused by the server and dropped.").format(
            count=len(result.refused))
    return text

