"""New's template chooser and File → Save as template… (app/ui/templates_ui.py),
driven from the keyboard and the mouse on the real window."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QMenu

from app.models import templates
from app.models.fields import Kind
from app.models.store import ListQuery, Store
from app.ui.i18n import Translations
from app.ui.main_window import MainWindow
from app.ui.tasks import InlineRunner, TaskRunner
from app.ui.templates_ui import SaveTemplateDialog, TemplateActions, TemplateChooser
from tests.ui.chooser import choose_blank, open_chooser
from tests.ui.review_seed import FELLOW_A, TRAINER, record_of, sign_in_as

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")
CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def window(qtbot: Any, store: Store) -> Iterator[MainWindow]:
    runner: TaskRunner = InlineRunner()
    win = MainWindow(store, runner, Translations())
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win)
    yield win
    win.close()
    win.deleteLater()
    QCoreApplication.processEvents()


def _new(qtbot: Any, window: MainWindow) -> TemplateChooser:
    qtbot.keyClick(window.table(), Qt.Key.Key_N, CTRL)
    return open_chooser(qtbot, window)


def _down_to(qtbot: Any, chooser: TemplateChooser, text: str) -> None:
    """Arrow down until the entry reading ``text`` is chosen (never a heading)."""
    for _ in range(chooser.list.count()):
        item = chooser.list.currentItem()
        assert item.flags() & Qt.ItemFlag.ItemIsEnabled, "the arrows stopped on a heading"
        if item.text().strip() == text:
            return
        qtbot.keyClick(chooser.list, Qt.Key.Key_Down)
    raise AssertionError(f"no entry {text!r}")


def _actions(window: MainWindow) -> TemplateActions:
    found = window.findChild(TemplateActions)
    assert isinstance(found, TemplateActions)
    return found


def _title(window: MainWindow) -> QLineEdit:
    title = window.editor.field_widget("title")
    assert isinstance(title, QLineEdit)
    return title


def _texts(chooser: TemplateChooser) -> list[str]:
    return [chooser.list.item(row).text().strip() for row in range(chooser.list.count())]


def test_new_offers_blank_and_the_built_ins_and_says_there_are_none_of_ones_own(
    qtbot: Any, window: MainWindow, store: Store
) -> None:
    chooser = _new(qtbot, window)
    texts = _texts(chooser)
    assert texts[:3] == ["Blank lesson plan", "Built-in templates", "New lesson"]
    for name in ("Review lesson", "Experiment lesson", "Reading lesson",
                 "Comprehensive practice activity", "English lesson", "My templates", "Shared with me"):
        assert name in texts
    assert any(t.startswith("No templates of your own yet") for t in texts)
    assert chooser.preview.text() == "An empty lesson plan."
    assert not chooser.delete_button.isEnabled() and not chooser.share_box.isVisibleTo(chooser)
    # Escape: nothing made.
    qtbot.keyClick(chooser.list, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not chooser.isVisible())
    assert store.counts()["lesson_plan"] == 0 and window.editor.current_kind() is None


def test_a_built_in_chosen_with_the_arrows_makes_a_filled_in_draft_with_its_title_to_type(
    qtbot: Any, window: MainWindow, store: Store
) -> None:
    chooser = _new(qtbot, window)
    _down_to(qtbot, chooser, "English lesson")
    assert "Warming-up · 3 min" in chooser.preview.text()
    assert "Total: 40 min" in chooser.preview.text()
    qtbot.keyClick(chooser.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not chooser.isVisible())
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is _title(window))

    [row] = store.list_rows(ListQuery(Kind.LESSON_PLAN.value))
    plan = store.get(row.id)
    assert plan.status == "draft" and plan.values["subject"] == "english"
    assert plan.values["procedure"][0]["phase"] == "Warming-up"
    assert window.editor.current_id() == plan.id
    qtbot.keyClicks(_title(window), "Unit 3 Colours")
    window.editor.flush()
    assert store.get(plan.id).title == "Unit 3 Colours"


def test_save_as_template_from_the_file_menu_then_new_offers_it(
    qtbot: Any, window: MainWindow, store: Store
) -> None:
    # A blank plan, typed into.
    qtbot.keyClick(window.table(), Qt.Key.Key_N, CTRL)
    choose_blank(qtbot, window)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is _title(window))
    qtbot.keyClicks(_title(window), "Fractions")
    objectives = window.editor.field_widget("objectives")
    objectives.setFocus()
    qtbot.keyClicks(objectives, "Know one half")

    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu))
    menu = QApplication.activePopupWidget()
    qtbot.keyClick(menu, Qt.Key.Key_T)  # Save as &template…
    actions = _actions(window)
    qtbot.waitUntil(lambda: actions.save_dialog is not None and actions.save_dialog.isVisible())
    dialog = actions.save_dialog
    assert isinstance(dialog, SaveTemplateDialog)
    assert dialog.name_edit.text() == "Fractions"  # the plan's title, selected: typing replaces it
    assert not dialog.share_box.isVisibleTo(dialog)  # only trainers share
    qtbot.keyClicks(dialog.name_edit, "Fraction lessons")
    qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert "Fraction lessons" in window.statusBar().currentMessage()

    [mine], [] = templates.user_templates(store)
    assert mine.name == "Fraction lessons" and mine.values["objectives"] == "Know one half"
    # Not listed anywhere.
    assert store.counts()["lesson_plan"] == 1 and window.visible_row_count() == 1

    chooser = _new(qtbot, window)
    assert not any(t.startswith("No templates of your own yet") for t in _texts(chooser))
    _down_to(qtbot, chooser, "Fraction lessons")
    assert chooser.delete_button.isEnabled()
    qtbot.keyClick(chooser.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: store.counts()["lesson_plan"] == 2)
    opened = store.get(window.editor.current_id() or "")
    assert opened.values["objectives"] == "Know one half" and opened.title == ""


def test_a_template_shared_with_me_is_usable_and_not_changeable(
    qtbot: Any, window: MainWindow, store: Store
) -> None:
    sign_in_as(store, FELLOW_A, "fellow")
    source = store.create(Kind.LESSON_PLAN.value, {"title": "x", "homework": "练习三"}, author="李培训")
    shared = record_of(store, TRAINER, Kind.LESSON_TEMPLATE.value,
                       {"title": "李老师的模板", "homework": "练习三", "shared": True},
                       status="draft", author="李培训")
    record_of(store, TRAINER, Kind.LESSON_TEMPLATE.value, {"title": "没分享的", "shared": False},
              status="draft", author="李培训")
    store.delete(source.id)

    chooser = _new(qtbot, window)
    texts = _texts(chooser)
    assert "李老师的模板 (by 李培训)" in texts and not any("没分享的" in t for t in texts)
    _down_to(qtbot, chooser, "李老师的模板 (by 李培训)")
    assert not chooser.delete_button.isEnabled()
    assert "Shared by 李培训" in chooser.preview.text()
    # A click on the entry and on Create.
    item = next(chooser.list.item(r) for r in range(chooser.list.count())
                if "李老师的模板" in chooser.list.item(r).text())
    rect = chooser.list.visualItemRect(item)
    qtbot.mouseClick(chooser.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    create = chooser.buttons.button(chooser.buttons.StandardButton.Ok)
    qtbot.mouseClick(create, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: store.counts()["lesson_plan"] == 1)
    plan = store.get(window.editor.current_id() or "")
    assert plan.values["homework"] == "练习三" and plan.kind == "lesson_plan"
    assert store.get(shared.id).values["homework"] == "练习三"


def test_a_trainer_shares_unshares_and_deletes_a_template_from_the_chooser(
    qtbot: Any, window: MainWindow, store: Store
) -> None:
    sign_in_as(store, TRAINER, "trainer")
    plan = store.create(Kind.LESSON_PLAN.value, {"title": "面积"}, author="李培训")
    template = templates.save_as_template(store, plan.id, "面积模板", author="李培训")

    chooser = _new(qtbot, window)
    _down_to(qtbot, chooser, "面积模板")
    assert chooser.share_box.isVisibleTo(chooser) and chooser.share_box.isEnabled()
    qtbot.mouseClick(chooser.share_box, Qt.MouseButton.LeftButton)
    assert store.get(template.id).values["shared"] is True
    assert chooser.select(template.id)
    assert "面积模板 (shared)" in _texts(chooser) and chooser.share_box.isChecked()
    qtbot.mouseClick(chooser.share_box, Qt.MouseButton.LeftButton)
    assert store.get(template.id).values["shared"] is False
    assert "fellows' lists" in window.statusBar().currentMessage()

    assert chooser.select(template.id)
    qtbot.mouseClick(chooser.delete_button, Qt.MouseButton.LeftButton)
    assert templates.user_templates(store) == ([], [])
    assert any(t.startswith("No templates of your own yet") for t in _texts(chooser))
    qtbot.keyClick(chooser.list, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not chooser.isVisible())


def test_other_kinds_make_a_record_at_once(qtbot: Any, window: MainWindow) -> None:
    window.set_kind(Kind.TRAINING)
    qtbot.keyClick(window.table(), Qt.Key.Key_N, CTRL)
    assert window.editor.current_kind() == "training"
    assert not any(isinstance(w, TemplateChooser) and w.isVisible() for w in QApplication.topLevelWidgets())
    assert not _actions(window).save_action.isEnabled()
