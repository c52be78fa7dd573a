"""File → Export as Word… / Export as PDF… / Print… / Export the list….

The editor's record, or every record the list shows (its filters, or the
search results), becomes a document (app/documents). Reading the records runs
on the writer thread, queued behind the editor's last save, so the document
holds what was just typed; laying out and writing run on a thread of their
own, so a term's 200 plans never hold up autosave and the window never waits.
A batch shows its progress and can be cancelled; the file appears whole or
not at all (app/documents/export.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QStandardPaths, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtPrintSupport import QPrinter, QPrintPreviewDialog
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLineEdit,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.documents.docx_writer import write_docx
from app.documents.export import Writer, write_combined, write_zip
from app.documents.model import ExportOptions, RecordDocument
from app.documents.source import default_school, load_documents, query_ids
from app.models.store import ListQuery, Store
from app.ui.documents_pdf import a4_layout, paint_records, write_pdf
from app.ui.tasks import TaskRunner, log_failure

log = logging.getLogger("fieldbook.ui")

WRITERS: dict[str, Writer] = {"docx": write_docx, "pdf": write_pdf}


def qt_translate(context: str, source: str) -> str:
    return QCoreApplication.translate(context, source)


class ExportCancelled(Exception):
    """The user pressed Cancel in the progress dialog."""


@dataclass(frozen=True)
class ExportChoice:
    options: ExportOptions
    as_zip: bool


class ExportDialog(QDialog):
    """The export options: review thread, draft watermark, school, images;
    for a batch also one combined file or a zip of one file per record."""

    def __init__(self, parent: QWidget, school: str, *, batch: bool) -> None:
        super().__init__(parent)
        self.setObjectName("export_dialog")
        self.setWindowTitle(self.tr("Export options"))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.thread_box = QCheckBox(self.tr("Include the &review thread (comments and the decision)"))
        self.watermark_box = QCheckBox(self.tr("Mark drafts with a “Draft” &watermark"))
        self.watermark_box.setChecked(True)
        self.images_box = QCheckBox(self.tr("Place attached &images in the document"))
        self.school_edit = QLineEdit(school)
        self.school_edit.setObjectName("export_school")
        self.school_edit.setPlaceholderText(self.tr("Leave empty for no page header"))
        for box, name in ((self.thread_box, "export_thread"), (self.watermark_box, "export_watermark"),
                          (self.images_box, "export_images")):
            box.setObjectName(name)
            layout.addWidget(box)
        form.addRow(self.tr("&School in the page header:"), self.school_edit)
        layout.addLayout(form)
        self.combined = QRadioButton(self.tr("One &combined document"))
        self.zipped = QRadioButton(self.tr("A &zip with one file per record"))
        self.combined.setObjectName("export_combined")
        self.zipped.setObjectName("export_zip")
        self.combined.setChecked(True)
        for button in (self.combined, self.zipped):
            button.setVisible(batch)
            layout.addWidget(button)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def choice(self) -> ExportChoice:
        return ExportChoice(
            ExportOptions(
                include_thread=self.thread_box.isChecked(),
                watermark_drafts=self.watermark_box.isChecked(),
                school=self.school_edit.text().strip(),
                include_images=self.images_box.isChecked(),
            ),
            as_zip=self.zipped.isChecked(),
        )


class _Progress(QObject):
    """Carries a worker's progress to the GUI thread (a queued signal)."""

    advanced = Signal(int, int)


def _reporting(
    records: Sequence[RecordDocument], progress: _Progress, cancel: threading.Event
) -> Iterator[RecordDocument]:
    for done, record in enumerate(records, start=1):
        if cancel.is_set():
            raise ExportCancelled
        yield record
        progress.advanced.emit(done, len(records))


def write_documents(
    records: Sequence[RecordDocument], target: Path, fmt: str, *, as_zip: bool,
    progress: _Progress, cancel: threading.Event,
) -> Path:
    """The export's work off the GUI thread: one file, or a zip of files."""
    items = _reporting(records, progress, cancel)
    if as_zip:
        write_zip(items, target, WRITERS[fmt], fmt)
    else:
        write_combined(items, target, WRITERS[fmt])
    return target


class DocumentActions(QObject):
    """The File menu's document actions of the main window."""

    message = Signal(str)  # for the status bar

    def __init__(self, window: QWidget, store: Store, runner: TaskRunner, *,
                 current: Callable[[], str | None], listed: Callable[[], list[str] | ListQuery],
                 flush: Callable[[], None], render_runner: TaskRunner | None = None) -> None:
        super().__init__(window)
        self._window, self._store, self._runner = window, store, runner
        self._current, self._listed, self._flush = current, listed, flush
        # Layout and writing: their own thread, so saves never queue behind them.
        self._render_runner = render_runner or TaskRunner(self)
        self._school: str | None = None
        self._progress_dialog: QProgressDialog | None = None
        self.preview: QPrintPreviewDialog | None = None
        self._printer: QPrinter | None = None
        self.export_docx = self._action("action_export_docx", lambda: self._export_current("docx"))
        self.export_pdf = self._action("action_export_pdf", lambda: self._export_current("pdf"))
        self.print_action = self._action("action_print", self.print_current)
        self.print_action.setShortcuts(QKeySequence.keyBindings(QKeySequence.StandardKey.Print)
                                       or [QKeySequence("Ctrl+P")])
        self.export_list = self._action("action_export_list", self._export_listed)
        window.installEventFilter(self)
        self.retranslate()

    def _action(self, name: str, slot: Callable[[], None]) -> QAction:
        action = QAction(self._window)
        action.setObjectName(name)
        action.triggered.connect(lambda _checked=False: slot())
        self._window.addAction(action)
        return action

    def actions(self) -> list[QAction]:
        return [self.export_docx, self.export_pdf, self.export_list, self.print_action]

    def add_to_menu(self, menu: QMenu, before: QAction | None) -> None:
        separator = menu.insertSeparator(before) if before is not None else menu.addSeparator()
        for action in self.actions():
            menu.insertAction(separator, action)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        elif watched is self._window and event.type() == QEvent.Type.Close:
            # Like the writer thread at quit: an export under way finishes its file.
            self._render_runner.wait()
        return False

    def retranslate(self) -> None:
        self.export_docx.setText(self.tr("&Export as Word…"))
        self.export_pdf.setText(self.tr("Export as P&DF…"))
        self.print_action.setText(self.tr("P&rint…"))
        self.export_list.setText(self.tr("Export the &list…"))
        self.export_list.setToolTip(self.tr("Export every record the list shows, as Word or PDF"))

    def update_enabled(self, has_record: bool) -> None:
        for action in (self.export_docx, self.export_pdf, self.print_action):
            action.setEnabled(has_record)

    # --- asking ------------------------------------------------------------------

    def _default_school(self) -> str:
        if self._school is None:
            try:
                self._school = default_school(self._store)
            except Exception as exc:  # a damaged people list must not stop an export
                log_failure("Could not read the school", exc)
                self._school = ""
        return self._school

    def _ask_options(self, batch: bool, then: Callable[[ExportChoice], None]) -> None:
        dialog = ExportDialog(self._window, self._default_school(), batch=batch)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def accepted() -> None:
            choice = dialog.choice()
            self._school = choice.options.school
            then(choice)

        dialog.accepted.connect(accepted)
        dialog.open()

    def _ask_target(self, stem: str, fmt: str, as_zip: bool) -> Path | None:
        suffix = "zip" if as_zip else fmt
        filters = {
            "docx": self.tr("Word documents (*.docx)"),
            "pdf": self.tr("PDF documents (*.pdf)"),
            "zip": self.tr("Zip archives (*.zip)"),
        }
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        path, _filter = QFileDialog.getSaveFileName(
            self._window, self.tr("Export"), str(Path(folder or Path.home()) / f"{stem}.{suffix}"),
            filters[suffix])
        if not path:
            return None
        return Path(path) if path.lower().endswith(f".{suffix}") else Path(f"{path}.{suffix}")

    # --- exporting ---------------------------------------------------------------

    def _export_current(self, fmt: str) -> None:
        record_id = self._current()
        if record_id is None:
            self.message.emit(self.tr("Open a record first."))
            return
        self._ask_options(False, lambda choice: self._load([record_id], fmt, choice))

    def _export_listed(self) -> None:
        listed = self._listed()
        if not listed:
            self.message.emit(self.tr("The list is empty: nothing to export."))
            return
        self._ask_options(True, lambda choice: self._ask_format(listed, choice))

    def _ask_format(self, ids: list[str] | ListQuery, choice: ExportChoice) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Export the list"),
                          self.tr("Export the records the list shows as:"),
                          QMessageBox.StandardButton.Cancel, self._window)
        word = box.addButton(self.tr("&Word"), QMessageBox.ButtonRole.AcceptRole)
        pdf = box.addButton(self.tr("&PDF"), QMessageBox.ButtonRole.AcceptRole)
        word.setObjectName("export_as_word")
        pdf.setObjectName("export_as_pdf")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def clicked() -> None:
            if box.clickedButton() in (word, pdf):
                self._load(ids, "docx" if box.clickedButton() is word else "pdf", choice)

        box.finished.connect(lambda _result: clicked())
        box.open()

    def _load(self, ids: list[str] | ListQuery, fmt: str, choice: ExportChoice) -> None:
        """Read the records on the writer thread (after the editor's save)."""
        self._flush()
        options = choice.options

        def read() -> list[RecordDocument]:
            found = query_ids(self._store, [ids]) if isinstance(ids, ListQuery) else ids
            return list(load_documents(self._store, found, qt_translate, options))

        self._runner.submit(read, lambda docs: self._ask_and_write(docs, fmt, choice.as_zip),
                            self._failed)

    def _ask_and_write(self, docs: list[RecordDocument], fmt: str, as_zip: bool) -> None:
        if not docs:
            self.message.emit(self.tr("The list is empty: nothing to export."))
            return
        stem = docs[0].file_stem if len(docs) == 1 else self._batch_stem(docs)
        target = self._ask_target(stem, fmt, as_zip)
        if target is None:
            return
        progress, cancel = _Progress(self), threading.Event()
        dialog = self._show_progress(len(docs), cancel)
        progress.advanced.connect(lambda done, _total: dialog.setValue(done))

        def done(written: Path) -> None:
            dialog.reset()
            self.message.emit(self.tr("Exported {count} record(s) to {path}").format(
                count=len(docs), path=written))

        def fail(exc: Exception) -> None:
            dialog.reset()
            if isinstance(exc, ExportCancelled):
                self.message.emit(self.tr("Export cancelled; nothing was written."))
                return
            self._failed(exc)

        self._render_runner.submit(
            lambda: write_documents(docs, target, fmt, as_zip=as_zip, progress=progress, cancel=cancel),
            done, fail)

    def _batch_stem(self, docs: Sequence[RecordDocument]) -> str:
        return self.tr("{kind} ({count})").format(kind=docs[0].kind_label, count=len(docs))

    def _show_progress(self, total: int, cancel: threading.Event) -> QProgressDialog:
        dialog = QProgressDialog(self.tr("Writing the document…"), self.tr("Cancel"), 0, total,
                                 self._window)
        dialog.setObjectName("export_progress")
        dialog.setWindowTitle(self.tr("Export"))
        dialog.setMinimumDuration(500)  # a single record never flashes a dialog
        dialog.setAutoReset(False)
        dialog.canceled.connect(cancel.set)
        dialog.setValue(0)
        self._progress_dialog = dialog
        return dialog

    def _failed(self, exc: Exception) -> None:
        log_failure("Could not export", exc)
        text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        QMessageBox.warning(self._window, self.tr("Export"),
                            self.tr("Could not export: {error}. Nothing was written.").format(error=text))

    # --- printing ----------------------------------------------------------------

    def print_current(self) -> None:
        """Ctrl+P: a print preview of the record, the same layout as the PDF."""
        record_id = self._current()
        if record_id is None:
            self.message.emit(self.tr("Open a record first."))
            return
        self._flush()
        options = ExportOptions(school=self._default_school())

        def read() -> list[RecordDocument]:
            return list(load_documents(self._store, [record_id], qt_translate, options))

        self._runner.submit(read, self._show_preview, self._failed)

    def _show_preview(self, docs: Iterable[RecordDocument]) -> None:
        records = list(docs)
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setPageLayout(a4_layout())
        self._printer = printer  # the dialog does not own it
        preview = QPrintPreviewDialog(printer, self._window)
        preview.setObjectName("print_preview")
        preview.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        preview.paintRequested.connect(lambda device: paint_records(device, records))
        self.preview = preview
        preview.destroyed.connect(lambda: setattr(self, "preview", None))
        preview.open()

