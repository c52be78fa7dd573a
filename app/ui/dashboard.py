"""The dashboard: figures per cohort and per fellow, with bar charts and CSV export.

Trainers choose a cohort and a fellow; fellows see their own figures (their
store holds only their records). Lesson plans submitted / approved /
returned, training hours in a date range, exchange activities by type, and
reviews waiting longer than N days. The figures are computed on the
``TaskRunner`` (they scan every record), the charts are painted by
``app.ui.charts`` and "Export CSV…" writes the same table through the store
(UTF-8 with BOM, so Excel and WPS read the Chinese names).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models import reviews
from app.models.fields import Kind, kind_spec
from app.models.reviews import Dashboard, DashboardRow, PersonInfo
from app.models.store import Store
from app.sync import replica
from app.ui import style
from app.ui.charts import BarChart, Series, format_number
from app.ui.empty_state import EmptyStack, EmptyState, window_action
from app.ui.i18n import tr_choice
from app.ui.review_panel import REVIEWER_ROLES
from app.ui.tasks import TaskRunner, log_failure
from app.ui.widgets import (
    DateFilterEdit,
    filter_combo,
    read_only_flags,
    refill_combo,
    select_all_on_focus,
)

log = logging.getLogger("fieldbook.ui")

_Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()
MAX_STALE_DAYS = 365


def two_lines(label: str, longer_than: int = 12) -> str:
    """A long header on two lines, broken at the space nearest its middle:
    the exchange types' English names made the table wider than a 1366-px
    screen, with a sideways scroll bar hiding the last columns."""
    if len(label) <= longer_than or " " not in label:
        return label
    middle = len(label) / 2
    cut = min((i for i, char in enumerate(label) if char == " "), key=lambda i: abs(i - middle))
    return f"{label[:cut]}\n{label[cut + 1:]}"


@dataclasses.dataclass(frozen=True)
class DashboardQuery:
    """What the user chose; passed as is to ``reviews.dashboard``."""

    cohort: str | None = None
    owner: int | None = None
    start: Any = None  # dt.date | None
    end: Any = None
    stale_days: int = reviews.DEFAULT_STALE_DAYS


@dataclasses.dataclass(frozen=True)
class DashboardData:
    dashboard: Dashboard
    people: list[PersonInfo]
    cohorts: list[str]
    role: str | None


def load_dashboard(store: Store, query: DashboardQuery) -> DashboardData:
    """Runs on the writer thread."""
    figures = reviews.dashboard(store, query.cohort, query.owner, query.start, query.end,
                                query.stale_days)
    return DashboardData(figures, reviews.people(store), reviews.cohorts(store),
                         replica.sync_meta(store).role)


def exchange_label(code: str) -> str:
    spec = kind_spec(Kind.EXCHANGE).by_name.get("exchange_type")
    return (tr_choice(spec, code) if spec is not None else "") or code


def column_value(row: DashboardRow, key: str) -> object:
    if key.startswith("exchange:"):
        return row.exchanges.get(key.removeprefix("exchange:"), 0)
    return getattr(row, key, "")


def has_figures(figures: Dashboard) -> bool:
    """Anything to count: otherwise the page shows its empty state, not a grid of zeros."""
    totals = figures.totals
    return bool(totals.lessons_submitted or totals.training_hours or totals.exchange_total
                or totals.stale_reviews)


class DashboardModel(QAbstractTableModel):
    """One row per fellow and the totals last; columns as the CSV has them."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._dashboard: Dashboard | None = None
        self._keys: list[str] = []

    def set_dashboard(self, dashboard: Dashboard | None) -> None:
        self.beginResetModel()
        self._dashboard = dashboard
        self._keys = [] if dashboard is None else reviews.dashboard_columns(dashboard)
        self.endResetModel()

    def keys(self) -> list[str]:
        return list(self._keys)

    def labels(self) -> dict[str, str]:
        """Translated column titles by key (also the CSV header)."""
        stale = self._dashboard.stale_days if self._dashboard else reviews.DEFAULT_STALE_DAYS
        labels = {
            "name": self.tr("Fellow"),
            "school": self.tr("School"),
            "lessons_submitted": self.tr("Lesson plans submitted"),
            "lessons_approved": self.tr("Approved"),
            "lessons_returned": self.tr("Returned"),
            "lessons_waiting": self.tr("Waiting"),
            "training_hours": self.tr("Training hours"),
            "exchange_total": self.tr("Exchange activities"),
            "stale_reviews": self.tr("Waiting > {days} days").format(days=stale),
            "total": self.tr("Total"),  # the name of the totals row
        }
        for key in self._keys:
            if key.startswith("exchange:"):
                labels[key] = exchange_label(key.removeprefix("exchange:"))
        return labels

    def _rows(self) -> list[DashboardRow]:
        if self._dashboard is None:
            return []
        return [*self._dashboard.rows, self._dashboard.totals]

    def rowCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows())

    def columnCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._keys)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        return read_only_flags(index)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        rows = self._rows()
        if not index.isValid() or index.parent().isValid():
            return None
        if not (0 <= index.row() < len(rows) and 0 <= index.column() < len(self._keys)):
            return None
        row, key = rows[index.row()], self._keys[index.column()]
        totals = index.row() == len(rows) - 1
        if role == Qt.ItemDataRole.DisplayRole:
            if key == "name" and totals:
                return self.tr("Total")
            value = column_value(row, key)
            return format_number(float(value)) if isinstance(value, int | float) else str(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and key not in ("name", "school"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and totals:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role in (
                Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if 0 <= section < len(self._keys):
                label = self.labels().get(self._keys[section], self._keys[section])
                return two_lines(label) if role == Qt.ItemDataRole.DisplayRole else label
            return None
        return super().headerData(section, orientation, role)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LanguageChange and self._keys:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self._keys) - 1)
        return super().event(event)


class DashboardPage(QWidget):
    """Filters, the figures table, three charts and "Export CSV…"."""

    loaded = Signal()
    message = Signal(str)  # for the status bar

    def __init__(self, store: Store, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dashboard_page")
        self._store, self._runner = store, runner
        self._generation = 0
        self._data: DashboardData | None = None
        self._model = DashboardModel(self)
        self._build()
        self.retranslate()

    # --- building -------------------------------------------------------------------

    def _build(self) -> None:
        self._title = QLabel(self)
        self._title.setObjectName("dashboard_title")
        style.mark_role(self._title, "page_title")
        self._cohort = filter_combo(self, "dashboard_cohort", self.reload)
        self._fellow = filter_combo(self, "dashboard_fellow", self.reload)
        self._from = DateFilterEdit(self)
        self._from.setObjectName("dashboard_from")
        self._to = DateFilterEdit(self)
        self._to.setObjectName("dashboard_to")
        for edit in (self._from, self._to):
            edit.dateChanged.connect(lambda _date: self.reload())
        self._stale = QSpinBox(self)
        self._stale.setObjectName("dashboard_stale_days")
        self._stale.setRange(1, MAX_STALE_DAYS)
        self._stale.setValue(reviews.DEFAULT_STALE_DAYS)
        select_all_on_focus(self._stale)  # the number typed replaces the one shown
        self._stale.valueChanged.connect(lambda _value: self.reload())
        self._export = QPushButton(self)
        self._export.setObjectName("dashboard_export")
        self._export.clicked.connect(lambda _checked=False: self.export_csv())
        self._labels = {name: QLabel(self) for name in ("cohort", "fellow", "from", "to", "stale")}
        self._summary = QLabel(self)
        self._summary.setObjectName("dashboard_summary")
        self._summary.setWordWrap(True)
        self._table = QTableView(self)
        self._table.setObjectName("dashboard_table")
        self._table.setModel(self._model)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.verticalHeader().setVisible(False)
        self._table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self._lessons_chart = BarChart(self)
        self._lessons_chart.setObjectName("chart_lessons")
        self._hours_chart = BarChart(self)
        self._hours_chart.setObjectName("chart_hours")
        self._exchange_chart = BarChart(self)
        self._exchange_chart.setObjectName("chart_exchanges")
        self._lay_out()

    def _lay_out(self) -> None:
        top, bottom = QHBoxLayout(), QHBoxLayout()
        for row, key, widget in ((top, "cohort", self._cohort), (top, "fellow", self._fellow),
                                 (bottom, "from", self._from), (bottom, "to", self._to),
                                 (bottom, "stale", self._stale)):
            self._labels[key].setBuddy(widget)
            row.addWidget(self._labels[key])
            row.addWidget(widget)
        top.addStretch(1)
        top.addWidget(self._export)
        bottom.addStretch(1)
        charts = QWidget()
        column = QVBoxLayout(charts)
        column.setContentsMargins(0, 0, 0, 0)
        for chart in (self._lessons_chart, self._hours_chart, self._exchange_chart):
            column.addWidget(chart)
        column.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setObjectName("dashboard_charts")
        scroll.setWidgetResizable(True)
        scroll.setWidget(charts)
        figures = QWidget(self)
        figures_layout = QVBoxLayout(figures)
        figures_layout.setContentsMargins(0, 0, 0, 0)
        figures_layout.addWidget(self._summary)
        figures_layout.addWidget(self._table, 1)
        figures_layout.addWidget(scroll, 1)
        # No figures at all: say what the dashboard counts and offer to sync.
        self._empty = EmptyState("dashboard_empty", "dashboard", self,
                                 action=window_action(self, "action_sync_now"))
        self._stack = EmptyStack(figures, self._empty, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.addWidget(self._title)
        layout.addLayout(top)
        layout.addLayout(bottom)
        layout.addWidget(self._stack, 1)

    # --- language --------------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self._title.setText(self.tr("Dashboard"))
        texts = {"cohort": self.tr("Cohort:"), "fellow": self.tr("Fellow:"), "from": self.tr("From:"),
                 "to": self.tr("To:"), "stale": self.tr("Waiting longer than:")}
        for key, text in texts.items():
            self._labels[key].setText(text)
        for edit in (self._from, self._to):
            edit.setToolTip(self.tr("“—” means any date"))
        self._stale.setSuffix(self.tr(" days"))
        self._export.setText(self.tr("Export CSV…"))
        self._export.setToolTip(self.tr("Save these figures as a spreadsheet file (CSV)"))
        for chart in (self._lessons_chart, self._hours_chart, self._exchange_chart):
            chart.set_empty_text(self.tr("Nothing to show for these filters."))
        self._empty.set_texts(
            self.tr("No figures yet"),
            self.tr("The dashboard counts lesson plans handed in for review, training hours and "
                    "exchanges. Submit a record, or sync to bring in your cohort's records."),
            self.tr("Sync now"))
        self._fill_filters()
        self._render()

    # --- filters --------------------------------------------------------------------------------

    def query(self) -> DashboardQuery:
        cohort, owner = self._cohort.currentData(), self._fellow.currentData()
        return DashboardQuery(
            cohort=str(cohort) if cohort else None,
            owner=int(owner) if owner is not None else None,
            start=self._from.value(),
            end=self._to.value(),
            stale_days=self._stale.value(),
        )

    def set_stale_days(self, days: int) -> None:
        self._stale.setValue(days)

    def _reviewer(self) -> bool:
        return self._data is not None and self._data.role in REVIEWER_ROLES

    def _fill_filters(self) -> None:
        data = self._data
        refill_combo(self._cohort, [(self.tr("All cohorts"), None)]
                     + [(c, c) for c in (data.cohorts if data else [])])
        fellows = [p for p in (data.people if data else []) if p.role == "fellow"]
        refill_combo(self._fellow, [(self.tr("All fellows"), None)] + [(p.name, p.id) for p in fellows])
        reviewer = self._reviewer()
        for widget in (self._cohort, self._fellow, self._labels["cohort"], self._labels["fellow"]):
            widget.setVisible(reviewer)  # a fellow sees their own figures only

    # --- loading ---------------------------------------------------------------------------------

    def reload(self) -> None:
        """Compute the figures again (off the GUI thread)."""
        self._generation += 1
        generation, query, store = self._generation, self.query(), self._store
        self._runner.submit(lambda: load_dashboard(store, query),
                            lambda data: self._on_loaded(generation, data),
                            lambda exc: self._on_failed(generation, exc))

    def _on_loaded(self, generation: int, data: DashboardData) -> None:
        if generation != self._generation:
            return
        self._data = data
        self._fill_filters()
        self._render()
        self.loaded.emit()

    def _on_failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        log_failure("Could not compute the dashboard", exc)
        self._summary.setText(self.tr("Could not compute the figures: {error}").format(error=exc))

    def dashboard(self) -> Dashboard | None:
        return self._data.dashboard if self._data else None

    # --- showing ---------------------------------------------------------------------------------

    def _render(self) -> None:
        figures = self.dashboard()
        self._model.set_dashboard(figures)
        self._export.setEnabled(figures is not None)
        self._stack.set_empty(figures is not None and not has_figures(figures))
        if figures is None:
            self._summary.setText("")
            return
        totals = figures.totals
        self._summary.setText(self.tr(
            "{submitted} lesson plans submitted, {approved} approved, {returned} returned; "
            "{hours} training hours; {exchanges} exchange activities; "
            "{stale} reviews waiting longer than {days} days.").format(
            submitted=totals.lessons_submitted, approved=totals.lessons_approved,
            returned=totals.lessons_returned, hours=format_number(totals.training_hours),
            exchanges=totals.exchange_total, stale=totals.stale_reviews, days=figures.stale_days))
        self._summary.setStyleSheet("color: #b3261e;" if totals.stale_reviews else "")
        self._paint_charts(figures)

    def _paint_charts(self, figures: Dashboard) -> None:
        names = [row.name for row in figures.rows]
        rows = figures.rows
        self._lessons_chart.set_data(self.tr("Lesson plans per fellow"), names, [
            Series(self.tr("Submitted"), tuple(float(r.lessons_submitted) for r in rows)),
            Series(self.tr("Approved"), tuple(float(r.lessons_approved) for r in rows)),
            Series(self.tr("Returned"), tuple(float(r.lessons_returned) for r in rows)),
        ])
        self._hours_chart.set_data(self.tr("Training hours per fellow"), names, [
            Series(self.tr("Hours"), tuple(float(r.training_hours) for r in rows), "#ff7f0e")])
        codes = list(figures.exchange_types)
        self._exchange_chart.set_data(
            self.tr("Exchange activities by type"), [exchange_label(c) for c in codes],
            [Series(self.tr("Activities"), tuple(float(figures.totals.exchanges.get(c, 0)) for c in codes),
                    "#9467bd")])

    # --- export -----------------------------------------------------------------------------------

    def export_csv(self) -> None:
        """Ask where, then write the CSV on the writer thread."""
        figures = self.dashboard()
        if figures is None:
            return
        path, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Export the dashboard"), str(Path.home() / self.tr("dashboard.csv")),
            self.tr("CSV files (*.csv)"))
        if not path:
            return
        target = Path(path) if path.lower().endswith(".csv") else Path(path + ".csv")
        labels = self._model.labels()

        def done(written: object) -> None:
            self.message.emit(self.tr("Saved the dashboard to {path}").format(path=written))

        def fail(exc: Exception) -> None:
            log_failure("Could not save the dashboard", exc)
            self.message.emit(self.tr("Could not save the dashboard: {error}").format(error=exc))

        self._runner.submit(lambda: reviews.export_dashboard_csv(figures, target, labels=labels),
                            done, fail)

    # --- for tests ----------------------------------------------------------------------------------

    def model(self) -> DashboardModel:
        return self._model

    def charts(self) -> list[BarChart]:
        return [self._lessons_chart, self._hours_chart, self._exchange_chart]

    def summary(self) -> str:
        return self._summary.text()


__all__ = ["DashboardModel", "DashboardPage", "DashboardQuery", "load_dashboard"]
