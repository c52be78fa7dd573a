"""File → Import from Word…: pick .docx files, preview the mapping, store drafts.

Reading the files runs on the task runner (never the GUI thread); the preview
shows, per file, every proposed field and value — the notes too — and what
was refused and why. *Import* stores each good file as one draft in its own
transaction (``importer.save_draft``), so one bad file never blocks the
others and each imports whole or not at all; the dialog then reports the
outcome per file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.documents.importer import (
    CONTEXT,
    DocumentImportError,
    ImportResult,
    ParsedFile,
    parse_files,
    save_draft,
)
from app.errors import FieldbookError, ValidationFailed
from app.models.fields import STEP_LABELS, FieldType, Kind, kind_spec
from app.models.store import RecordData, Store
from app.models.validation import Problem, is_empty
from app.ui.i18n import tr_choice, tr_field, tr_problem
from app.ui.tasks import TaskRunner, log_failure

log = logging.getLogger("fieldbook.ui")


@dataclass(frozen=True)
class Outcome:
    """What became of one file: the stored draft, or why not."""

    path: Path
    record: RecordData | None
    reason: str


def error_text(exc: Exception) -> str:
    """The user's words for why a file was not imported."""
    if isinstance(exc, DocumentImportError):
        return QCoreApplication.translate(CONTEXT, exc.message)
    if isinstance(exc, ValidationFailed):
        return " ".join(tr_problem(p) if isinstance(p, Problem) else str(p)
                        for p in exc.problems.values())
    return str(exc)


def refusal_text(result: ImportResult) -> str:
    if result.problems:
        return " ".join(tr_problem(p) for p in result.problems.values())
    if result.unplaced:
        return QCoreApplication.translate(
            "DocumentImport", "Some of its text would be lost: {count} passages fit no field."
        ).format(count=len(result.unplaced))
    return ""


def _value_text(name: str, value: Any) -> str:
    spec = kind_spec(Kind.LESSON_PLAN).field(name)
    if spec.type is FieldType.STEPS:
        return "\n\n".join(_step_text(step) for step in value)
    if spec.choices:
        return tr_choice(spec, str(value))
    return "" if value is None else str(value)


def _labelled(key: str, text: str) -> str:
    return QCoreApplication.translate("DocumentImport", "{label}: {text}").format(
        label=QCoreApplication.translate("Field", STEP_LABELS[key]), text=text)


def _step_text(step: dict[str, Any]) -> str:
    lines = [_labelled("phase", step["phase"])]
    if step["minutes"]:
        lines[0] += QCoreApplication.translate("DocumentImport", " ({minutes} min)").format(
            minutes=step["minutes"])
    lines += [_labelled(key, step[key]) for key in ("teacher", "students") if step[key]]
    return "\n".join(lines)


class ImportPreviewDialog(QDialog):
    """The files on top, the selected file's fields and values below."""

    import_requested = Signal()

    def __init__(self, parsed: Sequence[ParsedFile], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("import_preview")
        self._parsed = list(parsed)
        self._files = self._table("import_files", len(self._parsed))
        self._fields = self._table("import_fields", 0)
        self._warnings = QLabel(self)
        self._warnings.setObjectName("import_warnings")
        self._warnings.setWordWrap(True)
        self._buttons = QDialogButtonBox(self)
        self._import_button = QPushButton(self)
        self._import_button.setObjectName("import_button")
        self._cancel_button = QPushButton(self)
        self._cancel_button.setObjectName("cancel_button")
        self._buttons.addButton(self._import_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self._buttons.addButton(self._cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self._import_button.clicked.connect(self._on_import)
        self._cancel_button.clicked.connect(self.reject)
        self._lay_out()
        self._files.currentCellChanged.connect(lambda row, *_: self._show_file(row))
        self.retranslate()
        self._fill_files({})
        self._files.setCurrentCell(0, 0)
        self.resize(820, 620)

    def _table(self, name: str, rows: int) -> QTableWidget:
        table = QTableWidget(rows, 2, self)
        table.setObjectName(name)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setWordWrap(True)
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    def _lay_out(self) -> None:
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self._files)
        splitter.addWidget(self._fields)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        self._intro = QLabel(self)
        self._intro.setWordWrap(True)
        layout.addWidget(self._intro)
        layout.addWidget(splitter, 1)
        layout.addWidget(self._warnings)
        layout.addWidget(self._buttons)

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Import from Word"))
        self._intro.setText(self.tr(
            "Check where each part of the document will go. Nothing is stored until you "
            "choose Import; each file becomes a draft lesson plan."))
        self._files.setHorizontalHeaderLabels([self.tr("File"), self.tr("Result")])
        self._fields.setHorizontalHeaderLabels([self.tr("Field"), self.tr("Value")])
        self._import_button.setText(self.tr("&Import"))
        self._cancel_button.setText(self.tr("Cancel"))

    # --- the files -----------------------------------------------------------

    def importable(self) -> list[ParsedFile]:
        return [p for p in self._parsed if p.result is not None and p.result.storable]

    def _status(self, parsed: ParsedFile) -> str:
        if parsed.error is not None:
            return self.tr("Refused: {reason}").format(reason=error_text(parsed.error))
        assert parsed.result is not None
        if not parsed.result.storable:
            return self.tr("Refused: {reason}").format(reason=refusal_text(parsed.result))
        return self.tr("Ready to import")

    def _fill_files(self, outcomes: dict[Path, Outcome]) -> None:
        for row, parsed in enumerate(self._parsed):
            outcome = outcomes.get(parsed.path)
            if outcome is None:
                status = self._status(parsed)
            elif outcome.record is not None:
                status = self.tr("Imported")
            else:
                status = self.tr("Refused: {reason}").format(reason=outcome.reason)
            self._files.setItem(row, 0, QTableWidgetItem(parsed.path.name))
            self._files.setItem(row, 1, QTableWidgetItem(status))
        self._import_button.setEnabled(bool(self.importable()) and not outcomes)

    def file_status(self, row: int) -> str:
        item = self._files.item(row, 1)
        return item.text() if item is not None else ""

    def _show_file(self, row: int) -> None:
        self._fields.setRowCount(0)
        if not 0 <= row < len(self._parsed):
            return
        parsed = self._parsed[row]
        if parsed.result is None:
            self._warnings.setText(self._status(parsed))
            return
        self._fill_fields(parsed.result)
        warnings = [QCoreApplication.translate(CONTEXT, w.message).format(**w.args)
                    for w in parsed.result.warnings]
        self._warnings.setText("\n".join(warnings))

    def _fill_fields(self, result: ImportResult) -> None:
        spec = kind_spec(Kind.LESSON_PLAN)
        shown = [f for f in spec.fields if f.in_form and not is_empty(f, result.values.get(f.name))]
        self._fields.setRowCount(len(shown))
        for row, fspec in enumerate(shown):
            label = QTableWidgetItem(tr_field(fspec))
            label.setData(Qt.ItemDataRole.UserRole, fspec.name)
            value = QTableWidgetItem(_value_text(fspec.name, result.values[fspec.name]))
            for column, item in enumerate((label, value)):  # a tall value keeps its label in view
                item.setTextAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
                self._fields.setItem(row, column, item)
        self._fields.resizeRowsToContents()

    def field_values(self) -> dict[str, str]:
        """What the preview shows for the selected file: field name -> text."""
        shown: dict[str, str] = {}
        for row in range(self._fields.rowCount()):
            label, value = self._fields.item(row, 0), self._fields.item(row, 1)
            if label is not None and value is not None:
                shown[str(label.data(Qt.ItemDataRole.UserRole))] = value.text()
        return shown

    # --- importing -----------------------------------------------------------

    def _on_import(self) -> None:
        self._import_button.setEnabled(False)
        self._cancel_button.setEnabled(False)
        self._warnings.setText(self.tr("Importing…"))
        self.import_requested.emit()

    def show_report(self, outcomes: Sequence[Outcome]) -> None:
        """Each file's outcome in the list; Cancel becomes Close."""
        by_path = {o.path: o for o in outcomes}
        self._fill_files(by_path)
        done = sum(1 for o in outcomes if o.record is not None)
        refused = len(self._parsed) - done
        self._warnings.setText(self.tr("{done} imported, {refused} not imported.").format(
            done=done, refused=refused))
        self._cancel_button.setText(self.tr("Close"))
        self._cancel_button.setEnabled(True)


def save_all(store: Store, items: Sequence[ParsedFile], author: str) -> list[Outcome]:
    """Store each file in its own transaction (runs on the task runner)."""
    outcomes: list[Outcome] = []
    for item in items:
        assert item.result is not None
        try:
            outcomes.append(Outcome(item.path, save_draft(store, item.result, author=author), ""))
        except FieldbookError as exc:
            log.warning("Could not import %s: %s", item.path, exc)
            outcomes.append(Outcome(item.path, None, error_text(exc)))
    return outcomes


class WordImport(QObject):
    """Runs one import from the file dialog to the report."""

    imported = Signal(object)  # list[RecordData] of the drafts stored
    message = Signal(str)  # for the status bar

    def __init__(self, store: Store, runner: TaskRunner, author: Callable[[], str],
                 parent: QWidget) -> None:
        super().__init__(parent)
        self._store, self._runner, self._author, self._parent = store, runner, author, parent
        self.dialog: ImportPreviewDialog | None = None

    def start(self) -> None:
        names, _filter = QFileDialog.getOpenFileNames(
            self._parent, self.tr("Import from Word"), "",
            self.tr("Word documents (*.docx *.doc)"))
        if not names:
            return
        paths = [Path(name) for name in names]
        self.message.emit(self.tr("Reading {count} files…").format(count=len(paths)))
        self._runner.submit(lambda: parse_files(paths), self._preview, self._failed)

    def _preview(self, parsed: list[ParsedFile]) -> None:
        self.message.emit("")
        dialog = ImportPreviewDialog(parsed, self._parent)
        dialog.import_requested.connect(lambda: self._save(dialog))
        self.dialog = dialog
        dialog.open()

    def _save(self, dialog: ImportPreviewDialog) -> None:
        items, author = dialog.importable(), self._author()
        self._runner.submit(lambda: save_all(self._store, items, author),
                            lambda outcomes: self._saved(dialog, outcomes), self._failed)

    def _saved(self, dialog: ImportPreviewDialog, outcomes: list[Outcome]) -> None:
        dialog.show_report(outcomes)
        records = [o.record for o in outcomes if o.record is not None]
        if records:
            self.imported.emit(records)

    def _failed(self, exc: Exception) -> None:
        log_failure("Import from Word failed", exc)
        self.message.emit(self.tr("Import from Word failed: {error}").format(error=error_text(exc)))
        if self.dialog is not None:
            self.dialog.show_report([])
