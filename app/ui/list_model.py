"""Table models for the record list and the search results.

Both page through the store: the first page is read when the query changes,
further pages only when the view asks for them (``canFetchMore`` /
``fetchMore``), so a store with thousands of records opens as fast as an
empty one. A model never holds a widget per row and never reads every row.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QIcon,
    QPainter,
    QPalette,
    QPixmap,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import QAbstractItemView, QStyleOptionViewItem, QTableView

from app.errors import FieldbookError
from app.models.fields import LISTED_KINDS, FieldSpec, FieldType, Status, kind_spec
from app.models.store import ListQuery, RecordRow, Store
from app.ui.i18n import format_datetime, tr_choice, tr_field, tr_kind, tr_status
from app.ui.widgets import read_only_flags

log = logging.getLogger("fieldbook.ui")

PAGE_SIZE = 200
RECORD_ID_ROLE = Qt.ItemDataRole.UserRole
KIND_ROLE = Qt.ItemDataRole.UserRole + 1
UNREAD_ROLE = Qt.ItemDataRole.UserRole + 2  # bool: the record has review entries not yet read
MARKER_COLOUR = "#1565c0"

_Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


def format_date(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else ""


def format_timestamp(value: dt.datetime) -> str:
    """A stored UTC time as local time, the one way the app shows a moment."""
    return format_datetime(value)


def format_cell(spec: FieldSpec, value: object) -> str:
    """How one field value reads in a list cell."""
    if value is None or value == "":
        return ""
    if spec.type is FieldType.CHOICE or spec.choices:  # an INT's numbers may have names (grades)
        return tr_choice(spec, str(value))
    if spec.type is FieldType.DATE:
        return format_date(value)
    if spec.type is FieldType.FLOAT and isinstance(value, int | float):
        return QLocale().toString(float(value), "f", 1)
    if spec.type is FieldType.INT and isinstance(value, int):
        return str(value)
    if spec.type is FieldType.BOOL:
        return "✓" if value else ""
    return str(value)


# --- column widths: from what a column can show, not from the rows loaded now ------

NAME_COLUMN_EM = 7  # a column of people's or schools' names, before any is listed
CAPPED_COLUMN_EM = 12  # a column of names or long choices: at most this wide, the rest in the tooltip
_SAMPLE_DAYS = (dt.date(2028, 12, 28), dt.date(2000, 10, 10))  # wide digits in most fonts
_SAMPLE_TIME = dt.datetime(2028, 12, 28, 23, 58, tzinfo=dt.UTC)


@dataclass(frozen=True)
class ColumnFit:
    """How a list column is sized. Sized from the rows loaded, the first
    hour's empty list would make "Planned date" as wide as its header and
    show "2026-12-…" once a record arrives; so the widest texts a column can
    show are measured instead."""

    texts: tuple[str, ...] = ()  # the widest texts it can hold (besides its header)
    stretch: bool = False  # the title: takes the room left
    capped: bool = False  # names, long choices: at most CAPPED_COLUMN_EM wide
    least_em: int = 0  # names: this many widths of "M" even before any is listed


def field_fit(spec: FieldSpec, *, title: bool = False) -> ColumnFit:
    """What a column showing field ``spec`` may hold."""
    if title:
        return ColumnFit(stretch=True)
    if spec.choices:
        return ColumnFit(tuple(tr_choice(spec, choice.code) for choice in spec.choices),
                         capped=True)
    if spec.type is FieldType.DATE:
        return ColumnFit(tuple(format_date(day) for day in _SAMPLE_DAYS))
    if spec.type in (FieldType.INT, FieldType.FLOAT):
        limits = [x for x in (spec.minimum, spec.maximum) if x is not None] or [99_999]
        return ColumnFit(tuple(format_cell(spec, int(x) if spec.type is FieldType.INT else
                                           float(x)) for x in limits))
    if spec.type is FieldType.BOOL:
        return ColumnFit(("✓",))
    return ColumnFit(capped=True)


def status_fit() -> ColumnFit:
    return ColumnFit(tuple(tr_status(status.value) for status in Status))


def timestamp_fit() -> ColumnFit:
    return ColumnFit((format_timestamp(_SAMPLE_TIME),))


def item_width(view: QAbstractItemView, column: int, text: str) -> int:
    """The width a cell of ``view``'s ``column`` needs to show ``text`` whole,
    as that column's delegate (a status chip…) and the style sheet's
    paddings draw it: the delegate measures a one-cell model holding it."""
    sample = QStandardItemModel(1, 1)
    sample.setItem(0, 0, QStandardItem(text))
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.font = view.font()
    option.fontMetrics = view.fontMetrics()
    delegate = view.itemDelegateForColumn(column) or view.itemDelegate()
    return delegate.sizeHint(option, sample.index(0, 0)).width()


def column_width(view: QTableView, column: int, fit: ColumnFit) -> int:
    """A column wide enough for its header and for every text ``fit`` names
    (and the rows loaded); a capped column stops at a few words."""
    header = view.horizontalHeader()
    header_width = header.sectionSizeFromContents(column).width()
    grid = 1 if view.showGrid() else 0  # as QTableView.sizeHintForColumn counts it
    content = max([view.sizeHintForColumn(column),
                   *(item_width(view, column, text) + grid for text in fit.texts)])
    em = view.fontMetrics().horizontalAdvance("M")
    if fit.capped:
        content = min(content, em * CAPPED_COLUMN_EM)
    return max(header_width, content, em * fit.least_em)


def _placeholder_brush() -> Any:
    return QGuiApplication.palette().brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)


_marker_icon: QIcon | None = None


def marker_icon() -> QIcon:
    """A small blue dot: "new review comments" (made once, after the app exists)."""
    global _marker_icon
    if _marker_icon is None:
        pixmap = QPixmap(10, 10)
        pixmap.fill(QColor(0, 0, 0, 0))
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QColor(0, 0, 0, 0))
        painter.setBrush(QColor(MARKER_COLOUR))
        painter.drawEllipse(1, 1, 8, 8)
        painter.end()
        _marker_icon = QIcon(pixmap)
    return _marker_icon


class _PagedModel(QAbstractTableModel):
    """Shared paging, id lookup and retranslation; subclasses fetch pages."""

    # A read failed (store busy, unreadable…): a message for the status bar.
    failed = Signal(str)

    def __init__(self, store: Store, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._rows: list[RecordRow] = []
        self._rows_by_id: dict[str, int] = {}
        self._exhausted = True
        self._marked: set[str] = set()  # records with unread review entries
        # Set while the model announces a change: a view or tester reacting
        # to that signal must not start fetching another page inside it.
        self._changing = False

    # --- paging ----------------------------------------------------------------

    def _page(self, offset: int, limit: int) -> list[RecordRow]:
        raise NotImplementedError

    def _read(self, offset: int, limit: int) -> list[RecordRow] | None:
        try:
            return self._page(offset, limit)
        except FieldbookError as exc:
            log.warning("Could not read the list: %s", exc)
            self.failed.emit(self.tr("Could not read the records: {error}").format(error=exc))
            return None

    def _load(self, limit: int) -> None:
        """Replace the rows with the first ``limit`` rows (no signals)."""
        rows = self._read(0, limit)
        self._set_rows(rows or [])
        self._exhausted = rows is None or len(rows) < limit

    def _set_rows(self, rows: list[RecordRow]) -> None:
        self._rows = []
        self._rows_by_id = {}
        for row in rows:
            if row.id not in self._rows_by_id:
                self._rows_by_id[row.id] = len(self._rows)
                self._rows.append(row)

    def _reload(self, limit: int = PAGE_SIZE) -> None:
        self.beginResetModel()
        self._load(limit)
        self._end_reset()

    def _end_reset(self) -> None:
        with self._announcing():
            self.endResetModel()

    @contextmanager
    def _announcing(self) -> Iterator[None]:
        """Around a signal that ends a change: no paging from its receivers."""
        self._changing = True
        try:
            yield
        finally:
            self._changing = False

    def canFetchMore(self, parent: _Index = _ROOT) -> bool:
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: _Index = _ROOT) -> None:
        if parent.isValid() or self._exhausted or self._changing:
            return
        page = self._read(len(self._rows), PAGE_SIZE)
        if page is None:
            self._exhausted = True
            return
        if len(page) < PAGE_SIZE:
            self._exhausted = True
        # A record changed since the last page may move across the page
        # boundary; never show it twice.
        fresh = [row for row in page if row.id not in self._rows_by_id]
        fresh = list({row.id: row for row in fresh}.values())
        if not fresh:
            return
        first = len(self._rows)
        self.beginInsertRows(_ROOT, first, first + len(fresh) - 1)
        for offset, row in enumerate(fresh):
            self._rows_by_id[row.id] = first + offset
        self._rows.extend(fresh)
        with self._announcing():
            self.endInsertRows()

    def refresh(self) -> None:
        """Read the rows again, as many as are loaded now.

        If the same records come back (edited, perhaps reordered) the views
        keep their selection and scroll position; otherwise the model resets.
        """
        limit = max(len(self._rows), PAGE_SIZE)
        rows = self._read(0, limit)
        if rows is None:
            return
        old_ids = [row.id for row in self._rows]
        new_ids = list(dict.fromkeys(row.id for row in rows))
        if len(new_ids) == len(rows) and set(new_ids) == set(old_ids):
            if new_ids == old_ids:
                self._set_rows(rows)
                self._exhausted = len(rows) < limit
                self._all_changed()
                return
            # Same records, new order: move the views' selection along.
            self.layoutAboutToBeChanged.emit()
            self._set_rows(rows)
            self._exhausted = len(rows) < limit
            persistent = self.persistentIndexList()
            moved = [
                self.index(self._rows_by_id[old_ids[index.row()]], index.column())
                if 0 <= index.row() < len(old_ids)
                else QModelIndex()
                for index in persistent
            ]
            self.changePersistentIndexList(persistent, moved)
            with self._announcing():
                self.layoutChanged.emit()
            return
        self.beginResetModel()
        self._set_rows(rows)
        self._exhausted = len(rows) < limit
        self._end_reset()

    def remove(self, record_id: str) -> bool:
        """Drop one record from the loaded rows (after it was deleted)."""
        row = self._rows_by_id.get(record_id)
        if row is None:
            return False
        self.beginRemoveRows(_ROOT, row, row)
        del self._rows[row]
        self._rows_by_id = {r.id: i for i, r in enumerate(self._rows)}
        with self._announcing():
            self.endRemoveRows()
        return True

    def row_of(self, record_id: str) -> int | None:
        return self._rows_by_id.get(record_id)

    def set_marked(self, record_ids: set[str]) -> None:
        """Mark the rows of these records (unread review entries); only changed rows repaint."""
        changed = (self._marked ^ record_ids) & self._rows_by_id.keys()
        self._marked = set(record_ids)
        last = self.columnCount() - 1
        for record_id in changed:
            row = self._rows_by_id[record_id]
            self.dataChanged.emit(self.index(row, 0), self.index(row, last))

    def record_id(self, row: int) -> str | None:
        return self._rows[row].id if 0 <= row < len(self._rows) else None

    def record_kind(self, row: int) -> str | None:
        return self._rows[row].kind if 0 <= row < len(self._rows) else None

    # --- Qt model ----------------------------------------------------------------

    def _headers(self) -> list[str]:
        raise NotImplementedError

    def _column_count(self) -> int:
        """Without translating the headers: Qt asks this for every cell."""
        raise NotImplementedError

    def _cell(self, row: RecordRow, column: int) -> tuple[str, bool]:
        """The text of one cell, and whether it is the untitled placeholder."""
        raise NotImplementedError

    def _numeric(self, column: int) -> bool:
        return False

    def column_fit(self, column: int) -> ColumnFit:
        """How column ``column`` is sized (see ``ColumnFit``)."""
        raise NotImplementedError

    def rowCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else self._column_count()

    def flags(self, index: _Index) -> Qt.ItemFlag:
        return read_only_flags(index)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        row_number, column = index.row(), index.column()
        if not (0 <= row_number < len(self._rows) and 0 <= column < self.columnCount()):
            return None
        row = self._rows[row_number]
        if role == RECORD_ID_ROLE:
            return row.id
        if role == KIND_ROLE:
            return row.kind
        if role == UNREAD_ROLE:
            return row.id in self._marked
        if row.id in self._marked:
            marked = self._marked_data(row, column, role)
            if marked is not None:
                return marked
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text, _placeholder = self._cell(row, column)
            return text
        if role == Qt.ItemDataRole.ForegroundRole:
            _text, placeholder = self._cell(row, column)
            return _placeholder_brush() if placeholder else None
        if role == Qt.ItemDataRole.TextAlignmentRole and self._numeric(column):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _marked_data(self, row: RecordRow, column: int, role: int) -> Any:
        """A record with unread review entries: a dot in its first cell, bold text."""
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return marker_icon()
        if role == Qt.ItemDataRole.ToolTipRole:
            text, _placeholder = self._cell(row, column)
            return self.tr("{text}\nNew review comments").format(text=text)
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            headers = self._headers()
            return headers[section] if 0 <= section < len(headers) else None
        return super().headerData(section, orientation, role)

    def untitled(self) -> str:
        return self.tr("(untitled)")

    # --- language ------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        # A parent widget forwards LanguageChange to its children, models included.
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        return super().event(event)

    def retranslate(self) -> None:
        """Re-label headers and cells after the language changed."""
        columns = self.columnCount()
        if columns:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, columns - 1)
        self._all_changed()

    def _all_changed(self) -> None:
        if self._rows and self.columnCount():
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._rows) - 1, self.columnCount() - 1)
            )


class RecordTableModel(_PagedModel):
    """The records of one kind that match a ``ListQuery``, one page at a time.

    Columns: the kind's ``list_columns``, then Author (for a trainer, whose
    lists hold many fellows' records), Status and Updated.
    """

    def __init__(self, store: Store, query: ListQuery, parent: QObject | None = None) -> None:
        super().__init__(store, parent)
        self._query = query
        self._with_author = False
        self._load(PAGE_SIZE)

    @property
    def with_author(self) -> bool:
        return self._with_author

    def set_author_column(self, shown: bool) -> None:
        """Show who wrote each record (a reviewer's lists) or not (a fellow's own)."""
        if shown == self._with_author:
            return
        self.beginResetModel()
        self._with_author = shown
        self.endResetModel()

    @property
    def query(self) -> ListQuery:
        return self._query

    def set_query(self, query: ListQuery) -> None:
        self._query = query
        self._reload()

    def total(self) -> int:
        """How many records match the query (loaded or not)."""
        try:
            return self._store.count(self._query)
        except FieldbookError as exc:
            log.warning("Could not count the records: %s", exc)
            return len(self._rows)

    def _page(self, offset: int, limit: int) -> list[RecordRow]:
        return self._store.list_rows(self._query, offset, limit)

    # --- columns ---------------------------------------------------------------

    def column_names(self) -> tuple[str, ...]:
        """The sort key of each column, as ``ListQuery.sort`` spells it."""
        names = self._query.sortable()
        if self._with_author:
            names = (*names[:-2], "author", *names[-2:])
        return names

    def column_of(self, sort: str) -> int | None:
        names = self.column_names()
        return names.index(sort) if sort in names else None

    def _column_count(self) -> int:
        return len(kind_spec(self._query.kind).list_columns) + 2 + self._with_author

    def _headers(self) -> list[str]:
        spec = kind_spec(self._query.kind)
        return [
            *(tr_field(spec.field(name)) for name in spec.list_columns),
            *([self.tr("Author")] if self._with_author else []),
            self.tr("Status"),
            self.tr("Updated"),
        ]

    def column_fit(self, column: int) -> ColumnFit:
        spec = kind_spec(self._query.kind)
        columns = spec.list_columns
        if column < len(columns):
            name = columns[column]
            return field_fit(spec.field(name), title=name == spec.title_field)
        if self._with_author:
            if column == len(columns):
                return ColumnFit(capped=True, least_em=NAME_COLUMN_EM)
            column -= 1
        return status_fit() if column == len(columns) else timestamp_fit()

    def _numeric(self, column: int) -> bool:
        spec = kind_spec(self._query.kind)
        if column >= len(spec.list_columns):
            return False
        kind = spec.field(spec.list_columns[column]).type
        return kind in (FieldType.INT, FieldType.FLOAT)

    def _cell(self, row: RecordRow, column: int) -> tuple[str, bool]:
        spec = kind_spec(self._query.kind)
        columns = spec.list_columns
        if column < len(columns):
            name = columns[column]
            value = row.cells[column] if column < len(row.cells) else None
            text = format_cell(spec.field(name), value)
            if name == spec.title_field and not text.strip():
                text, placeholder = self.untitled(), True
            else:
                placeholder = False
            if name == spec.title_field and row.revision > 1:
                text = self.tr("{title} · rev. {revision}").format(title=text, revision=row.revision)
            return text, placeholder
        if self._with_author:
            if column == len(columns):
                return row.author, False
            column -= 1
        if column == len(columns):
            return tr_status(row.status), False
        return format_timestamp(row.updated_at), False

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        names = self.column_names()
        if 0 <= column < len(names):
            sort, descending = names[column], order == Qt.SortOrder.DescendingOrder
        else:
            sort, descending = "updated_at", True
        if (sort, descending) == (self._query.sort, self._query.descending):
            return
        self.set_query(replace(self._query, sort=sort, descending=descending))


class SearchResultsModel(_PagedModel):
    """Records of every kind matching what the user typed, newest change first."""

    COLUMNS = 4  # Kind, Title, Date, Status

    def __init__(self, store: Store, parent: QObject | None = None) -> None:
        super().__init__(store, parent)
        self._text = ""

    @property
    def text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        self._text = text
        self._reload()

    def _page(self, offset: int, limit: int) -> list[RecordRow]:
        if not self._text.strip():
            return []
        return self._store.search(self._text, offset, limit)

    def _column_count(self) -> int:
        return 4

    def _headers(self) -> list[str]:
        return [self.tr("Kind"), self.tr("Title"), self.tr("Date"), self.tr("Status")]

    def column_fit(self, column: int) -> ColumnFit:
        if column == 0:
            return ColumnFit(tuple(tr_kind(kind.value, plural=False) for kind in LISTED_KINDS))
        if column == 1:
            return ColumnFit(stretch=True)
        if column == 2:
            return ColumnFit(tuple(format_date(day) for day in _SAMPLE_DAYS))
        return status_fit()

    def _cell(self, row: RecordRow, column: int) -> tuple[str, bool]:
        if column == 0:
            try:
                return tr_kind(row.kind, plural=False), False
            except ValueError:
                return row.kind, False
        if column == 1:
            title = str(row.cells[0] or "") if row.cells else ""
            text, placeholder = (title, False) if title.strip() else (self.untitled(), True)
            if row.revision > 1:
                text = self.tr("{title} · rev. {revision}").format(title=text, revision=row.revision)
            return text, placeholder
        if column == 2:
            return format_date(row.cells[1] if len(row.cells) > 1 else None), False
        return tr_status(row.status), False


__all__ = [
    "CAPPED_COLUMN_EM",
    "KIND_ROLE",
    "NAME_COLUMN_EM",
    "PAGE_SIZE",
    "RECORD_ID_ROLE",
    "UNREAD_ROLE",
    "ColumnFit",
    "RecordTableModel",
    "SearchResultsModel",
    "column_width",
    "field_fit",
    "item_width",
    "status_fit",
    "timestamp_fit",
]
