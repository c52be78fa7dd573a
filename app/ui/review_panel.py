"""The review panel above the editor: status, the record's thread, and what
the user may do next (docs/review.md).

A fellow submits a draft or returned record, withdraws a submitted one to
edit it again, or starts a new revision of an approved one. A trainer (or
admin) viewing a fellow's submitted record approves it or returns it for
revision — a return needs a comment, said beside the field. Anyone who sees
the record may comment. Everything is stored locally first and sent by the
next sync, so the thread marks entries "waiting to be sent" until the server
confirms them, and a decision that came too late as "not applied".

Reading the thread and every write run on the ``TaskRunner``; answers come
back with a generation number so a slow answer for a record the user has
since left is dropped.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.errors import RecordNotFound, ValidationFailed
from app.models import reviews
from app.models.fields import Status
from app.models.reviews import ReviewEntry
from app.models.store import RecordData, Store
from app.models.validation import Problem
from app.sync import replica
from app.ui import i18n, style
from app.ui.list_model import format_timestamp
from app.ui.tasks import TaskRunner, log_failure, report_failure
from app.ui.widgets import make_button, set_bold

log = logging.getLogger("fieldbook.ui")

ERROR_COLOUR = "#b3261e"
MUTED_COLOUR = "#5f6368"
PENDING_COLOUR = "#8a5300"
THREAD_MAX_HEIGHT = 150  # the form below must keep room on a 768-px laptop screen
COMMENT_LINES = 2
REVIEWER_ROLES = frozenset({"trainer", "admin"})


def translate(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


# --- who may do what (pure; also the editor's lock policy) ---------------------------


def record_owner(store: Store, record_id: str) -> int | None:
    """The server user id owning a record (``None``: created here, not yet
    synced, or gone)."""
    try:
        return reviews.owner_of(store, record_id)
    except RecordNotFound:
        return None


def is_own(owner_id: int | None, user_id: int | None) -> bool:
    """A record is the user's own if it has no owner yet (made on this
    computer) or its owner is the signed-in user."""
    return owner_id is None or owner_id == user_id


def is_locked(status: str, own: bool) -> bool:
    """Read-only in the editor: others' records always (trainers never write
    content), approved records (a change means a new revision), and the
    author's own submitted record until withdrawn."""
    return not own or status in (Status.SUBMITTED.value, Status.APPROVED.value)


@dataclasses.dataclass(frozen=True)
class ReviewState:
    """What the panel shows for one record, read in one background job."""

    record: RecordData
    entries: list[ReviewEntry]
    own: bool
    role: str | None
    revision: int
    marked_read: int  # entries that were unread and are now marked seen

    @property
    def pending_decision(self) -> ReviewEntry | None:
        for entry in reversed(self.entries):
            if entry.pending and entry.action in ("approve", "return"):
                return entry
        return None

    @property
    def can_decide(self) -> bool:
        return (not self.own and self.role in REVIEWER_ROLES
                and self.record.status == Status.SUBMITTED.value and self.pending_decision is None)


def load_state(store: Store, record_id: str) -> ReviewState:
    """The record, its thread and the user's part in it; marks the thread read
    (opening a record is reading it). Runs on the writer thread."""
    record = store.get(record_id)
    meta = replica.sync_meta(store)
    entries = reviews.thread(store, record_id)
    marked = reviews.mark_read(store, record_id) if any(not e.seen for e in entries) else 0
    _root, revision = reviews.revision_info(store, record_id)
    own = is_own(record_owner(store, record_id), meta.user_id)
    return ReviewState(record, entries, own, meta.role, revision, marked)


# --- words ----------------------------------------------------------------------------


def action_text(action: str) -> str:
    words = {
        "submit": translate("Review", "Submitted for review"),
        "withdraw": translate("Review", "Took it back to edit"),
        "approve": translate("Review", "Approved"),
        "return": translate("Review", "Returned for revision"),
        "comment": translate("Review", "Comment"),
    }
    return words.get(action, action)


def entry_header(entry: ReviewEntry) -> str:
    """"王老师 · Approved · 2024-05-03 14:05" (server time once confirmed)."""
    author = entry.author or translate("Review", "(unknown)")
    if entry.provisional:
        when = translate("Review", "given in person {time}, pending server confirmation").format(
            time=format_timestamp(entry.written_at))
    elif entry.pending or entry.at is None:
        when = translate("Review", "waiting to be sent (written {time})").format(
            time=format_timestamp(entry.written_at))
    else:
        when = format_timestamp(entry.at)
    return translate("Review", "{author} · {action} · {time}").format(
        author=author, action=action_text(entry.action), time=when)


def status_note(state: ReviewState) -> str:
    """Why the record is read-only, or what happens next."""
    status = state.record.status
    if not state.own:
        if state.pending_decision is not None:
            return translate("Review", "Your decision is waiting to be sent. It is sent with the next sync.")
        if state.can_decide:
            return translate("Review", "Read-only: this is a fellow's record. Approve it or return it "
                                       "for revision.")
        return translate("Review", "Read-only: this record belongs to someone else.")
    handed = [e for e in state.entries if e.provisional and e.action in ("approve", "return")]
    if handed and status == Status.SUBMITTED.value:
        return translate("Review", "{author} decided in person: {action}. It takes effect when the "
                                   "server confirms it, at your next sync.").format(
            author=handed[-1].author, action=action_text(handed[-1].action))
    if status == Status.SUBMITTED.value:
        return translate("Review", "Submitted for review: read-only until you withdraw it to edit.")
    if status == Status.APPROVED.value:
        return translate("Review", "Approved: read-only. Start a new revision to change it.")
    if status == Status.RETURNED.value:
        return translate("Review", "Returned for revision: edit it and submit it again.")
    return ""


# --- the panel --------------------------------------------------------------------------


class ReviewPanel(QFrame):
    """Status, actions and thread of the record open in the editor."""

    changed = Signal(str)  # record id: its status changed or an entry was queued
    read = Signal(str)  # record id: unread entries were marked read
    revision_started = Signal(object)  # RecordData of the new draft: open it
    failed = Signal(str)  # a message for the status bar

    def __init__(
        self,
        store: Store,
        runner: TaskRunner,
        parent: QWidget | None = None,
        *,
        before_write: Callable[[], None] | None = None,
        author: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("review_panel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._store, self._runner = store, runner
        self._before_write, self._author = before_write, author
        self._record_id: str | None = None
        self._state: ReviewState | None = None
        self._generation = 0
        self._busy = False
        self._build()
        self.retranslate()
        self.hide()

    # --- building ---------------------------------------------------------------------

    def _button(self, name: str, slot: Callable[[], None]) -> QPushButton:
        return make_button(self, name, slot)

    def _build(self) -> None:
        self._status = QLabel(self)
        self._status.setObjectName("review_status")
        set_bold(self._status)
        self._note = QLabel(self)
        self._note.setObjectName("review_note")
        self._note.setWordWrap(True)
        self._submit = self._button("review_submit", self.submit)
        self._withdraw = self._button("review_withdraw", self.withdraw)
        self._revision = self._button("review_new_revision", self.start_revision)
        self._approve = self._button("review_approve", lambda: self.decide("approve"))
        self._return = self._button("review_return", lambda: self.decide("return"))
        # One clear action: submitting is the fellow's; the decision is coloured by what it does.
        self._submit.setIcon(style.icon("submit", style.ON_ACCENT))
        style.mark_primary(self._submit)
        self._approve.setIcon(style.icon("approve", style.ON_ACCENT))
        style.mark_decision(self._approve, "approve")
        self._return.setIcon(style.icon("return", style.RETURN))
        style.mark_decision(self._return, "return")
        header = QHBoxLayout()
        header.addWidget(self._status)  # a chip as wide as its text
        header.addStretch(1)
        for button in (self._submit, self._withdraw, self._revision, self._approve, self._return):
            header.addWidget(button)
        self._thread_box = QWidget()
        self._thread_box.setObjectName("review_thread")
        self._thread_layout = QVBoxLayout(self._thread_box)
        self._thread_layout.setContentsMargins(0, 0, 0, 0)
        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setMaximumHeight(THREAD_MAX_HEIGHT)
        self._scroll.setWidget(self._thread_box)
        self._empty = QLabel(self)
        self._empty.setObjectName("review_empty")
        self._empty.setStyleSheet(f"color: {MUTED_COLOUR};")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(header)
        layout.addWidget(self._note)
        layout.addWidget(self._scroll)
        layout.addWidget(self._empty)
        layout.addLayout(self._build_comment_row())

    def _build_comment_row(self) -> QVBoxLayout:
        self._comment = QPlainTextEdit(self)
        self._comment.setObjectName("review_comment")
        self._comment.setTabChangesFocus(True)
        line = self._comment.fontMetrics().lineSpacing()
        self._comment.setFixedHeight(line * COMMENT_LINES + 2 * self._comment.frameWidth() + 8)
        self._comment.textChanged.connect(self._on_comment_changed)
        self._comment_button = self._button("review_comment_button", self.comment)
        self._hint = QLabel(self)
        self._hint.setObjectName("review_comment_hint")
        self._hint.setWordWrap(True)
        self._hint.setStyleSheet(f"color: {MUTED_COLOUR};")
        self._problem = QLabel(self)
        self._problem.setObjectName("review_problem")
        self._problem.setWordWrap(True)
        self._problem.setStyleSheet(f"color: {ERROR_COLOUR};")
        self._problem.hide()
        side = QVBoxLayout()
        side.addWidget(self._comment_button)
        side.addWidget(self._hint)
        side.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self._comment, 1)
        row.addLayout(side)
        column = QVBoxLayout()
        column.addLayout(row)
        column.addWidget(self._problem)
        return column

    # --- language -------------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self._submit.setText(self.tr("Submit for review"))
        self._submit.setToolTip(
            self.tr("Hand this record in to your trainer. It is sent with the next sync."))
        self._withdraw.setText(self.tr("Withdraw to edit"))
        self._withdraw.setToolTip(self.tr("Take the record back from review so you can change it."))
        self._revision.setText(self.tr("Start a new revision"))
        self._revision.setToolTip(self.tr("Copy this approved record into a new draft; the approved one "
                                          "stays as it is."))
        self._approve.setText(self.tr("Approve"))
        self._return.setText(self.tr("Return for revision"))
        self._return.setToolTip(self.tr("Send the record back to the fellow. Write what to change first."))
        self._comment_button.setText(self.tr("Comment"))
        self._comment.setPlaceholderText(self.tr("Write a comment…"))
        self._empty.setText(self.tr("No review comments yet."))
        self._render()

    # --- public -----------------------------------------------------------------------------

    def show_record(self, record_id: str | None) -> None:
        if record_id != self._record_id:
            self._comment.clear()
            self._problem.hide()
        self._record_id = record_id
        self.refresh()

    def record_id(self) -> str | None:
        return self._record_id

    def state(self) -> ReviewState | None:
        return self._state

    def refresh(self) -> None:
        """Read the open record's thread again (off the GUI thread)."""
        self._generation += 1
        generation, record_id = self._generation, self._record_id
        if record_id is None:
            self._state = None
            self._render()
            return
        store = self._store
        self._runner.submit(lambda: load_state(store, record_id),
                            lambda state: self._on_loaded(generation, state),
                            lambda exc: self._on_load_failed(generation, exc))

    def entry_texts(self) -> list[str]:
        """The thread as shown, one text per entry (for tests and screen readers)."""
        return [label.text() for label in self._thread_box.findChildren(QLabel, "review_entry")]

    def problem_text(self) -> str:
        return self._problem.text() if not self._problem.isHidden() else ""

    # --- loading -------------------------------------------------------------------------------

    def _on_loaded(self, generation: int, state: ReviewState) -> None:
        if generation != self._generation:
            return  # the user moved on meanwhile
        self._state = state
        self._render()
        if state.marked_read:
            self.read.emit(state.record.id)

    def _on_load_failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        log_failure(f"Could not read the review thread of {self._record_id}", exc)
        self._state = None
        self._render()

    # --- showing ---------------------------------------------------------------------------------

    def _render(self) -> None:
        state = self._state
        if state is None or state.record.id != self._record_id:
            self.hide()
            return
        status = state.record.status
        text = self.tr("Review: {status}").format(status=i18n.tr_status(status))
        if state.revision > 1:
            text = self.tr("{text} · rev. {revision}").format(text=text, revision=state.revision)
        self._status.setText(text)
        style.mark_status(self._status, status)
        note = status_note(state)
        self._note.setText(note)
        self._note.setVisible(bool(note))
        self._note.setStyleSheet(f"color: {PENDING_COLOUR};" if state.pending_decision else "")
        own = state.own
        self._submit.setVisible(own and status in (Status.DRAFT.value, Status.RETURNED.value))
        self._withdraw.setVisible(own and status == Status.SUBMITTED.value)
        self._revision.setVisible(own and status == Status.APPROVED.value)
        self._approve.setVisible(state.can_decide)
        self._return.setVisible(state.can_decide)
        self._hint.setText(self.tr("A comment is required to return the record for revision.")
                           if state.can_decide else "")
        self._hint.setVisible(state.can_decide)
        self._fill_thread(state.entries)
        self._set_busy(self._busy)
        self.show()

    def _fill_thread(self, entries: list[ReviewEntry]) -> None:
        while self._thread_layout.count():
            item = self._thread_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for entry in entries:
            self._thread_layout.addWidget(self._entry_label(entry))
        self._thread_layout.addStretch(1)
        self._scroll.setVisible(bool(entries))
        self._empty.setVisible(not entries)
        # As tall as the thread up to a limit: a short thread is not squeezed.
        width = max(200, self._scroll.viewport().width())
        wanted = sum(label.heightForWidth(width) for label in
                     self._thread_box.findChildren(QLabel, "review_entry")) + 8
        self._scroll.setFixedHeight(min(THREAD_MAX_HEIGHT, max(wanted, 40)))
        if entries:
            # The newest entry (the decision) in view, once the layout has
            # grown the scroll range to the new thread.
            QTimer.singleShot(0, self, self._scroll_to_newest)

    def _scroll_to_newest(self) -> None:
        labels = self._thread_box.findChildren(QLabel, "review_entry")
        if labels:
            self._scroll.ensureWidgetVisible(labels[-1], 0, 0)

    def _entry_label(self, entry: ReviewEntry) -> QLabel:
        lines = [entry_header(entry)]
        if entry.body.strip():
            lines.append(entry.body.strip())
        if entry.superseded:
            reason = entry.reason or self.tr("The record changed before this decision arrived.")
            lines.append(self.tr("Not applied: {reason}").format(reason=reason))
        if not entry.seen:
            lines[0] = self.tr("New · {header}").format(header=lines[0])
        label = QLabel("\n".join(lines), self._thread_box)
        label.setObjectName("review_entry")
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        waiting = entry.pending or entry.provisional
        colour = PENDING_COLOUR if waiting else MUTED_COLOUR if entry.superseded else ""
        label.setStyleSheet(f"padding: 3px; color: {colour};" if colour else "padding: 3px;")
        label.setProperty("pending", entry.pending)
        label.setProperty("provisional", entry.provisional)
        label.setProperty("superseded", entry.superseded)
        return label

    def _on_comment_changed(self) -> None:
        if self._comment.toPlainText().strip():
            self._problem.hide()

    def _show_problem(self, text: str) -> None:
        self._problem.setText(text)
        self._problem.show()

    # --- actions (writes, on the task runner) ---------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for button in (self._submit, self._withdraw, self._revision, self._approve, self._return,
                       self._comment_button):
            button.setEnabled(not busy)

    def _write(self, fn: Callable[[Any], Any], what: str,
               done: Callable[[Any], None] | None = None) -> None:
        record_id = self._record_id
        if self._busy or record_id is None:
            return
        self._set_busy(True)
        if self._before_write is not None:
            self._before_write()  # the editor's last keystrokes are saved first
        store = self._store

        def ok(result: Any) -> None:
            self._set_busy(False)
            if done is not None:
                done(result)
            self.changed.emit(record_id)
            if record_id == self._record_id:
                self.refresh()

        def fail(exc: Exception) -> None:
            self._set_busy(False)
            report_failure(exc)
            message = self.tr("{what}: {error}").format(what=what, error=describe_failure(exc))
            self.failed.emit(message)
            if isinstance(exc, ValidationFailed):
                self._show_problem(message)
            self.refresh()

        self._runner.submit(lambda: fn(store), ok, fail)

    def submit(self) -> None:
        record_id = self._record_id or ""
        self._write(lambda store: reviews.submit(store, record_id),
                    self.tr("Could not submit the record"))

    def withdraw(self) -> None:
        record_id = self._record_id or ""
        self._write(lambda store: reviews.withdraw(store, record_id),
                    self.tr("Could not withdraw the record"))

    def start_revision(self) -> None:
        record_id = self._record_id or ""
        author = self._author() if self._author is not None else None
        self._write(lambda store: reviews.new_revision(store, record_id, author=author),
                    self.tr("Could not start a new revision"), self.revision_started.emit)

    def decide(self, action: reviews.Decision) -> None:
        body = self._comment.toPlainText().strip()
        if action == "return" and not body:
            # Said here, before anything is stored: the server would refuse it.
            self._show_problem(self.tr("Write what should be changed before returning the record."))
            self._comment.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        record_id = self._record_id or ""
        self._write(lambda store: reviews.decide(store, record_id, action, body),
                    self.tr("Could not save the decision"), self._after_entry)

    def comment(self) -> None:
        body = self._comment.toPlainText().strip()
        if not body:
            self._show_problem(self.tr("Write a comment first."))
            return
        record_id = self._record_id or ""
        self._write(lambda store: reviews.add_comment(store, record_id, body),
                    self.tr("Could not save the comment"), self._after_entry)

    def _after_entry(self, _entry: object) -> None:
        self._comment.clear()
        self._problem.hide()


def describe_failure(exc: Exception) -> str:
    """A refused review action in words (the store's validation problems)."""
    if isinstance(exc, ValidationFailed):
        return "; ".join(i18n.tr_problem(p) if isinstance(p, Problem) else str(p)
                         for p in exc.problems.values())
    return str(exc)


__all__ = [
    "ReviewPanel",
    "ReviewState",
    "action_text",
    "entry_header",
    "is_locked",
    "is_own",
    "load_state",
    "record_owner",
]
