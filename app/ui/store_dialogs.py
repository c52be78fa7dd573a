"""Opening the store when something is wrong with it: ask the user, never guess.

A store from a newer Fieldbook is refused and left untouched. A damaged one is
never overwritten: it is moved aside under a new name, and the user chooses
between the latest backup, a new empty store, or another folder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QDateTime
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.errors import StoreBusyError, StoreCorruptError, StoreError, StoreTooNewError
from app.models.store import Store, list_backups, move_aside, restore_backup
from app.paths import backup_dir, store_path

log = logging.getLogger("fieldbook.store")

# Runs a dialog and returns once the user has chosen (tests click for the user).
Chooser = Callable[[QMessageBox], object]


def translate(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


def _exec(box: QMessageBox) -> object:
    return box.exec()


def _too_new_box(error: StoreTooNewError, parent: QWidget | None) -> QMessageBox:
    box = QMessageBox(
        QMessageBox.Icon.Critical, translate("StoreDialogs", "Please update Fieldbook"), "", parent=parent
    )
    box.setText(
        translate(
            "StoreDialogs",
            "This data was saved by a newer version of Fieldbook (data version {found}; "
            "this version reads up to {supported}).",
        ).format(found=error.found, supported=error.supported)
    )
    box.setInformativeText(
        translate("StoreDialogs", "Please install the latest Fieldbook. Your data has not been changed.")
    )
    box.setDetailedText(str(error.path))
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    return box


class CorruptStoreBox(QMessageBox):
    """Offers the ways out of a damaged store; ``choice`` says which was taken."""

    RESTORE, NEW, ELSEWHERE, QUIT = "restore", "new", "elsewhere", "quit"

    def __init__(self, error: StoreError, backup: Path | None, parent: QWidget | None) -> None:
        super().__init__(
            QMessageBox.Icon.Warning,
            translate("StoreDialogs", "The data file cannot be read"),
            "",
            parent=parent,
        )
        self.setText(
            translate(
                "StoreDialogs",
                "Fieldbook cannot read its data file. It may have been damaged by a power "
                "cut or a disk fault.",
            )
        )
        self.setInformativeText(
            translate(
                "StoreDialogs",
                "The damaged file will be kept as it is; nothing is overwritten. What would you like to do?",
            )
        )
        self.setDetailedText(f"{error.path}\n{error.detail}")
        self.buttons_by_choice = {}
        if backup is not None:
            when = QDateTime.fromSecsSinceEpoch(int(backup.stat().st_mtime)).toString("yyyy-MM-dd HH:mm")
            self.buttons_by_choice[self.RESTORE] = self.addButton(
                translate("StoreDialogs", "Restore the backup of {when}").format(when=when),
                QMessageBox.ButtonRole.AcceptRole,
            )
        self.buttons_by_choice[self.NEW] = self.addButton(
            translate("StoreDialogs", "Start with an empty store"), QMessageBox.ButtonRole.DestructiveRole
        )
        self.buttons_by_choice[self.ELSEWHERE] = self.addButton(
            translate("StoreDialogs", "Open another folder…"), QMessageBox.ButtonRole.ActionRole
        )
        self.buttons_by_choice[self.QUIT] = self.addButton(
            translate("StoreDialogs", "Quit"), QMessageBox.ButtonRole.RejectRole
        )

    @property
    def choice(self) -> str:
        clicked = self.clickedButton()
        for choice, button in self.buttons_by_choice.items():
            if button is clicked:
                return choice
        return self.QUIT


def open_store_interactive(
    directory: Path,
    parent: QWidget | None = None,
    chooser: Chooser = _exec,
    pick_folder: Callable[[], str] | None = None,
) -> Store | None:
    """Open the store in ``directory``, asking the user what to do if it is
    unusable. ``None`` means the user chose to quit (or must update first)."""
    path = store_path(directory)
    try:
        return Store.open(path, backup_dir(directory))
    except StoreTooNewError as error:
        log.warning("Refusing a store from a newer Fieldbook: %s", error)
        chooser(_too_new_box(error, parent))
        return None
    except StoreBusyError as error:
        box = QMessageBox(
            QMessageBox.Icon.Warning, translate("StoreDialogs", "The data file is in use"), "", parent=parent
        )
        box.setText(
            translate(
                "StoreDialogs", "Another program is using Fieldbook's data file. Is Fieldbook already open?"
            )
        )
        box.setDetailedText(str(error))
        box.setStandardButtons(QMessageBox.StandardButton.Retry | QMessageBox.StandardButton.Close)
        chooser(box)
        if box.clickedButton() is box.button(QMessageBox.StandardButton.Retry):
            return open_store_interactive(directory, parent, chooser, pick_folder)
        return None
    except StoreCorruptError as error:
        log.warning("The store cannot be read: %s", error)
        return _recover(directory, error, parent, chooser, pick_folder)
    except StoreError as error:
        box = QMessageBox(
            QMessageBox.Icon.Critical,
            translate("StoreDialogs", "Cannot open the data file"),
            "",
            parent=parent,
        )
        box.setText(
            translate("StoreDialogs", "Fieldbook cannot open its data file: {reason}").format(
                reason=error.detail
            )
        )
        box.setDetailedText(str(error.path))
        chooser(box)
        return None


def _recover(
    directory: Path,
    error: StoreError,
    parent: QWidget | None,
    chooser: Chooser,
    pick_folder: Callable[[], str] | None,
) -> Store | None:
    backups = list_backups(backup_dir(directory))
    box = CorruptStoreBox(error, backups[0] if backups else None, parent)
    chooser(box)
    path = store_path(directory)
    if box.choice == CorruptStoreBox.RESTORE:
        move_aside(path, "damaged")
        restore_backup(backups[0], path)
        return open_store_interactive(directory, parent, chooser, pick_folder)
    if box.choice == CorruptStoreBox.NEW:
        move_aside(path, "damaged")
        return open_store_interactive(directory, parent, chooser, pick_folder)
    if box.choice == CorruptStoreBox.ELSEWHERE:
        folder = (
            pick_folder
            or (
                lambda: QFileDialog.getExistingDirectory(
                    parent, translate("StoreDialogs", "Choose a folder for Fieldbook's data")
                )
            )
        )()
        if folder:
            return open_store_interactive(Path(folder), parent, chooser, pick_folder)
    return None
