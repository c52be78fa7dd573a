"""A feature's actions in the window's menus, re-labelled when the language changes.

Parcels and the same room each add a few actions to the File menu from their
own module (the window does not know them); this base holds what they share:
making a named action and re-labelling on ``LanguageChange``.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QWidget


class WindowActions(QObject):
    """Subclasses make their actions with :meth:`make_action`, set their texts
    in :meth:`retranslate`, and call it once built."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        window.installEventFilter(self)

    def make_action(self, name: str, slot: Callable[[], object], icon: QIcon | None = None) -> QAction:
        action = QAction(self._window) if icon is None else QAction(icon, "", self._window)
        action.setObjectName(name)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        return False

    def retranslate(self) -> None:
        raise NotImplementedError
