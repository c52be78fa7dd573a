"""Small widget helpers shared by the pages and panels."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import (
    QCoreApplication,
    QDate,
    QDateTime,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSignalBlocker,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QFocusEvent,
    QFont,
    QInputMethodEvent,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QValidator,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolTip,
    QWidget,
)

from app.models.dates import parse_date
from app.models.validation import MAX_YEAR, MIN_YEAR
from app.ui import style

READ_ONLY_FLAGS = (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                   | Qt.ItemFlag.ItemNeverHasChildren)


def read_only_flags(index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
    """``flags()`` of a table whose cells can be selected but not edited."""
    return READ_ONLY_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags


def set_bold(widget: QWidget) -> None:
    font = QFont(widget.font())
    font.setBold(True)
    widget.setFont(font)


def make_button(parent: QWidget, name: str, slot: Callable[[], None]) -> QPushButton:
    button = QPushButton(parent)
    button.setObjectName(name)
    button.clicked.connect(lambda _checked=False: slot())
    return button


def filter_combo(parent: QWidget, name: str, changed: Callable[[], None]) -> QComboBox:
    """A compact combo box that calls ``changed`` whenever the user picks an item."""
    combo = QComboBox(parent)
    combo.setObjectName(name)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(8)
    combo.currentIndexChanged.connect(lambda _index: changed())
    return combo


def refill_combo(combo: QComboBox, items: list[tuple[str, object]]) -> None:
    """(Re)label a combo box's items, keeping what is chosen, without signals."""
    current = combo.currentData()
    with QSignalBlocker(combo):
        combo.clear()
        for text, data in items:
            combo.addItem(text, data)
        combo.setCurrentIndex(max(0, combo.findData(current)) if current is not None else 0)


# --- numbers: what is there is selected, so typing replaces it -------------------


class _SelectAllOnFocus(QObject):
    """Selects a spin box's whole text whenever it gets the focus, so the
    number typed next replaces the one shown ("20" over "0" is 20, not 200)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FocusIn and isinstance(watched, QAbstractSpinBox):
            select_all_now_and_after_click(watched, event)
        return False


def select_all_now_and_after_click(box: QAbstractSpinBox, event: QEvent) -> None:
    """Select at once: a key that opened a table cell's editor is delivered
    right after the focus and must replace the text. After a click, select
    again once the press has placed the cursor (which drops the selection)."""
    box.selectAll()
    if isinstance(event, QFocusEvent) and event.reason() == Qt.FocusReason.MouseFocusReason:
        QTimer.singleShot(0, box, box.selectAll)


def select_all_on_focus(box: QAbstractSpinBox) -> None:
    """Make ``box`` select its content whenever editing starts (focus by Tab,
    click or a table opening it as a cell editor)."""
    box.installEventFilter(_SelectAllOnFocus(box))


# --- dates: typed whole, in the ways teachers write them -------------------------

NO_DATE = QDate(MIN_YEAR - 1, 12, 31)  # a date edit's "—": one day before the earliest allowed
LAST_DATE = QDate(MAX_YEAR, 12, 31)
_STEP_KEYS = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)
_EDITING_KEYS = (Qt.Key.Key_Backspace, Qt.Key.Key_Delete, Qt.Key.Key_Left, Qt.Key.Key_Right,
                 Qt.Key.Key_Home, Qt.Key.Key_End)


def to_qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


class TypedDateEdit(QDateEdit):
    """A date edit that takes a whole typed date: 2026-07-20, 2026/7/20,
    2026.7.20, 2026年7月20日 or 20260720 (``app.models.dates.parse_date``).

    Qt's own date edit types into sections (year, month, day) and turns
    "2026-07-20" into 2026-12-07. Here, typing switches the box to plain text
    until Enter, leaving the field or an arrow key reads it. While the text is
    typed the box holds its "no date" value, which keeps Qt's section logic
    away from the text (it ignores the text of a box showing its special
    value); the date before typing is kept and is what the box stands for
    until then. Text that is not a date is refused with ``rejected_text``:
    with ``keep_invalid`` it stays on screen (the form shows why beside it),
    else the earlier date comes back with a message under the box. The
    minimum date is "no date", shown as "—"; from it the arrows and the
    calendar start at today.
    """

    rejected_text = Signal(str)  # the text that is not a date

    def __init__(self, parent: QWidget | None = None, *, keep_invalid: bool = False) -> None:
        super().__init__(parent)
        self._keep_invalid = keep_invalid
        self._before_typing: QDate | None = None  # set while the user types a date
        self.setCalendarPopup(True)
        self.setDisplayFormat("yyyy-MM-dd")
        self.setDateRange(NO_DATE, LAST_DATE)
        self.setSpecialValueText("—")
        self.setDate(NO_DATE)
        self.setKeyboardTracking(False)  # a half-typed date is no date yet

    # --- what the box stands for ------------------------------------------------

    def is_typing(self) -> bool:
        return self._before_typing is not None

    def is_empty(self) -> bool:
        return self.effective_date() == self.minimumDate()

    def effective_date(self) -> QDate:
        """The date in effect: while a date is being typed, the one before."""
        return self._before_typing if self._before_typing is not None else self.date()

    def typed_value(self) -> dt.date | str | None:
        """What the box shows, read as a date: None for no date, the date
        (even outside the range, so validation can say why), or the text
        itself when it names no date."""
        if self._before_typing is None:
            date = self.date()
            return None if self.is_empty() else dt.date(date.year(), date.month(), date.day())
        text = self.lineEdit().text().strip()
        if not text or text == self.specialValueText():
            return None
        try:
            return parse_date(text)
        except ValueError:
            return text

    def setDate(self, date: QDate | dt.date) -> None:
        """Show ``date``, ending any typing (loading a record, a filter reset)."""
        self._before_typing = None
        super().setDate(date if isinstance(date, QDate) else to_qdate(date))

    # --- Qt's hooks: the text means what parse_date reads ----------------------------

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        acceptable = self._date_of(text) is not None
        return (QValidator.State.Acceptable if acceptable else QValidator.State.Intermediate,
                text, pos)

    def dateTimeFromText(self, text: str) -> QDateTime:
        return QDateTime(self._date_of(text) or self.minimumDate(), self.dateTime().time())

    def _date_of(self, text: str) -> QDate | None:
        """The date ``text`` names within the range; the minimum for "—" or
        nothing; None if it names none."""
        text = text.strip()
        if not text or text == self.specialValueText():
            return self.minimumDate()
        try:
            date = to_qdate(parse_date(text))
        except ValueError:
            return None
        return date if self.minimumDate() < date <= self.maximumDate() else None

    # --- typing ----------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._starts_or_continues_typing(event):
            self._begin_typing()
            self.lineEdit().event(event)
            return
        if self._before_typing is not None:
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if self.commit_typing():
                    self.editingFinished.emit()
                    event.ignore()  # as Qt's date edit does: a dialog's default button still works
                return
            if key == Qt.Key.Key_Escape:
                self._cancel_typing()
                return
            if key in _STEP_KEYS and not self.commit_typing():
                return
        super().keyPressEvent(event)

    def _starts_or_continues_typing(self, event: QKeyEvent) -> bool:
        if self.isReadOnly():
            return False
        if event.matches(QKeySequence.StandardKey.Paste):
            return True
        if event.key() in _EDITING_KEYS and not event.modifiers() & ~(
                Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier):
            return True
        text = event.text()
        plain = not event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier
                                          | Qt.KeyboardModifier.KeypadModifier)
        return plain and bool(text) and text.isprintable()

    def inputMethodEvent(self, event: QInputMethodEvent) -> None:
        if event.commitString() and not self.isReadOnly():
            self._begin_typing()  # 年, 月, 日 or full-width digits from a Chinese input method
        super().inputMethodEvent(event)

    def _begin_typing(self) -> None:
        if self._before_typing is not None:
            return
        line = self.lineEdit()
        text, start, length = line.text(), line.selectionStart(), len(line.selectedText())
        cursor = line.cursorPosition()
        before = self.date()
        with QSignalBlocker(self):
            super().setDate(self.minimumDate())
        self._before_typing = before
        shown = "" if text == self.specialValueText() else text
        line.setText(shown)
        if shown and length:
            line.setSelection(start, length)
        elif shown:
            line.setCursorPosition(cursor)

    def commit_typing(self) -> bool:
        """Read the typed text: True if it named a date (now shown), else
        False (kept with ``keep_invalid``, else the earlier date is back)."""
        if self._before_typing is None:
            return True
        text = self.lineEdit().text()
        date = self._date_of(text)
        if date is None:
            self.rejected_text.emit(text.strip())
            if not self._keep_invalid:
                self._cancel_typing()
                self._show_rejection(text.strip())
            return False
        before, self._before_typing = self._before_typing, None
        with QSignalBlocker(self):
            super().setDate(before)
        super().setDate(date)  # dateChanged only if the date really changed
        return True

    def _cancel_typing(self) -> None:
        before = self._before_typing
        if before is not None:
            self._before_typing = None
            with QSignalBlocker(self):
                super().setDate(before)

    def rejection_message(self, text: str) -> str:
        # translate() with the class named: self.tr() would look under the subclass's name
        return QCoreApplication.translate(
            "TypedDateEdit", "“{text}” is not a date. Type it like 2026-07-20, 2026/7/20 or "
            "2026年7月20日.").format(text=text)

    def _show_rejection(self, text: str) -> None:
        """Say why under the box, once the click that left it has been handled
        (a tooltip shown during a mouse press is closed by that press)."""
        message = self.rejection_message(text)
        QTimer.singleShot(0, self, lambda: QToolTip.showText(
            self.mapToGlobal(QPoint(0, self.height())), message, self))

    # --- focus, calendar, arrows, wheel ------------------------------------------------

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)  # Qt selects a section; the whole date is what one retypes
        if event.reason() != Qt.FocusReason.PopupFocusReason:
            select_all_now_and_after_click(self, event)

    def focusNextPrevChild(self, next: bool) -> bool:
        """Tab leaves the date for the next field; Qt's date edit would walk
        its year, month and day first, but a date here is typed whole."""
        return QWidget.focusNextPrevChild(self, next)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        if self._before_typing is not None and not self.commit_typing():
            # Kept on screen with its message: Qt would put back the earlier date.
            self.lineEdit().event(event)
            QWidget.focusOutEvent(self, event)
            return
        super().focusOutEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._before_typing is not None and not self.commit_typing():
            self._cancel_typing()  # the calendar shows the date in effect
        super().mousePressEvent(event)
        if self.is_empty():  # open the calendar on this month, not on December 1899
            today = QDate.currentDate()
            self.calendarWidget().setCurrentPage(today.year(), today.month())

    def stepBy(self, steps: int) -> None:
        if self.is_empty() and steps:
            self.setDate(QDate.currentDate())  # from "—" the arrows start at today, not 1900
            return
        super().stepBy(steps)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
        else:  # scrolling the page must not change the date under the pointer
            event.ignore()


class DateFilterEdit(TypedDateEdit):
    """A date filter with an "any date" value (shown as "—") below the real range."""

    def value(self) -> dt.date | None:
        date = self.effective_date()
        if date == self.minimumDate():
            return None
        return dt.date(date.year(), date.month(), date.day())

    def clear_value(self) -> None:
        self.setDate(self.minimumDate())


class HeadedDialog(QDialog):
    """A dialog that opens with an icon, a heading and a sentence of what it
    is for (the room's two dialogs); ``retranslate`` sets every text and runs
    again on ``LanguageChange``."""

    def __init__(self, name: str, icon: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._icon = QLabel(self)
        self._icon.setPixmap(style.icon(icon, style.ACCENT).pixmap(QSize(40, 40)))
        self._title = QLabel(self)
        style.mark_role(self._title, "heading")
        self._intro = QLabel(self)
        self._intro.setWordWrap(True)
        style.mark_role(self._intro, "subtle")

    def heading(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(self._icon)
        row.addWidget(self._title, 1)
        return row

    def set_heading(self, title: str, intro: str) -> None:
        self.setWindowTitle(title)
        self._title.setText(title)
        self._intro.setText(intro)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        raise NotImplementedError


__all__ = ["LAST_DATE", "NO_DATE", "READ_ONLY_FLAGS", "DateFilterEdit", "HeadedDialog", "TypedDateEdit",
           "filter_combo", "make_button", "read_only_flags", "refill_combo",
           "select_all_on_focus", "set_bold", "to_qdate"]
