"""The first run: an empty store and no account yet.

Instead of three empty lists the teacher sees what Fieldbook is for and the
two ways to start: write the first lesson plan (the primary action — the app
is whole without a server), or sign in to the programme's server, with one
sentence on what that address is and who gives it. The name asked for here is
the Preferences' "your name" (``settings.AUTHOR_NAME``), written on records.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import FieldbookError
from app.models.store import Store
from app.sync import replica
from app.ui import settings, style

EXAMPLE_SERVER = "https://fieldbook.example.org"
CONTENT_WIDTH = 600


def is_first_run(store: Store) -> bool:
    """Nothing written yet and never signed in: the welcome page is shown."""
    try:
        if any(store.counts().values()):
            return False
        return replica.sync_meta(store).server_url is None
    except FieldbookError:
        return False  # the window reports the store's problem itself


class WelcomePage(QWidget):
    """Welcome, your name, and the two ways to start."""

    write_first = Signal()
    sign_in = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome_page")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._build()
        self.retranslate()

    def _build(self) -> None:
        self._icon = QLabel(self)
        self._icon.setPixmap(style.icon("lesson_plan", style.ACCENT).pixmap(QSize(72, 72)))
        self._title = QLabel(self)
        self._title.setObjectName("welcome_title")
        style.mark_role(self._title, "welcome_title")
        self._intro = QLabel(self)
        self._intro.setObjectName("welcome_intro")
        style.mark_role(self._intro, "welcome_body")
        self._name = QLineEdit(self)
        self._name.setObjectName("welcome_name")
        self._name.setText(settings.get(settings.AUTHOR_NAME))
        self._name.editingFinished.connect(self.save_name)
        self._name_label = QLabel(self)
        self._name_label.setBuddy(self._name)
        self._name_hint = QLabel(self)
        style.mark_role(self._name_hint, "subtle")
        self._write = QPushButton(self)
        self._write.setObjectName("welcome_write")
        self._write.setIcon(style.icon("new", style.ON_ACCENT))
        self._write.setDefault(True)
        style.mark_primary(self._write)
        self._write.clicked.connect(lambda _checked=False: self._start(self.write_first.emit))
        self._sign_in = QPushButton(self)
        self._sign_in.setObjectName("welcome_sign_in")
        self._sign_in.setIcon(style.icon("sign_in"))
        self._sign_in.clicked.connect(lambda _checked=False: self._start(self.sign_in.emit))
        self._server_note = QLabel(self)
        self._server_note.setObjectName("welcome_server_note")
        style.mark_role(self._server_note, "subtle")
        for label in (self._title, self._intro, self._server_note):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
        self._lay_out()

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self._name_label, self._name)
        form.addRow("", self._name_hint)
        card = QFrame(self)
        card.setObjectName("welcome_card")
        inner = QVBoxLayout(card)
        inner.setContentsMargins(24, 16, 24, 16)
        # A hard minimum: the page's wrapped sentences make Qt under-estimate the card's height.
        inner.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        inner.setSpacing(8)
        inner.addLayout(form)
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        buttons.addWidget(self._write)
        buttons.addWidget(self._sign_in)
        buttons.addStretch(1)
        column = QVBoxLayout()
        column.setSpacing(8)
        column.addWidget(self._icon)
        column.addWidget(self._title)
        column.addWidget(self._intro)
        column.addSpacing(8)
        column.addWidget(card)
        column.addSpacing(16)
        column.addLayout(buttons)
        column.addWidget(self._server_note)
        holder = QWidget(self)
        holder.setFixedWidth(CONTENT_WIDTH)
        holder.setLayout(column)
        self._holder, self._column = holder, column
        outer = QVBoxLayout(self)
        outer.setContentsMargins(32, 32, 32, 32)
        outer.addStretch(1)
        outer.addWidget(holder, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self._title.setText(self.tr("Welcome to Fieldbook"))
        self._intro.setText(self.tr(
            "Keep your lesson plans, training records and peer exchanges in one place. "
            "Everything is saved on this computer as you type, with or without the internet."))
        self._name_label.setText(self.tr("&Your name:"))
        self._name.setPlaceholderText(self.tr("e.g. 王芳"))
        self._name.setAccessibleName(self.tr("Your name"))
        self._name_hint.setText(self.tr("Written on your records; you can change it in Preferences."))
        self._write.setText(self.tr("Write your first lesson plan"))
        self._sign_in.setText(self.tr("Sign in to your programme's server"))
        self._server_note.setText(self.tr(
            "The server address is given by your programme staff, for example {example}. "
            "Signing in sends your records to your trainer and keeps a copy safe; "
            "you can also do it later from the Sync menu.").format(example=EXAMPLE_SERVER))
        self.setAccessibleName(self._title.text())
        self._fit_height()

    def _fit_height(self) -> None:
        """The outer layout hands a column of wrapped sentences only its minimum
        height (squashing the card onto the buttons): reserve the height the
        sentences need at the column's fixed width, in this language."""
        needed = self._column.totalHeightForWidth(CONTENT_WIDTH)
        self._holder.setMinimumHeight(needed if needed > 0 else self._column.totalSizeHint().height())

    def name(self) -> str:
        return self._name.text().strip()

    def save_name(self) -> None:
        """Keep the name typed here as the Preferences' "your name"."""
        name = self.name()
        if name and name != settings.get(settings.AUTHOR_NAME):
            settings.put(settings.AUTHOR_NAME, name)

    def _start(self, emit: Callable[[], object]) -> None:
        self.save_name()
        emit()

    def focus_first(self) -> None:
        target = self._write if self._name.text() else self._name
        target.setFocus(Qt.FocusReason.OtherFocusReason)


__all__ = ["EXAMPLE_SERVER", "WelcomePage", "is_first_run"]
