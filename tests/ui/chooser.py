"""Driving New's template chooser (app/ui/templates_ui.py) as a person does."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.templates_ui import TemplateChooser


def open_chooser(qtbot: Any, window: QWidget) -> TemplateChooser:
    """The chooser New just opened, once it is shown with the keyboard in its list."""

    def shown() -> TemplateChooser | None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, TemplateChooser) and widget.isVisible():
                return widget
        return None

    qtbot.waitUntil(lambda: shown() is not None)
    chooser = shown()
    assert chooser is not None
    qtbot.waitUntil(lambda: QApplication.focusWidget() is chooser.list)
    return chooser


def choose_blank(qtbot: Any, window: QWidget) -> None:
    """New on lesson plans: Enter on the chooser's first entry, a blank plan."""
    chooser = open_chooser(qtbot, window)
    assert chooser.current_key() == "blank"
    qtbot.keyClick(chooser.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not chooser.isVisible())
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
