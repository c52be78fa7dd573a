"""The Qt binding must not leak or drop references on the paths the app
hammers: model resets (every filter change, every search keystroke) and
signal emits (every background task). PySide6 6.12.0 drops a reference to
None or True each time under Python 3.11 and aborts after a few hundred."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QAbstractTableModel, QObject, Signal
    from PySide6.QtWidgets import QApplication

    app = QApplication([])

    class Model(QAbstractTableModel):
        def rowCount(self, parent=None): return 0
        def columnCount(self, parent=None): return 0
        def data(self, index, role=0): return None

    class Emitter(QObject):
        done = Signal(object, object, bool)

    model, emitter = Model(), Emitter()
    emitter.done.connect(lambda *args: None)
    before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(3000):
        model.beginResetModel()
        model.endResetModel()
        emitter.done.emit(None, 1, True)
    after = sys.getrefcount(None), sys.getrefcount(True)
    print(after[0] - before[0], after[1] - before[1])
    """
)


def test_model_resets_and_signal_emits_keep_references_balanced() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lost_none, lost_true = (int(x) for x in result.stdout.split())
    assert abs(lost_none) < 100 and abs(lost_true) < 100, result.stdout
