"""Changes the server refused, all in one place: a status-bar button and a dialog.

A refused change never stays only on this laptop: the engine puts the record
back to the server's copy (``replica.mark_pushed``) and keeps the refusal
until the user dismisses it. The status line counts them ("Synced at 14:05 ·
2 changes refused by the server"); the "Details…" button beside it opens
:class:`RefusalsDialog`, which lists each refused change: the record, what
it changed and why the server said no. The per-record view of the same
refusals is the conflict panel above the editor (``conflicts.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import FieldbookError
from app.models.store import Store
from app.sync import replica
from app.sync.replica import Rejection
from app.ui.conflicts import field_label
from app.ui.main_window import MainWindow
from app.ui.sync_controller import SyncController
from app.ui.sync_words import KNOWN_REASONS, tr_reason
from app.ui.tasks import TaskRunner, log_failure

log = logging.getLogger("fieldbook.ui")

@dataclass(frozen=True)
class RefusalRow:
    """One refused change as the dialog shows it."""

    refusal: Rejection
    title: str
    kind: str | None  # None: the record is no longer here


def load_rows(store: Store) -> list[RefusalRow]:
    """The kept refusals with their records' titles (primary-key reads)."""
    rows = []
    for refusal in replica.rejections(store):
        try:
            record = store.get(refusal.record_id, include_deleted=True)
        except FieldbookError:
            rows.append(RefusalRow(refusal, "", None))
        else:
            rows.append(RefusalRow(refusal, record.title.strip(), record.kind))
    return rows


class RefusalsDialog(QDialog):
    """Every refused change still kept: record, what and why; open one, or dismiss them all."""

    COLUMNS = 3

    def __init__(self, window: MainWindow, store: Store, runner: TaskRunner,
                 on_dismissed: Callable[[], None] | None = None) -> None:
        super().__init__(window)
        self.setObjectName("refusals_dialog")
        self._window, self._store, self._runner = window, store, runner
        self._on_dismissed = on_dismissed
        self._rows: list[RefusalRow] = []
        layout = QVBoxLayout(self)
        self._intro = QLabel(self)
        self._intro.setWordWrap(True)
        self._table = QTableWidget(0, self.COLUMNS, self)
        self._table.setObjectName("refusals_table")
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._table.verticalHeader().hide()
        self._table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self._table.setWordWrap(True)
        self._table.cellDoubleClicked.connect(lambda row, _column: self._open(row))
        self._table.itemSelectionChanged.connect(self._update_buttons)
        self._buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self._open_button = QPushButton(self)
        self._open_button.setObjectName("refusals_open")
        self._dismiss_button = QPushButton(self)
        self._dismiss_button.setObjectName("refusals_dismiss")
        self._buttons.addButton(self._open_button, QDialogButtonBox.ButtonRole.ActionRole)
        self._buttons.addButton(self._dismiss_button, QDialogButtonBox.ButtonRole.ActionRole)
        self._buttons.rejected.connect(self.reject)
        self._open_button.clicked.connect(lambda _checked=False: self._open(self._table.currentRow()))
        self._dismiss_button.clicked.connect(lambda _checked=False: self._dismiss_all())
        layout.addWidget(self._intro)
        layout.addWidget(self._table, 1)
        layout.addWidget(self._buttons)
        self.resize(640, 320)
        self.retranslate()
        self.reload()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Changes the server refused"))
        self._intro.setText(self.tr(
            "The server did not accept these changes. Each record was put back as the server has "
            "it, so it is the same on every computer."))
        self._table.setHorizontalHeaderLabels([self.tr("Record"), self.tr("Change"), self.tr("Why")])
        self._open_button.setText(self.tr("&Open record"))
        self._dismiss_button.setText(self.tr("&Dismiss all"))
        self._fill()

    def rows(self) -> list[RefusalRow]:
        return list(self._rows)

    def table(self) -> QTableWidget:
        return self._table

    def reload(self) -> None:
        try:
            self._rows = load_rows(self._store)
        except FieldbookError as exc:
            log_failure("Could not read the refused changes", exc)
            self._rows = []
        self._fill()

    def _fill(self) -> None:
        self._table.setRowCount(len(self._rows))
        for number, row in enumerate(self._rows):
            for column, text in enumerate(self._cells(row)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self._table.setItem(number, column, item)
        self._table.resizeColumnsToContents()
        self._table.resizeRowsToContents()
        self._update_buttons()

    def _cells(self, row: RefusalRow) -> tuple[str, str, str]:
        if row.kind is None:
            title = self.tr("(no longer on this computer)")
        else:
            title = row.title or self.tr("(untitled)")
        fields = row.refusal.fields
        if row.kind is not None and fields == ("deleted",):
            what = self.tr("Delete")
        elif row.kind is not None and fields:
            what = self.tr(", ").join(field_label(row.kind, name) for name in fields)
        else:
            what = self.tr("A change")
        return title, what, tr_reason(row.refusal.reason)

    def _update_buttons(self) -> None:
        row = self._table.currentRow()
        self._open_button.setEnabled(0 <= row < len(self._rows) and self._rows[row].kind is not None)
        self._dismiss_button.setEnabled(bool(self._rows))

    def _open(self, row: int) -> None:
        if not 0 <= row < len(self._rows) or self._rows[row].kind is None:
            return
        self._window.open_record(self._rows[row].refusal.record_id)
        self.accept()

    def _dismiss_all(self) -> None:
        store, seqs = self._store, [row.refusal.seq for row in self._rows]
        self._dismiss_button.setEnabled(False)

        def dismiss() -> None:
            for seq in seqs:
                replica.dismiss_rejection(store, seq)

        def done(_result: object) -> None:
            self.reload()
            if self._on_dismissed is not None:
                self._on_dismissed()

        def failed(exc: Exception) -> None:
            log_failure("Could not dismiss the refused changes", exc)
            self._window.show_message(self.tr("Could not dismiss the refused changes: {error}").format(
                error=exc))
            self._update_buttons()

        self._runner.submit(dismiss, done, failed)


class RefusalsButton(QToolButton):
    """"Details…" beside the sync status while refused changes are kept."""

    def __init__(self, window: MainWindow, controller: SyncController, *, colour: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent or window.statusBar())
        self.setObjectName("sync_refusals")
        self.setAutoRaise(True)
        if colour:
            self.setStyleSheet(f"color: {colour};")
        self._window, self._controller = window, controller
        self.dialog: RefusalsDialog | None = None
        self.clicked.connect(lambda _checked=False: self.show_details())
        controller.refusals_changed.connect(self._on_count)
        window.statusBar().addPermanentWidget(self)
        self.retranslate()
        self._on_count(controller.refusal_count)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self.setText(self.tr("Details…"))
        self.setToolTip(self.tr("Show the changes the server refused, and why"))

    def _on_count(self, count: int) -> None:
        self.setVisible(count > 0)
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.reload()

    def show_details(self) -> None:
        controller = self._controller
        if self.dialog is None:
            self.dialog = RefusalsDialog(self._window, controller.store, controller.runner,
                                         on_dismissed=controller.refresh_refusals)
            self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        elif self.dialog.isVisible():
            self.dialog.reload()
            self.dialog.raise_()
            return
        else:
            self.dialog.reload()
        self.dialog.show()


__all__ = ["KNOWN_REASONS", "RefusalRow", "RefusalsButton", "RefusalsDialog", "load_rows", "tr_reason"]
