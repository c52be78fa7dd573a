"""The list page: search across kinds, the filters of one kind, the records, their empty state.

The window (``main_window.py``) chooses the kind from its sidebar and owns
the editor pane and the actions; this page owns what is listed and what is
selected. It tells the window through signals when the actions' target may
have changed, and opens the selected record in the editor it was given.
Reads are paged and indexed (``list_model.py``), so they run on the GUI thread.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models.fields import Kind, Status, kind_spec
from app.models.store import ListQuery, RecordData, Store
from app.ui import style
from app.ui.editors import RecordEditor
from app.ui.empty_state import EmptyStack, EmptyState
from app.ui.i18n import tr_choice, tr_status
from app.ui.list_model import (
    CAPPED_COLUMN_EM,
    RecordTableModel,
    SearchResultsModel,
    column_width,
)
from app.ui.widgets import DateFilterEdit, filter_combo, make_button, refill_combo

log = logging.getLogger("fieldbook.ui")

SEARCH_DELAY_MS = 150
# How far to page through the list looking for a record to select.
FIND_ROW_LIMIT = 2_000
# Our line icons (resources/icons/) for the kinds.
KIND_ICONS = {Kind.LESSON_PLAN.value: "lesson_plan", Kind.TRAINING.value: "training",
              Kind.EXCHANGE.value: "exchange"}

ListModel = RecordTableModel | SearchResultsModel


class RecordListPage(QWidget):
    """The records of one kind (or the search results), filtered, sorted and selectable."""

    message = Signal(str)  # something went wrong reading the list: for the status bar
    target_changed = Signal()  # the selection or the listing changed: the actions follow
    new_requested = Signal()  # the empty list's button, with no search or filter to clear

    def __init__(self, store: Store, kind: Kind, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("record_list")
        self._store, self._kind = store, kind
        self._editor: RecordEditor | None = None
        self._searching = False
        self._selecting = False  # selecting a row from code: do not reload the editor
        self._column_layout: tuple[object, ...] | None = None
        self._chip_column: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._build_search_row())
        layout.addWidget(self._build_filter_bar())
        self._build_models()
        layout.addWidget(self._build_table(), 1)
        self._update_filter_visibility()

    # --- building ------------------------------------------------------------

    def _build_search_row(self) -> QHBoxLayout:
        """Search across every kind."""
        self._search = QLineEdit(self)
        self._search.setObjectName("search")
        self._search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._run_search)
        self._search.textChanged.connect(self._on_search_text_changed)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self._search)
        escape.setContext(Qt.ShortcutContext.WidgetShortcut)
        escape.activated.connect(self._cancel_search)
        self._search_icon = self._search.addAction(
            style.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self._result_count = QLabel(self)
        self._result_count.setObjectName("result_count")
        search_row = QHBoxLayout()
        search_row.addWidget(self._search, 1)
        search_row.addWidget(self._result_count)
        return search_row

    def _build_filter_bar(self) -> QWidget:
        """Filters for the current kind, in two short rows, so the list stays
        narrow enough to leave the editor room."""
        self._filter_bar = bar = QWidget(self)
        bar.setObjectName("filter_bar")
        filters = QVBoxLayout(bar)
        filters.setContentsMargins(0, 0, 0, 0)
        choices_row, dates_row = QHBoxLayout(), QHBoxLayout()
        filters.addLayout(choices_row)
        filters.addLayout(dates_row)
        # Compact: long subject names must not widen the whole list.
        self._status_filter = filter_combo(bar, "filter_status", self._apply_filters)
        self._subject_filter = filter_combo(bar, "filter_subject", self._apply_filters)
        self._grade_filter = filter_combo(bar, "filter_grade", self._apply_filters)
        self._date_from = DateFilterEdit(bar)
        self._date_from.setObjectName("filter_from")
        self._date_to = DateFilterEdit(bar)
        self._date_to.setObjectName("filter_to")
        self._status_label, self._subject_label, self._grade_label = (QLabel(bar) for _ in range(3))
        self._from_label, self._to_label = QLabel(bar), QLabel(bar)
        self._clear_filters = make_button(bar, "clear_filters", self.clear_filters)
        for row, label, widget in (
            (choices_row, self._status_label, self._status_filter),
            (choices_row, self._subject_label, self._subject_filter),
            (choices_row, self._grade_label, self._grade_filter),
            (dates_row, self._from_label, self._date_from),
            (dates_row, self._to_label, self._date_to),
        ):
            label.setBuddy(widget)
            row.addWidget(label)
            row.addWidget(widget)
        choices_row.addStretch(1)
        dates_row.addStretch(1)
        dates_row.addWidget(self._clear_filters)
        for edit in (self._date_from, self._date_to):
            edit.dateChanged.connect(self._apply_filters)
        return bar

    def _build_models(self) -> None:
        self._list_model = RecordTableModel(self._store, ListQuery(self._kind.value), self)
        self._search_model = SearchResultsModel(self._store, self)
        for model in (self._list_model, self._search_model):
            model.failed.connect(self.message)
            for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved):
                signal.connect(lambda *_args: self._update_list_empty())  # however the rows changed
        self._search_model.rowsInserted.connect(self._update_result_count)

    def _build_table(self) -> QWidget:
        self._table = QTableView(self)
        self._table.setObjectName("records")
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setAlternatingRowColors(True)
        self._table.setWordWrap(False)
        rows = self._table.verticalHeader()
        rows.setVisible(False)
        # One line per record, all the same height: cheap to lay out however many.
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        self._table.horizontalHeader().setHighlightSections(False)
        self._table.setModel(self._list_model)
        self._table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self._sync_sort_indicator()
        self._table.setSortingEnabled(True)
        self._chip_delegate = style.StatusChipDelegate(self._table)
        # An empty list says why and what to do, instead of an empty grid.
        self._list_empty = EmptyState("list_empty", "lesson_plan", self, action=self._empty_action)
        self._list_stack = EmptyStack(self._table, self._list_empty, self)
        self._list_stack.setObjectName("records_stack")
        return self._list_stack

    def set_editor(self, editor: RecordEditor) -> None:
        """The editor the selected record opens in (made after this page, so
        that Tab goes from the list to the editor)."""
        self._editor = editor

    @property
    def editor(self) -> RecordEditor:
        assert self._editor is not None, "set_editor() first"
        return self._editor

    # --- language ------------------------------------------------------------

    def retranslate(self, find_shortcut: str) -> None:
        """Re-label the search, the filters and the counts (the models re-label themselves)."""
        self._column_layout = None  # other words, other widths
        self._search.setPlaceholderText(
            self.tr("Search all records ({shortcut})").format(shortcut=find_shortcut))
        self._status_label.setText(self.tr("Status:"))
        self._subject_label.setText(self.tr("Subject:"))
        self._grade_label.setText(self.tr("Grade:"))
        self._from_label.setText(self.tr("From:"))
        self._to_label.setText(self.tr("To:"))
        for edit in (self._date_from, self._date_to):
            edit.setToolTip(self.tr("“—” means any date"))
        self._clear_filters.setText(self.tr("Clear filters"))
        self._refill_filters()
        self._set_accessible_names()
        self._update_result_count()

    def _refill_filters(self) -> None:
        refill_combo(
            self._status_filter,
            [(self.tr("All statuses"), None)] + [(tr_status(s.value), s.value) for s in Status],
        )
        subject = kind_spec(Kind.LESSON_PLAN).field("subject")
        refill_combo(
            self._subject_filter,
            [(self.tr("All subjects"), None)]
            + [(tr_choice(subject, c.code), c.code) for c in subject.choices],
        )
        grade = kind_spec(Kind.LESSON_PLAN).field("grade")
        refill_combo(
            self._grade_filter,
            [(self.tr("All grades"), None)]
            + [(tr_choice(grade, c.code), int(c.code)) for c in grade.choices],
        )

    def _set_accessible_names(self) -> None:
        """Names a screen reader reads for the list and the icon-only controls."""
        self._search.setAccessibleName(self.tr("Search all records"))
        self._search_icon.setToolTip(self.tr("Search all records"))
        clear = self._search.findChild(QAction, "_q_qlineeditclearaction")
        if clear is not None:  # Qt's own clear button: named for screen readers
            clear.setToolTip(self.tr("Clear the search"))
        self._table.setAccessibleName(self.tr("Records"))
        self._filter_bar.setAccessibleName(self.tr("Filters"))

    def new_kind_text(self) -> str:
        """The primary action's words for the kind listed."""
        if self._kind is Kind.TRAINING:
            return self.tr("New training record")
        if self._kind is Kind.EXCHANGE:
            return self.tr("New exchange log")
        return self.tr("New lesson plan")

    # --- kinds and filters ---------------------------------------------------

    @property
    def kind(self) -> Kind:
        return self._kind

    def set_kind(self, kind: Kind) -> None:
        """List ``kind``: leaving a search, keeping the filters that apply to it."""
        if kind == self._kind and not self._searching:
            return
        self._kind = kind
        self._update_filter_visibility()
        if self._searching:
            self._search.clear()  # back to the list, of the chosen kind
        else:
            self._apply_filters()

    def _update_filter_visibility(self) -> None:
        lesson = self._kind is Kind.LESSON_PLAN
        for widget in (
            self._subject_label, self._subject_filter, self._grade_label, self._grade_filter
        ):
            widget.setVisible(lesson)
        self._update_list_empty()

    def _query(self) -> ListQuery:
        lesson = self._kind is Kind.LESSON_PLAN
        current = self._list_model.query
        default = ListQuery(self._kind.value)
        keep_sort = current.sort in default.sortable()
        status = self._status_filter.currentData()
        subject = self._subject_filter.currentData()
        grade = self._grade_filter.currentData()
        return ListQuery(
            kind=self._kind.value,
            status=str(status) if status else None,
            subject=str(subject) if lesson and subject else None,
            grade=int(grade) if lesson and grade is not None else None,
            date_from=self._date_from.value(),
            date_to=self._date_to.value(),
            sort=current.sort if keep_sort else default.sort,
            descending=current.descending if keep_sort else default.descending,
        )

    def _filters_active(self) -> bool:
        query = self._query()
        return any(
            value is not None
            for value in (query.status, query.subject, query.grade, query.date_from, query.date_to)
        )

    def _apply_filters(self) -> None:
        self._list_model.set_query(self._query())
        self._sync_sort_indicator()
        self.after_reload()

    def clear_filters(self) -> None:
        for combo in (self._status_filter, self._subject_filter, self._grade_filter):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        for edit in (self._date_from, self._date_to):
            edit.blockSignals(True)
            edit.clear_value()
            edit.blockSignals(False)
        self._apply_filters()

    def _sync_sort_indicator(self) -> None:
        query = self._list_model.query
        column = self._list_model.column_of(query.sort)
        order = Qt.SortOrder.DescendingOrder if query.descending else Qt.SortOrder.AscendingOrder
        header = self._table.horizontalHeader()
        if column is not None and (
            header.sortIndicatorSection() != column or header.sortIndicatorOrder() != order
        ):
            header.setSortIndicator(column, order)

    def after_reload(self) -> None:
        """The listing changed as a whole: widths, counts and the editor's row follow."""
        self._clear_filters.setEnabled(self._filters_active())
        self.fit_columns()
        self._update_result_count()
        self.reselect(self.editor.current_id())
        self.target_changed.emit()

    def fit_columns(self) -> None:
        """Size the columns when the set of columns changes (another kind,
        search on or off, another language) — not on every filter change:
        measuring cells after each reset cost ~100 ms at 50,000 records."""
        model = self._table.model()
        layout = (id(model), model.columnCount(), self._kind, self._searching)
        if layout == self._column_layout:
            return
        self._column_layout = layout
        self._place_status_chips()
        header = self._table.horizontalHeader()
        header.setResizeContentsPrecision(40)  # the rows a screen shows
        current = self.current_model()
        for column in range(model.columnCount()):
            fit = current.column_fit(column)  # from what it can show: dates are never cut
            header.setSectionResizeMode(
                column,
                QHeaderView.ResizeMode.Stretch if fit.stretch else QHeaderView.ResizeMode.Interactive,
            )
            if not fit.stretch:
                header.resizeSection(column, column_width(self._table, column, fit))

    def preferred_width(self) -> int:
        """As wide as the fixed columns plus a readable title, with the frame and scroll bar."""
        self.fit_columns()
        header = self._table.horizontalHeader()
        columns = sum(header.sectionSize(c) for c in range(header.count())
                      if header.sectionResizeMode(c) != QHeaderView.ResizeMode.Stretch)
        title = self._table.fontMetrics().horizontalAdvance("M") * CAPPED_COLUMN_EM
        chrome = 2 * self._table.frameWidth() + self._table.verticalScrollBar().sizeHint().width()
        return columns + title + chrome

    def _place_status_chips(self) -> None:
        """The status column shows coloured chips (draft, submitted, approved, returned)."""
        column = (SearchResultsModel.COLUMNS - 1 if self._searching
                  else len(kind_spec(self._kind).list_columns))
        if column == self._chip_column:
            return
        if self._chip_column is not None:
            self._table.setItemDelegateForColumn(self._chip_column, None)  # type: ignore[arg-type]
        self._table.setItemDelegateForColumn(column, self._chip_delegate)
        self._chip_column = column

    # --- search --------------------------------------------------------------

    @property
    def searching(self) -> bool:
        return self._searching

    def focus_search(self) -> None:
        self._search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self._search.selectAll()

    def leave_search(self) -> None:
        self._search.clear()

    def _on_search_text_changed(self, text: str) -> None:
        if text.strip():
            self._search_timer.start()
        else:
            self._search_timer.stop()
            self._end_search()

    def _cancel_search(self) -> None:
        self._search.clear()
        self._table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _run_search(self) -> None:
        text = self._search.text()
        if not text.strip():
            return
        self._search_model.set_text(text)
        if not self._searching:
            self._searching = True
            self._filter_bar.setEnabled(False)
            self._set_table_model(self._search_model)
        self.fit_columns()
        self._update_result_count()
        self.reselect(self.editor.current_id())
        self.target_changed.emit()

    def _end_search(self) -> None:
        if not self._searching:
            return
        self._searching = False
        self._filter_bar.setEnabled(True)
        self._search_model.set_text("")
        self._list_model.set_query(self._query())  # records may have changed meanwhile
        self._set_table_model(self._list_model)
        self.after_reload()

    def _set_table_model(self, model: ListModel) -> None:
        if self._table.model() is model:
            return
        old = self._table.selectionModel()
        self._table.setSortingEnabled(False)  # search results keep their own order
        self._table.setModel(model)
        old.deleteLater()
        self._table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        if model is self._list_model:
            self._sync_sort_indicator()
            self._table.setSortingEnabled(True)

    # --- selection -----------------------------------------------------------

    def current_model(self) -> ListModel:
        return self._search_model if self._searching else self._list_model

    def _selected_row(self) -> int | None:
        rows = self._table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def selected_id(self) -> str | None:
        row = self._selected_row()
        return None if row is None else self.current_model().record_id(row)

    def target(self) -> tuple[str, str] | None:
        """The record an action applies to: the selected one, else the one open."""
        row = self._selected_row()
        model = self.current_model()
        if row is not None:
            record_id, kind = model.record_id(row), model.record_kind(row)
            if record_id is not None and kind is not None:
                return record_id, kind
        record_id = self.editor.current_id()
        if record_id is None:
            return None
        return record_id, self.editor.current_kind() or self._kind.value

    def listed_records(self) -> list[str] | ListQuery:
        """What "Export the list" exports: the search results, else the
        filtered list (its query, run off the GUI thread)."""
        if not self._searching:
            return self._list_model.query if self._list_model.rowCount() else []
        model = self._search_model
        return [i for row in range(model.rowCount()) if (i := model.record_id(row)) is not None]

    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        if not self._selecting:
            record_id = self.selected_id()
            if record_id is not None and record_id != self.editor.current_id():
                self.editor.load(record_id)
        self.target_changed.emit()

    def clear_selection(self) -> None:
        """Select nothing, from code: the editor keeps what it shows."""
        self._selecting = True
        try:
            self._table.clearSelection()
        finally:
            self._selecting = False

    def _select_row(self, row: int) -> None:
        """Select a row from code; the editor is not reloaded."""
        model = self._table.model()
        index = model.index(row, 0)
        self._selecting = True
        try:
            self._table.selectionModel().setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
        finally:
            self._selecting = False
        self._table.scrollTo(index)

    def reselect(self, record_id: str | None, *, find: bool = False) -> bool:
        """Select the row of ``record_id`` if it is listed; with ``find``, page
        further through the list to reach it."""
        if record_id is None:
            return False
        model = self.current_model()
        row = model.row_of(record_id)
        while row is None and find and model.canFetchMore() and model.rowCount() < FIND_ROW_LIMIT:
            model.fetchMore()
            row = model.row_of(record_id)
        if row is None:
            return False
        if self._selected_row() != row:
            self._select_row(row)
        return True

    # --- records changed -----------------------------------------------------

    def note_saved(self, record: RecordData) -> None:
        """A record was written: its row follows, and a new one is found and selected."""
        if self._searching:
            self._search_model.refresh()
            self._update_result_count()
            self.reselect(self.editor.current_id())
        elif record.kind == self._kind.value:
            new = self._list_model.row_of(record.id) is None
            self._list_model.refresh()
            self._update_result_count()
            current = self.editor.current_id()
            self.reselect(current, find=new and current == record.id)

    def bring_into_view(self, record_id: str) -> bool:
        """Re-read the listing and select ``record_id``; ``False`` if it is not listed."""
        self.refresh()
        return self.reselect(record_id, find=True)

    def refresh(self) -> None:
        """Re-read the rows shown (records changed outside the editor)."""
        self.current_model().refresh()
        self._update_result_count()

    def remove(self, record_id: str) -> None:
        """A record was deleted: drop its row and select its neighbour, so
        Delete can be pressed again."""
        model = self.current_model()
        row = model.row_of(record_id)
        self._list_model.remove(record_id)
        self._search_model.remove(record_id)
        self._update_result_count()
        if row is not None and model.rowCount() > 0:
            self._table.selectRow(min(row, model.rowCount() - 1))

    def set_marked(self, record_ids: set[str]) -> None:
        """Mark records with review entries not yet read."""
        self._list_model.set_marked(record_ids)
        self._search_model.set_marked(record_ids)

    def show_author_column(self, shown: bool) -> None:
        self._list_model.set_author_column(shown)

    def untitled(self) -> str:
        return self._list_model.untitled()

    # --- counts and the empty state ------------------------------------------

    def _update_result_count(self) -> None:
        if self._searching:
            n = self._search_model.rowCount()
            if n == 0:
                text = self.tr("No results")
            elif self._search_model.canFetchMore():
                text = self.tr("{count}+ results").format(count=n)
            elif n == 1:
                text = self.tr("1 result")
            else:
                text = self.tr("{count} results").format(count=n)
        else:
            n = self._list_model.total()
            if n == 0:
                text = self.tr("No records")
            elif n == 1:
                text = self.tr("1 record")
            else:
                text = self.tr("{count} records").format(count=n)
        self._result_count.setText(text)
        self._update_list_empty()

    def _empty_action(self) -> None:
        """The button of the empty list: what gets the teacher somewhere."""
        if self._searching:
            self._cancel_search()
        elif self._filters_active():
            self.clear_filters()
        else:
            self.new_requested.emit()

    def _update_list_empty(self) -> None:
        model = self.current_model()
        empty = model.rowCount() == 0 and not model.canFetchMore()
        self._list_stack.set_empty(empty)
        if not empty:
            return
        if self._searching:
            self._list_empty.set_icon("search")
            self._list_empty.set_texts(
                self.tr("Nothing matches “{text}”").format(text=self._search.text().strip()),
                self.tr("Search looks in every kind of record. Try a shorter word or check "
                        "the spelling."),
                self.tr("Clear the search"))
        elif self._filters_active():
            self._list_empty.set_icon("search")
            self._list_empty.set_texts(
                self.tr("No records match these filters"),
                self.tr("Records are kept; the filters only hide them."),
                self.tr("Clear filters"))
        else:
            self._list_empty.set_icon(KIND_ICONS[self._kind.value])
            self._list_empty.set_texts(*self._empty_kind_texts(), self.new_kind_text())

    def _empty_kind_texts(self) -> tuple[str, str]:
        if self._kind is Kind.TRAINING:
            return (self.tr("No training records yet"),
                    self.tr("Record a training you took part in: its dates, hours and what "
                            "you will use in class."))
        if self._kind is Kind.EXCHANGE:
            return (self.tr("No exchange logs yet"),
                    self.tr("Note a visit, a shared lesson or a meeting with a partner school."))
        return (self.tr("No lesson plans yet"),
                self.tr("Write your first lesson plan: its topic, the class and the steps of "
                        "the lesson. It is saved as you type."))

    # --- for the window and tests ----------------------------------------------

    def list_model(self) -> RecordTableModel:
        return self._list_model

    def search_model(self) -> SearchResultsModel:
        return self._search_model

    def table(self) -> QTableView:
        return self._table


__all__ = ["FIND_ROW_LIMIT", "KIND_ICONS", "SEARCH_DELAY_MS", "RecordListPage"]
