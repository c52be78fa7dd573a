"""The trainer's review queue: fellows' submitted records, oldest first.

Filters by fellow (with how many each has waiting), kind, school and
submission date. The queue is read on the ``TaskRunner`` (it joins records,
entries and people), answers carry a generation so a stale one is dropped.
Opening a row shows the record read-only in the editor with the review panel
above it; a decision made there is queued and the row leaves the queue.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QEvent,
    QItemSelection,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models import reviews
from app.models.fields import LISTED_KINDS
from app.models.reviews import PersonInfo, QueueFilter, QueueRow
from app.models.store import Store
from app.ui import style
from app.ui.empty_state import EmptyStack, EmptyState, window_action
from app.ui.i18n import tr_kind
from app.ui.list_model import (
    NAME_COLUMN_EM,
    RECORD_ID_ROLE,
    ColumnFit,
    column_width,
    format_timestamp,
    timestamp_fit,
)
from app.ui.tasks import TaskRunner, log_failure
from app.ui.widgets import DateFilterEdit, filter_combo, read_only_flags, refill_combo

log = logging.getLogger("fieldbook.ui")

_Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


@dataclasses.dataclass(frozen=True)
class QueueData:
    """One read of the queue: the rows shown, and what the filters offer."""

    rows: list[QueueRow]
    counts: dict[int, int]
    people: list[PersonInfo]


def load_queue(store: Store, filters: QueueFilter) -> QueueData:
    """Runs on the writer thread."""
    return QueueData(reviews.review_queue(store, filters), reviews.queue_counts(store),
                     reviews.people(store))


class ReviewQueueModel(QAbstractTableModel):
    """The queue's rows: submitted, fellow, school, kind, title, revision, comments."""

    COLUMNS = 7

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[QueueRow] = []

    def set_rows(self, rows: list[QueueRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[QueueRow]:
        return list(self._rows)

    def record_id(self, row: int) -> str | None:
        return self._rows[row].record_id if 0 <= row < len(self._rows) else None

    def row_of(self, record_id: str) -> int | None:
        for index, row in enumerate(self._rows):
            if row.record_id == record_id:
                return index
        return None

    def rowCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else self.COLUMNS

    def flags(self, index: _Index) -> Qt.ItemFlag:
        return read_only_flags(index)

    def _cell(self, row: QueueRow, column: int) -> str:
        if column == 0:
            return format_timestamp(row.submitted_at)
        if column == 1:
            return row.owner_name
        if column == 2:
            return row.school
        if column == 3:
            try:
                return tr_kind(row.kind, plural=False)
            except ValueError:
                return row.kind
        if column == 4:
            return row.title.strip() or self.tr("(untitled)")
        if column == 5:
            return str(row.revision)
        return str(row.comments)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        if not (0 <= index.row() < len(self._rows) and 0 <= index.column() < self.COLUMNS):
            return None
        row = self._rows[index.row()]
        if role == RECORD_ID_ROLE:
            return row.record_id
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._cell(row, index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() >= 5:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def column_fit(self, column: int) -> ColumnFit:
        """How a column is sized: for what it can show, so an empty queue
        already has the widths its rows will need (see ``ColumnFit``)."""
        if column == 0:
            return timestamp_fit()
        if column in (1, 2):
            return ColumnFit(capped=True, least_em=NAME_COLUMN_EM)  # fellows' and schools' names
        if column == 3:
            return ColumnFit(tuple(tr_kind(kind.value, plural=False) for kind in LISTED_KINDS))
        if column == 4:
            return ColumnFit(stretch=True)
        return ColumnFit(("999",))

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            headers = [self.tr("Submitted"), self.tr("Fellow"), self.tr("School"), self.tr("Kind"),
                       self.tr("Title"), self.tr("Rev."), self.tr("Comments")]
            return headers[section] if 0 <= section < len(headers) else None
        return super().headerData(section, orientation, role)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LanguageChange:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.COLUMNS - 1)
            if self._rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, self.COLUMNS - 1))
        return super().event(event)


class ReviewQueuePage(QWidget):
    """Filters, the queue and its count; emits ``open_record`` for the chosen row."""

    open_record = Signal(str)
    loaded = Signal(int)  # rows now shown
    count_changed = Signal(int)  # records waiting in all (unfiltered)

    def __init__(self, store: Store, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("review_queue_page")
        self._store, self._runner = store, runner
        self._generation = 0
        self._selecting = False
        self._data: QueueData | None = None
        self._model = ReviewQueueModel(self)
        self._build()
        self.retranslate()

    # --- building --------------------------------------------------------------------

    def _build(self) -> None:
        self._title = QLabel(self)
        self._title.setObjectName("review_queue_title")
        style.mark_role(self._title, "page_title")
        self._count = QLabel(self)
        self._count.setObjectName("review_queue_count")
        self._fellow = self._combo("queue_fellow")
        self._kind = self._combo("queue_kind")
        self._school = self._combo("queue_school")
        self._from = DateFilterEdit(self)
        self._from.setObjectName("queue_from")
        self._to = DateFilterEdit(self)
        self._to.setObjectName("queue_to")
        for edit in (self._from, self._to):
            edit.dateChanged.connect(lambda _date: self.reload())
        self._labels = [QLabel(self) for _ in range(5)]
        self._clear = QPushButton(self)
        self._clear.setObjectName("queue_clear_filters")
        self._clear.clicked.connect(lambda _checked=False: self.clear_filters())
        top, bottom = QHBoxLayout(), QHBoxLayout()
        places = ((top, self._fellow), (top, self._kind), (top, self._school), (bottom, self._from),
                  (bottom, self._to))
        for (row, widget), label in zip(places, self._labels, strict=True):
            label.setBuddy(widget)
            row.addWidget(label)
            row.addWidget(widget)
        top.addStretch(1)
        bottom.addStretch(1)
        bottom.addWidget(self._clear)
        self._table = QTableView(self)
        self._table.setObjectName("review_queue")
        self._table.setModel(self._model)
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setAlternatingRowColors(True)
        self._table.setWordWrap(False)
        self._table.verticalHeader().setVisible(False)
        header = self._table.horizontalHeader()
        for column in range(self._model.COLUMNS):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch
                                        if self._model.column_fit(column).stretch
                                        else QHeaderView.ResizeMode.Interactive)
        self._table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self._table.activated.connect(lambda index: self._open_row(index.row()))
        # Nothing waiting: say when something will, and offer to look now (sync).
        self._empty = EmptyState("review_queue_empty", "review_queue", self,
                                 action=self._empty_action)
        self._stack = EmptyStack(self._table, self._empty, self)
        heading = QHBoxLayout()
        heading.addWidget(self._title)
        heading.addStretch(1)
        heading.addWidget(self._count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.addLayout(heading)
        layout.addLayout(top)
        layout.addLayout(bottom)
        layout.addWidget(self._stack, 1)

    def _combo(self, name: str) -> QComboBox:
        return filter_combo(self, name, self.reload)

    # --- language ----------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self._title.setText(self.tr("Review queue"))
        for label, text in zip(self._labels, (self.tr("Fellow:"), self.tr("Kind:"), self.tr("School:"),
                                              self.tr("Submitted from:"), self.tr("To:")), strict=True):
            label.setText(text)
        for edit in (self._from, self._to):
            edit.setToolTip(self.tr("“—” means any date"))
        self._clear.setText(self.tr("Clear filters"))
        self._set_empty_texts()
        self._fill_filters()
        self._show_count()
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Columns as wide as their headers and what they can hold, rows or not."""
        for column in range(self._model.COLUMNS):
            fit = self._model.column_fit(column)
            if not fit.stretch:
                self._table.horizontalHeader().resizeSection(
                    column, column_width(self._table, column, fit))

    # --- filters -------------------------------------------------------------------------

    def filters(self) -> QueueFilter:
        owner, kind, school = (self._fellow.currentData(), self._kind.currentData(),
                               self._school.currentData())
        return QueueFilter(
            owner=int(owner) if owner is not None else None,
            kind=str(kind) if kind else None,
            school=str(school) if school else None,
            date_from=self._from.value(),
            date_to=self._to.value(),
        )

    def set_filters(self, *, owner: int | None = None, kind: str | None = None,
                    school: str | None = None, date_from: dt.date | None = None,
                    date_to: dt.date | None = None) -> None:
        """Choose filters from code (tests, "show this fellow's submissions")."""
        self._block(True)
        try:
            for combo, value in ((self._fellow, owner), (self._kind, kind), (self._school, school)):
                combo.setCurrentIndex(max(0, combo.findData(value)) if value is not None else 0)
            for edit, day in ((self._from, date_from), (self._to, date_to)):
                if day is None:
                    edit.clear_value()
                else:
                    edit.setDate(QDate(day.year, day.month, day.day))
        finally:
            self._block(False)
        self.reload()

    def clear_filters(self) -> None:
        self.set_filters()

    def _block(self, block: bool) -> None:
        for widget in (self._fellow, self._kind, self._school, self._from, self._to):
            widget.blockSignals(block)

    def _fill_filters(self) -> None:
        data = self._data
        counts = data.counts if data else {}
        people = data.people if data else []
        names = {p.id: p.name for p in people}
        owners = sorted(set(counts) | {p.id for p in people if p.role == "fellow"},
                        key=lambda o: names.get(o, str(o)))
        refill_combo(self._fellow, [(self.tr("All fellows"), None)] + [
            (self.tr("{name} ({count})").format(name=names.get(o, str(o)), count=counts.get(o, 0)), o)
            for o in owners])
        refill_combo(self._kind, [(self.tr("All kinds"), None)]
                     + [(tr_kind(k.value, plural=False), k.value) for k in LISTED_KINDS])
        schools = sorted({p.school for p in people if p.school}
                         | {r.school for r in (data.rows if data else []) if r.school})
        refill_combo(self._school, [(self.tr("All schools"), None)] + [(s, s) for s in schools])

    # --- loading ---------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the queue again with the chosen filters (off the GUI thread)."""
        self._generation += 1
        generation, filters, store = self._generation, self.filters(), self._store
        self._runner.submit(lambda: load_queue(store, filters),
                            lambda data: self._on_loaded(generation, data),
                            lambda exc: self._on_failed(generation, exc))

    def _on_loaded(self, generation: int, data: QueueData) -> None:
        if generation != self._generation:
            return
        self._data = data
        selected = self.selected_id()
        self._model.set_rows(data.rows)
        self._fit_columns()  # the names now listed
        self._fill_filters()
        self._clear.setEnabled(self.filters() != QueueFilter())
        if selected is not None:
            self._select(selected)
        self._show_count()
        self.loaded.emit(len(data.rows))
        self.count_changed.emit(self.total())

    def _on_failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        log_failure("Could not read the review queue", exc)
        self._count.setText(self.tr("Could not read the review queue: {error}").format(error=exc))

    def total(self) -> int:
        """Records waiting for this user's decision, whatever the filters."""
        return sum(self._data.counts.values()) if self._data else 0

    def _show_count(self) -> None:
        shown = self._model.rowCount()
        self._count.setText(self.tr("1 waiting") if shown == 1
                            else self.tr("{count} waiting").format(count=shown))
        self._stack.set_empty(self._data is not None and shown == 0)
        self._set_empty_texts()

    def _set_empty_texts(self) -> None:
        if self.filters() != QueueFilter():
            self._empty.set_texts(self.tr("Nothing waiting matches these filters"),
                                  self.tr("Other records may be waiting: clear the filters to see "
                                          "them all."), self.tr("Clear filters"))
        else:
            self._empty.set_texts(self.tr("Nothing is waiting for your review."),
                                  self.tr("When fellows submit a record, it appears here after the "
                                          "next sync."), self.tr("Sync now"))

    def _empty_action(self) -> None:
        if self.filters() != QueueFilter():
            self.clear_filters()
        else:
            window_action(self, "action_sync_now")()

    # --- opening ------------------------------------------------------------------------------

    def selected_id(self) -> str | None:
        rows = self._table.selectionModel().selectedRows()
        return self._model.record_id(rows[0].row()) if rows else None

    def _select(self, record_id: str) -> None:
        row = self._model.row_of(record_id)
        if row is not None:
            self._selecting = True  # from code: do not open it again
            try:
                self._table.selectRow(row)
            finally:
                self._selecting = False

    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        record_id = self.selected_id()
        if record_id is not None and not self._selecting:
            self.open_record.emit(record_id)

    def _open_row(self, row: int) -> None:
        record_id = self._model.record_id(row)
        if record_id is not None:
            self.open_record.emit(record_id)

    def open_row(self, row: int) -> None:
        """Select a row as a click would (tests)."""
        self._table.selectRow(row)

    # --- for tests ------------------------------------------------------------------------------

    def model(self) -> ReviewQueueModel:
        return self._model

    def table(self) -> QTableView:
        return self._table

    def combo(self, name: str) -> QComboBox:
        return {"fellow": self._fellow, "kind": self._kind, "school": self._school}[name]


__all__ = ["QueueData", "ReviewQueueModel", "ReviewQueuePage", "load_queue"]
