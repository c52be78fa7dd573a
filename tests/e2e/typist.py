"""A real Fieldbook window in its own process that types into a new lesson plan.

Run by test_kill_after_typing: it prints TYPED once the keystrokes are in the
widget and then keeps running until it is killed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSettings, QTimer
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QLineEdit

from app.models.store import Store
from app.ui.editors import RecordEditor
from app.ui.i18n import Translations
from app.ui.main_window import MainWindow
from app.ui.tasks import TaskRunner


def main() -> None:
    data_dir, text = Path(sys.argv[1]), sys.argv[2]
    app = QApplication([])
    QCoreApplication.setOrganizationName("FieldbookTests")
    QCoreApplication.setApplicationName("FieldbookTests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(data_dir / "qsettings"))
    translations = Translations()
    translations.install("zh_CN")
    store = Store.open(data_dir / "fieldbook.db")
    window = MainWindow(store, TaskRunner(), translations)
    window.show()

    def type_text() -> None:
        editor = window.findChild(RecordEditor)
        assert editor is not None
        editor.new_record("lesson_plan")
        title = editor.findChild(QLineEdit, "field_title")
        assert title is not None
        title.setFocus()
        # Chinese arrives the way an input method delivers it: one commit.
        event = QInputMethodEvent()
        event.setCommitString(text)
        QCoreApplication.sendEvent(title, event)
        sys.stdout.write("TYPED\n")
        sys.stdout.flush()

    QTimer.singleShot(100, type_text)
    app.exec()


if __name__ == "__main__":
    main()
