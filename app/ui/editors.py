"""Editor pane for one record of any kind, saving by itself as the teacher types.

The form is built from the field registry (``app.models.fields``), so a new
field needs no change here. Every keystroke re-runs the core's validation to
show problems beside the fields; a short pause (or at most a few seconds of
continuous typing) saves what changed. Fields with a blocking problem are held
back while the rest is saved, so one bad number never costs the paragraph
typed next to it.

Saves run on the runner's single writer thread. They are pipelined: a save
started while another is in flight is queued behind it rather than waiting
for it, which keeps ``flush()`` complete even when the app quits right away.
A new record gets its id here, up front, so the first save creates it and
every later one (even one queued before the create has returned) updates it.
Edits whose save failed after the user moved to another record are kept and
retried with the next save, and shown again if that record is reopened.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QCoreApplication, QDate, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QFont, QKeyEvent, QValidator, QWheelEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import (
    DiskFullError,
    FieldbookError,
    RecordNotFound,
    StoreBusyError,
    StoreError,
    ValidationFailed,
)
from app.models.fields import FieldSpec, FieldType, kind_spec
from app.models.store import RecordData, SaveResult, Store
from app.models.validation import MAX_YEAR, MIN_YEAR, Problem, empty_value, validate_record
from app.ui import i18n, style
from app.ui.steps_widget import StepsWidget
from app.ui.tasks import TaskRunner, report_failure
from app.ui.widgets import TypedDateEdit, select_all_on_focus

log = logging.getLogger("fieldbook.ui")

AUTOSAVE_DELAY_MS = 700  # quiet time after the last edit
AUTOSAVE_MAX_DELAY_MS = 3_000  # longest an edit waits while typing goes on
SAVE_STATES = ("idle", "pending", "saving", "saved", "invalid", "failed")
NO_DATE = QDate(MIN_YEAR - 1, 12, 31)  # the date edits' "—": one day before the earliest allowed
LAST_DATE = QDate(MAX_YEAR, 12, 31)
FLOAT_DECIMALS = 1  # every FLOAT field is hours
BLOCKING_COLOUR = "#b3261e"  # the value is not saved
WARNING_COLOUR = "#8a5300"  # saved, but worth a look
_LONGTEXT_LINES = 6
_COMPACT_WIDTH = 180
_INT_LIMIT = 2_000_000_000


@dataclass(frozen=True)
class FieldTexts:
    """Strings the field inputs show, translated by the editor (a QObject)."""

    dash: str = "—"
    tag_separator: str = ", "
    tags_hint: str = ""
    clear_date: str = ""


# --- the inputs, one adapter per field type ----------------------------------


def _ignore_wheel_unless_focused(widget: QWidget, event: QWheelEvent) -> bool:
    """Scrolling the form must not change the number or choice under the pointer."""
    if widget.hasFocus():
        return False
    event.ignore()
    return True


class _ChoiceBox(QComboBox):
    def wheelEvent(self, e: QWheelEvent) -> None:
        if not _ignore_wheel_unless_focused(self, e):
            super().wheelEvent(e)


def _number_body(box: QSpinBox | QDoubleSpinBox, text: str) -> str:
    """``text`` without the spin box's prefix and suffix (the unit)."""
    prefix, suffix = box.prefix(), box.suffix()
    if prefix and text.startswith(prefix):
        text = text[len(prefix):]
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)]
    return text.strip()


def _validate_number(
    box: QSpinBox | QDoubleSpinBox,
    text: str,
    pos: int,
    base: Callable[[str, int], tuple[QValidator.State, str, int]],
) -> tuple[QValidator.State, str, int]:
    """Accept empty text (no value), let digits typed over the "—" replace it, and
    keep an out-of-range number on screen (Intermediate) so the editor can say
    why it is not saved; Qt would otherwise just drop the key."""
    special = box.specialValueText()
    if special and text.startswith(special) and text != special:
        text, pos = text[len(special):], max(0, pos - len(special))
    body = _number_body(box, text)
    if not body:
        return QValidator.State.Acceptable, text, pos
    if _outside(box, _parse_number(box, body)):
        return QValidator.State.Intermediate, text, pos
    return base(text, pos)


def _outside(box: QSpinBox | QDoubleSpinBox, number: float | None) -> bool:
    """A typed number the field does not allow (the box's minimum is the "—")."""
    return number is not None and not box.minimum() < number <= box.maximum()


def _typed_outside(box: QSpinBox | QDoubleSpinBox) -> bool:
    value = _raw_number(box)
    return isinstance(value, int | float) and _outside(box, value)


def _leave_uncorrected(box: QSpinBox | QDoubleSpinBox, event: QFocusEvent) -> None:
    """Leave the field without Qt's correction, which would silently put back an
    earlier value (often a digit of what was being typed): the number stays on
    screen with its message, and is not saved, until the user fixes it."""
    box.lineEdit().event(event)
    QWidget.focusOutEvent(box, event)


def _parse_number(box: QSpinBox | QDoubleSpinBox, body: str) -> int | float | None:
    if isinstance(box, QSpinBox):
        try:
            return int(body)
        except ValueError:
            return None
    number, ok = box.locale().toDouble(body)
    if ok:
        return number
    try:
        return float(body)
    except ValueError:
        return None


def _raw_number(box: QSpinBox | QDoubleSpinBox) -> Any:
    """What the user typed: None for "—"/empty, a number (even out of range) or
    the unreadable text itself (validation then names the problem)."""
    text = box.lineEdit().text()
    if text == box.specialValueText():
        return None
    body = _number_body(box, text)
    if not body:
        return None
    number = _parse_number(box, body)
    return body if number is None else number


class _UncorrectedNumber:
    """Spin-box behaviour for both number boxes: an out-of-range number the
    user typed stays on screen with its message instead of Qt silently
    "correcting" it to some earlier value (which autosave would then store)."""

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        return _validate_number(self, text, pos, super().validate)  # type: ignore[misc, arg-type]

    def focusOutEvent(self, event: QFocusEvent) -> None:
        if _typed_outside(self):  # type: ignore[arg-type]
            _leave_uncorrected(self, event)  # type: ignore[arg-type]
        else:
            super().focusOutEvent(event)  # type: ignore[misc]

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and _typed_outside(self):  # type: ignore[arg-type]
            event.ignore()  # Enter would "correct" it too
            return
        super().keyPressEvent(event)  # type: ignore[misc]

    def wheelEvent(self, event: QWheelEvent) -> None:
        if not _ignore_wheel_unless_focused(self, event):  # type: ignore[arg-type]
            super().wheelEvent(event)  # type: ignore[misc]


class _IntBox(_UncorrectedNumber, QSpinBox):
    pass


class _FloatBox(_UncorrectedNumber, QDoubleSpinBox):
    pass


class _DateBox(TypedDateEdit):
    """A form's date, typed whole or picked (see ``TypedDateEdit``); text that
    is no date stays on screen with validation's message beside it."""

    def __init__(self) -> None:
        super().__init__(keep_invalid=True)


class FieldInput:
    """One field's input widget: reads the raw value for validation, shows a stored one."""

    compact = False  # a narrow widget, kept at the left instead of stretched

    def __init__(self, spec: FieldSpec, widget: QWidget, container: QWidget | None = None) -> None:
        self.spec = spec
        self.widget = widget
        self.container = container or widget
        widget.setObjectName(f"field_{spec.name}")

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def on_change(self, slot: Callable[[], None]) -> None:
        raise NotImplementedError

    def retranslate(self, texts: FieldTexts) -> None:
        """Most inputs show no text of their own."""

    def focus_chain(self) -> list[QWidget]:
        """The widgets Tab visits in this field, in visual order."""
        return [self.widget]

    def set_read_only(self, read_only: bool) -> None:
        """Show the value without letting it change (a submitted or approved
        record, someone else's record). Text stays selectable where it can."""
        self.container.setEnabled(not read_only)


class _TextInput(FieldInput):
    def __init__(self, spec: FieldSpec) -> None:
        self.edit = QLineEdit()
        if spec.max_length:
            self.edit.setMaxLength(spec.max_length)
        super().__init__(spec, self.edit)

    def value(self) -> Any:
        return self.edit.text()

    def set_value(self, value: Any) -> None:
        self.edit.setText(str(value or ""))
        self.edit.setCursorPosition(0)

    def on_change(self, slot: Callable[[], None]) -> None:
        self.edit.textChanged.connect(lambda *_: slot())

    def set_read_only(self, read_only: bool) -> None:
        self.edit.setReadOnly(read_only)


class _LongTextInput(FieldInput):
    def __init__(self, spec: FieldSpec) -> None:
        self.edit = QPlainTextEdit()
        self.edit.setTabChangesFocus(True)
        line = self.edit.fontMetrics().lineSpacing()
        self.edit.setFixedHeight(line * _LONGTEXT_LINES + 2 * self.edit.frameWidth() + 8)
        super().__init__(spec, self.edit)

    def value(self) -> Any:
        return self.edit.toPlainText()

    def set_value(self, value: Any) -> None:
        self.edit.setPlainText(str(value or ""))

    def on_change(self, slot: Callable[[], None]) -> None:
        self.edit.textChanged.connect(slot)

    def set_read_only(self, read_only: bool) -> None:
        self.edit.setReadOnly(read_only)


class _ChoiceInput(FieldInput):
    compact = True

    def __init__(self, spec: FieldSpec) -> None:
        self.combo = _ChoiceBox()
        self.combo.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.combo.setMinimumWidth(_COMPACT_WIDTH)
        self.combo.addItem("—", None)
        for choice in spec.choices:
            self.combo.addItem(choice.label, choice.code)
        super().__init__(spec, self.combo)

    def value(self) -> Any:
        return self.combo.currentData()

    def set_value(self, value: Any) -> None:
        self.combo.setCurrentIndex(max(0, self.combo.findData(value)) if value else 0)

    def on_change(self, slot: Callable[[], None]) -> None:
        self.combo.currentIndexChanged.connect(lambda *_: slot())

    def retranslate(self, texts: FieldTexts) -> None:
        self.combo.setItemText(0, texts.dash)
        for index, choice in enumerate(self.spec.choices, start=1):
            self.combo.setItemText(index, i18n.tr_choice(self.spec, choice.code))


class _NamedNumberInput(_ChoiceInput):
    """An INT field whose numbers have names (grades: 学前, 一年级 … 高三),
    picked from a list; the stored value stays the number."""

    def __init__(self, spec: FieldSpec) -> None:
        super().__init__(spec)
        for index, choice in enumerate(spec.choices, start=1):
            self.combo.setItemData(index, int(choice.code))

    def set_value(self, value: Any) -> None:  # 0 (学前) is a value, not "none"
        self.combo.setCurrentIndex(max(0, self.combo.findData(value)) if value is not None else 0)


class _NumberInput(FieldInput):
    """INT and FLOAT: the spin box's minimum, one below the field's, means "no value"."""

    compact = True

    def __init__(self, spec: FieldSpec) -> None:
        self.box: QSpinBox | QDoubleSpinBox
        low = spec.minimum if spec.minimum is not None else -_INT_LIMIT
        high = spec.maximum if spec.maximum is not None else _INT_LIMIT
        if spec.type is FieldType.INT:
            self.box = _IntBox()
            self.box.setRange(int(low) - 1, int(high))
        else:
            self.box = _FloatBox()
            self.box.setDecimals(FLOAT_DECIMALS)
            self.box.setRange(float(low) - 1, float(high))
            self.box.setSingleStep(0.5)
        self.box.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.box.setMinimumWidth(_COMPACT_WIDTH)
        self.box.setAlignment(Qt.AlignmentFlag.AlignRight)
        select_all_on_focus(self.box)  # the number typed replaces the one shown
        self._exact: tuple[str, Any] | None = None  # a stored value finer than the display
        super().__init__(spec, self.box)

    def value(self) -> Any:
        if self._exact is not None and self._exact[0] == self.box.lineEdit().text():
            return self._exact[1]
        return _raw_number(self.box)

    def set_value(self, value: Any) -> None:
        if isinstance(self.box, QSpinBox):
            self.box.setValue(self.box.minimum() if value is None else int(value))
        else:
            self.box.setValue(self.box.minimum() if value is None else float(value))
        self._exact = (self.box.lineEdit().text(), value)

    def on_change(self, slot: Callable[[], None]) -> None:
        # The box's own signal covers arrows and wheel; the line edit's covers
        # typing, including numbers out of range; editingFinished the revert
        # Qt makes (silently) when the field is left with such a number.
        self.box.textChanged.connect(lambda *_: slot())
        self.box.lineEdit().textChanged.connect(lambda *_: slot())
        self.box.editingFinished.connect(slot)

    def retranslate(self, texts: FieldTexts) -> None:
        self.box.setSpecialValueText(texts.dash)
        if self.spec.unit:
            self.box.setSuffix(" " + QCoreApplication.translate("Field", self.spec.unit))

    def set_read_only(self, read_only: bool) -> None:
        self.box.setReadOnly(read_only)


class _DateInput(FieldInput):
    compact = True

    def __init__(self, spec: FieldSpec) -> None:
        self.date_edit = _DateBox()
        self.date_edit.setDateRange(NO_DATE, LAST_DATE)
        self.date_edit.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.date_edit.setMinimumWidth(_COMPACT_WIDTH)
        self.clear_button = QToolButton()
        self.clear_button.setObjectName(f"clear_{spec.name}")
        self.clear_button.setText("×")
        self.clear_button.setAutoRaise(True)
        self.clear_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes on to the next field
        self.clear_button.clicked.connect(lambda: self.date_edit.setDate(NO_DATE))
        self.date_edit.dateChanged.connect(self._update_clear)
        container = QWidget()
        row = QHBoxLayout(container)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.date_edit)
        row.addWidget(self.clear_button)
        super().__init__(spec, self.date_edit, container)
        self._update_clear()

    def value(self) -> Any:
        return self.date_edit.typed_value()  # a date being typed counts as typed

    def set_value(self, value: Any) -> None:
        if isinstance(value, dt.date):
            self.date_edit.setDate(QDate(value.year, value.month, value.day))
        else:
            self.date_edit.setDate(NO_DATE)

    def on_change(self, slot: Callable[[], None]) -> None:
        self.date_edit.dateChanged.connect(lambda *_: slot())
        self.date_edit.lineEdit().textEdited.connect(lambda *_: slot())  # typing a date

    def retranslate(self, texts: FieldTexts) -> None:
        self.date_edit.setSpecialValueText(texts.dash)
        self.clear_button.setToolTip(texts.clear_date)
        self.clear_button.setAccessibleName(texts.clear_date)

    def set_read_only(self, read_only: bool) -> None:
        self.date_edit.setReadOnly(read_only)
        self._update_clear()

    def _update_clear(self) -> None:
        self.clear_button.setEnabled(not self.date_edit.is_empty() and not self.date_edit.isReadOnly())


class _BoolInput(FieldInput):
    compact = True

    def __init__(self, spec: FieldSpec) -> None:
        self.check = QCheckBox()
        super().__init__(spec, self.check)

    def value(self) -> Any:
        return self.check.isChecked()

    def set_value(self, value: Any) -> None:
        self.check.setChecked(bool(value))

    def on_change(self, slot: Callable[[], None]) -> None:
        self.check.toggled.connect(lambda *_: slot())


class _TagsInput(FieldInput):
    """Tags typed as one line; validation splits on , ， 、 ; and spaces."""

    def __init__(self, spec: FieldSpec) -> None:
        self.edit = QLineEdit()
        self._separator = FieldTexts.tag_separator
        super().__init__(spec, self.edit)

    def value(self) -> Any:
        return self.edit.text()

    def set_value(self, value: Any) -> None:
        tags = value if isinstance(value, list) else []
        self.edit.setText(self._separator.join(str(tag) for tag in tags))
        self.edit.setCursorPosition(0)

    def on_change(self, slot: Callable[[], None]) -> None:
        self.edit.textChanged.connect(lambda *_: slot())

    def retranslate(self, texts: FieldTexts) -> None:
        self._separator = texts.tag_separator
        self.edit.setPlaceholderText(texts.tags_hint)

    def set_read_only(self, read_only: bool) -> None:
        self.edit.setReadOnly(read_only)


class _StepsInput(FieldInput):
    def __init__(self, spec: FieldSpec) -> None:
        self.steps = StepsWidget(max_steps=spec.max_length or 50)
        super().__init__(spec, self.steps)

    def focus_chain(self) -> list[QWidget]:
        return self.steps.focus_chain()

    def value(self) -> Any:
        return self.steps.value()

    def set_value(self, value: Any) -> None:
        self.steps.set_value(value if isinstance(value, list) else [])

    def on_change(self, slot: Callable[[], None]) -> None:
        self.steps.changed.connect(slot)

    def retranslate(self, texts: FieldTexts) -> None:
        self.steps.retranslate()

    def set_read_only(self, read_only: bool) -> None:
        self.steps.set_read_only(read_only)


_INPUTS: dict[FieldType, Callable[[FieldSpec], FieldInput]] = {
    FieldType.TEXT: _TextInput,
    FieldType.LONGTEXT: _LongTextInput,
    FieldType.CHOICE: _ChoiceInput,
    FieldType.INT: _NumberInput,
    FieldType.FLOAT: _NumberInput,
    FieldType.DATE: _DateInput,
    FieldType.BOOL: _BoolInput,
    FieldType.TAGS: _TagsInput,
    FieldType.STEPS: _StepsInput,
}


def make_input(spec: FieldSpec) -> FieldInput:
    if spec.type is FieldType.INT and spec.choices:
        return _NamedNumberInput(spec)
    return _INPUTS[spec.type](spec)


# --- saving bookkeeping --------------------------------------------------------


@dataclass
class _Save:
    """One write sent to the runner."""

    kind: str
    record_id: str
    changes: dict[str, Any]
    create: bool
    after_create: bool = False  # an update queued behind a create not yet confirmed
    author: str = ""
    generation: int = -1  # the editor's generation when sent; -1 for a retry of a left record


def _perform(store: Store, save: _Save) -> RecordData | SaveResult:
    """Runs on the writer thread."""
    if save.create:
        return store.create(save.kind, save.changes, author=save.author, record_id=save.record_id)
    return store.update(save.record_id, save.changes)


@dataclass
class _Evaluation:
    """The form as validation sees it."""

    raw: dict[str, Any]
    clean: dict[str, Any]
    problems: dict[str, Problem]
    held: set[str] = field(default_factory=set)  # not sent: a blocking problem involves them

    def changes(self, base: Mapping[str, Any]) -> dict[str, Any]:
        """Valid values that differ from ``base``."""
        return {
            name: value
            for name, value in self.clean.items()
            if name not in self.held and value != base.get(name)
        }

    def differs(self, base: Mapping[str, Any]) -> bool:
        """Anything on screen, valid or not, that ``base`` does not have."""
        return any(self.clean.get(name, raw) != base.get(name) for name, raw in self.raw.items())

    def held_back(self, base: Mapping[str, Any]) -> bool:
        return any(
            self.clean.get(name, self.raw.get(name)) != base.get(name) for name in self.held
        )


def _evaluate(kind: str, raw: dict[str, Any]) -> _Evaluation:
    clean, problems = validate_record(kind, raw)
    result = _Evaluation(raw, clean, problems)
    for name, problem in problems.items():
        if problem.blocking:
            result.held.add(name)
            result.held.update(problem.involves)
    return result


# --- the editor ----------------------------------------------------------------


class RecordEditor(QWidget):
    """Edits one record of any kind; saves by itself (autosave) and on flush()."""

    saved = Signal(object)  # RecordData, after any successful save
    # "idle" | "pending" | "saving" | "saved" | "invalid" | "failed"
    save_state_changed = Signal(str)
    record_shown = Signal(object)  # id of the stored record now shown, or None
    read_only_changed = Signal(bool)

    def __init__(self, store: Store, runner: TaskRunner, author: Callable[[], str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store, self._runner, self._author = store, runner, author
        self._kind: str | None = None
        self._record_id: str | None = None  # given up front, even to a new record
        self._stored = False  # the create has been confirmed (or the record was loaded)
        self._creating = False  # a create is on its way
        self._status = "draft"
        self._generation = 0  # bumped whenever another record is shown
        self._in_flight = 0  # saves of the current generation not yet answered
        self._confirmed: dict[str, Any] = {}  # what the store holds
        self._sent: dict[str, Any] = {}  # what the store will hold once saves in flight land
        self._orphans: dict[str, _Save] = {}  # failed edits of records no longer shown
        self._touched: set[str] = set()
        self._last_raw: dict[str, Any] = {}
        self._loading = False
        self._closing = False
        self._failed = False
        self._gone = False
        self._last_error = ""
        self._state = "idle"
        self._inputs: dict[str, FieldInput] = {}
        self._captions: dict[str, QLabel] = {}
        self._problems: dict[str, QLabel] = {}
        self._form_kind: str | None = None
        # Decides whether a stored record may be edited (set by the review UI):
        # (record id, status) -> read-only. None: everything is editable.
        self._lock_policy: Callable[[str, str], bool] | None = None
        self._read_only = False
        self._debounce = self._make_timer(AUTOSAVE_DELAY_MS)
        self._deadline = self._make_timer(AUTOSAVE_MAX_DELAY_MS)
        self._build()
        self.retranslate()

    # --- public interface ------------------------------------------------------

    def new_record(self, kind: str) -> None:
        """Show an empty form; nothing is stored until something is entered."""
        self._leave()
        spec = kind_spec(kind)
        empties = {f.name: empty_value(f) for f in spec.fields}
        self._show(spec.kind.value, str(uuid.uuid4()), empties, stored=False, status="draft")

    def load(self, record_id: str) -> None:
        """Save the shown record's pending edits, then show ``record_id``.

        Loading the record already shown keeps the form (it is newer than the
        store while saves are in flight) and only refreshes the status.
        """
        if record_id == self._record_id and self._stored and self._kind is not None:
            self._reload_status()
            return
        self._leave()
        try:
            record = self._store.get(record_id)
        except FieldbookError as exc:
            report_failure(exc)
            self._show_nothing()
            self._fail(self.tr("The record could not be opened: {reason}").format(
                reason=self._describe(exc)))
            return
        self._show(record.kind, record.id, record.values, stored=True, status=record.status)
        orphan = self._orphans.pop(record.id, None)
        if orphan is not None:  # its last edits failed to save: they are the user's, show them
            self._adopt(orphan.changes)

    def clear(self) -> None:
        """Save pending edits (quietly dropped if the record was just deleted), show nothing."""
        self._leave()
        self._show_nothing()

    def flush(self) -> None:
        """Send every pending edit to the writer now (Ctrl+S, switching, quitting)."""
        self._retry_orphans()
        if self._kind is not None:
            self._save()

    def reload(self) -> None:
        """Show the open record as the store has it now (after a sync or a
        resolved conflict), keeping the scroll position. Does nothing while it
        has edits not yet saved: those are the user's."""
        if self._kind is None or self._record_id is None or not self._stored or self.is_dirty():
            return
        try:
            record = self._store.get(self._record_id)
        except RecordNotFound:
            self.clear()  # removed by the sync
            return
        except FieldbookError as exc:
            report_failure(exc)
            return
        state, position = self._state, self._scroll.verticalScrollBar().value()
        self._show(record.kind, record.id, record.values, stored=True, status=record.status)
        self._scroll.verticalScrollBar().setValue(position)
        if state == "saved":
            self._set_state(state)

    def current_id(self) -> str | None:
        return self._record_id if self._stored else None

    def prepare_write(self) -> str | None:
        """Before a write of another part of the shown record (attaching a
        file): send pending edits and, for a new record nothing was typed into
        yet, its create. The writer runs tasks in order, so a task submitted
        after this finds the record stored. Returns its id, or None when
        nothing can be written (no record, read-only, deleted)."""
        if self._kind is None or self._record_id is None or self._gone or self._read_only:
            return None
        self.flush()
        if not self._stored and not self._creating:
            self._send({})
        return self._record_id

    def current_kind(self) -> str | None:
        return self._kind

    def is_dirty(self) -> bool:
        """Edits not yet in the store: pending, in flight, failed or held back as invalid."""
        if self._orphans:
            return True
        if self._kind is None or self._gone:
            return False
        return self._in_flight > 0 or self._evaluation().differs(self._confirmed)

    def last_error(self) -> str:
        return self._last_error

    def save_state(self) -> str:
        return self._state

    def set_lock_policy(self, policy: Callable[[str, str], bool] | None) -> None:
        """Who may edit what is decided outside the editor (the review workflow:
        submitted and approved records, others' records); the editor asks the
        policy whenever it shows a record or learns its new status."""
        self._lock_policy = policy
        self._apply_lock()

    def is_read_only(self) -> bool:
        return self._read_only

    def locks(self, record_id: str, status: str) -> bool:
        """Whether the policy makes a record read-only, shown or not (the
        window asks it before deleting a record selected but not yet open)."""
        return self._lock_policy is not None and self._lock_policy(record_id, status)

    def field_widget(self, name: str) -> QWidget:
        """The input of field ``name`` (``field_<name>``) in the shown form."""
        return self._inputs[name].widget

    def problem_label(self, name: str) -> QLabel:
        return self._problems[name]

    def retranslate(self) -> None:
        """Re-label everything in the current language."""
        texts = self._field_texts()
        for name, field_input in self._inputs.items():
            self._captions[name].setText(i18n.tr_field(field_input.spec))
            field_input.widget.setAccessibleName(i18n.tr_field(field_input.spec))
            field_input.retranslate(texts)
        self._placeholder.setText(
            self.tr("No record is open. Choose one from the list or create a new one."))
        self._update_header()
        self._refresh_problems()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # --- building --------------------------------------------------------------

    def _make_timer(self, msecs: int) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(msecs)
        timer.timeout.connect(self._save)
        return timer

    def _build(self) -> None:
        self._kind_label = QLabel(self)
        self._kind_label.setObjectName("editor_kind")
        font = QFont(self._kind_label.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self._kind_label.setFont(font)
        self._status_label = QLabel(self)
        self._status_label.setObjectName("editor_status")
        header = QHBoxLayout()
        header.addWidget(self._kind_label)
        header.addWidget(self._status_label)
        header.addStretch(1)
        self._scroll = QScrollArea(self)
        self._scroll.setObjectName("editor_scroll")
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._placeholder = QLabel(self)
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setWordWrap(True)
        self._layout = QVBoxLayout(self)
        self._layout.addLayout(header)
        self._layout.addWidget(self._scroll, 1)
        self._layout.addWidget(self._placeholder, 1)
        self._show_form(False)

    def add_footer(self, widget: QWidget) -> None:
        """Place ``widget`` below the form, outside its scroll area, so it stays
        in view however long the form is (the attachments strip)."""
        self._layout.addWidget(widget)

    def _ensure_form(self, kind: str) -> None:
        """Build the form for ``kind`` from the registry (reused while the kind stays)."""
        if self._form_kind == kind:
            return
        page = QWidget()
        page.setObjectName("editor_form")
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # A row too wide for the pane puts its caption above the field: with
        # the English captions beside the steps table, the form was wider
        # than the editor at 1366 px and its right edge hid behind a scroll bar.
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self._inputs, self._captions, self._problems = {}, {}, {}
        for spec in kind_spec(kind).fields:
            if spec.in_form:  # attachments have their own strip (app/ui/attachments.py)
                self._add_row(form, make_input(spec))
        self._scroll.setWidget(page)  # deletes the previous kind's form
        self._set_tab_order()
        self._form_kind = kind
        self.retranslate()

    def _set_tab_order(self) -> None:
        """Tab goes down the form as it reads, whatever order the widgets were
        made in; the small date-clear buttons are left out (they take no focus)."""
        chain = [widget for field_input in self._inputs.values()
                 for widget in field_input.focus_chain()]
        for before, after in itertools.pairwise(chain):
            QWidget.setTabOrder(before, after)

    def focus_first_field(self) -> None:
        """Put the cursor in the form's first field (its title), so what the
        teacher types right after New lands there."""
        if self._inputs and not self._scroll.isHidden():
            first = next(iter(self._inputs.values())).widget
            first.setFocus(Qt.FocusReason.OtherFocusReason)

    def _add_row(self, form: QFormLayout, field_input: FieldInput) -> None:
        name = field_input.spec.name
        problem = QLabel()
        problem.setObjectName(f"problem_{name}")
        problem.setWordWrap(True)
        problem.setTextFormat(Qt.TextFormat.PlainText)
        problem.hide()
        cell = QWidget()
        column = QVBoxLayout(cell)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        if field_input.compact:
            column.addWidget(field_input.container, 0, Qt.AlignmentFlag.AlignLeft)
        else:
            column.addWidget(field_input.container)
        column.addWidget(problem)
        caption = QLabel()
        caption.setObjectName(f"caption_{name}")
        caption.setBuddy(field_input.widget)
        form.addRow(caption, cell)
        field_input.on_change(functools.partial(self._on_edit, name))
        self._inputs[name] = field_input
        self._captions[name], self._problems[name] = caption, problem

    def _field_texts(self) -> FieldTexts:
        return FieldTexts(
            dash=self.tr("—"),
            tag_separator=self.tr(", ", "between tags when a record's tags are shown"),
            tags_hint=self.tr("Separate tags with commas"),
            clear_date=self.tr("Clear the date"),
        )

    # --- showing ---------------------------------------------------------------

    def _show(self, kind: str, record_id: str, values: Mapping[str, Any], *, stored: bool,
              status: str) -> None:
        self._kind, self._record_id, self._stored, self._status = kind, record_id, stored, status
        self._confirmed, self._sent = dict(values), dict(values)
        self._ensure_form(kind)
        self._loading = True
        try:
            for name, field_input in self._inputs.items():
                field_input.set_value(values.get(name, empty_value(field_input.spec)))
        finally:
            self._loading = False
        self._last_raw = {name: f.value() for name, f in self._inputs.items()}
        self._show_form(True)
        self._scroll.verticalScrollBar().setValue(0)
        self._update_header()
        self._refresh_problems()
        self._settle_after_switch()
        self._apply_lock()
        self.record_shown.emit(self.current_id())

    def _show_nothing(self) -> None:
        self._kind, self._record_id, self._stored = None, None, False
        self._confirmed, self._sent, self._last_raw = {}, {}, {}
        self._show_form(False)
        self._update_header()
        self._settle_after_switch()
        self._apply_lock()
        self.record_shown.emit(None)

    def _settle_after_switch(self) -> None:
        """A fresh start, unless edits of a record left behind still wait to be saved."""
        if self._orphans:
            self._set_state("failed")
        else:
            self._last_error = ""
            self._set_state("idle")

    def _apply_lock(self) -> None:
        """Make the form read-only or editable as the policy says for the shown record."""
        locked = bool(
            self._lock_policy is not None and self._kind is not None and self._stored
            and self._record_id is not None and self._lock_policy(self._record_id, self._status)
        )
        for field_input in self._inputs.values():
            field_input.set_read_only(locked)
        if locked != self._read_only:
            self._read_only = locked
            self.read_only_changed.emit(locked)

    def _show_form(self, visible: bool) -> None:
        self._scroll.setVisible(visible)
        self._placeholder.setVisible(not visible)

    def _update_header(self) -> None:
        self._kind_label.setText(i18n.tr_kind(self._kind, plural=False) if self._kind else "")
        self._status_label.setText(i18n.tr_status(self._status) if self._kind else "")
        style.mark_status(self._status_label, self._status if self._kind else "")  # a coloured chip

    def _reload_status(self) -> None:
        self.flush()
        try:
            self._status = self._store.get(self._record_id or "").status
        except FieldbookError as exc:
            report_failure(exc)
        self._update_header()
        self._apply_lock()

    def _adopt(self, changes: Mapping[str, Any]) -> None:
        """Put unsaved values back into the form as edits (they save as usual)."""
        for name, value in changes.items():
            if name in self._inputs and name not in self._touched:
                self._inputs[name].set_value(value)

    # --- problems --------------------------------------------------------------

    def _evaluation(self) -> _Evaluation:
        assert self._kind is not None
        return _evaluate(self._kind, {name: f.value() for name, f in self._inputs.items()})

    def _refresh_problems(self) -> None:
        problems = self._evaluation().problems if self._kind else {}
        for name, label in self._problems.items():
            problem = problems.get(name)
            if problem is None or not self._shows(name, problem):
                label.hide()
                label.clear()
                continue
            label.setText(i18n.tr_problem(problem))
            colour = BLOCKING_COLOUR if problem.blocking else WARNING_COLOUR
            label.setStyleSheet(f"color: {colour};")
            label.show()

    def _shows(self, name: str, problem: Problem) -> bool:
        """"Required." waits until the record exists or the field was touched;
        everything else is shown at once."""
        return problem.blocking or bool(problem.involves) or self._stored or name in self._touched

    def problem_text(self, name: str) -> str:
        """The problem shown beside ``name`` ("" if none is shown)."""
        label = self._problems[name]
        return label.text() if not label.isHidden() else ""

    # --- editing and saving ----------------------------------------------------

    def _on_edit(self, name: str) -> None:
        if self._loading or self._kind is None or name not in self._inputs or self._read_only:
            return
        raw = self._inputs[name].value()
        if raw == self._last_raw.get(name):
            return  # a signal without a change (focus out, the same text again)
        self._last_raw[name] = raw
        self._touched.add(name)
        self._refresh_problems()
        self._debounce.start()
        if not self._deadline.isActive():
            self._deadline.start()
        self._set_state("pending")

    def _save(self) -> None:
        """Send what changed since the last save and is valid; hold back the rest."""
        self._debounce.stop()
        self._deadline.stop()
        if self._kind is None or self._gone:
            return
        evaluation = self._evaluation()
        changes = evaluation.changes(self._sent)
        if changes:
            self._retry_orphans()
            self._send(changes)
        elif self._in_flight == 0 and self._state != "idle":
            self._settle()

    def _send(self, changes: dict[str, Any]) -> None:
        assert self._kind is not None and self._record_id is not None
        create = not self._stored and not self._creating
        after_create = not self._stored and not create
        save = _Save(
            self._kind,
            self._record_id,
            changes,
            create=create,
            after_create=after_create,
            author=self._author() if not self._stored else "",
            generation=self._generation,
        )
        self._creating = self._creating or create
        self._sent.update(changes)
        self._in_flight += 1
        self._failed = False
        self._set_state("saving")
        self._submit(save)

    def _submit(self, save: _Save) -> None:
        self._runner.submit(
            functools.partial(_perform, self._store, save),
            functools.partial(self._on_saved, save),
            functools.partial(self._on_failed, save),
        )

    def _settle(self) -> None:
        """The state once nothing of the current record is in flight."""
        if self._kind is None:
            return
        evaluation = self._evaluation()
        if self._gone or self._orphans or (self._failed and evaluation.changes(self._confirmed)):
            self._set_state("failed")
            return
        self._failed = False
        if self._debounce.isActive():
            self._set_state("pending")
        elif evaluation.held_back(self._confirmed):
            self._set_state("invalid")
        else:
            self._set_state("saved")

    def _set_state(self, state: str) -> None:
        if state == self._state and state != "failed":
            return
        self._state = state
        self.save_state_changed.emit(state)

    def _fail(self, message: str) -> None:
        self._last_error = message
        self._set_state("failed")

    # --- answers from the writer -------------------------------------------------

    def _on_saved(self, save: _Save, result: RecordData | SaveResult) -> None:
        record = result.record if isinstance(result, SaveResult) else result
        if save.generation == self._generation:
            self._confirm(record)
        else:
            self._forget_orphaned(save)
        self.saved.emit(record)

    def _confirm(self, record: RecordData) -> None:
        self._in_flight -= 1
        self._stored, self._creating = True, False
        self._confirmed = dict(record.values)
        if record.status != self._status:
            self._status = record.status
            self._apply_lock()
        if not self._failed and not self._orphans:
            self._last_error = ""
        if self._in_flight == 0:
            self._sent = dict(self._confirmed)
        self._update_header()
        self._refresh_problems()
        if self._in_flight == 0:
            self._settle()

    def _forget_orphaned(self, save: _Save) -> None:
        """A save of a record no longer shown landed: what it carried is no longer
        owed, and once nothing is owed any more the failure is over."""
        kept = self._orphans.get(save.record_id)
        if kept is not None and kept is not save:
            kept.changes = {k: v for k, v in kept.changes.items() if k not in save.changes}
            if not kept.changes and not kept.create:
                del self._orphans[save.record_id]
        if not self._orphans and self._state == "failed" and not self._failed and not self._gone:
            self._last_error = ""
            if self._kind is None:
                self._set_state("idle")
            else:
                self._settle()

    def _on_failed(self, save: _Save, exc: Exception) -> None:
        current = save.generation == self._generation
        if current:
            self._in_flight -= 1
        if isinstance(exc, RecordNotFound):
            self._on_not_found(save, current)
            return
        report_failure(exc)
        reason = self._describe(exc)
        if not current:
            self._keep_orphan(save)
            self._fail(self._left_behind(reason))
            return
        self._failed = True
        self._creating = self._creating and not save.create
        self._sent = dict(self._confirmed)
        self._fail(reason)

    def _on_not_found(self, save: _Save, current: bool) -> None:
        if save.after_create:  # the create before it failed; that failure is what counts
            if not current:
                self._keep_orphan(save)
            elif self._in_flight == 0:
                self._settle()
            return
        if not current or self._closing:  # deleted, then left: nothing to save into
            log.info("Record %s is gone; its last edits were not saved", save.record_id)
            return
        self._gone = True
        self._fail(self.tr("This record has been deleted, so changes to it cannot be saved."))

    def _keep_orphan(self, save: _Save) -> None:
        """Remember failed edits of a record no longer current, to retry them."""
        if save.record_id == self._record_id and self._stored:
            self._adopt(save.changes)  # it is shown again: back into the form
            return
        kept = self._orphans.get(save.record_id)
        create = save.create or save.after_create
        if kept is None:
            self._orphans[save.record_id] = _Save(
                save.kind, save.record_id, dict(save.changes), create=create, author=save.author
            )
        else:
            kept.changes = {**kept.changes, **save.changes}
            kept.create = kept.create or create
            kept.author = kept.author or save.author

    def _retry_orphans(self) -> None:
        for record_id in list(self._orphans):
            save = self._orphans.pop(record_id)
            if save.create and not save.author:
                save.author = self._author()
            self._submit(save)

    def _leave(self) -> None:
        """Flush the shown record and forget it; edits whose save failed are kept."""
        if self._kind is not None and not self._gone:
            self._closing = True
            try:
                self.flush()
            finally:
                self._closing = False
            if self._failed:
                self._orphan_current()
        self._generation += 1
        self._in_flight = 0
        self._failed = self._gone = self._creating = False
        self._debounce.stop()
        self._deadline.stop()
        self._touched.clear()

    def _orphan_current(self) -> None:
        assert self._kind is not None and self._record_id is not None
        changes = self._evaluation().changes(self._confirmed)
        if not changes:
            return
        author = "" if self._stored else self._author()
        self._orphans[self._record_id] = _Save(
            self._kind, self._record_id, changes, create=not self._stored, author=author
        )
        self._last_error = self._left_behind(self._last_error)

    def _left_behind(self, reason: str) -> str:
        return self.tr("Changes to a record you left are not saved yet: {reason}").format(
            reason=reason)

    def _describe(self, exc: Exception) -> str:
        """Why a save failed, in words the teacher can act on."""
        if isinstance(exc, DiskFullError):
            return self.tr("The disk is full. Free some space; your changes are kept.")
        if isinstance(exc, StoreBusyError):
            return self.tr("Another program is using the data file. Your changes are kept.")
        if isinstance(exc, ValidationFailed):
            names = ", ".join(self._caption_of(name) for name in exc.problems)
            return self.tr("These fields could not be saved: {fields}.").format(fields=names)
        if isinstance(exc, RecordNotFound):
            return self.tr("The record no longer exists.")
        if isinstance(exc, StoreError):
            detail = exc.detail
            return self.tr("The data file could not be written: {detail}").format(detail=detail)
        return self.tr("An unexpected error stopped the save. Your changes are kept.")

    def _caption_of(self, name: str) -> str:
        field_input = self._inputs.get(name)
        return i18n.tr_field(field_input.spec) if field_input else name
