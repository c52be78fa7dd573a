"""Conflicts and refused changes of the open record, shown above the editor.

When the same field of a record was changed on two computers without either
seeing the other's edit, every replica keeps the same winner and the server
keeps the value that lost as a conflict (docs/sync.md). This panel marks the
record and lists each such field: the value now in the record beside the
other one, with "Keep this" (close the conflict) and "Restore the other
value" (a new local edit that then syncs and wins everywhere). Both write to
the store, so they run on the ``TaskRunner``.

Changes the server refused are listed too, with their reason, until dismissed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.models.fields import FieldType, kind_spec
from app.models.store import RecordData, Store
from app.sync import replica
from app.sync.replica import ConflictInfo, Rejection
from app.ui import i18n
from app.ui.tasks import TaskRunner, log_failure, report_failure
from app.ui.widgets import set_bold

log = logging.getLogger("fieldbook.ui")


def translate(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)

VALUE_MAX_CHARS = 160  # longer values are cut, the whole one is in the tooltip


def format_value(kind: str, field: str, value: Any) -> str:
    """A field's value (stored or as JSON from the server) in words."""
    if field == "deleted":
        return translate("Conflicts", "Deleted") if value else translate("Conflicts", "Not deleted")
    if field == "status":
        return i18n.tr_status(str(value))
    spec = kind_spec(kind).by_name.get(field)
    if value is None or value == "" or value == []:
        return translate("Conflicts", "(empty)")
    if spec is None:
        return str(value)
    if spec.type is FieldType.CHOICE or spec.choices:  # an INT's numbers may have names (grades)
        return i18n.tr_choice(spec, str(value)) or str(value)
    if spec.type is FieldType.BOOL:
        return translate("Conflicts", "Yes") if value else translate("Conflicts", "No")
    if spec.type is FieldType.TAGS and isinstance(value, list):
        return translate("Conflicts", ", ").join(str(tag) for tag in value)
    if spec.type is FieldType.STEPS and isinstance(value, list):
        phases = [str(step.get("phase") or "") for step in value if isinstance(step, dict)]
        return translate("Conflicts", "{count} steps: {phases}").format(
            count=len(value), phases=translate("Conflicts", ", ").join(p for p in phases if p))
    if spec.type is FieldType.ATTACHMENTS and isinstance(value, list):
        names = [str(ref.get("name") or "") for ref in value if isinstance(ref, dict)]
        return translate("Conflicts", "{count} files: {names}").format(
            count=len(value), names=translate("Conflicts", ", ").join(n for n in names if n))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def field_label(kind: str, field: str) -> str:
    if field == "deleted":
        return translate("Conflicts", "Deleted")
    if field == "status":
        return translate("Conflicts", "Status")
    spec = kind_spec(kind).by_name.get(field)
    return i18n.tr_field(spec) if spec is not None else field


def current_value(record: RecordData, field: str) -> Any:
    if field == "deleted":
        return record.deleted
    if field == "status":
        return record.status
    return record.values.get(field)


def _elided(text: str) -> str:
    one_line = " ".join(text.split())
    if len(one_line) <= VALUE_MAX_CHARS:
        return one_line
    return one_line[: VALUE_MAX_CHARS - 1] + "…"


class ConflictPanel(QFrame):
    """The marker and choices for the record open in the editor."""

    resolved = Signal(str)  # record id: a conflict was closed or a refusal dismissed
    failed = Signal(str)  # a message for the status bar

    def __init__(
        self,
        store: Store,
        runner: TaskRunner,
        parent: QWidget | None = None,
        *,
        before_write: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("conflict_panel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#conflict_panel { background: #fff8e1; border: 1px solid #f9a825; }")
        self._store, self._runner = store, runner
        self._before_write = before_write
        self._record_id: str | None = None
        self._busy = False
        self._generation = 0
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(8, 6, 8, 6)
        self._content: QWidget | None = None
        self.hide()

    # --- public ---------------------------------------------------------------------

    def show_record(self, record_id: str | None) -> None:
        self._record_id = record_id
        self.refresh()

    def record_id(self) -> str | None:
        return self._record_id

    def refresh(self) -> None:
        """Re-read the open record's conflicts and refusals (off the GUI thread)."""
        self._generation += 1
        generation, record_id, store = self._generation, self._record_id, self._store
        if record_id is None:
            self._rebuild(None, [], [])
            return

        def read() -> tuple[RecordData, list[ConflictInfo], list[Rejection]]:
            return (store.get(record_id, include_deleted=True), replica.conflicts_for(store, record_id),
                    replica.rejections(store, record_id))

        def done(found: tuple[RecordData, list[ConflictInfo], list[Rejection]]) -> None:
            if generation == self._generation:
                self._rebuild(*found)

        def fail(exc: Exception) -> None:
            if generation == self._generation:
                log_failure(f"Could not read the conflicts of {record_id}", exc)
                self._rebuild(None, [], [])

        self._runner.submit(read, done, fail)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.refresh()
        super().changeEvent(event)

    # --- building -----------------------------------------------------------------------

    def _rebuild(self, record: RecordData | None, conflicts: list[ConflictInfo],
                 refusals: list[Rejection]) -> None:
        if self._content is not None:
            self._layout.removeWidget(self._content)
            self._content.deleteLater()
            self._content = None
        if record is None or not (conflicts or refusals):
            self.hide()
            return
        content = QWidget(self)
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        if conflicts:
            marker = QLabel(content)
            marker.setObjectName("conflict_marker")
            set_bold(marker)
            marker.setText(
                self.tr("⚠ 1 conflict: this field was changed on two computers at the same time.")
                if len(conflicts) == 1
                else self.tr("⚠ {count} conflicts: these fields were changed on two computers at the "
                             "same time.").format(count=len(conflicts))
            )
            marker.setWordWrap(True)
            column.addWidget(marker)
        for conflict in conflicts:
            column.addWidget(self._conflict_row(content, record, conflict))
        for refusal in refusals:
            column.addWidget(self._refusal_row(content, record, refusal))
        self._layout.addWidget(content)
        self._content = content
        self.show()

    def _value_label(self, parent: QWidget, name: str, caption: str, text: str) -> QLabel:
        label = QLabel(parent)
        label.setObjectName(name)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setText(self.tr("{caption}: {value}").format(caption=caption, value=_elided(text)))
        if len(text) > VALUE_MAX_CHARS:
            label.setToolTip(text)
        return label

    def _conflict_row(self, parent: QWidget, record: RecordData, conflict: ConflictInfo) -> QWidget:
        me = self._store.device_id
        row = QFrame(parent)
        row.setObjectName(f"conflict_{conflict.id}")
        column = QVBoxLayout(row)
        column.setContentsMargins(0, 4, 0, 4)
        title = QLabel(row)
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setText(field_label(record.kind, conflict.field))
        set_bold(title)
        column.addWidget(title)
        now = format_value(record.kind, conflict.field, current_value(record, conflict.field))
        other = format_value(record.kind, conflict.field, conflict.value)
        mine = conflict.winner_device == me
        theirs = conflict.device != me
        column.addWidget(self._value_label(
            row, f"current_{conflict.id}", self.tr("Your value") if mine else self.tr("Value now"), now))
        column.addWidget(self._value_label(
            row, f"other_{conflict.id}", self.tr("Other value") if theirs else self.tr("Your earlier value"),
            other))
        buttons = QHBoxLayout()
        keep = QPushButton(self.tr("Keep this"), row)
        keep.setObjectName(f"keep_{conflict.id}")
        keep.setToolTip(self.tr("Keep the value the record has now and close this conflict."))
        restore = QPushButton(row)
        restore.setText(
            self.tr("Restore the other value") if theirs else self.tr("Restore your earlier value"))
        restore.setObjectName(f"restore_{conflict.id}")
        restore.setToolTip(self.tr("Put the other value back. It is sent to the server like any edit."))
        keep.clicked.connect(lambda _checked=False: self._resolve(conflict, False))
        restore.clicked.connect(lambda _checked=False: self._resolve(conflict, True))
        for button in (keep, restore):
            button.setEnabled(not self._busy)
            buttons.addWidget(button)
        buttons.addStretch(1)
        column.addLayout(buttons)
        return row

    def _refusal_row(self, parent: QWidget, record: RecordData, refusal: Rejection) -> QWidget:
        row = QFrame(parent)
        row.setObjectName(f"refusal_{refusal.seq}")
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 4, 0, 4)
        label = QLabel(row)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        if refusal.fields:
            fields = self.tr(", ").join(field_label(record.kind, f) for f in refusal.fields)
            label.setText(self.tr("The server did not accept your change to {fields}: {reason}")
                          .format(fields=fields, reason=refusal.reason))
        else:
            label.setText(self.tr("The server did not accept your change: {reason}").format(
                reason=refusal.reason))
        dismiss = QPushButton(self.tr("Dismiss"), row)
        dismiss.setObjectName(f"dismiss_{refusal.seq}")
        dismiss.setEnabled(not self._busy)
        dismiss.clicked.connect(lambda _checked=False: self._dismiss(refusal))
        line.addWidget(label, 1)
        line.addWidget(dismiss)
        return row

    # --- actions (writes, on the task runner) ------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for button in self.findChildren(QPushButton):
            button.setEnabled(not busy)

    def _write(self, record_id: str, fn: Callable[[], object], what: str) -> None:
        if self._busy:
            return
        self._set_busy(True)
        if self._before_write is not None:
            self._before_write()  # the editor's pending edit is saved first

        def done(_result: object) -> None:
            self._set_busy(False)
            self.resolved.emit(record_id)
            if record_id == self._record_id:
                self.refresh()

        def fail(exc: Exception) -> None:
            self._set_busy(False)
            report_failure(exc)
            self.failed.emit(self.tr("{what}: {error}").format(what=what, error=exc))
            self.refresh()

        self._runner.submit(fn, done, fail)

    def _resolve(self, conflict: ConflictInfo, restore: bool) -> None:
        store, conflict_id = self._store, conflict.id
        self._write(
            conflict.record_id,
            lambda: replica.resolve_conflict(store, conflict_id, restore=restore),
            self.tr("Could not resolve the conflict"),
        )

    def _dismiss(self, refusal: Rejection) -> None:
        store, seq = self._store, refusal.seq
        self._write(refusal.record_id, lambda: replica.dismiss_rejection(store, seq),
                    self.tr("Could not dismiss the message"))


__all__ = ["ConflictPanel", "current_value", "field_label", "format_value"]
