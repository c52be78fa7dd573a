"""The dashboard: figures per fellow, charts painted with QPainter, CSV export."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QComboBox, QFileDialog, QPushButton

from app.models.store import Store
from app.ui.charts import BarChart, Series
from app.ui.dashboard import DashboardModel
from app.ui.review_ui import DASHBOARD_PAGE
from tests.ui.review_seed import (
    FELLOW_A,
    FELLOW_B,
    TRAINER,
    Env,
    MakeEnv,
    add_people,
    make_env,
    record_of,
    server_entry,
    sign_in_as,
)

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")
__all__ = ["make_env"]


def seed(store: Store) -> None:
    sign_in_as(store, TRAINER, "trainer", "李培训")
    add_people(store)
    day = dt.date(2024, 5, 6)
    record_of(store, FELLOW_A, "lesson_plan", {"title": "一", "planned_date": day}, status="approved")
    record_of(store, FELLOW_A, "lesson_plan", {"title": "二", "planned_date": day}, status="returned")
    old = record_of(store, FELLOW_B, "lesson_plan", {"title": "三", "planned_date": day})
    server_entry(store, old.id, "submit", author_id=FELLOW_B, author="张伟",
                 at=dt.datetime.now(dt.UTC) - dt.timedelta(days=10), seen=True)
    record_of(store, FELLOW_A, "training", {"title": "暑期", "hours": 12.5, "start_date": day},
              status="draft")
    record_of(store, FELLOW_B, "exchange", {"partner_school": "河西", "exchange_type": "visit",
                                            "exchange_date": day}, status="draft")


def cell(model: DashboardModel, row: int, key: str) -> str:
    return str(model.index(row, model.keys().index(key)).data())


def open_dashboard(env: Env) -> DashboardModel:
    env.window.show_page(DASHBOARD_PAGE)
    assert env.window.current_page() == DASHBOARD_PAGE
    return env.ui.dashboard.model()


def test_the_dashboard_shows_figures_per_fellow_and_totals(
    make_env: MakeEnv, store: Store, qtmodeltester: Any
) -> None:
    seed(store)
    env = make_env()
    model = open_dashboard(env)
    names = [cell(model, row, "name") for row in range(model.rowCount())]
    assert names == ["张伟", "王芳", "Total"]
    assert cell(model, 1, "lessons_approved") == "1"
    assert cell(model, 1, "lessons_returned") == "1"
    assert cell(model, 1, "training_hours") == "12.5"
    assert cell(model, 0, "exchange:visit") == "1"
    assert cell(model, 0, "stale_reviews") == "1"
    assert cell(model, 2, "lessons_submitted") == "3"
    summary = env.ui.dashboard.summary()
    assert "1 reviews waiting longer than 7 days" in summary
    qtmodeltester.check(model)
    editor_pane = env.window.editor.parentWidget()
    assert editor_pane is not None and not editor_pane.isVisible()  # the dashboard takes the room
    cohort = env.ui.dashboard.findChild(QComboBox, "dashboard_cohort")
    assert cohort is not None and cohort.isVisible()
    env.window.grab().save("/tmp/shots/dashboard.png")


def test_the_stale_days_and_fellow_filters_recompute(make_env: MakeEnv, store: Store) -> None:
    seed(store)
    env = make_env()
    model = open_dashboard(env)
    env.ui.dashboard.set_stale_days(30)
    assert "waiting longer than 30 days" in env.ui.dashboard.summary()
    assert cell(model, 2, "stale_reviews") == "0"
    fellow = env.ui.dashboard.findChild(QComboBox, "dashboard_fellow")
    assert fellow is not None
    fellow.setCurrentIndex(fellow.findData(FELLOW_A))
    assert [cell(model, row, "name") for row in range(model.rowCount())] == ["王芳", "Total"]


def test_the_charts_paint_bars(make_env: MakeEnv, store: Store) -> None:
    seed(store)
    env = make_env()
    open_dashboard(env)
    lessons, hours, exchanges = env.ui.dashboard.charts()
    assert lessons.categories() == ["张伟", "王芳"]
    assert [s.values for s in lessons.series()] == [(1.0, 2.0), (0.0, 1.0), (0.0, 1.0)]
    assert hours.series()[0].values == (0.0, 12.5)
    assert exchanges.maximum() == 1.0
    image = hours.grab().toImage()
    assert image.width() > 0 and _has_colour(image, QColor(hours.series()[0].colour))


def _has_colour(image: QImage, colour: QColor) -> bool:
    return any(
        image.pixelColor(x, y) == colour
        for y in range(0, image.height(), 2)
        for x in range(0, image.width(), 2)
    )


def test_a_chart_with_nothing_to_show_says_so(qtbot: Any) -> None:
    chart = BarChart()
    qtbot.addWidget(chart)
    chart.set_empty_text("Nothing to show")
    chart.set_data("Hours", [], [])
    chart.resize(300, 120)
    assert not chart.grab().isNull()
    chart.set_data("Hours", ["王芳"], [Series("Hours", (3.0,), "#ff0000")])
    chart.resize(300, chart.sizeHint().height())
    assert _has_colour(chart.grab().toImage(), QColor("#ff0000"))


def test_export_csv_writes_the_file(
    make_env: MakeEnv, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(store)
    env = make_env()
    open_dashboard(env)
    target = tmp_path / "figures"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args, **kwargs: (str(target), "CSV files (*.csv)")))
    export = env.ui.dashboard.findChild(QPushButton, "dashboard_export")
    assert export is not None and export.isEnabled()
    export.click()
    written = tmp_path / "figures.csv"
    data = written.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Fellow,School,Lesson plans submitted")
    assert "王芳" in text and "\r\n" in text
    assert "Saved the dashboard" in env.window.statusBar().currentMessage()


def test_a_fellow_sees_only_their_own_figures(make_env: MakeEnv, store: Store) -> None:
    sign_in_as(store, FELLOW_A, "fellow", "王芳")
    record_of(store, FELLOW_A, "lesson_plan", {"title": "一", "planned_date": dt.date(2024, 5, 6)},
              status="approved")
    env = make_env()
    model = open_dashboard(env)
    assert cell(model, model.rowCount() - 1, "lessons_approved") == "1"
    cohort = env.ui.dashboard.findChild(QComboBox, "dashboard_cohort")
    assert cohort is not None and not cohort.isVisible()


def test_long_headers_take_two_lines_and_keep_the_whole_name_in_the_tooltip() -> None:
    from app.ui.dashboard import two_lines

    assert two_lines("Lesson observation and critique") == "Lesson observation\nand critique"
    assert two_lines("Waiting") == "Waiting"
    assert two_lines("已提交的教案数量很多很多") == "已提交的教案数量很多很多"  # no space: left whole
