"""File → Share with a trainer nearby…: the fellow's side of a meeting in the room.

No signal in the village, but the trainer's laptop is on the same Wi-Fi or
phone hotspot: she turns sharing on, reads the six-digit code out, and the
trainer's laptop takes her work to the server and hands back its comments at
once (docs/parcels.md, *In the same room*). The work is ``nearby.Sharing``
(no Qt): starting and stopping wait on the network (mDNS), so they run on a
``NetworkRunner``; what the trainer's laptop does arrives on the exchange's
threads and is posted here through a queued signal.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.sync import lan
from app.sync.nearby import Sharing, SharingEvent
from app.ui import style
from app.ui.i18n import format_clock
from app.ui.parcels_ui import explain, explain_refusal
from app.ui.tasks import NetworkRunner, log_failure
from app.ui.widgets import HeadedDialog

log = logging.getLogger("fieldbook.ui")

SharingFactory = Callable[[Callable[[SharingEvent], None]], Sharing]


def spaced_code(code: str) -> str:
    """"482 913": six digits read out in two halves, as people read phone codes."""
    return f"{code[:3]} {code[3:]}" if len(code) == 6 else code


def translate(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


def explain_nearby(exc: Exception) -> str:
    """Why a meeting in the room failed, and what to do, in the user's language."""
    if isinstance(exc, lan.LanError):
        if exc.status == 403:
            return translate("Nearby", "the code does not match. Check the 6 digits on the fellow's screen")
        if exc.status == 503:
            return translate("Nearby", "that laptop is not sharing any more. Ask the fellow to start "
                                       "sharing again")
        if exc.status == 409:
            return translate("Nearby", "that laptop is busy with another exchange. Try again in a moment")
        return translate("Nearby", "that laptop cannot be reached. Are both laptops on the same Wi-Fi "
                                   "or hotspot?")
    if isinstance(exc, OSError):
        return translate("Nearby", "this laptop's network refused it ({error})").format(error=exc)
    return explain(exc)


class ShareDialog(HeadedDialog):
    """Turn sharing on, show the code, tell what the trainer's laptop did."""

    changed = Signal()  # an answer or comments came in: the list and the sync status re-read
    _event = Signal(object)  # SharingEvent, from an exchange thread

    def __init__(self, make_sharing: SharingFactory, parent: QWidget | None = None,
                 flush: Callable[[], None] = lambda: None) -> None:
        super().__init__("nearby_share_dialog", "nearby", parent)
        self.setMinimumWidth(520)
        self._make_sharing, self._flush = make_sharing, flush
        self._sharing: Sharing | None = None
        self._starting = False
        self._network = NetworkRunner(self)
        self._event.connect(self._on_event)
        self._build()
        self.retranslate()
        self._render()

    def _build(self) -> None:
        self._code = QLabel(self)
        self._code.setObjectName("pairing_code")
        style.mark_role(self._code, "pairing_code")
        self._code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._where = QLabel(self)
        self._where.setObjectName("share_where")
        self._where.setWordWrap(True)
        self._where.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._problem = QLabel(self)
        self._problem.setObjectName("share_problem")
        self._problem.setWordWrap(True)
        style.mark_role(self._problem, "warning")
        self._events = QListWidget(self)
        self._events.setObjectName("share_events")
        self._events.setMinimumHeight(110)
        self._events.setWordWrap(True)  # a sentence per event, never cut off
        self._events.setResizeMode(QListView.ResizeMode.Adjust)
        self._events.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._start = QPushButton(self)
        self._start.setObjectName("start_sharing")
        self._start.setIcon(style.icon("nearby", "#ffffff"))
        style.mark_primary(self._start)
        self._start.clicked.connect(lambda _checked=False: self.start())
        self._stop = QPushButton(self)
        self._stop.setObjectName("stop_sharing")
        self._stop.clicked.connect(lambda _checked=False: self.stop())
        self._buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self._buttons.rejected.connect(self.reject)

        actions = QHBoxLayout()
        actions.addStretch(1)
        actions.addWidget(self._stop)
        actions.addWidget(self._start)
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addLayout(self.heading())
        layout.addWidget(self._intro)
        layout.addWidget(self._code)
        layout.addWidget(self._where)
        layout.addWidget(self._problem)
        layout.addLayout(actions)
        layout.addWidget(self._events, 1)
        layout.addWidget(self._buttons)

    def retranslate(self) -> None:
        self.set_heading(self.tr("Share with a trainer nearby"), self.tr(
            "No signal? When a trainer's laptop is on the same Wi-Fi or phone hotspot, it can take "
            "your work to the server and give you its comments at once. Everything is sealed for "
            "the server: nobody else on the network can read it."))
        self._start.setText(self.tr("&Start sharing"))
        self._stop.setText(self.tr("S&top sharing"))
        self._render()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        (self._stop if self.sharing else self._start).setFocus()

    # --- state ---

    @property
    def sharing(self) -> bool:
        return self._sharing is not None

    def code(self) -> str:
        """The pairing code shown (digits only), or '' when not sharing."""
        return (self._sharing.pairing_code or "") if self._sharing is not None else ""

    def address(self) -> str:
        """Where a trainer's laptop reaches this one ("192.168.43.27:53211"), or ''."""
        sharing = self._sharing
        return f"{sharing.interface}:{sharing.port}" if sharing is not None else ""

    def event_texts(self) -> list[str]:
        return [self._events.item(row).text() for row in range(self._events.count())]

    def problem_text(self) -> str:
        return self._problem.text() if self._problem.isVisibleTo(self) else ""

    def _render(self) -> None:
        sharing = self._sharing
        self._start.setVisible(sharing is None)
        self._start.setEnabled(not self._starting)
        self._stop.setVisible(sharing is not None)
        self._code.setVisible(sharing is not None)
        self._events.setVisible(sharing is not None or self._events.count() > 0)
        if sharing is None:
            self._where.setText(self.tr("Starting…") if self._starting else self.tr(
                "Turn sharing on when the trainer is here. It stays on only while this window is open."))
            return
        self._code.setText(spaced_code(sharing.pairing_code or ""))
        if sharing.interface == lan.LOOPBACK:
            self._where.setText(self.tr(
                "This laptop is not on a Wi-Fi or hotspot, so no one can reach it. Join the same "
                "one as the trainer, then stop and start sharing again."))
        else:
            self._where.setText(self.tr(
                "Read this code to the trainer. On their laptop: File → Fellows nearby…, choose "
                "this laptop and type the code. (This laptop: {address})").format(
                address=self.address()))
        if not self._events.count():
            self._events.addItem(self.tr("Waiting for the trainer's laptop…"))
            self._events.item(0).setData(Qt.ItemDataRole.UserRole, "waiting")
        self._fit()

    def _fit(self) -> None:
        """Grow to what is shown now (the code and the list appear once sharing starts)."""
        wanted = self.sizeHint()
        if self.isVisible() and (wanted.height() > self.height() or wanted.width() > self.width()):
            self.resize(max(self.width(), wanted.width()), max(self.height(), wanted.height()))

    def _show_problem(self, text: str) -> None:
        self._problem.setText(text)
        self._problem.setVisible(bool(text))

    # --- start and stop ---

    def start(self) -> None:
        """Turn sharing on (off the GUI thread: announcing waits on the network)."""
        if self._sharing is not None or self._starting:
            return
        self._flush()  # what was just typed is in the parcel the trainer takes
        self._starting = True
        self._show_problem("")
        sharing = self._make_sharing(self._event.emit)
        self._render()

        def started(_code: str) -> None:
            self._starting = False
            if not self.isVisible():  # closed while starting: stop at once
                self._network.submit(sharing.close)
                self._render()
                return
            self._sharing = sharing
            self._events.clear()
            self._render()
            self._stop.setFocus()

        def failed(exc: Exception) -> None:
            self._starting = False
            log_failure("Could not start sharing", exc)
            self._network.submit(sharing.close)
            self._show_problem(self.tr("Could not start sharing: {why}").format(why=explain_nearby(exc)))
            self._render()

        self._network.submit(sharing.start, started, failed)

    def stop(self) -> None:
        """Turn sharing off. The list of what happened stays until the window closes."""
        sharing, self._sharing = self._sharing, None
        if sharing is not None:
            self._network.submit(sharing.close)
        self._render()

    def done(self, result: int) -> None:
        self.stop()
        self._events.clear()
        self._show_problem("")
        super().done(result)

    # --- what the trainer's laptop did ---

    def _on_event(self, event: SharingEvent) -> None:
        waiting = self._events.count() == 1 and self._events.item(0).data(Qt.ItemDataRole.UserRole)
        if waiting == "waiting":
            self._events.clear()
        text = self.describe(event)
        now = format_clock(dt.datetime.now(dt.UTC))
        self._events.addItem(self.tr("{time}  {what}").format(time=now, what=text))
        self._events.scrollToBottom()
        if event.kind == "locked":
            self.stop()
            self._show_problem(text)
        if event.kind in ("answer", "comments"):
            self.changed.emit()

    def describe(self, event: SharingEvent) -> str:
        if event.kind == "collected":
            return self.tr("The trainer's laptop took your work: {count} change(s). They stay "
                           "here too until the server's answer comes back.").format(count=event.count)
        if event.kind == "answer":
            return self.tr("The server's answer came in: {count} record(s) received. Synced by "
                           "parcel.").format(count=event.count)
        if event.kind == "comments":
            parts = []
            if event.count or not event.withdrawn:
                parts.append(self.tr("{person} gave you {count} comment(s) or decision(s), pending "
                                     "server confirmation.").format(person=event.person, count=event.count))
            if event.withdrawn:
                parts.append(self.tr("{count} comment(s) given in person earlier were refused by the "
                                     "server and are removed.").format(count=event.withdrawn))
            return " ".join(parts)
        if event.kind == "locked":
            return self.tr("Sharing stopped: too many wrong codes were tried. Start sharing again "
                           "for a new code.")
        return self.tr("Refused what the trainer's laptop handed over: {why}").format(
            why=explain_refusal(event.detail))
