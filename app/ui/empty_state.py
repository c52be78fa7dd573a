"""Friendly empty states: instead of an empty grid, say why nothing is shown
and offer the one thing to do about it (a button).

``EmptyStack`` lays an ``EmptyState`` over a view: the owner says whether the
view is empty, the stack shows one or the other. Texts are set by the owner
(translated there), so the owner's ``retranslate`` re-labels them too.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from app.ui import style

ICON_SIZE = 64


def window_action(widget: QWidget, name: str) -> Callable[[], None]:
    """Trigger the window's action ``name`` (e.g. ``action_sync_now``): a page
    offers the same action as the menu, with its rules (sign in first…)."""

    def trigger() -> None:
        action = widget.window().findChild(QAction, name)
        if action is not None and action.isEnabled():
            action.trigger()

    return trigger


class EmptyState(QWidget):
    """An icon, a short title, a sentence, and optionally one action button."""

    def __init__(self, name: str, icon: str, parent: QWidget | None = None,
                 action: Callable[[], None] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("empty_state")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._icon = QLabel(self)
        self._icon.setObjectName(f"{name}_icon")
        self._icon.setPixmap(style.icon(icon, "#90a4ae").pixmap(QSize(ICON_SIZE, ICON_SIZE)))
        self._icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._title = QLabel(self)
        self._title.setObjectName(f"{name}_title")
        style.mark_role(self._title, "empty_title")
        self._body = QLabel(self)
        self._body.setObjectName(f"{name}_body")
        style.mark_role(self._body, "empty_body")
        for label in (self._title, self._body):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.button = QPushButton(self)
        self.button.setObjectName(f"{name}_button")
        style.mark_primary(self.button)
        self.button.setVisible(action is not None)
        if action is not None:
            self.button.clicked.connect(lambda _checked=False: action())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.setSpacing(8)
        layout.addStretch(1)
        layout.addWidget(self._icon)
        layout.addSpacing(8)
        layout.addWidget(self._title)
        layout.addWidget(self._body)
        layout.addSpacing(8)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)

    def minimumSizeHint(self) -> QSize:
        """No say in how narrow the pane may get: the view it stands for decides."""
        return QSize(0, 0)

    def set_texts(self, title: str, body: str, button: str = "") -> None:
        self._title.setText(title)
        self._body.setText(body)
        self._body.setVisible(bool(body))
        self.button.setText(button)
        self.setAccessibleName(title)
        self.setAccessibleDescription(body)

    def set_icon(self, icon: str) -> None:
        self._icon.setPixmap(style.icon(icon, "#90a4ae").pixmap(QSize(ICON_SIZE, ICON_SIZE)))

    def set_action_visible(self, visible: bool) -> None:
        self.button.setVisible(visible)

    def title(self) -> str:
        return self._title.text()

    def body(self) -> str:
        return self._body.text()


class EmptyStack(QStackedWidget):
    """A view, or its empty state when there is nothing to show in it."""

    def __init__(self, view: QWidget, empty: EmptyState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view, self.empty = view, empty
        self.addWidget(view)
        self.addWidget(empty)

    def set_empty(self, empty: bool) -> None:
        target = self.empty if empty else self.view
        if self.currentWidget() is target:
            return
        had_focus = self.view.hasFocus()
        self.setCurrentWidget(target)
        if not empty and had_focus:
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def is_empty(self) -> bool:
        return self.currentWidget() is self.empty


__all__ = ["EmptyStack", "EmptyState", "window_action"]
