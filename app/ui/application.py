"""Start-up of the desktop app: arguments, logging, translations, store, window."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QMessageLogContext, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from app import __version__
from app.models import reviews
from app.models.store import Store
from app.paths import backup_dir, data_dir
from app.ui import settings, style
from app.ui.attachments_ui import AttachmentsUi
from app.ui.i18n import Translations
from app.ui.main_window import MainWindow
from app.ui.nearby_ui import nearby_ui
from app.ui.parcels_ui import parcels_ui
from app.ui.review_ui import ReviewUi
from app.ui.store_dialogs import open_store_interactive
from app.ui.sync_controller import SyncController
from app.ui.sync_ui import SyncUi
from app.ui.tasks import TaskRunner
from app.ui.transfers import TransferController

log = logging.getLogger("fieldbook.ui")
_qt_log = logging.getLogger("fieldbook.qt")
BENCH_EXIT_ENV = "FIELDBOOK_BENCH_EXIT"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="fieldbook", description="Fieldbook desktop app")
    parser.add_argument("--data-dir", help="folder for Fieldbook's data (default: the user data folder)")
    parser.add_argument("--lang", choices=["zh_CN", "en", "system"], help="language for this run")
    parser.add_argument("--version", action="version", version=f"Fieldbook {__version__}")
    # Handled in app/__main__.py before Qt loads; declared here for --help.
    parser.add_argument("--check", action="store_true",
                        help="name what this computer lacks (Qt libraries, fonts, keyring, data folder), "
                        "then exit")
    return parser.parse_args(list(argv))


def setup_logging(directory: Path) -> None:
    """Warnings to the terminal, everything from INFO to a rotating file that
    support staff can ask for."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    root.addHandler(console)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        file = logging.handlers.RotatingFileHandler(
            directory / "fieldbook.log", maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        return
    file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file)


def _qt_message(kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
    }.get(kind, logging.ERROR)
    _qt_log.log(level, "%s", message)


def backup_daily(store: Store, runner: TaskRunner, directory: Path) -> None:
    """A copy a day in the background, so a damaged store has a recent backup."""
    today = dt.date.today().isoformat()
    if settings.get(settings.LAST_BACKUP_DAY) == today:
        return
    runner.submit(
        lambda: store.backup(backup_dir(directory)),
        lambda _path: settings.put(settings.LAST_BACKUP_DAY, today),
    )


def start(argv: Sequence[str], started: float | None = None) -> int:
    """Run the app; returns the process exit code."""
    args = parse_args(argv)
    directory = data_dir(args.data_dir)
    setup_logging(directory)
    qInstallMessageHandler(_qt_message)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setOrganizationName("Fieldbook")
    app.setApplicationName("Fieldbook")
    app.setApplicationVersion(__version__)
    style.apply(app)
    translations = Translations()
    translations.install(args.lang or settings.get(settings.LANGUAGE))
    store = open_store_interactive(directory)
    if store is None:
        return 1
    runner = TaskRunner()
    window = MainWindow(store, runner, translations)
    sync = SyncController(store, runner)
    SyncUi(window, sync)
    ReviewUi(window, store, runner, sync)
    transfers = TransferController.for_sync(
        sync, queue_ids=lambda: [row.record_id for row in reviews.review_queue(store)])
    attachments_ui = AttachmentsUi(window, store, runner, transfers)
    parcels_ui(window, store, runner, sync)
    nearby = nearby_ui(window, store, sync)
    window.show_welcome_on_first_run()
    window.show()
    if os.environ.get(BENCH_EXIT_ENV) == "1":
        QTimer.singleShot(0, lambda: _report_ready(window, started))
    else:
        QTimer.singleShot(3000, lambda: backup_daily(store, runner, directory))
        QTimer.singleShot(1000, sync.start)
    code = app.exec()
    nearby.shutdown()
    transfers.shutdown()
    sync.shutdown()
    attachments_ui.shutdown()
    runner.wait()
    store.close()
    return code


def _report_ready(window: MainWindow, started: float | None) -> None:
    """For the start-up benchmark: the window is shown with its first rows."""
    QApplication.processEvents()
    rows = window.visible_row_count()
    elapsed = time.perf_counter() - (started or 0.0)
    sys.stdout.write(f"FIELDBOOK_READY {elapsed:.4f} rows={rows}\n")
    sys.stdout.flush()
    window.close()
