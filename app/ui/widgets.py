"""Small widget helpers shared by the pages and panels."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSignalBlocker, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QComboBox, QPushButton, QWidget

READ_ONLY_FLAGS = (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                   | Qt.ItemFlag.ItemNeverHasChildren)


def read_only_flags(index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
    """``flags()`` of a table whose cells can be selected but not edited."""
    return READ_ONLY_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags


def set_bold(widget: QWidget) -> None:
    font = QFont(widget.font())
    font.setBold(True)
    widget.setFont(font)


def make_button(parent: QWidget, name: str, slot: Callable[[], None]) -> QPushButton:
    button = QPushButton(parent)
    button.setObjectName(name)
    button.clicked.connect(lambda _checked=False: slot())
    return button


def filter_combo(parent: QWidget, name: str, changed: Callable[[], None]) -> QComboBox:
    """A compact combo box that calls ``changed`` whenever the user picks an item."""
    combo = QComboBox(parent)
    combo.setObjectName(name)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(8)
    combo.currentIndexChanged.connect(lambda _index: changed())
    return combo


def refill_combo(combo: QComboBox, items: list[tuple[str, object]]) -> None:
    """(Re)label a combo box's items, keeping what is chosen, without signals."""
    current = combo.currentData()
    with QSignalBlocker(combo):
        combo.clear()
        for text, data in items:
            combo.addItem(text, data)
        combo.setCurrentIndex(max(0, combo.findData(current)) if current is not None else 0)


__all__ = ["READ_ONLY_FLAGS", "filter_combo", "make_button", "read_only_flags", "refill_combo",
           "set_bold"]
