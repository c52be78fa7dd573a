"""教案 templates in the window (docs/templates.md): New's chooser for lesson
plans, and File → Save as template….

The chooser lists a blank plan, the built-in templates, the user's own and
those shared with them, all in one list driven by the keyboard (arrows,
type-ahead, Enter; Escape cancels), with a preview of the chosen one. Making
a plan from a template and saving, sharing or deleting a template are writes
on the TaskRunner (``app/models/templates.py``), like every other write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import FieldbookError
from app.models import templates
from app.models.fields import LISTED_KINDS, Kind
from app.models.store import RecordData, Store
from app.models.templates import Template
from app.sync import replica
from app.ui.editors import RecordEditor
from app.ui.i18n import tr_error
from app.ui.settings_dialog import author_name
from app.ui.tasks import TaskRunner, log_failure

log = logging.getLogger("fieldbook.ui")

BLANK = "blank"  # the chooser's key of a blank lesson plan
_KEY = Qt.ItemDataRole.UserRole
_TRAINER = "trainer"


def tr_template(text: str) -> str:
    """A built-in template's name or description, translated."""
    return QCoreApplication.translate("Template", text)


def _is_trainer(store: Store) -> bool:
    try:
        return replica.sync_meta(store).role == _TRAINER
    except FieldbookError as exc:
        log.warning("Could not read the account: %s", exc)
        return False


class TemplateChooser(QDialog):
    """New lesson plan: blank, or from a template. ``chosen`` is the
    template (None: blank) once accepted."""

    share_toggled = Signal(str, bool)  # template record id, shared
    delete_requested = Signal(str)  # template record id

    def __init__(self, mine: list[Template], shared: list[Template], *, trainer: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("template_chooser")
        self.chosen: Template | None = None
        self._templates: dict[str, Template] = {}
        self._trainer = trainer
        self._mine, self._shared = mine, shared
        self.list = QListWidget(self)
        self.list.setObjectName("template_list")
        self.list.setMinimumWidth(300)
        # Every entry shows whole: no sideways scrolling, and room for a dozen rows.
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setWordWrap(True)  # the empty sections' hints wrap rather than cut
        self.list.setMinimumHeight(self.list.fontMetrics().height() * 16)
        self.preview = QLabel(self)
        self.preview.setObjectName("template_preview")
        self.preview.setWordWrap(True)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.preview.setTextFormat(Qt.TextFormat.PlainText)
        self.preview.setMinimumWidth(320)
        self.share_box = QCheckBox(self)
        self.share_box.setObjectName("template_share")
        self.share_box.setVisible(trainer)
        self.delete_button = QPushButton(self)
        self.delete_button.setObjectName("template_delete")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.addButton(self.delete_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.accepted.connect(self._accept_current)
        self.buttons.rejected.connect(self.reject)
        self.list.currentItemChanged.connect(lambda _new, _old: self._update())
        self.list.itemActivated.connect(lambda _item: self._accept_current())
        self.share_box.toggled.connect(self._on_share_toggled)
        self.delete_button.clicked.connect(self._on_delete)

        side = QVBoxLayout()
        side.addWidget(self.preview, 1)
        side.addWidget(self.share_box)
        body = QHBoxLayout()
        body.addWidget(self.list, 1)
        body.addLayout(side, 1)
        layout = QVBoxLayout(self)
        self._hint = QLabel(self)
        self._hint.setWordWrap(True)
        layout.addWidget(self._hint)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)
        self.retranslate()
        self.list.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- building the list ------------------------------------------------------

    def _header(self, text: str) -> None:
        item = QListWidgetItem(text, self.list)
        font = item.font()
        font.setBold(True)
        item.setFont(font)
        item.setFlags(Qt.ItemFlag.NoItemFlags)  # a heading: keys and clicks pass it by

    def _note(self, text: str, name: str) -> None:
        item = QListWidgetItem(text, self.list)
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        item.setData(Qt.ItemDataRole.AccessibleTextRole, text)
        item.setData(_KEY, name)

    def _entry(self, text: str, key: str, template: Template | None) -> QListWidgetItem:
        item = QListWidgetItem("    " + text, self.list)
        item.setData(_KEY, key)
        item.setData(Qt.ItemDataRole.AccessibleTextRole, text)
        if template is not None:
            self._templates[key] = template
        return item

    def _fill(self) -> None:
        current = self.current_key() or BLANK
        self.list.clear()
        self._templates.clear()
        self._entry(self.tr("Blank lesson plan"), BLANK, None)
        self._header(self.tr("Built-in templates"))
        for template in templates.BUILTIN_TEMPLATES:
            self._entry(tr_template(template.name), template.key, template)
        self._header(self.tr("My templates"))
        if not self._mine:
            self._note(self.tr("No templates of your own yet. Open a lesson plan and choose "
                               "File → Save as template… to reuse its structure."), "empty_mine")
        for template in self._mine:
            label = template.name + (self.tr(" (shared)") if template.shared else "")
            self._entry(label, template.key, template)
        self._header(self.tr("Shared with me"))
        if not self._shared:
            self._note(self.tr("No templates shared with you yet: your trainer can share theirs."),
                       "empty_shared")
        for template in self._shared:
            self._entry(self.tr("{name} (by {author})").format(name=template.name,
                                                               author=template.author),
                        template.key, template)
        self.select(current)

    # --- what is chosen -----------------------------------------------------------

    def select(self, key: str) -> bool:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(_KEY) == key and item.flags() & Qt.ItemFlag.ItemIsEnabled:
                self.list.setCurrentItem(item)
                return True
        self.list.setCurrentRow(0)
        return False

    def current_key(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else str(item.data(_KEY))

    def current_template(self) -> Template | None:
        key = self.current_key()
        return None if key is None else self._templates.get(key)

    def _own(self, template: Template | None) -> bool:
        return template is not None and not template.builtin and any(
            t.key == template.key for t in self._mine)

    def _update(self) -> None:
        template = self.current_template()
        own = self._own(template)
        self.delete_button.setEnabled(own)
        self.share_box.setEnabled(own and self._trainer)
        self.share_box.blockSignals(True)
        self.share_box.setChecked(bool(own and template is not None and template.shared))
        self.share_box.blockSignals(False)
        self.preview.setText(self._preview(template))

    def _preview(self, template: Template | None) -> str:
        if template is None:
            return self.tr("An empty lesson plan.")
        lines = []
        if template.description:
            lines += [tr_template(template.description), ""]
        elif template.author and not self._own(template):
            lines += [self.tr("Shared by {author}. You can make lesson plans from it, "
                              "not change it.").format(author=template.author), ""]
        steps = template.values.get("procedure") or []
        for step in steps:
            lines.append(self.tr("{phase} · {minutes} min").format(
                phase=step.get("phase", ""), minutes=step.get("minutes", 0)))
        if steps:
            total = sum(int(s.get("minutes") or 0) for s in steps)
            lines.append(self.tr("Total: {minutes} min").format(minutes=total))
        return "\n".join(lines)

    def _accept_current(self) -> None:
        key = self.current_key()
        if key is None or not (self.list.currentItem().flags() & Qt.ItemFlag.ItemIsEnabled):
            return
        self.chosen = self._templates.get(key)
        self.accept()

    def _on_share_toggled(self, shared: bool) -> None:
        template = self.current_template()
        if template is not None and template.record_id is not None and self._own(template):
            self.share_toggled.emit(template.record_id, shared)

    def _on_delete(self) -> None:
        template = self.current_template()
        if template is not None and template.record_id is not None and self._own(template):
            self.delete_requested.emit(template.record_id)

    def set_templates(self, mine: list[Template], shared: list[Template]) -> None:
        """Show the user's templates as they are now (after a share or delete)."""
        self._mine, self._shared = mine, shared
        self._fill()

    # --- language -------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("New lesson plan"))
        self._hint.setText(self.tr("Start from a blank plan or a template. "
                                   "Arrow keys choose, Enter creates the plan."))
        self.list.setAccessibleName(self.tr("Templates"))
        self.preview.setAccessibleName(self.tr("What the template fills in"))
        self.share_box.setText(self.tr("&Share with the cohorts I train"))
        self.delete_button.setText(self.tr("&Delete template"))
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(self.tr("&Create"))
        self._fill()


class SaveTemplateDialog(QDialog):
    """File → Save as template…: the template's name (and for a trainer,
    whether to share it)."""

    def __init__(self, name: str, *, trainer: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("save_template_dialog")
        self.setWindowTitle(self.tr("Save as template"))
        label = QLabel(self.tr("Template &name:"), self)
        self.name_edit = QLineEdit(name, self)
        self.name_edit.setObjectName("template_name")
        self.name_edit.selectAll()
        label.setBuddy(self.name_edit)
        explain = QLabel(self.tr("The template keeps this plan's objectives, key points, materials, "
                                 "steps, assessment, homework and notes; not its date, class or "
                                 "reflection. It syncs with your account."), self)
        explain.setWordWrap(True)
        self.share_box = QCheckBox(self.tr("&Share with the cohorts I train"), self)
        self.share_box.setObjectName("template_share_new")
        self.share_box.setVisible(trainer)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.name_edit.textChanged.connect(self._update)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.name_edit)
        layout.addWidget(explain)
        layout.addWidget(self.share_box)
        layout.addWidget(self.buttons)
        self._update()

    def _update(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(
            bool(self.name_edit.text().strip()))

    def name(self) -> str:
        return self.name_edit.text().strip()


class TemplateActions(QObject):
    """The window's template actions: New's chooser for lesson plans and
    File → Save as template…."""

    message = Signal(str)  # for the status bar (translated)
    made = Signal(object)  # RecordData: a lesson plan made from a template, to list and open

    def __init__(self, window: QWidget, store: Store, runner: TaskRunner, editor: RecordEditor, *,
                 blank: Callable[[], None], made: Callable[[RecordData], None],
                 message: Callable[[str], None], menu: tuple[QMenu, QAction]) -> None:
        super().__init__(window)
        self._window, self._store, self._runner, self._editor = window, store, runner, editor
        self._author, self._blank = author_name, blank
        self.chooser: TemplateChooser | None = None
        self.save_dialog: SaveTemplateDialog | None = None
        self.save_action = QAction(window)
        self.save_action.setObjectName("action_save_as_template")
        self.save_action.triggered.connect(lambda _checked=False: self.save_current())
        window.addAction(self.save_action)
        window.installEventFilter(self)
        editor.record_shown.connect(lambda _record_id: self.update_enabled(editor.current_kind()))
        self.update_enabled(None)
        self.retranslate()
        self.add_to_menu(*menu)
        self.message.connect(message)
        self.made.connect(made)

    def add_to_menu(self, menu: QMenu, after: QAction) -> None:
        actions = menu.actions()
        index = actions.index(after)
        before = actions[index + 1] if index + 1 < len(actions) else None
        menu.insertAction(before, self.save_action)  # type: ignore[arg-type]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        return False

    def retranslate(self) -> None:
        self.save_action.setText(self.tr("Save as &template…"))
        self.save_action.setToolTip(self.tr("Keep this lesson plan's structure as a template for new plans"))

    def not_openable(self, record: RecordData) -> bool:
        """A template is never opened in the editor (nor listed): say so."""
        if Kind(record.kind) in LISTED_KINDS:
            return False
        self.message.emit(self.tr("“{title}” is a template: choose it under New.").format(
            title=record.title))
        return True

    def update_enabled(self, kind: str | None) -> None:
        self.save_action.setEnabled(kind == Kind.LESSON_PLAN.value)

    def _failed(self, what: str) -> Callable[[Exception], None]:
        def report(exc: Exception) -> None:
            log_failure(what, exc)
            self.message.emit(self.tr("{what}: {error}").format(what=what, error=tr_error(exc)))

        return report

    # --- New: the chooser ---------------------------------------------------------------

    def _load(self) -> tuple[list[Template], list[Template]]:
        try:
            return templates.user_templates(self._store)
        except FieldbookError as exc:
            log.warning("Could not read the templates: %s", exc)
            self.message.emit(self.tr("Could not read your templates: {error}").format(error=exc))
            return [], []

    def choose(self) -> None:
        """Open the chooser; Enter on a template makes a draft plan from it."""
        mine, shared = self._load()
        chooser = TemplateChooser(mine, shared, trainer=_is_trainer(self._store), parent=self._window)
        chooser.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # Back to the window first (a window manager may leave no window active), so
        # the new plan's title has the keyboard.
        chooser.finished.connect(lambda _result: self._window.activateWindow())
        chooser.accepted.connect(lambda: self._chosen(chooser.chosen))
        chooser.share_toggled.connect(self._share)
        chooser.delete_requested.connect(self._delete)
        chooser.destroyed.connect(lambda _obj=None: setattr(self, "chooser", None))
        self.chooser = chooser
        chooser.open()

    def _chosen(self, template: Template | None) -> None:
        if template is None:
            self._blank()
            return
        author = self._author()
        self._runner.submit(
            lambda: templates.create_plan(self._store, template, author=author),
            self._on_made,
            self._failed(self.tr("Could not make the lesson plan")),
        )

    def _on_made(self, record: RecordData) -> None:
        self.made.emit(record)  # listed and opened by the window
        self._editor.focus_first_field()  # its title next to type
        self.message.emit(self.tr("New lesson plan from the template: type its title."))

    def _refresh_chooser(self) -> None:
        if self.chooser is not None:
            self.chooser.set_templates(*self._load())

    def _share(self, template_id: str, shared: bool) -> None:
        def done(_record: RecordData) -> None:
            self._refresh_chooser()
            self.message.emit(
                self.tr("Shared with your cohorts at the next sync.") if shared
                else self.tr("No longer shared: it leaves your fellows' lists at their next sync."))

        self._runner.submit(lambda: templates.set_shared(self._store, template_id, shared), done,
                            self._failed(self.tr("Could not change the template")))

    def _delete(self, template_id: str) -> None:
        def done(record: RecordData) -> None:
            self._refresh_chooser()
            self.message.emit(self.tr("Deleted the template “{name}”.").format(name=record.title))

        self._runner.submit(lambda: templates.delete_template(self._store, template_id), done,
                            self._failed(self.tr("Could not delete the template")))

    # --- Save as template -----------------------------------------------------------------

    def _current(self) -> tuple[str, str] | None:
        """The editor's lesson plan: its id (its last edits, or its creation,
        queued on the writer now, before the template is made) and its title."""
        editor = self._editor
        if editor.current_kind() != Kind.LESSON_PLAN.value:
            return None
        record_id = editor.current_id() if editor.is_read_only() else editor.prepare_write()
        if record_id is None:
            return None
        title = editor.field_widget("title")
        return record_id, title.text() if isinstance(title, QLineEdit) else ""

    def save_current(self) -> None:
        """Ask a name, then save the editor's lesson plan as a template (its
        last edits are queued on the writer before, so they are in it)."""
        current = self._current()
        if current is None:
            self.message.emit(self.tr("Open a lesson plan to save it as a template."))
            return
        record_id, title = current
        dialog = SaveTemplateDialog(title, trainer=_is_trainer(self._store), parent=self._window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _result: self._window.activateWindow())
        dialog.accepted.connect(
            lambda: self._save(record_id, dialog.name(), dialog.share_box.isChecked()))
        dialog.destroyed.connect(lambda _obj=None: setattr(self, "save_dialog", None))
        self.save_dialog = dialog
        dialog.open()

    def _save(self, record_id: str, name: str, shared: bool) -> None:
        author = self._author()
        self._runner.submit(
            lambda: templates.save_as_template(self._store, record_id, name, author=author,
                                               shared=shared),
            lambda record: self.message.emit(
                self.tr("Saved the template “{name}”: New offers it.").format(name=record.title)),
            self._failed(self.tr("Could not save the template")),
        )


__all__ = ["BLANK", "SaveTemplateDialog", "TemplateActions", "TemplateChooser", "tr_template"]
