"""Preferences: the interface language, the name records are signed with,
and how attachments travel (photos made smaller, files fetched for review)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.ui import settings
from app.ui.i18n import LANGUAGES, Translations

log = logging.getLogger("fieldbook.ui")

SYSTEM_LANGUAGE = "system"
NAME_MAX = 100


def author_name() -> str:
    """The name new records are signed with: the person's, asked for on the
    welcome page at first start and replaced by the account's display name at
    sign-in (``SyncController``). Never the OS login ("root", "Administrator"
    on a shared laptop): until a name is given, records carry none."""
    return settings.get(settings.AUTHOR_NAME).strip()


class SettingsDialog(QDialog):
    """Edits the preferences; OK saves them and switches the language at once."""

    def __init__(self, translations: Translations, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settings_dialog")
        self._translations = translations

        self._language = QComboBox(self)
        self._language.setObjectName("language")
        # Each language is named in its own language, so a user who cannot
        # read the current one still finds theirs.
        self._language.addItem("", SYSTEM_LANGUAGE)
        for code, name in LANGUAGES.items():
            self._language.addItem(name, code)
        current = settings.get(settings.LANGUAGE)
        index = self._language.findData(current)
        self._language.setCurrentIndex(max(index, 0))

        self._name = QLineEdit(self)
        self._name.setObjectName("author_name")
        self._name.setMaxLength(NAME_MAX)
        self._name.setClearButtonEnabled(True)
        self._name.setText(author_name())

        self._language_label = QLabel(self)
        self._language_label.setBuddy(self._language)
        self._name_label = QLabel(self)
        self._name_label.setBuddy(self._name)
        self._name_hint = QLabel(self)
        self._name_hint.setWordWrap(True)
        self._name_hint.setEnabled(False)  # greyed: a hint, not a field

        self._downscale = QCheckBox(self)
        self._downscale.setObjectName("downscale_photos")
        self._downscale.setChecked(settings.get(settings.DOWNSCALE_PHOTOS))
        self._prefetch = QCheckBox(self)
        self._prefetch.setObjectName("prefetch_for_review")
        self._prefetch.setChecked(settings.get(settings.PREFETCH_FOR_REVIEW))
        self._attachments_label = QLabel(self)

        form = QFormLayout()
        form.addRow(self._language_label, self._language)
        form.addRow(self._name_label, self._name)
        form.addRow("", self._name_hint)
        form.addRow(self._attachments_label, self._downscale)
        form.addRow("", self._prefetch)

        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self._buttons.accepted.connect(self.accept)
        self._buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self._buttons)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Preferences"))
        self._language.setItemText(0, self.tr("System default"))
        self._language_label.setText(self.tr("&Language:"))
        self._name_label.setText(self.tr("Your &name:"))
        self._name.setPlaceholderText(self.tr("e.g. 王芳"))
        self._name_hint.setText(self.tr("Saved as the author of the records you create."))
        self._attachments_label.setText(self.tr("Attachments:"))
        self._downscale.setText(self.tr("Make &photos smaller before attaching them"))
        self._downscale.setToolTip(self.tr(
            "Photos are attached at most 1600 pixels wide, about a tenth of the size: they upload "
            "faster over a weak connection. The original stays where it was."))
        self._prefetch.setText(self.tr("&Download the files of records waiting for my review"))
        self._prefetch.setToolTip(self.tr(
            "For trainers: after each sync, fetch the attachments of the records in your review "
            "queue, so they open at once, even offline."))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def language(self) -> str:
        return str(self._language.currentData())

    def name(self) -> str:
        return self._name.text().strip()

    def accept(self) -> None:
        previous = settings.get(settings.LANGUAGE)
        language = self.language()
        settings.put(settings.LANGUAGE, language)
        settings.put(settings.AUTHOR_NAME, self.name())
        settings.put(settings.DOWNSCALE_PHOTOS, self._downscale.isChecked())
        settings.put(settings.PREFETCH_FOR_REVIEW, self._prefetch.isChecked())
        if language != previous:
            log.info("Switching the interface language to %s", language)
            self._translations.install(language)
        super().accept()
