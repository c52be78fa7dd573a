"""File → Export sync parcel… / Import answer parcel… / Deliver a parcel….

A fellow with no signal writes an outgoing parcel to a USB stick; whoever has
a connection delivers it and carries the answer back; importing the answer
makes her laptop as synced as a direct sync would (docs/parcels.md). The
work is ``app/sync/parcels.py`` (no Qt); this module asks where, runs it off
the GUI thread (export and import on the writer thread, behind the editor's
last save; delivery, which waits on the network, on a thread of its own) and
tells the user what happened in words they can act on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QStandardPaths, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from app.errors import (
    NotAParcel,
    ParcelError,
    ParcelExpired,
    ParcelForeign,
    ParcelNotReady,
    ParcelTampered,
    ParcelTooLarge,
    ParcelTooNew,
    ParcelTruncated,
    ValidationFailed,
)
from app.i18n_marker import QT_TRANSLATE_NOOP
from app.models.store import Store
from app.sync import parcels
from app.sync.errors import SyncError
from app.ui.i18n import tr_error
from app.ui.main_window import MainWindow
from app.ui.menu_actions import WindowActions
from app.ui.sync_controller import SyncController
from app.ui.sync_words import describe_failure
from app.ui.tasks import NetworkRunner, TaskRunner, log_failure

log = logging.getLogger("fieldbook.ui")


class ParcelsUi(WindowActions):
    """The parcel actions in the File menu, and their messages on the status bar."""

    message = Signal(str)  # translated, for the status bar
    imported = Signal(object)  # ImportReport: the sync status and the list may have changed

    def __init__(self, window: QWidget, store: Store, runner: TaskRunner, *,
                 api_client: Callable[[], Any], menu: QMenu | None, before: QAction | None = None,
                 flush: Callable[[], None] = lambda: None) -> None:
        super().__init__(window)
        self._store, self._runner = store, runner
        self._api_client, self._flush = api_client, flush
        self.export_action = self.make_action("action_export_parcel", self.export_parcel)
        self.import_action = self.make_action("action_import_parcel", self.import_answer)
        self.deliver_action = self.make_action("action_deliver_parcel", self.deliver)
        self._network = NetworkRunner(self)
        if menu is not None:
            menu.insertSeparator(before)  # type: ignore[arg-type]
            for action in (self.export_action, self.import_action, self.deliver_action):
                menu.insertAction(before, action)  # type: ignore[arg-type]
        self.retranslate()

    def retranslate(self) -> None:
        self.export_action.setText(self.tr("Export s&ync parcel…"))
        self.export_action.setToolTip(self.tr(
            "No signal? Write everything this computer would sync to a file (a USB stick); "
            "anyone with a connection can deliver it"))
        self.import_action.setText(self.tr("Import &answer parcel…"))
        self.import_action.setToolTip(self.tr("Bring in the answer to a parcel this computer exported"))
        self.deliver_action.setText(self.tr("Deli&ver a parcel for someone…"))
        self.deliver_action.setToolTip(self.tr(
            "Send a colleague's parcel to the server and write the answer beside it"))

    # --- export ---------------------------------------------------------------------

    def _folder(self) -> str:
        return QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)

    def export_parcel(self, path: Path | None = None, with_files: bool | None = None) -> None:
        """Ask where (and whether to carry attached files, with their size), then write it."""
        if path is None:
            chosen, _filter = QFileDialog.getSaveFileName(
                self._window, self.tr("Export sync parcel"),
                str(Path(self._folder()) / f"fieldbook{parcels.SUFFIX}"),
                self.tr("Fieldbook parcels (*{suffix})").format(suffix=parcels.SUFFIX))
            if not chosen:
                return
            path = Path(chosen)
        if with_files is None:
            count, size = parcels.files_to_carry(self._store)
            with_files = count > 0 and QMessageBox.question(
                self._window, self.tr("Carry attached files?"),
                self.tr("{count} attached file(s) not yet on the server, {size:.1f} MB. Put them in the "
                        "parcel too? (Without them the parcel stays small; they go at the next sync.)"
                        ).format(count=count, size=size / 1048576),
            ) == QMessageBox.StandardButton.Yes
        self._flush()  # what was just typed goes in the parcel
        self.message.emit(self.tr("Writing the sync parcel…"))
        target, files = path, bool(with_files)
        self._runner.submit(lambda: parcels.export_parcel(self._store, target, with_files=files),
                            self._on_exported, self._failed(self.tr("Could not export the parcel")))

    def _on_exported(self, report: parcels.ExportReport) -> None:
        self.message.emit(self.tr(
            "Parcel written: {changes} change(s), {size:.0f} KB, in {file}. Deliver it before {date}; "
            "your changes stay here until its answer is imported.").format(
            changes=report.groups + report.reviews, size=report.size / 1024, file=report.path.name,
            date=report.expires_at.strftime("%Y-%m-%d")))

    # --- import ---------------------------------------------------------------------

    def import_answer(self, path: Path | None = None) -> None:
        if path is None:
            chosen, _filter = QFileDialog.getOpenFileName(
                self._window, self.tr("Import answer parcel"), self._folder(),
                self.tr("Fieldbook parcels (*{suffix})").format(suffix=parcels.SUFFIX))
            if not chosen:
                return
            path = Path(chosen)
        self._flush()
        self.message.emit(self.tr("Importing the answer parcel…"))
        target = path
        self._runner.submit(lambda: parcels.import_answer(self._store, target), self._on_imported,
                            self._failed(self.tr("Could not import the parcel")))

    def _on_imported(self, report: parcels.ImportReport) -> None:
        text = self.tr("Synced by parcel: {sent} change(s) confirmed, {received} record(s) received."
                       ).format(sent=report.pushed + report.reviews_sent, received=report.pulled)
        if report.rejections:
            text += " " + self.tr("{count} change(s) were refused by the server; they stay marked "
                                  "on their records.").format(count=len(report.rejections))
        if report.already:
            text += " " + self.tr("This answer was imported before: nothing was applied twice.")
        self.message.emit(text)
        self.imported.emit(report)

    # --- deliver --------------------------------------------------------------------

    def deliver(self, path: Path | None = None) -> None:
        client = self._api_client()
        if client is None:
            self.message.emit(self.tr("Sign in and sync once on this computer to deliver parcels."))
            return
        if path is None:
            chosen, _filter = QFileDialog.getOpenFileName(
                self._window, self.tr("Deliver a parcel"), self._folder(),
                self.tr("Fieldbook parcels (*{suffix})").format(suffix=parcels.SUFFIX))
            if not chosen:
                return
            path = Path(chosen)
        self.message.emit(self.tr("Delivering the parcel to the server…"))
        target = path
        # The network may take minutes on a hotspot: never on the writer thread.
        self._network.submit(lambda: parcels.deliver_parcel(client, target), self._on_delivered,
                             self._failed(self.tr("Could not deliver the parcel")))

    def _on_delivered(self, report: parcels.DeliverReport) -> None:
        self.message.emit(self.tr("Delivered. The answer is {file}, beside the parcel: give it back "
                                  "with the stick.").format(file=report.answer_path.name))

    # --- failures -------------------------------------------------------------------

    def _failed(self, what: str) -> Callable[[Exception], None]:
        def report(exc: Exception) -> None:
            log_failure(what, exc)
            self.message.emit(self.tr("{what}: {why}").format(what=what, why=explain(exc)))

        return report

def translate(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


# Each parcel refusal in words a person can act on; one table serves an error
# raised here and one another laptop reported by its default message.
_PARCEL_REASONS: tuple[tuple[type[ParcelError], str], ...] = (
    (ParcelNotReady, QT_TRANSLATE_NOOP(
        "ParcelsUi", "this computer has not signed in since parcels came; sign in once "
        "with a connection")),
    (NotAParcel, QT_TRANSLATE_NOOP(
        "ParcelsUi", "this file is not a parcel of this kind (an answer is imported, an "
        "outgoing parcel is delivered)")),
    (ParcelTruncated, QT_TRANSLATE_NOOP("ParcelsUi", "the file is cut short; copy it again from the stick")),
    (ParcelTampered, QT_TRANSLATE_NOOP(
        "ParcelsUi", "the file is damaged or was changed; nothing was applied")),
    (ParcelForeign, QT_TRANSLATE_NOOP("ParcelsUi", "this parcel belongs to another computer or account")),
    (ParcelExpired, QT_TRANSLATE_NOOP("ParcelsUi", "this parcel is too old; export a new one")),
    (ParcelTooNew, QT_TRANSLATE_NOOP(
        "ParcelsUi", "this parcel comes from a newer Fieldbook; update Fieldbook")),
    (ParcelTooLarge, QT_TRANSLATE_NOOP("ParcelsUi", "this parcel is too large")),
)


def explain(exc: Exception) -> str:
    """A parcel's refusal in the user's language: what is wrong and what to do."""
    for kind, reason in _PARCEL_REASONS:
        if isinstance(exc, kind):
            return translate("ParcelsUi", reason)
    if isinstance(exc, OSError):
        return translate("ParcelsUi", "the file cannot be read or written ({error})").format(error=exc)
    if isinstance(exc, SyncError):
        return describe_failure(exc)[0]  # "no connection", "the server refused the request"…
    if isinstance(exc, ParcelError | ValidationFailed):
        return tr_error(exc)
    return translate("ParcelsUi", "an unexpected error; the log has the details")


def explain_refusal(words: str) -> str:
    """A refusal another laptop reported in the error's own (English) words,
    in the user's language when it is one of the parcel refusals."""
    for kind, reason in _PARCEL_REASONS:
        if words == kind.default_message:
            return translate("ParcelsUi", reason)
    return words


def parcels_ui(window: MainWindow, store: Store, runner: TaskRunner, sync: SyncController) -> ParcelsUi:
    """The parcel actions wired into the window, as ``application.py`` (and
    the screenshots) set them up: before Preferences in the File menu,
    delivering with the sync session's sign-in, and an import refreshing
    the list and the sync status."""
    ui = ParcelsUi(window, store, runner, api_client=sync.api_client,
                   menu=window.findChild(QMenu, "menu_file"),
                   before=window.findChild(QAction, "action_preferences"),
                   flush=window.editor.flush)
    ui.message.connect(window.show_message)

    def refresh(_report: object) -> None:
        window.refresh_records()
        sync.parcel_imported()

    ui.imported.connect(refresh)
    return ui
