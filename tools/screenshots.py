"""The screenshots in ``docs/screenshots/<lang>/``: the real app window on
demo stores, under a real X server, at 1366×768, in Chinese and English.

    python -m tools.screenshots            # or: make screenshots

Starts ``Xvfb`` (apt-get install xvfb) unless ``DISPLAY`` is already set,
builds small demo stores in a temporary folder (a fellow's, a trainer's and an
empty one — the review queue and the dashboard read the local store, so no
server is needed), shows each screen, grabs the screen and writes optimised
PNGs. Settings, keyring and data stay in the temporary folder.

Screens: first-run, editor (a returned lesson plan with its review thread),
review-queue, dashboard, sign-in, conflict.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
LANGUAGES = ("zh_CN", "en")
SIZE = (1366, 768)
DISPLAY = ":99"
TRAINER, FELLOW_A, FELLOW_B, FELLOW_C = 1, 2, 3, 4
T0 = dt.datetime(2026, 11, 2, 8, 30, tzinfo=dt.UTC)

log = logging.getLogger("fieldbook.screenshots")
KEPT: list[Any] = []


# --- the X server -----------------------------------------------------------------------


@contextmanager
def x_server() -> Iterator[None]:
    """A virtual screen of exactly 1366×768 (unless a display is given)."""
    if os.environ.get("DISPLAY") and os.environ.get("FIELDBOOK_SCREENSHOT_DISPLAY") != "own":
        yield
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        sys.exit("Xvfb is needed: sudo apt-get install xvfb")
    process = subprocess.Popen(
        [xvfb, DISPLAY, "-screen", "0", f"{SIZE[0]}x{SIZE[1]}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socket = Path(f"/tmp/.X11-unix/X{DISPLAY.lstrip(':')}")
    deadline = time.monotonic() + 10
    while not socket.exists():  # waiting for a server to come up, not ordering work
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit("Xvfb did not start")
        time.sleep(0.05)
    os.environ["DISPLAY"] = DISPLAY
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- one language, in its own process ----------------------------------------------------


def run_language(language: str, work: Path) -> None:
    """Everything Qt happens in a child process per language: a fresh
    QApplication, translators and settings each time."""
    env = dict(os.environ, HOME=str(work / "home"), QT_QPA_PLATFORM="xcb",
               XDG_CONFIG_HOME=str(work / "home" / ".config"),
               XDG_DATA_HOME=str(work / "home" / ".local" / "share"),
               FIELDBOOK_DATA_DIR=str(work / "data"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    subprocess.run([sys.executable, "-X", "faulthandler", "-m", "tools.screenshots", "--child", language,
                    str(work)],
                   cwd=ROOT, env=env, check=True)


def child(language: str, work: Path) -> None:
    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtWidgets import QApplication

    from app.ui import settings, style
    from app.ui.i18n import Translations

    QCoreApplication.setOrganizationName("FieldbookScreenshots")
    QCoreApplication.setApplicationName("FieldbookScreenshots")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "qsettings"))
    app = QApplication([sys.argv[0]])
    style.apply(app)
    translations = Translations()
    translations.install(language)
    out = OUT / language
    out.mkdir(parents=True, exist_ok=True)
    settings.put(settings.AUTHOR_NAME, "王芳" if language == "zh_CN" else "Wang Fang")
    scenes: list[tuple[str, Callable[[Path, Translations], Path]]] = [
        ("first-run", scene_first_run), ("sign-in", scene_sign_in), ("editor", scene_editor),
        ("conflict", scene_conflict), ("review-queue", scene_review_queue),
        ("dashboard", scene_dashboard), ("templates", scene_templates),
        ("nearby-share", scene_nearby_share), ("nearby-collect", scene_nearby_collect),
    ]
    for name, scene in scenes:
        QSettings().clear()
        if name not in ("first-run", "sign-in"):
            settings.put(settings.AUTHOR_NAME, "王芳" if language == "zh_CN" else "Wang Fang")
        folder = work / language / name
        folder.mkdir(parents=True)
        path = scene(folder, translations)
        target = out / f"{name}.png"
        shutil.move(path, target)
        optimise(target)
        log.warning("wrote %s", target.relative_to(ROOT))


# --- demo stores -----------------------------------------------------------------------


def _people(store: Any) -> None:
    from app.models.orm import Person

    with store.writing() as work:
        session = work.session
        session.add(Person(id=TRAINER, name="李明", role="trainer", school="", cohorts=["2026 秋"]))
        session.add(Person(id=FELLOW_A, name="王芳", role="fellow", school="城关小学", cohorts=["2026 秋"]))
        session.add(Person(id=FELLOW_B, name="张伟", role="fellow", school="河西小学", cohorts=["2026 秋"]))
        session.add(Person(id=FELLOW_C, name="刘洋", role="fellow", school="东坡中学", cohorts=["2026 秋"]))


def _record(store: Any, kind: str, values: dict[str, Any], owner: int, status: str,
            record_id: str | None = None) -> str:
    from sqlalchemy import update

    from app.models.orm import Record

    record = store.create(kind, values, author="王芳", record_id=record_id)
    with store.writing() as work:
        session = work.session
        session.execute(update(Record).where(Record.id == record.id)
                        .values(owner_id=owner, status=status))
    return str(record.id)


def _entry(store: Any, record_id: str, action: str, author_id: int, author: str, *, body: str = "",
           hours: float = 0.0, seq: int = 1, seen: bool = True) -> None:
    from app.models.orm import Review

    at = T0 + dt.timedelta(hours=hours)
    with store.writing() as work:
        session = work.session
        session.add(Review(id=str(uuid.uuid4()), record_id=record_id, author_id=author_id,
                           author=author, action=action, body=body, basis=[], outcome="accepted",
                           reason="", at=at, written_at=at, seq=seq, pending=False, seen=seen))


def _generated(kind: str, count: int, seed: int) -> list[dict[str, Any]]:
    from bench.generate import generate_items

    found = [item.values for item in generate_items(200, seed) if item.kind == kind]
    return found[:count]


RETURNED_PLAN = {
    "title": "认识分数（第一课时）", "subject": "math", "grade": 3,
    "planned_date": dt.date(2026, 11, 12), "duration_minutes": 40, "class_name": "三年级（2）班",
    "objectives": ("1. 结合分蛋糕、折纸等活动，初步认识几分之一。\n"
                   "2. 会读、写几分之一，知道分子、分母的意义。"),
    "key_points": "理解“平均分”是认识分数的前提。",
    "materials": "圆形、正方形纸片，课件",
}


def fellow_store(folder: Path) -> tuple[Any, dict[str, str]]:
    """Wang Fang's laptop: her own plans in every state, a review thread, a training
    record and an exchange log."""
    from app.models.store import Store
    from app.sync import replica

    store = Store.open(folder / "fieldbook.db")
    replica.set_account(store, server_url="https://fieldbook.example.org", username="wangfang",
                        user_id=FELLOW_A, role="fellow", display_name="王芳")
    _people(store)
    ids: dict[str, str] = {}
    statuses = ["approved", "submitted", "draft", "approved", "draft"]
    for values, status in zip(_generated("lesson_plan", 5, 7), statuses, strict=False):
        ids.setdefault(status, _record(store, "lesson_plan", values, FELLOW_A, status))
    returned = dict(RETURNED_PLAN)
    ids["returned"] = _record(store, "lesson_plan", returned, FELLOW_A, "returned")
    _entry(store, ids["returned"], "submit", FELLOW_A, "王芳", hours=0, seq=1)
    _entry(store, ids["returned"], "return", TRAINER, "李明", hours=26, seq=2, seen=False, body=(
        "目标写得很清楚。请在“教学过程”里加一个学生动手折纸的环节，并写出预计用时；"
        "练习题可以再分一下层次。"))
    for values in _generated("training", 2, 11):
        _record(store, "training", values, FELLOW_A, "submitted")
    for values in _generated("exchange", 2, 13):
        _record(store, "exchange", values, FELLOW_A, "draft")
    return store, ids


def add_conflict(store: Any, record_id: str) -> None:
    from app.models.orm import Conflict

    with store.writing() as work:
        session = work.session
        session.add(Conflict(id=1, record_id=record_id, field="title", value="认识分数（第一课时）·修改稿",
                             clock=41, device="laptop-home", winner_clock=42, winner_device="laptop-school",
                             resolved=False))


def trainer_store(folder: Path) -> Any:
    """Li Ming's laptop: his cohort's submitted records (the queue) and figures."""
    from app.models.store import Store
    from app.sync import replica

    store = Store.open(folder / "fieldbook.db")
    replica.set_account(store, server_url="https://fieldbook.example.org", username="liming",
                        user_id=TRAINER, role="trainer", display_name="李明")
    _people(store)
    fellows = (FELLOW_A, FELLOW_B, FELLOW_C)
    names = {FELLOW_A: "王芳", FELLOW_B: "张伟", FELLOW_C: "刘洋"}
    statuses = ["submitted", "approved", "submitted", "returned", "approved", "submitted",
                "approved", "submitted", "approved"]
    seq = 1
    for number, (values, status) in enumerate(zip(_generated("lesson_plan", 9, 21), statuses,
                                                  strict=False)):
        owner = fellows[number % 3]
        record_id = _record(store, "lesson_plan", values, owner, status)
        _entry(store, record_id, "submit", owner, names[owner], hours=number * 5, seq=seq)
        seq += 1
    for number, values in enumerate(_generated("training", 4, 23)):
        owner = fellows[number % 3]
        record_id = _record(store, "training", values, owner, "submitted")
        _entry(store, record_id, "submit", owner, names[owner], hours=3 + number * 7, seq=seq)
        seq += 1
    for number, values in enumerate(_generated("exchange", 5, 25)):
        _record(store, "exchange", values, fellows[number % 3], "approved")
    return store


# --- the window ---------------------------------------------------------------------------


class App:
    """The window wired as ``app/ui/application.py`` wires it, without sync running."""

    def __init__(self, store: Any, translations: Any, **nearby: Any) -> None:
        from app.models import reviews
        from app.ui.attachments_ui import AttachmentsUi
        from app.ui.main_window import MainWindow
        from app.ui.nearby_ui import nearby_ui
        from app.ui.parcels_ui import parcels_ui
        from app.ui.review_ui import ReviewUi
        from app.ui.sync_controller import SyncController
        from app.ui.sync_ui import SyncUi
        from app.ui.tasks import TaskRunner
        from app.ui.transfers import TransferController

        self.store = store
        self.runner = TaskRunner()
        self.window = MainWindow(store, self.runner, translations)
        self.sync = SyncController(store, self.runner)
        self.sync_ui = SyncUi(self.window, self.sync)
        self.review_ui = ReviewUi(self.window, store, self.runner, self.sync)
        self.transfers = TransferController.for_sync(
            self.sync, queue_ids=lambda: [row.record_id for row in reviews.review_queue(store)])
        self.attachments_ui = AttachmentsUi(self.window, store, self.runner, self.transfers)
        self.parcels_ui = parcels_ui(self.window, store, self.runner, self.sync)
        self.nearby_ui = nearby_ui(self.window, store, self.sync, **nearby)
        self.window.show_welcome_on_first_run()
        self.window.setGeometry(0, 0, *SIZE)
        self.window.show()
        settle()

    def shot(self, path: Path) -> Path:
        from PySide6.QtWidgets import QApplication

        settle()
        screen = QApplication.primaryScreen()
        pixmap = screen.grabWindow(0, 0, 0, *SIZE)
        pixmap.save(str(path), "PNG")
        return path

    def close(self) -> None:
        self.window.close()
        self.nearby_ui.shutdown()
        self.transfers.shutdown()
        self.sync.shutdown()
        self.attachments_ui.shutdown()
        self.runner.wait()
        self.window.hide()
        KEPT.append(self)  # deleted with the process: tearing windows down one by one gains nothing
        settle()


def settle() -> None:
    """Let the window lay out, the writer thread answer and X draw."""
    from PySide6.QtCore import QCoreApplication, QEventLoop, QThread

    for _ in range(6):
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 100)
        QCoreApplication.sendPostedEvents()
        QThread.msleep(60)  # a screenshot tool, not a test: give X time to paint
    QCoreApplication.processEvents()


def _open(app: App, record_id: str) -> None:
    app.window.open_record(record_id)
    settle()


def scene_first_run(folder: Path, translations: Any) -> Path:
    from app.models.store import Store

    app = App(Store.open(folder / "fieldbook.db"), translations)
    try:
        return app.shot(folder / "shot.png")
    finally:
        app.close()


def scene_sign_in(folder: Path, translations: Any) -> Path:
    from app.models.store import Store

    app = App(Store.open(folder / "fieldbook.db"), translations)
    try:
        dialog = app.sync_ui.show_sign_in()
        # Xvfb has no window manager to draw the dialog's frame: a thin border stands in.
        dialog.setStyleSheet("QDialog#sign_in_dialog { border: 1px solid #90a4ae; }")
        dialog.fill("https://fieldbook.example.org", "wangfang", "")
        settle()
        return app.shot(folder / "shot.png")
    finally:
        app.close()


def scene_editor(folder: Path, translations: Any) -> Path:
    store, ids = fellow_store(folder)
    app = App(store, translations)
    try:
        _open(app, ids["returned"])
        return app.shot(folder / "shot.png")
    finally:
        app.close()


def scene_templates(folder: Path, translations: Any) -> Path:
    """New on lesson plans: the template chooser, a built-in one chosen, one of her own listed."""
    from app.models import templates
    from app.models.fields import Kind

    store, ids = fellow_store(folder)
    templates.save_as_template(store, ids["returned"], "我的分数课", author="王芳")
    app = App(store, translations)
    try:
        app.window.set_kind(Kind.LESSON_PLAN)
        app.window.new_record(choose=True)
        settle()
        chooser = app.window.findChild(templates_chooser_type())
        assert chooser is not None, "New on lesson plans opens the chooser"
        chooser.setStyleSheet("QDialog { border: 1px solid #90a4ae; }")  # no window manager: a frame
        chooser.select("builtin:new_lesson")
        return app.shot(folder / "shot.png")
    finally:
        app.close()


def templates_chooser_type() -> Any:
    from app.ui.templates_ui import TemplateChooser

    return TemplateChooser


def scene_conflict(folder: Path, translations: Any) -> Path:
    store, ids = fellow_store(folder)
    add_conflict(store, ids["returned"])
    app = App(store, translations)
    try:
        app.sync.refresh_conflicts()
        _open(app, ids["returned"])
        return app.shot(folder / "shot.png")
    finally:
        app.close()


def scene_review_queue(folder: Path, translations: Any) -> Path:
    from app.ui.review_ui import QUEUE_PAGE

    app = App(trainer_store(folder), translations)
    try:
        app.window.show_page(QUEUE_PAGE)
        settle()
        queue = app.review_ui.queue
        if queue.model().rowCount():
            queue.open_row(0)
        settle()
        app.window.show_page(QUEUE_PAGE)
        return app.shot(folder / "shot.png")
    finally:
        app.close()


def scene_dashboard(folder: Path, translations: Any) -> Path:
    from app.ui.review_ui import DASHBOARD_PAGE

    app = App(trainer_store(folder), translations)
    try:
        app.window.show_page(DASHBOARD_PAGE)
        return app.shot(folder / "shot.png")
    finally:
        app.close()


# --- in the same room: real sharing and exchange on loopback ----------------------------

HOTSPOT_ADDRESS = "192.168.43.27"  # what a phone hotspot gives; the exchange itself runs on loopback
LOOPBACK = "127.0.0.1"
NEARBY_WAIT_S = 20.0


def certify(store: Any, server: Any, user: int, name: str, role: str) -> None:
    """What the first sign-in gives a laptop for the room: the server's
    public keys and its certificate of this laptop's keys (here from a
    server key pair made for the demo)."""
    from base64 import b64encode

    from app.protocol.peer_parcels import issue_certificate
    from app.sync import parcel_keys

    parcel_keys.remember_server_keys(store, b64encode(server.public().to_bytes()).decode("ascii"))
    certificate = issue_certificate(server, user=str(user), name=name, role=role, device_id=store.device_id,
                                    keys=parcel_keys.device_keys(store).public(),
                                    issued_at=dt.datetime.now(dt.UTC))
    assert parcel_keys.remember_certificate(store, certificate)


def village(folder: Path) -> tuple[Any, Any, str]:
    """Wang Fang's laptop and Li Ming's, both certified by one server; Li
    Ming has her submitted plan and a comment on it waiting to be sent."""
    from app.models import reviews
    from app.models.store import Store
    from app.protocol.parcel_format import ServerKeys
    from app.sync import replica

    server = ServerKeys.generate()
    fellow, ids = fellow_store(folder / "fellow")
    certify(fellow, server, FELLOW_A, "王芳", "fellow")
    trainer = Store.open(folder / "trainer" / "fieldbook.db")
    replica.set_account(trainer, server_url="https://fieldbook.example.org", username="liming",
                        user_id=TRAINER, role="trainer", display_name="李明")
    _people(trainer)
    certify(trainer, server, TRAINER, "李明", "trainer")
    plan = fellow.get(ids["submitted"])
    _record(trainer, "lesson_plan", dict(plan.values), FELLOW_A, "submitted", record_id=plan.id)
    reviews.add_comment(trainer, plan.id, "第二个例子选得很好。练习题可以再分一下层次，照顾到后进的学生。")
    return fellow, trainer, plan.id


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + NEARBY_WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("the nearby scene did not get there")
        settle()


def framed(dialog: Any, name: str) -> None:
    """Xvfb has no window manager to draw a dialog's frame: a thin border stands in."""
    dialog.setStyleSheet(f"QDialog#{name} {{ border: 1px solid #90a4ae; }}")


def scene_nearby_share(folder: Path, translations: Any) -> Path:
    """The fellow shares; the trainer's laptop has just taken her work and left a comment."""
    from app.sync import nearby

    fellow, trainer, plan = village(folder)
    made: list[Any] = []

    def make_sharing(on_event: Callable[[Any], None]) -> Any:
        made.append(nearby.Sharing(fellow, on_event, interface=LOOPBACK))
        return made[-1]

    app = App(fellow, translations, make_sharing=make_sharing)
    try:
        _open(app, plan)
        dialog = app.nearby_ui.open_share()
        framed(dialog, "nearby_share_dialog")
        dialog.start()
        wait_for(lambda: dialog.sharing)
        nearby.Courier(trainer).exchange(made[0].peer(), dialog.code())
        wait_for(lambda: len(dialog.event_texts()) >= 2)
        made[0].interface = HOTSPOT_ADDRESS  # the words a hotspot would show
        dialog.retranslate()
        return app.shot(folder / "shot.png")
    finally:
        app.close()


def scene_nearby_collect(folder: Path, translations: Any) -> Path:
    """The trainer has exchanged with Wang Fang's laptop: her parcel is carried, his comment handed."""
    from app.sync import lan, nearby

    fellow, trainer, _plan = village(folder)
    sharing = nearby.Sharing(fellow, interface=LOOPBACK)
    code = sharing.start()
    app = App(trainer, translations,
              make_browser=lambda added, removed: lan.Browser(added, removed, interface=LOOPBACK))
    try:
        dialog = app.nearby_ui.open_collect()
        framed(dialog, "nearby_collect_dialog")
        wait_for(lambda: bool(dialog.peer_texts()))
        from PySide6.QtWidgets import QLineEdit

        dialog.findChild(QLineEdit, "nearby_code").setText(code)
        dialog.exchange()
        wait_for(lambda: "王芳" in dialog.result_text())
        return app.shot(folder / "shot.png")
    finally:
        app.close()
        sharing.close()


# --- small files ---------------------------------------------------------------------------


def optimise(path: Path) -> None:
    """Lossless if only optipng is there; a 256-colour palette (pngquant) first if it is."""
    pngquant, optipng = shutil.which("pngquant"), shutil.which("optipng")
    if pngquant:
        subprocess.run([pngquant, "--force", "--skip-if-larger", "--quality", "80-98",
                        "--output", str(path), str(path)], check=False)
    if optipng:
        subprocess.run([optipng, "-quiet", "-o2", str(path)], check=False)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--child", nargs=2, metavar=("LANG", "WORK"), help=argparse.SUPPRESS)
    parser.add_argument("--lang", choices=LANGUAGES, action="append", help="only these languages")
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]))
        logging.shutdown()
        os._exit(0)  # every PNG is written; skip Qt's teardown of the hidden windows
    with x_server(), tempfile.TemporaryDirectory(prefix="fieldbook-shots-") as temp:
        for language in args.lang or LANGUAGES:
            run_language(language, Path(temp) / language)
    return 0


if __name__ == "__main__":
    sys.exit(main())
