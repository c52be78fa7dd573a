"""The review workflow in the main window (docs/review.md).

``ReviewUi`` hooks the review pieces to the window, as ``SyncUi`` does for
sync: the review panel above the editor (and the editor's read-only rule),
the "Review queue" sidebar entry for trainers and admins, the "Dashboard"
entry, the unread markers in the lists and the sidebar, and a status-bar
button that opens the next record with unread review comments.

The role comes from the sync account (``replica.sync_meta(store).role``):
without an account there is no queue, and the window works as before. A
sync that brings new entries (``SyncController.records_changed``) refreshes
the markers, the queue and the open thread.
"""

from __future__ import annotations

import dataclasses
import logging

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QToolButton

from app.errors import FieldbookError, RecordNotFound
from app.models import reviews
from app.models.store import RecordData, Store
from app.sync import replica
from app.ui.dashboard import DashboardPage
from app.ui.main_window import MainWindow
from app.ui.review_panel import REVIEWER_ROLES, ReviewPanel, is_locked, is_own, record_owner
from app.ui.review_queue import ReviewQueuePage
from app.ui.settings_dialog import author_name
from app.ui.sync_controller import SyncController
from app.ui.tasks import TaskRunner, log_failure

log = logging.getLogger("fieldbook.ui")

QUEUE_PAGE = "review_queue"
DASHBOARD_PAGE = "dashboard"
UNREAD_COLOUR = "#1565c0"


@dataclasses.dataclass(frozen=True)
class Unread:
    """Records with review entries not yet read, and how many per kind."""

    records: set[str]
    by_kind: dict[str, int]
    entries: int


def load_unread(store: Store) -> Unread:
    """Runs on the writer thread."""
    records = reviews.unread_records(store)
    by_kind: dict[str, int] = {}
    for record_id in records:
        try:
            kind = store.get(record_id, include_deleted=True).kind
        except RecordNotFound:
            continue
        by_kind[kind] = by_kind.get(kind, 0) + 1
    return Unread(records, by_kind, reviews.unread_count(store))


class ReviewUi(QObject):
    """The review workflow's face in the main window."""

    def __init__(self, window: MainWindow, store: Store, runner: TaskRunner,
                 controller: SyncController | None = None) -> None:
        super().__init__(window)
        self.setObjectName("review_ui")
        self._window, self._store, self._runner = window, store, runner
        self._controller = controller
        self._user_id: int | None = None
        self._role: str | None = None
        self._unread = Unread(set(), {}, 0)
        self._queue_total = 0

        self.panel = ReviewPanel(store, runner, window, before_write=window.editor.flush,
                                 author=author_name)
        window.add_editor_banner(self.panel)
        self.queue = ReviewQueuePage(store, runner, window)
        self.dashboard = DashboardPage(store, runner, window)
        window.add_page(QUEUE_PAGE, self.queue)
        window.add_page(DASHBOARD_PAGE, self.dashboard, wide=True)
        self.unread_button = QToolButton(window.statusBar())
        self.unread_button.setObjectName("review_unread")
        self.unread_button.setAutoRaise(True)
        self.unread_button.setStyleSheet(f"color: {UNREAD_COLOUR};")
        self.unread_button.hide()
        self.unread_button.clicked.connect(lambda _checked=False: self.open_next_unread())
        window.statusBar().addPermanentWidget(self.unread_button)

        self._connect()
        self.refresh_account()
        window.editor.set_lock_policy(self._locked)
        window.installEventFilter(self)
        self.retranslate()
        self.panel.show_record(window.editor.current_id())
        self.refresh_unread()

    def _connect(self) -> None:
        window = self._window
        window.editor.record_shown.connect(self.panel.show_record)
        window.sidebar().currentRowChanged.connect(lambda _row: self._on_page_changed())
        self.panel.changed.connect(self._on_review_changed)
        self.panel.read.connect(lambda _record_id: self.refresh_unread())
        self.panel.revision_started.connect(self._on_revision_started)
        self.panel.failed.connect(window.show_message)
        self.queue.open_record.connect(self._open_from_queue)
        self.queue.count_changed.connect(self._on_queue_count)
        self.dashboard.message.connect(window.show_message)
        controller = self._controller
        if controller is not None:
            controller.records_changed.connect(self.refresh)
            controller.account_changed.connect(self.refresh_account)
            controller.synced.connect(lambda _report: self.refresh())

    # --- account and language ------------------------------------------------------------

    def refresh_account(self) -> None:
        """Learn the role again (signed in or out): the queue is for reviewers only."""
        try:
            meta = replica.sync_meta(self._store)
        except FieldbookError as exc:
            log.warning("Could not read the account: %s", exc)
            return
        self._user_id, self._role = meta.user_id, meta.role
        self._window.set_page_visible(QUEUE_PAGE, self.is_reviewer)
        self._window.show_author_column(self.is_reviewer)
        if self.is_reviewer:
            self.queue.reload()
        self._window.editor.set_lock_policy(self._locked)  # ownership may have changed
        self.panel.refresh()

    @property
    def is_reviewer(self) -> bool:
        return self._role in REVIEWER_ROLES

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.LanguageChange:
            QTimer.singleShot(0, self.retranslate)  # after the window re-labelled itself
        return False

    def retranslate(self) -> None:
        count = self._queue_total
        self._window.set_page_text(QUEUE_PAGE, self.tr("Review queue ({count})").format(count=count)
                                   if count else self.tr("Review queue"))
        self._window.set_page_text(DASHBOARD_PAGE, self.tr("Dashboard"))
        entries = self._unread.entries
        self.unread_button.setText(self.tr("1 new review comment") if entries == 1
                                   else self.tr("{count} new review comments").format(count=entries))
        self.unread_button.setToolTip(self.tr("Click to open the next record with review comments "
                                              "you have not read."))

    # --- the editor's read-only rule ----------------------------------------------------------

    def _locked(self, record_id: str, status: str) -> bool:
        """Asked by the editor when it shows a record (a primary-key read)."""
        try:
            owner = record_owner(self._store, record_id)
        except FieldbookError as exc:
            log.warning("Could not read the owner of %s: %s", record_id, exc)
            return False
        return is_locked(status, is_own(owner, self._user_id))

    # --- refreshing ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """After a sync or a review action: markers, queue, the open thread, figures."""
        self.refresh_unread()
        if self.is_reviewer:
            self.queue.reload()
        self.panel.refresh()
        if self._window.current_page() == DASHBOARD_PAGE:
            self.dashboard.reload()

    def refresh_unread(self) -> None:
        store = self._store
        self._runner.submit(lambda: load_unread(store), self._on_unread, self._on_unread_failed)

    def _on_unread(self, unread: Unread) -> None:
        self._unread = unread
        self._window.set_unread(unread.records, unread.by_kind)
        self.unread_button.setVisible(unread.entries > 0)
        self.retranslate()

    @staticmethod
    def _on_unread_failed(exc: Exception) -> None:
        log_failure("Could not count the unread review comments", exc)

    def unread(self) -> Unread:
        return self._unread

    def _on_queue_count(self, count: int) -> None:
        self._queue_total = count
        self.retranslate()

    def _on_page_changed(self) -> None:
        page = self._window.current_page()
        if page == QUEUE_PAGE:
            self.queue.reload()
        elif page == DASHBOARD_PAGE:
            self.dashboard.reload()

    # --- actions --------------------------------------------------------------------------------

    def _on_review_changed(self, _record_id: str) -> None:
        """A status write or a queued entry: lists, queue and sync learn about it."""
        self._window.refresh_records()
        if self.is_reviewer:
            self.queue.reload()
        if self._controller is not None:
            self._controller.note_local_change()

    def _on_revision_started(self, record: RecordData) -> None:
        self._window.open_record(record.id)
        self._window.show_message(self.tr("Started revision {revision} as a new draft.").format(
            revision=self._revision_of(record.id)))

    def _revision_of(self, record_id: str) -> int:
        try:
            return reviews.revision_info(self._store, record_id)[1]
        except FieldbookError as exc:
            log.warning("Could not read the revision of %s: %s", record_id, exc)
            return 0

    def _open_from_queue(self, record_id: str) -> None:
        """Open in the editor beside the queue; the queue stays on screen."""
        self._window.editor.load(record_id)

    def open_next_unread(self) -> None:
        records = sorted(self._unread.records)
        if not records:
            return
        current = self._window.editor.current_id()
        after = records[(records.index(current) + 1) % len(records)] if current in records else records[0]
        self._window.open_record(after)


def install(window: MainWindow, store: Store, runner: TaskRunner,
            controller: SyncController | None = None) -> ReviewUi:
    """Hook the review workflow to ``window`` (application start-up)."""
    return ReviewUi(window, store, runner, controller)


__all__ = ["DASHBOARD_PAGE", "QUEUE_PAGE", "ReviewUi", "Unread", "install", "load_unread"]
