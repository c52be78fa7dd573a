"""The right-hand pane: the record editor, what it shows with no record open,
banners, and the editor's save state for the status bar.

Banners (the sync conflicts of the open record, the review panel) sit above
the editor; with no record open an empty state says what to do instead of
showing an empty form.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.ui.editors import RecordEditor
from app.ui.empty_state import EmptyStack, EmptyState


class EditorPane(QWidget):
    """The editor with room above it for banners, and its empty state."""

    new_requested = Signal()  # the empty state's button

    def __init__(self, editor: RecordEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("editor_pane")
        self._editor = editor
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._empty = EmptyState("editor_empty", "lesson_plan", self,
                                 action=self.new_requested.emit)
        self._stack = EmptyStack(editor, self._empty, self)
        self._stack.setObjectName("editor_stack")
        self._layout.addWidget(self._stack, 1)
        editor.record_shown.connect(lambda _record_id: self.update_empty())

    def add_banner(self, widget: QWidget) -> None:
        """Place ``widget`` above the editor (newest on top)."""
        self._layout.insertWidget(0, widget)

    def update_empty(self) -> None:
        self._stack.set_empty(self._editor.current_kind() is None)

    def set_new_text(self, text: str) -> None:
        """The words of the empty state's button: the window's primary action."""
        self._empty.button.setText(text)

    def retranslate(self, new_text: str) -> None:
        self._empty.set_texts(
            self.tr("Choose a record, or start a new one"),
            self.tr("Pick a record in the list to read or edit it. What you type is saved on "
                    "this computer as you go."),
            new_text,
        )
        self.setAccessibleName(self.tr("Record editor"))


class SaveStateLabel(QLabel):
    """What the editor's autosave is doing, in the status bar: it stays
    visible under passing messages, because it matters."""

    def __init__(self, editor: RecordEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("save_state")
        self._editor, self._state = editor, "idle"
        editor.save_state_changed.connect(self._on_state_changed)

    def _on_state_changed(self, state: str) -> None:
        self._state = state
        self.retranslate()

    def retranslate(self) -> None:
        state, error = self._state, ""
        if state in ("failed", "invalid"):
            error = self._editor.last_error() or ""
        texts = {
            "idle": "",
            "pending": self.tr("Unsaved changes…"),
            "saving": self.tr("Saving…"),
            "saved": self.tr("All changes saved"),
            "invalid": (
                self.tr("Not saved: {error}").format(error=error)
                if error
                else self.tr("Not saved: please correct the marked fields")
            ),
            "failed": (
                self.tr("Not saved: {error}").format(error=error)
                if error
                else self.tr("Not saved")
            ),
        }
        self.setText(texts.get(state, ""))
        self.setToolTip(error)
        alarm = state in ("failed", "invalid")
        self.setStyleSheet("color: #c62828;" if alarm else "")


__all__ = ["EditorPane", "SaveStateLabel"]
