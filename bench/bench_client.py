"""Client performance on a large store: start-up, filtering, search, memory.

    python -m bench.bench_client [--count 50000] [--seed 42] [--runs 5]

Measures, on the generated store (``bench.generate``):

* cold start: a fresh ``python -m app`` process until the main window is shown
  with its first rows (the app prints ``FIELDBOOK_READY <seconds>`` when
  ``FIELDBOOK_BENCH_EXIT=1``), and its peak RSS;
* changing a filter: ``RecordTableModel.set_query`` + ``total()`` + the cells
  of the visible rows, and the same at the store level (``list_rows`` + ``count``);
* search as you type: every keystroke of realistic queries through
  ``store.search`` (and ``SearchResultsModel.set_text``);

then prints a table and rewrites the client section of ``docs/benchmarks.md``.
The filter and search runs happen in a child process (``--worker``) so its
peak RSS is the app's, not this script's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import queue
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bench.doc import DOC, write_section
from bench.generate import DATA_DIR, DEFAULT_SEED, build_store, default_path

if TYPE_CHECKING:
    from PySide6.QtCore import QObject

T = TypeVar("T", bound="QObject")
ROOT = Path(__file__).resolve().parent.parent
READY = re.compile(r"FIELDBOOK_READY\s+([0-9.]+)(?:\s+rows=(\d+))?")

TARGET_START_S = 2.0
TARGET_FILTER_MS = 100.0
TARGET_SEARCH_P95_MS = 50.0
TARGET_RSS_MB = 300.0
VISIBLE_ROWS = 30  # what a list shows on a 768-pixel-high laptop screen
START_TIMEOUT_S = 120.0

# What a user types, keystroke by keystroke: two-character words, longer
# phrases, names, single characters and English typed letter by letter.
SEARCH_QUERIES = (
    "分数", "教学", "学生", "课堂", "作业", "认识分数", "小数的加法", "静夜思", "古诗教学",
    "植物的一生", "留守儿童", "小组合作", "分层作业", "城关第一小学", "实验小学", "国培计划", "暑期",
    "教研活动", "同课异构", "学", "课", "数", "phonics", "unit", "Unit 3 My School",
    "school", "PowerPoint", "Scratch 编程", "the", "教学 phonics",
)


def _filters() -> list[tuple[str, Any]]:
    """A user's clicks through the filters: (label, ListQuery)."""
    from app.models.store import ListQuery

    lesson = ListQuery(kind="lesson_plan")
    approved = replace(lesson, status="approved")
    math_ = replace(approved, subject="math")
    grade3 = replace(math_, grade=3)
    autumn = replace(grade3, date_from=dt.date(2024, 9, 1), date_to=dt.date(2025, 1, 15))
    chinese = replace(lesson, subject="chinese")
    term = replace(lesson, date_from=dt.date(2025, 2, 20), date_to=dt.date(2025, 7, 5))
    by_date = replace(lesson, sort="planned_date", descending=True)
    by_title = replace(lesson, sort="title", descending=False)
    training = ListQuery(kind="training")
    exchange = ListQuery(kind="exchange")
    return [
        ("lesson plans (all)", lesson),
        ("+ status approved", approved),
        ("+ subject math", math_),
        ("+ grade 3", grade3),
        ("+ dates 2024-09-01..2025-01-15", autumn),
        ("lesson plans, subject chinese", chinese),
        ("lesson plans, dates one term", term),
        ("lesson plans, sorted by date", by_date),
        ("lesson plans, sorted by title", by_title),
        ("training (all)", training),
        ("training, status submitted", replace(training, status="submitted")),
        ("training, dates 2024", replace(
            training, date_from=dt.date(2024, 1, 1), date_to=dt.date(2024, 12, 31))),
        ("exchanges (all)", exchange),
        ("exchanges, status returned", replace(exchange, status="returned")),
        ("exchanges, dates 2025", replace(
            exchange, date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 12, 31))),
    ]


# --- statistics --------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(samples: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "median": statistics.median(samples) if samples else math.nan,
        "p95": percentile(samples, 95),
        "max": max(samples) if samples else math.nan,
    }


def _timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return (time.perf_counter() - began) * 1000


# --- the worker: filters and search, in its own process ------------------------------


@contextmanager
def _captured_sql() -> Iterator[list[tuple[str, Any]]]:
    """Every statement SQLAlchemy sends, with its parameters."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(Engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", capture)


def _query_plans(path: Path, statements: Sequence[tuple[str, Any]]) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    plans = []
    try:
        for sql, params in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            rows = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
            plans.append({"sql": " ".join(sql.split()), "params": list(params) if not isinstance(
                params, dict) else params, "plan": [r[3] for r in rows]})
    finally:
        conn.close()
    return plans


def _pin_singletons() -> None:
    """Keep None, True and False alive whatever PySide6 does to them.

    PySide6 6.12.0 on CPython 3.11 drops references it does not own: to None
    on void calls such as ``beginResetModel()`` (≈60–90 per filter change or
    search keystroke in the main window) and to True on every ``Signal.emit``
    from Python, so a long session aborts with "deallocating None"
    (6.11.3 does not). CPython 3.12+ makes these objects immortal; here we
    give them a huge reference count so the benchmark can finish. Timing is
    unaffected. The app itself still has the bug (see docs/benchmarks.md).
    """
    if sys.version_info >= (3, 12):
        return
    import ctypes

    for singleton in (None, True, False):
        # ob_refcnt is the first field of every object in a release build.
        ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 40


def run_worker(store_path: Path, runs: int) -> dict[str, Any]:
    _pin_singletons()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QModelIndex, Qt
    from PySide6.QtWidgets import QApplication

    from app.models.store import Store
    from app.ui.list_model import RecordTableModel, SearchResultsModel

    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert app is not None
    store = Store.open(store_path)
    filters = _filters()
    display = Qt.ItemDataRole.DisplayRole

    def read_visible(model: Any) -> None:
        for row in range(min(VISIBLE_ROWS, model.rowCount())):
            for column in range(model.columnCount()):
                model.data(model.index(row, column, QModelIndex()), display)

    results: dict[str, Any] = {"filters": {}, "search": {}}

    # Filters through the model (what the user waits for) and the store.
    model = RecordTableModel(store, filters[0][1])
    model_samples: dict[str, list[float]] = {label: [] for label, _ in filters}
    store_samples: dict[str, list[float]] = {label: [] for label, _ in filters}
    counts: dict[str, int] = {}

    def through_model(query: Any) -> None:
        model.set_query(query)
        model.total()
        read_visible(model)

    def through_store(query: Any) -> None:
        store.list_rows(query, 0, 200)
        store.count(query)

    for run in range(runs + 1):  # the first pass warms up (SQL compile caches)
        for label, query in filters:
            took_model = _timed(partial(through_model, query))
            took_store = _timed(partial(through_store, query))
            if run:
                model_samples[label].append(took_model)
                store_samples[label].append(took_store)
            counts[label] = store.count(query)
    results["filters"] = {
        "model": {label: summary(s) for label, s in model_samples.items()},
        "store": {label: summary(s) for label, s in store_samples.items()},
        "model_all": summary([x for s in model_samples.values() for x in s]),
        "store_all": summary([x for s in store_samples.values() for x in s]),
        "counts": counts,
    }

    # Search as you type: every prefix of every query is one keystroke.
    search_model = SearchResultsModel(store)
    keystrokes = [q[:i] for q in SEARCH_QUERIES for i in range(1, len(q) + 1)]
    per_query_store: dict[str, list[float]] = {q: [] for q in SEARCH_QUERIES}
    store_all: list[float] = []
    model_all: list[float] = []
    hits: dict[str, int] = {}

    def search_model_keystroke(text: str) -> None:
        search_model.set_text(text)
        read_visible(search_model)

    for run in range(runs + 1):
        for query in SEARCH_QUERIES:
            for i in range(1, len(query) + 1):
                prefix = query[:i]
                took_store = _timed(partial(store.search, prefix, 0, 200))
                took_model = _timed(partial(search_model_keystroke, prefix))
                if run:
                    store_all.append(took_store)
                    model_all.append(took_model)
                    per_query_store[query].append(took_store)
            hits[query] = len(store.search(query, 0, 200))
    worst_prefixes: dict[str, float] = {}
    for prefix in dict.fromkeys(keystrokes):
        worst_prefixes[prefix] = _timed(partial(store.search, prefix, 0, 200))
    results["search"] = {
        "keystrokes_per_run": len(keystrokes),
        "store": summary(store_all),
        "model": summary(model_all),
        "per_query_store": {q: summary(s) for q, s in per_query_store.items()},
        "slowest_prefixes": sorted(worst_prefixes.items(), key=lambda kv: -kv[1])[:8],
        "hits_first_page": hits,
    }

    try:
        results["window"] = run_window(store, runs)
    except Exception as exc:  # the window is the lead's and changes: keep the rest
        results["window"] = {"error": f"{type(exc).__name__}: {exc}"}

    # The SQL behind it all, with SQLite's plans (not timed).
    plans: dict[str, list[dict[str, Any]]] = {}
    for label, query in filters:
        with _captured_sql() as statements:
            through_store(query)
        plans[label] = _query_plans(store_path, statements)
    for prefix in ("学", "分数", "phonics"):
        with _captured_sql() as statements:
            store.search(prefix, 0, 200)
        plans[f"search {prefix}"] = _query_plans(store_path, statements)
    results["plans"] = plans

    store.close()
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


# --- the real window: what the user waits for, view layout and painting included ----------

WINDOW_SEARCH_RUNS = 2  # every keystroke waits for the event loop: keep it short


def _drain(app: Any) -> None:
    for _ in range(3):
        app.sendPostedEvents()
        app.processEvents()


def run_window(store: Any, runs: int) -> dict[str, Any]:
    """Filter changes and search keystrokes in ``MainWindow`` (offscreen), each
    timed until the event loop is idle again (model reset, column sizing,
    status bar, painting). The search debounce is not counted."""
    from PySide6.QtCore import QDate, QTimer
    from PySide6.QtWidgets import QApplication, QComboBox, QDateEdit, QLineEdit

    from app.ui import main_window
    from app.ui.i18n import Translations
    from app.ui.main_window import MainWindow
    from app.ui.tasks import TaskRunner

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    translations = Translations()
    translations.install("zh_CN")
    runner = TaskRunner()
    window = MainWindow(store, runner, translations)
    window.resize(1366, 768)  # a common rural school laptop screen
    window.show()
    _drain(app)

    def child(cls: type[T], name: str) -> T:
        found = window.findChild(cls, name)
        if found is None:
            raise LookupError(f"the main window has no {cls.__name__} named {name!r}")
        return found

    def choose(name: str, value: object) -> Callable[[], None]:
        def act() -> None:
            combo = child(QComboBox, name)
            index = combo.findData(value)
            if index < 0:
                raise LookupError(f"{name} has no item {value!r}")
            combo.setCurrentIndex(index)
        return act

    def date(name: str, day: dt.date) -> Callable[[], None]:
        return lambda: child(QDateEdit, name).setDate(
            QDate(day.year, day.month, day.day))

    steps: list[tuple[str, Callable[[], None]]] = [
        ("lesson plans: status approved", choose("filter_status", "approved")),
        ("+ subject math", choose("filter_subject", "math")),
        ("+ grade 3", choose("filter_grade", 3)),
        ("+ from 2024-09-01", date("filter_from", dt.date(2024, 9, 1))),
        ("+ to 2025-01-15", date("filter_to", dt.date(2025, 1, 15))),
        ("clear filters", window.clear_filters),
        ("subject chinese", choose("filter_subject", "chinese")),
        ("switch to training", lambda: window.set_kind("training")),
        ("training: status submitted", choose("filter_status", "submitted")),
        ("switch to exchanges", lambda: window.set_kind("exchange")),
        ("exchanges: status returned", choose("filter_status", "returned")),
        ("clear filters (exchanges)", window.clear_filters),
        ("back to lesson plans", lambda: window.set_kind("lesson_plan")),
    ]
    filter_samples: dict[str, list[float]] = {label: [] for label, _ in steps}
    for run in range(runs + 1):
        window.set_kind("lesson_plan")
        window.clear_filters()
        _drain(app)
        for label, act in steps:
            began = time.perf_counter()
            act()
            _drain(app)
            if run:
                filter_samples[label].append((time.perf_counter() - began) * 1000)

    # Search: no debounce wait (the timer fires at once), timed from the
    # search model's reset to an idle event loop.
    search = child(QLineEdit, "search")
    for timer in window.findChildren(QTimer):
        if timer.interval() == getattr(main_window, "SEARCH_DELAY_MS", -1):
            timer.setInterval(0)
    model = window.search_model()
    resets: list[float] = []
    model.modelAboutToBeReset.connect(lambda: resets.append(time.perf_counter()))
    search_samples: list[float] = []
    for run in range(WINDOW_SEARCH_RUNS + 1):
        for query in SEARCH_QUERIES:
            for i in range(1, len(query) + 1):
                prefix = query[:i]
                resets.clear()
                search.setText(prefix)
                deadline = time.perf_counter() + 10
                while model.text != prefix and time.perf_counter() < deadline:
                    app.processEvents()
                _drain(app)
                if run and resets and model.text == prefix:
                    search_samples.append((time.perf_counter() - resets[0]) * 1000)
            search.clear()
            _drain(app)
    window.close()
    _drain(app)
    runner.wait()
    return {
        "filters": {label: summary(s) for label, s in filter_samples.items()},
        "filters_all": summary([x for s in filter_samples.values() for x in s]),
        "search": summary(search_samples),
        "search_runs": WINDOW_SEARCH_RUNS,
    }


# --- cold start -------------------------------------------------------------------------


@dataclass
class StartRun:
    reported_s: float | None
    wall_s: float | None
    peak_rss_mb: float
    rows: int | None
    exit_code: int
    error: str = ""


def _scratch() -> Path:
    """Temporary files beside the cached store (bench/.data/, ignored by git),
    where nobody else's clean-up of /tmp can pull a live SQLite file away."""
    path = DATA_DIR / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _isolated_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "QT_QPA_PLATFORM": "offscreen",
            "FIELDBOOK_BENCH_EXIT": "1",
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_STATE_HOME": str(home / ".local" / "state"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("FIELDBOOK_DATA_DIR", None)
    return env


def cold_start_once(data_dir: Path, home: Path) -> StartRun:
    """One fresh app process; returns when it has exited."""
    with tempfile.TemporaryFile() as stderr:
        began = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "--data-dir", str(data_dir), "--lang", "zh_CN"],
            cwd=ROOT,
            env=_isolated_env(home),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
        )
        lines: queue.Queue[tuple[float, str | None]] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put((time.perf_counter(), line))
            lines.put((time.perf_counter(), None))

        threading.Thread(target=pump, daemon=True).start()
        reported = wall = None
        rows = None
        deadline = began + START_TIMEOUT_S
        error = ""
        while True:
            try:
                at, line = lines.get(timeout=max(0.0, deadline - time.perf_counter()))
            except queue.Empty:
                error = f"no FIELDBOOK_READY within {START_TIMEOUT_S:.0f} s"
                proc.kill()
                break
            if line is None:
                break
            match = READY.search(line)
            if match and reported is None:
                wall = at - began
                reported = float(match.group(1))
                rows = int(match.group(2)) if match.group(2) else None
        # wait4 gives this child's own peak RSS (kilobytes on Linux).
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        tail = stderr.read().decode("utf-8", "replace").strip().splitlines()[-5:]
        if reported is None and not error:
            error = "exited without FIELDBOOK_READY: " + " | ".join(tail)
        return StartRun(reported, wall, usage.ru_maxrss / 1024, rows, proc.returncode, error)


def cold_start(data_dir: Path, runs: int) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="home-", dir=_scratch()))
    try:
        warmup = cold_start_once(data_dir, home)  # also checks that the app starts at all
        measured = [cold_start_once(data_dir, home) for _ in range(runs)] if not warmup.error else []
    finally:
        shutil.rmtree(home, ignore_errors=True)
    good = [r for r in measured if not r.error]
    result: dict[str, Any] = {
        "runs": [vars(r) for r in [warmup, *measured]],
        "ok": bool(good) and len(good) == len(measured),
        "error": warmup.error or next((r.error for r in measured if r.error), ""),
    }
    if good:
        result["reported"] = summary([r.reported_s for r in good if r.reported_s is not None])
        result["wall"] = summary([r.wall_s for r in good if r.wall_s is not None])
        result["peak_rss_mb"] = summary([r.peak_rss_mb for r in good])
        result["rows"] = good[0].rows
    return result


# --- machine and report ---------------------------------------------------------------------


def machine() -> dict[str, str]:
    def cpu_model() -> str:
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.processor() or "unknown"

    def memory() -> str:
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
        except OSError:
            pass
        return "unknown"

    def os_name() -> str:
        try:
            for line in Path("/etc/os-release").read_text().splitlines():
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip('"')
        except OSError:
            pass
        return platform.platform()

    try:
        import PySide6

        pyside = PySide6.__version__
    except ImportError:  # pragma: no cover
        pyside = "not installed"
    import sqlalchemy

    return {
        "cpu": f"{cpu_model()}, {os.cpu_count()} logical CPUs (nproc)",
        "memory": memory(),
        "os": f"{os_name()} (kernel {platform.release()})",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "pyside6": pyside,
        "sqlalchemy": sqlalchemy.__version__,
    }


def _ms(x: float) -> str:
    return "—" if x is None or math.isnan(x) else f"{x:.1f} ms"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**missed**")


@dataclass
class Report:
    count: int
    seed: int
    runs: int
    store_mb: float
    machine: dict[str, str]
    start: dict[str, Any]
    worker: dict[str, Any]
    load: tuple[float, float] = (math.nan, math.nan)  # 1-minute load average before, after
    date: str = field(default_factory=lambda: dt.date.today().isoformat())

    def busy(self) -> bool:
        return max(self.load) > 0.5 * (os.cpu_count() or 1)

    def rows(self) -> list[tuple[str, str, str, bool | None]]:
        """(measure, figure, target, met?) for the summary table."""
        s, w = self.start, self.worker
        table: list[tuple[str, str, str, bool | None]] = []
        if s.get("ok") or s.get("wall"):
            wall, rep = s["wall"]["median"], s["reported"]["median"]
            table.append(
                ("Cold start to main window with first rows (wall, spawn → ready)",
                 f"{wall:.2f} s (app's own figure {rep:.2f} s; p95 {s['wall']['p95']:.2f} s)",
                 f"≤ {TARGET_START_S:.0f} s", wall <= TARGET_START_S)
            )
            rss = s["peak_rss_mb"]["max"]
            table.append(("Peak RSS, app process (cold start)", f"{rss:.0f} MB",
                          f"≤ {TARGET_RSS_MB:.0f} MB", rss <= TARGET_RSS_MB))
        else:
            table.append(("Cold start to main window with first rows",
                          f"not measured: {s.get('error', '')}", f"≤ {TARGET_START_S:.0f} s", None))
        if w.get("error"):
            table.append(("Filters and search", f"not measured: {w['error']}", "", None))
        elif w:
            win = w.get("window", {})
            if "filters_all" in win:
                fw = win["filters_all"]
                table.append(("**Change a filter in the main window** (reset, column sizing, paint)",
                              f"median {_ms(fw['median'])}, p95 {_ms(fw['p95'])}",
                              f"≤ {TARGET_FILTER_MS:.0f} ms", fw["p95"] <= TARGET_FILTER_MS))
            fm, fs = w["filters"]["model_all"], w["filters"]["store_all"]
            table.append(("Change a filter: model set_query + total() + visible cells (no view)",
                          f"median {_ms(fm['median'])}, p95 {_ms(fm['p95'])}",
                          f"≤ {TARGET_FILTER_MS:.0f} ms", fm["p95"] <= TARGET_FILTER_MS))
            table.append(("Change a filter: store list_rows(200) + count",
                          f"median {_ms(fs['median'])}, p95 {_ms(fs['p95'])}",
                          f"≤ {TARGET_FILTER_MS:.0f} ms", fs["p95"] <= TARGET_FILTER_MS))
            if "search" in win:
                sw = win["search"]
                table.append(("**Search keystroke in the main window** (after the debounce)",
                              f"p50 {_ms(sw['median'])}, p95 {_ms(sw['p95'])}",
                              f"p95 ≤ {TARGET_SEARCH_P95_MS:.0f} ms",
                              sw["p95"] <= TARGET_SEARCH_P95_MS))
            elif win.get("error"):
                table.append(("Main window filter/search", f"not measured: {win['error']}",
                              "", None))
            ss, sm = w["search"]["store"], w["search"]["model"]
            table.append(("Search keystroke: store.search first page (200)",
                          f"p50 {_ms(ss['median'])}, p95 {_ms(ss['p95'])}",
                          f"p95 ≤ {TARGET_SEARCH_P95_MS:.0f} ms", ss["p95"] <= TARGET_SEARCH_P95_MS))
            table.append(("Search keystroke: SearchResultsModel.set_text + visible cells (no view)",
                          f"p50 {_ms(sm['median'])}, p95 {_ms(sm['p95'])}",
                          f"p95 ≤ {TARGET_SEARCH_P95_MS:.0f} ms", sm["p95"] <= TARGET_SEARCH_P95_MS))
            rss = w["peak_rss_mb"]
            table.append(("Peak RSS, in-process run (store, models, main window)", f"{rss:.0f} MB",
                          f"≤ {TARGET_RSS_MB:.0f} MB", rss <= TARGET_RSS_MB))
        table.append((f"Store file size, {self.count:,} records", f"{self.store_mb:.0f} MB",
                      "—", None))
        return table

    def text_table(self) -> str:
        lines = []
        for name, figure, target, ok in self.rows():
            name = name.replace("**", "")
            lines.append(f"{name:<78} {figure:<52} {target:<14} {_verdict(ok).strip('*')}")
        return "\n".join(lines)

    def markdown(self, notes: str) -> str:
        m, w = self.machine, self.worker
        out = [
            "## Client (issue 2)",
            "",
            f"Measured {self.date} on {self.count:,} generated records (seed {self.seed}: "
            "≈60 % lesson plans, 20 % training records, 20 % exchange logs; mostly Chinese text).",
            "",
            f"- Machine: {m['cpu']}, {m['memory']} RAM, {m['os']}",
            f"- Python {m['python']}, SQLite {m['sqlite']}, PySide6 {m['pyside6']}, "
            f"SQLAlchemy {m['sqlalchemy']}; Qt platform `offscreen`",
            f"- 1-minute load average {self.load[0]:.1f} before and {self.load[1]:.1f} after "
            f"the run, on {os.cpu_count()} CPUs"
            + (" — **the machine was busy with other work: these figures are inflated "
               "and should be measured again on a quiet machine**" if self.busy() else ""),
            "",
            "Reproduce (the store is generated once, then cached in `bench/.data/`):",
            "",
            "```sh",
            "make bench                      # = QT_QPA_PLATFORM=offscreen python -m bench.run_all",
            f"python -m bench.generate --count {self.count} --seed {self.seed}   # the store alone",
            f"python -m bench.bench_client --count {self.count} --runs {self.runs}  # the measurements alone",
            "# cold start alone, by hand (DIR holds the store as fieldbook.db):",
            "QT_QPA_PLATFORM=offscreen FIELDBOOK_BENCH_EXIT=1 python -m app --data-dir DIR --lang zh_CN",
            "```",
            "",
            f"Figures are medians of {self.runs} runs (after one warm-up run that is not "
            "counted); the filter and search figures are over every filter change / keystroke "
            "of every run. A target on a p95 is judged on the p95.",
            "",
            "| Measure | Figure | Target | |",
            "|---|---|---|---|",
        ]
        out += [f"| {n} | {f} | {t} | {_verdict(ok)} |" for n, f, t, ok in self.rows()]
        if w and not w.get("error"):
            out += ["", "### Filter changes without a view (model, and store alone)", "",
                    "| Filter | Matching | Median | p95 | Store only (median) |", "|---|---|---|---|---|"]
            for label, stats in w["filters"]["model"].items():
                store_stats = w["filters"]["store"][label]
                out.append(
                    f"| {label} | {w['filters']['counts'][label]:,} | {_ms(stats['median'])} | "
                    f"{_ms(stats['p95'])} | {_ms(store_stats['median'])} |"
                )
            win = w.get("window", {})
            if "filters" in win:
                out += ["", "### Filter changes in the main window (zh_CN, 1366×768, offscreen)", "",
                        "| Change | Median | p95 |", "|---|---|---|"]
                for label, stats in win["filters"].items():
                    out.append(f"| {label} | {_ms(stats['median'])} | {_ms(stats['p95'])} |")
                out += ["", f"Search in the window: {win['search']['n']} keystrokes "
                        f"({win['search_runs']} passes over the queries below), p50 "
                        f"{_ms(win['search']['median'])}, p95 {_ms(win['search']['p95'])}, "
                        f"max {_ms(win['search']['max'])}."]
            out += ["", "### Search, per query typed (store.search, all keystrokes of the query)", "",
                    "| Query | Hits (first page) | Median | p95 |", "|---|---|---|---|"]
            for query, stats in w["search"]["per_query_store"].items():
                out.append(
                    f"| `{query}` | {w['search']['hits_first_page'][query]} | "
                    f"{_ms(stats['median'])} | {_ms(stats['p95'])} |"
                )
            slow = ", ".join(f"`{p}` {ms:.0f} ms" for p, ms in w["search"]["slowest_prefixes"])
            out += ["", f"Slowest single keystrokes (one extra pass): {slow}."]
            out += ["", "### Query plans of the slowest store-level filters and of search", ""]
            by_time = sorted(w["filters"]["store"].items(), key=lambda kv: -kv[1]["median"])
            labels = [label for label, _ in by_time[:3]] + [
                k for k in w.get("plans", {}) if k.startswith("search ")][:2]
            for label in labels:
                timing = w["filters"]["store"].get(label)
                head = f"{label} ({_ms(timing['median'])})" if timing else label
                out += [f"{head}:", "", "```"]
                for plan in w.get("plans", {}).get(label, []):
                    out.append(plan["sql"])
                    out += [f"  -> {step}" for step in plan["plan"]]
                out += ["```", ""]
        if notes.strip():
            out += ["", "### Notes and missed targets", "", notes.strip()]
        return "\n".join(out) + "\n"


NOTES_FILE = Path(__file__).resolve().parent / "client_notes.md"


def write_doc(section: str, doc: Path = DOC) -> None:
    """Replace the client section of ``docs/benchmarks.md``; keep the rest."""
    write_section("client", section, doc)


def _run_worker_process(store_path: Path, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="worker-", dir=_scratch()) as tmp:
        out = Path(tmp) / "worker.json"
        env = _isolated_env(Path(tmp) / "home")
        env.pop("FIELDBOOK_BENCH_EXIT", None)
        done = subprocess.run(
            [sys.executable, "-X", "faulthandler", "-m", "bench.bench_client",
             "--worker", str(store_path), "--runs", str(runs), "--worker-out", str(out)],
            cwd=ROOT, env=env, check=False,
        )
        if done.returncode or not out.exists():
            return {"error": f"the worker process failed (exit status {done.returncode})"}
        return dict(json.loads(out.read_text("utf-8")))


def wait_until_quiet(limit_s: float) -> None:
    """Wait (up to ``limit_s``) for other work to finish: a busy machine
    inflates every figure."""
    deadline = time.monotonic() + limit_s
    quiet = 0.5 * (os.cpu_count() or 1)
    while os.getloadavg()[0] > quiet and time.monotonic() < deadline:
        print(f"  load average {os.getloadavg()[0]:.1f} > {quiet:.1f}: waiting for a quieter machine…")
        time.sleep(30)


def run(
    count: int, seed: int, runs: int, store: Path | None, write: bool, wait_quiet: float = 0
) -> Report:
    source = store or build_store(default_path(count, seed), count, seed)
    if wait_quiet:
        wait_until_quiet(wait_quiet)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="data-", dir=_scratch()) as tmp:
        data_dir = Path(tmp)
        # A copy: the app may write to its store (WAL, settings), the cache must not change.
        shutil.copyfile(source, data_dir / "fieldbook.db")
        print(f"Cold start: {runs} runs (+1 warm-up) of `python -m app` on {count:,} records…")
        start = cold_start(data_dir, runs)
        if start.get("error"):
            print(f"  cold start not measured: {start['error']}")
        print("Filters and search in a worker process…")
        worker = _run_worker_process(data_dir / "fieldbook.db", runs)
    report = Report(count, seed, runs, source.stat().st_size / 1e6, machine(), start, worker,
                    (load_before, os.getloadavg()[0]))
    print()
    print(report.text_table())
    if report.busy():
        print(f"\nWARNING: load average {report.load[0]:.1f}/{report.load[1]:.1f} on "
              f"{os.cpu_count()} CPUs: the machine was busy, the figures are inflated.")
    if write:
        notes = NOTES_FILE.read_text("utf-8") if NOTES_FILE.exists() else ""
        write_doc(report.markdown(notes))
        print(f"\nWrote {DOC.relative_to(ROOT)}")
    raw = source.with_name(source.name + f".client-{report.date}.json")
    raw.write_text(json.dumps({"start": start, "worker": worker}, indent=1, default=str), "utf-8")
    print(f"Raw figures and query plans: {raw}")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Client benchmark on a generated store.")
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--store", type=Path, help="use this store instead of a generated one")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="first wait up to SECONDS for the load average to drop")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = run_worker(args.worker, args.runs)
        args.worker_out.write_text(json.dumps(result, default=str), "utf-8")
        # The figures are written; skip a finalisation that the PySide6
        # reference bug (see _pin_singletons) has been known to abort.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    run(args.count, args.seed, args.runs, args.store, not args.no_write, args.wait_quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
