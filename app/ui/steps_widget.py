"""The lesson procedure: an editable table of steps with their minutes.

A lesson plan's procedure is a short list of phases (导入, 新授, 练习, 小结 …),
each with its minutes and what the teacher and the students do. Teachers
think of it as a table, so it is one: rows can be added, removed and moved,
and the total of the minutes is shown underneath so the plan can be checked
against the lesson's duration (the editor shows the warning itself).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.fields import STEP_KEYS, STEP_LABELS, STEPS_MAX
from app.ui.widgets import select_all_on_focus

MINUTES_MAX = 600
PHASE_MAX = 200  # the same limits validation applies to a step's texts
ACTIVITY_MAX = 5_000
_MINUTES_COLUMN = STEP_KEYS.index("minutes")
_VISIBLE_ROWS = (3, 10)  # the table grows with its rows between these, then scrolls

Index = QModelIndex | QPersistentModelIndex


class MinutesDelegate(QStyledItemDelegate):
    """Edits the minutes cell with a spin box, so only whole numbers 0-600 get in.

    Like the text cells, it commits as the user types: an open cell editor then
    never holds text that autosave or a flush cannot see.
    """

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        del option, index
        editor = QSpinBox(parent)
        editor.setRange(0, MINUTES_MAX)
        editor.setFrame(False)
        editor.setAlignment(Qt.AlignmentFlag.AlignRight)
        select_all_on_focus(editor)  # "20" typed over the 0 shown is 20, not 200
        editor.valueChanged.connect(lambda _value: self.commitData.emit(editor))
        return editor

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        assert isinstance(editor, QSpinBox)
        minutes = minutes_of(index.data(Qt.ItemDataRole.EditRole))
        if editor.value() != minutes:  # our own live commit comes back here: keep the cursor
            blocked = editor.blockSignals(True)  # showing the value is not an edit to commit
            editor.setValue(minutes)
            editor.blockSignals(blocked)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        assert isinstance(editor, QSpinBox)
        editor.interpretText()
        model.setData(index, editor.value(), Qt.ItemDataRole.EditRole)


class TextDelegate(QStyledItemDelegate):
    """A plain line editor that stops at the length validation allows and
    commits as the user types (see ``MinutesDelegate``)."""

    def __init__(self, max_length: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._max_length = max_length

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        del option, index
        editor = QLineEdit(parent)
        editor.setMaxLength(self._max_length)
        editor.setFrame(False)
        editor.textEdited.connect(lambda _text: self.commitData.emit(editor))
        return editor

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        assert isinstance(editor, QLineEdit)
        text = str(index.data(Qt.ItemDataRole.EditRole) or "")
        if editor.text() != text:
            editor.setText(text)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        assert isinstance(editor, QLineEdit)
        model.setData(index, editor.text(), Qt.ItemDataRole.EditRole)


def minutes_of(value: Any) -> int:
    """A cell's minutes as an int; anything unreadable counts as 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return 0


class StepsWidget(QWidget):
    """The procedure table with its buttons and total; emits ``changed`` on any edit
    by the user (never for ``set_value``)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None, *, max_steps: int = STEPS_MAX) -> None:
        super().__init__(parent)
        self._max_steps = max_steps
        self._filling = False
        self._read_only = False
        self.table = self._make_table()
        self._edit_triggers = self.table.editTriggers()
        self.add_button = QPushButton(self)
        self.remove_button = QPushButton(self)
        self.up_button = QPushButton(self)
        self.down_button = QPushButton(self)
        self.total_label = QLabel(self)
        self._name_widgets()
        self._lay_out()
        self._connect()
        self.retranslate()
        self._after_change()

    # --- building ------------------------------------------------------------

    def _make_table(self) -> QTableWidget:
        table = QTableWidget(0, len(STEP_KEYS), self)
        table.setItemDelegateForColumn(_MINUTES_COLUMN, MinutesDelegate(table))
        table.setItemDelegateForColumn(STEP_KEYS.index("phase"), TextDelegate(PHASE_MAX, table))
        for key in ("teacher", "students"):
            table.setItemDelegateForColumn(STEP_KEYS.index(key), TextDelegate(ACTIVITY_MAX, table))
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setWordWrap(True)
        table.setCornerButtonEnabled(False)  # one step at a time: a nameless "select all" helps no one
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(_MINUTES_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        table.setColumnWidth(0, 140)
        return table

    def _name_widgets(self) -> None:
        self.table.setObjectName("steps_table")
        for name, button in (
            ("steps_add", self.add_button),
            ("steps_remove", self.remove_button),
            ("steps_up", self.up_button),
            ("steps_down", self.down_button),
        ):
            button.setObjectName(name)
        self.total_label.setObjectName("steps_total")

    def _lay_out(self) -> None:
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        # The total gets its own line so the pane stays narrow enough for a
        # small laptop screen without a sideways scroll bar.
        layout.addWidget(self.total_label, 0, Qt.AlignmentFlag.AlignRight)
        layout.addLayout(buttons)

    def _connect(self) -> None:
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.currentCellChanged.connect(self._update_buttons)
        self.add_button.clicked.connect(self.add_step)
        self.remove_button.clicked.connect(self.remove_step)
        self.up_button.clicked.connect(lambda: self.move_step(-1))
        self.down_button.clicked.connect(lambda: self.move_step(1))

    def retranslate(self) -> None:
        """Re-label for the current language (headers come from the core's labels)."""
        self.table.setHorizontalHeaderLabels(
            [QCoreApplication.translate("Field", STEP_LABELS[key]) for key in STEP_KEYS]
        )
        self.add_button.setText(self.tr("Add step"))
        self.remove_button.setText(self.tr("Remove step"))
        self.up_button.setText(self.tr("Move up"))
        self.down_button.setText(self.tr("Move down"))
        self._update_total()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def focus_chain(self) -> list[QWidget]:
        """What Tab visits here, in visual order: the table, then its buttons."""
        return [self.table, self.add_button, self.remove_button, self.up_button, self.down_button]

    # --- value ---------------------------------------------------------------

    def value(self) -> list[dict[str, Any]]:
        """The steps as the store keeps them: dicts with phase, minutes, teacher, students."""
        return [self._row_value(row) for row in range(self.table.rowCount())]

    def set_value(self, steps: list[dict[str, Any]]) -> None:
        """Show ``steps`` without emitting ``changed`` (loading is not editing)."""
        self._fill(steps)
        self._after_change()

    def total_minutes(self) -> int:
        return sum(int(step["minutes"]) for step in self.value())

    def _row_value(self, row: int) -> dict[str, Any]:
        step: dict[str, Any] = {}
        for column, key in enumerate(STEP_KEYS):
            item = self.table.item(row, column)
            if key == "minutes":
                step[key] = minutes_of(item.data(Qt.ItemDataRole.EditRole) if item else 0)
            else:
                step[key] = item.text() if item else ""
        return step

    def _fill(self, steps: list[dict[str, Any]]) -> None:
        self._filling = True
        try:
            self.table.setRowCount(0)
            for step in steps:
                self._insert_row(self.table.rowCount(), step)
        finally:
            self._filling = False

    def _insert_row(self, row: int, step: dict[str, Any]) -> None:
        self.table.insertRow(row)
        for column, key in enumerate(STEP_KEYS):
            item = QTableWidgetItem()
            if key == "minutes":
                item.setData(Qt.ItemDataRole.EditRole, minutes_of(step.get(key) or 0))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            else:
                item.setText(str(step.get(key) or ""))
            self.table.setItem(row, column, item)

    # --- actions -------------------------------------------------------------

    def add_step(self) -> None:
        """Add an empty step after the selected one (or at the end) and start typing its phase."""
        if self.table.rowCount() >= self._max_steps:
            return
        current = self.table.currentRow()
        row = current + 1 if current >= 0 else self.table.rowCount()
        self._filling = True
        try:
            self._insert_row(row, {})
        finally:
            self._filling = False
        self.table.setCurrentCell(row, 0)
        self._user_changed()
        phase = self.table.item(row, 0)
        if phase is not None:
            self.table.editItem(phase)

    def remove_step(self) -> None:
        row = self.table.currentRow()
        if row < 0:
            return
        self.table.removeRow(row)
        if self.table.rowCount():
            self.table.setCurrentCell(min(row, self.table.rowCount() - 1), 0)
        self._user_changed()

    def move_step(self, offset: int) -> None:
        """Move the selected step up (-1) or down (+1)."""
        row = self.table.currentRow()
        target = row + offset
        if row < 0 or not 0 <= target < self.table.rowCount():
            return
        steps = self.value()
        steps[row], steps[target] = steps[target], steps[row]
        column = max(self.table.currentColumn(), 0)
        self._fill(steps)
        self.table.setCurrentCell(target, column)
        self._user_changed()

    # --- reacting ------------------------------------------------------------

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        del item
        if not self._filling:
            self._user_changed()

    def _user_changed(self) -> None:
        self._after_change()
        self.changed.emit()

    def _after_change(self) -> None:
        self._update_total()
        self._update_buttons()
        self._fit_height()

    def _update_total(self) -> None:
        total = self.total_minutes()
        self.total_label.setText(self.tr("Total: {minutes} min").format(minutes=total))

    def set_read_only(self, read_only: bool) -> None:
        """Show the steps without letting them change (a record under review)."""
        self._read_only = read_only
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.NoEditTriggers if read_only else self._edit_triggers)
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            button.setVisible(not read_only)
        self._update_buttons()

    def _update_buttons(self) -> None:
        if self._read_only:
            for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
                button.setEnabled(False)
            return
        row, count = self.table.currentRow(), self.table.rowCount()
        self.add_button.setEnabled(count < self._max_steps)
        self.remove_button.setEnabled(0 <= row < count)
        self.up_button.setEnabled(0 < row < count)
        self.down_button.setEnabled(0 <= row < count - 1)

    def _fit_height(self) -> None:
        """Grow with the rows up to a limit, so a short procedure needs no inner scrolling."""
        low, high = _VISIBLE_ROWS
        rows = max(low, min(high, self.table.rowCount()))
        row_height = self.table.verticalHeader().defaultSectionSize()
        header = self.table.horizontalHeader().sizeHint().height()
        frame = 2 * self.table.frameWidth()
        scrollbar = self.table.horizontalScrollBar().sizeHint().height()
        self.table.setFixedHeight(header + rows * row_height + frame + scrollbar)
