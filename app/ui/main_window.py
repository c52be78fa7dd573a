"""The main window: kinds on the left, the list in the middle, the editor on the right.

This is the shell: menus, actions and shortcuts, the sidebar, the page stack,
the status bar and the wiring between them. The parts live apart: the list
page (``pages/record_list.py``), the editor pane (``pages/editor_pane.py``),
delete/undo/duplicate (``record_commands.py``); the review queue and the
dashboard are added as pages by ``review_ui.py``. Reads are paged and run on
the GUI thread; every write goes through the ``TaskRunner``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QIcon,
    QKeySequence,
    QShowEvent,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolBar,
    QToolButton,
    QWidget,
)

from app.errors import FieldbookError
from app.models.fields import LISTED_KINDS, Kind
from app.models.store import RecordData, Store
from app.ui import settings, style
from app.ui.documents_ui import DocumentActions
from app.ui.editors import RecordEditor
from app.ui.i18n import Translations, tr_kind
from app.ui.list_model import RecordTableModel, SearchResultsModel
from app.ui.pages.editor_pane import EditorPane, SaveStateLabel
from app.ui.pages.record_list import KIND_ICONS, RecordListPage
from app.ui.record_commands import RecordCommands
from app.ui.settings_dialog import SettingsDialog, author_name
from app.ui.tasks import TaskRunner
from app.ui.templates_ui import TemplateActions
from app.ui.welcome import WelcomePage, is_first_run

log = logging.getLogger("fieldbook.ui")

STATUS_MESSAGE_MS = 10_000
DEFAULT_SIZE = (1200, 760)
DEFAULT_SPLITTER_SIZES = (150, 470, 580)
FIRST_START_SHARE = 0.9  # of the free screen, at most, for the first start's window
LIST_SHARE = 0.6  # of the room right of the sidebar, at most, for the list by default

PAGE_PREFIX = "page:"  # sidebar items that open a page (the review queue…), not a kind
# Our line icons (resources/icons/) for the pages and the actions (the kinds': the list's).
PAGE_ICONS = {"review_queue": "review_queue", "dashboard": "dashboard"}
ACTION_ICONS = {"action_new": "new", "action_save": "save", "action_delete": "delete",
                "action_undo": "undo", "action_redo": "redo", "action_duplicate": "duplicate",
                "action_find": "search", "action_sync_now": "sync", "action_sign_in": "sign_in"}


def _shortcut(standard: QKeySequence.StandardKey, fallback: str) -> list[QKeySequence]:
    """The platform's keys for an action, or ``fallback`` where it has none
    (Windows has no standard key for Quit)."""
    keys = QKeySequence.keyBindings(standard)
    return keys or [QKeySequence(fallback)]


class MainWindow(QMainWindow):
    def __init__(
        self,
        store: Store,
        runner: TaskRunner,
        translations: Translations,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("main_window")
        self._store, self._runner, self._translations = store, runner, translations
        self._counts: dict[str, int] = {kind.value: 0 for kind in LISTED_KINDS}
        self._sync_text: str | None = None
        self._unread_by_kind: dict[str, int] = {}
        self._pages: dict[str, tuple[QWidget, bool]] = {}  # key -> (widget, wide)
        self._page: str | None = None  # the page shown instead of the list, if any
        self._undo_stack = QUndoStack(self)

        self._build_sidebar()
        # The list (app/ui/pages/record_list.py), or a page chosen in the sidebar
        # below the kinds (review queue, dashboard).
        self._records = RecordListPage(store, self._initial_kind(), self)
        self._records.message.connect(self._show_message)
        self._records.new_requested.connect(partial(self.new_record, choose=True))
        self._middle = QStackedWidget(self)
        self._middle.setObjectName("middle")
        self._middle.addWidget(self._records)
        self._editor = RecordEditor(store, runner, author_name, self)
        self._editor.setObjectName("editor")
        self._records.set_editor(self._editor)
        # The editor with room above it for banners (sync conflicts).
        self._editor_pane = EditorPane(self._editor, self)
        self._editor_pane.new_requested.connect(partial(self.new_record, choose=True))
        self._splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self._splitter.setObjectName("splitter")
        self._splitter.setChildrenCollapsible(False)
        for widget in (self._sidebar, self._middle, self._editor_pane):
            self._splitter.addWidget(widget)
        self._splitter.setStretchFactor(1, 1)
        self._splitter.setStretchFactor(2, 1)
        # The first run shows a welcome page over the whole window (app/ui/welcome.py).
        self._welcome = WelcomePage(self)
        self._welcome.write_first.connect(self._write_first)
        self._welcome.sign_in.connect(self._sign_in_from_welcome)
        self._central = QStackedWidget(self)
        self._central.setObjectName("central")
        self._central.addWidget(self._splitter)
        self._central.addWidget(self._welcome)
        self.setCentralWidget(self._central)

        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status_bar()
        # File → Export as Word… / PDF… / the list…, Print… (app/ui/documents_ui.py).
        self._documents = DocumentActions(
            self, store, runner, current=self._export_target, listed=self._records.listed_records,
            flush=self._editor.flush,
        )
        self._documents.add_to_menu(self._file_menu, self._preferences_action)
        self._documents.message.connect(self.show_message)
        self._templates = TemplateActions(  # New's chooser, File → Save as template…
            self, store, runner, self._editor, blank=self.new_record, made=self._on_record_made,
            message=self.show_message, menu=(self._file_menu, self._save_action))
        self._commands = RecordCommands(
            store, runner, self._editor, self._undo_stack, is_locked=self._is_locked,
            untitled=self._records.untitled, parent=self,
            undo_keys=lambda: self._undo_action.shortcut().toString(
                QKeySequence.SequenceFormat.NativeText),
        )
        self._commands.message.connect(self._show_message)
        self._commands.deleted.connect(self._on_deleted)
        self._commands.made.connect(self._on_record_made)

        self._editor.saved.connect(self._on_saved)
        self._editor.read_only_changed.connect(lambda _locked: self._update_actions())
        self._editor.record_shown.connect(lambda _record_id: self._update_actions())
        self._undo_stack.canUndoChanged.connect(self._undo_action.setEnabled)
        self._undo_stack.canRedoChanged.connect(self._redo_action.setEnabled)
        self._undo_stack.undoTextChanged.connect(self._update_undo_texts)
        self._undo_stack.redoTextChanged.connect(self._update_undo_texts)

        self.retranslate()
        self._restore_settings()
        self._sidebar.setCurrentRow(LISTED_KINDS.index(self.kind))
        self._sidebar.currentRowChanged.connect(self._on_sidebar_row_changed)
        self._records.target_changed.connect(self._update_actions)
        self._update_new_button()
        self._refresh_counts()
        self._records.after_reload()
        self._editor_pane.update_empty()
        self._set_accessible_names()

    # --- building ------------------------------------------------------------

    @staticmethod
    def _initial_kind() -> Kind:
        try:
            kind = Kind(settings.get(settings.LAST_KIND))
        except ValueError:
            return Kind.LESSON_PLAN
        return kind if kind in LISTED_KINDS else Kind.LESSON_PLAN

    def _build_sidebar(self) -> None:
        self._sidebar = QListWidget(self)
        self._sidebar.setObjectName("sidebar")
        self._sidebar.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._sidebar.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for kind in LISTED_KINDS:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, kind.value)
            item.setIcon(style.icon(KIND_ICONS[kind.value]))
            self._sidebar.addItem(item)
        self._sidebar.setIconSize(QSize(20, 20))

    def _action(
        self,
        name: str,
        slot: Callable[[], object],
        keys: list[QKeySequence] | None = None,
        icon: QIcon.ThemeIcon | None = None,
    ) -> QAction:
        action = QAction(self)
        action.setObjectName(name)
        if keys:
            action.setShortcuts(keys)
        if name in ACTION_ICONS:
            action.setIcon(style.icon(ACTION_ICONS[name]))
        elif icon is not None:
            action.setIcon(QIcon.fromTheme(icon))
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        key = QKeySequence.StandardKey
        theme = QIcon.ThemeIcon
        self._new_action = self._action(
            "action_new", partial(self.new_record, choose=True), _shortcut(key.New, "Ctrl+N"),
            theme.DocumentNew)
        self._save_action = self._action(
            "action_save", self._editor.flush, _shortcut(key.Save, "Ctrl+S"), theme.DocumentSave
        )
        self._delete_action = self._action(
            "action_delete", self.delete_selected, _shortcut(key.Delete, "Del"), theme.EditDelete
        )
        # Delete only from the list: in a text field the key deletes text.
        self._delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.removeAction(self._delete_action)
        self._records.table().addAction(self._delete_action)
        self._undo_action = self._action(
            "action_undo", self._undo_stack.undo, _shortcut(key.Undo, "Ctrl+Z"), theme.EditUndo
        )
        self._redo_action = self._action(
            "action_redo", self._undo_stack.redo, _shortcut(key.Redo, "Ctrl+Shift+Z"),
            theme.EditRedo,
        )
        self._undo_action.setEnabled(False)
        self._redo_action.setEnabled(False)
        self._duplicate_action = self._action(
            "action_duplicate", self.duplicate_selected, [QKeySequence("Ctrl+D")], theme.EditCopy
        )
        self._find_action = self._action(
            "action_find", self.focus_search, _shortcut(key.Find, "Ctrl+F"), theme.EditFind
        )
        self._preferences_action = self._action(
            "action_preferences", self.show_preferences, QKeySequence.keyBindings(key.Preferences)
        )
        self._preferences_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self._quit_action = self._action(
            "action_quit", self.close, _shortcut(key.Quit, "Ctrl+Q"), theme.ApplicationExit
        )
        self._quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self._import_word_action = self._action("action_import_word", self.import_from_word)

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        self._file_menu = QMenu(bar)
        self._file_menu.setObjectName("menu_file")  # others add to it (parcels_ui.py)
        self._file_menu.addAction(self._new_action)
        self._file_menu.addAction(self._save_action)
        self._file_menu.addSeparator()
        self._file_menu.addAction(self._import_word_action)
        self._file_menu.addSeparator()
        self._file_menu.addAction(self._preferences_action)
        self._file_menu.addSeparator()
        self._file_menu.addAction(self._quit_action)
        self._edit_menu = QMenu(bar)
        self._edit_menu.addAction(self._undo_action)
        self._edit_menu.addAction(self._redo_action)
        self._edit_menu.addSeparator()
        self._edit_menu.addAction(self._duplicate_action)
        self._edit_menu.addAction(self._delete_action)
        self._edit_menu.addSeparator()
        self._edit_menu.addAction(self._find_action)
        bar.addMenu(self._file_menu)
        bar.addMenu(self._edit_menu)

        self._toolbar = QToolBar(self)
        self._toolbar.setObjectName("main_toolbar")
        self._toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._toolbar.setIconSize(QSize(18, 18))
        self._toolbar.setMovable(False)
        # The screen's primary action: "New lesson plan" (of the kind shown), in the accent colour.
        self._new_button = QToolButton(self._toolbar)
        self._new_button.setObjectName("toolbar_new")
        self._new_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._new_button.setIcon(style.icon("new", style.ON_ACCENT))
        self._new_button.clicked.connect(lambda _checked=False: self.new_record(choose=True))
        style.mark_primary(self._new_button)
        self._toolbar.addWidget(self._new_button)
        self._toolbar.addSeparator()
        for action in (
            self._save_action,
            self._duplicate_action,
            self._delete_action,
            self._undo_action,
        ):
            self._toolbar.addAction(action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self._toolbar)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self._counts_label = QLabel(status)
        self._counts_label.setObjectName("counts")
        self._save_state_label = SaveStateLabel(self._editor, status)
        self._sync_state_label = QLabel(status)
        self._sync_state_label.setObjectName("sync_state")
        status.addWidget(self._counts_label, 1)
        # The save state stays visible under temporary messages: it matters.
        status.addPermanentWidget(self._save_state_label)
        status.addPermanentWidget(self._sync_state_label)

    # --- language ------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        """Re-label everything (the models and the editor re-label themselves)."""
        self.setWindowTitle(self.tr("Fieldbook"))
        self._file_menu.setTitle(self.tr("&File"))
        self._edit_menu.setTitle(self.tr("&Edit"))
        self._toolbar.setWindowTitle(self.tr("Toolbar"))
        self._new_action.setText(self.tr("&New"))
        self._new_action.setToolTip(self.tr("New record"))
        self._save_action.setText(self.tr("&Save"))
        self._save_action.setToolTip(self.tr("Save now (changes are also saved by themselves)"))
        self._delete_action.setText(self.tr("&Delete"))
        self._delete_action.setToolTip(self.tr("Delete the selected record"))
        # "P": "U" is Undo's. Chinese names it 创建副本, never 复制 (Copy).
        self._duplicate_action.setText(self.tr("Du&plicate"))
        self._duplicate_action.setToolTip(self.tr("Start a new draft from the selected lesson plan"))
        self._find_action.setText(self.tr("&Find…"))
        self._preferences_action.setText(self.tr("&Preferences…"))
        self._quit_action.setText(self.tr("&Quit"))
        self._import_word_action.setText(self.tr("Import from &Word…"))
        self._import_word_action.setToolTip(
            self.tr("Make draft lesson plans from Word documents (.docx)"))
        self._update_undo_texts()
        self._update_new_button()
        self._editor_pane.retranslate(self._records.new_kind_text())
        self._set_accessible_names()

        self._records.retranslate(
            self._find_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText))
        self._show_counts()
        self._save_state_label.retranslate()
        self._sync_state_label.setText(
            self._sync_text if self._sync_text is not None else self.tr("Sync: not set up")
        )

    def _update_undo_texts(self) -> None:
        undo, redo = self._undo_stack.undoText(), self._undo_stack.redoText()
        self._undo_action.setText(
            self.tr("&Undo {action}").format(action=undo) if undo else self.tr("&Undo")
        )
        self._redo_action.setText(
            self.tr("&Redo {action}").format(action=redo) if redo else self.tr("&Redo")
        )

    # --- settings ------------------------------------------------------------

    def _restore_settings(self) -> None:
        geometry = settings.get(settings.WINDOW_GEOMETRY)
        if geometry.isEmpty() or not self.restoreGeometry(geometry):
            self._fit_first_start()
        state = settings.get(settings.WINDOW_STATE)
        if not state.isEmpty():
            self.restoreState(state)
        splitter = settings.get(settings.SPLITTER_STATE)
        # Without a saved split, it is made when the window is first shown:
        # only then does the splitter know its width.
        self._split_on_show = splitter.isEmpty() or not self._splitter.restoreState(splitter)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._split_on_show:
            self._split_on_show = False
            self._splitter.setSizes(self._default_splitter_sizes())

    def _fit_first_start(self) -> None:
        """The first start fits the screen: the usual size, or less on a small
        laptop (never more than FIRST_START_SHARE of the free screen), centred."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        free = screen.availableGeometry()
        width = min(DEFAULT_SIZE[0], int(free.width() * FIRST_START_SHARE))
        height = min(DEFAULT_SIZE[1], int(free.height() * FIRST_START_SHARE))
        self.resize(width, height)
        self.move(free.x() + (free.width() - width) // 2, free.y() + (free.height() - height) // 2)

    def _default_splitter_sizes(self) -> list[int]:
        """Sidebar as wide as its labels; the list as wide as its columns plus a
        readable title (at most LIST_SHARE of the room); the editor the rest."""
        self._fit_sidebar()
        total = max(self._splitter.width(), sum(DEFAULT_SPLITTER_SIZES))
        sidebar = self._sidebar.minimumWidth()
        room = total - sidebar - 2 * self._splitter.handleWidth()
        listed = min(self._records.preferred_width(), int(room * LIST_SHARE))
        return [sidebar, listed, room - listed]

    def _fit_sidebar(self) -> None:
        """Wide enough for its longest label in the current language (the
        counts and "· 2 new" included): never a scroll bar, never "Less…"."""
        sidebar = self._sidebar
        needed = sidebar.sizeHintForColumn(0) + 2 * sidebar.frameWidth()
        needed += sidebar.fontMetrics().horizontalAdvance("M")  # breathing room at the right
        if sidebar.minimumWidth() != needed:
            sidebar.setMinimumWidth(needed)

    def _save_settings(self) -> None:
        settings.put(settings.WINDOW_GEOMETRY, self.saveGeometry())
        settings.put(settings.WINDOW_STATE, self.saveState())
        settings.put(settings.SPLITTER_STATE, self._splitter.saveState())
        settings.put(settings.LAST_KIND, self.kind.value)

    def closeEvent(self, event: QCloseEvent) -> None:
        # Save what is being typed and let queued writes finish: nothing is lost.
        self._editor.flush()
        self._runner.wait()
        self._save_settings()
        super().closeEvent(event)

    def show_preferences(self) -> None:
        dialog = SettingsDialog(self._translations, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    # --- status bar ----------------------------------------------------------

    def set_sync_state(self, text: str, tooltip: str = "") -> None:
        """Show the state of sync (translated by the caller)."""
        self._sync_text = text
        self._sync_state_label.setText(text)
        self._sync_state_label.setToolTip(tooltip)

    def show_message(self, text: str) -> None:
        """A message in the status bar for a few seconds."""
        self._show_message(text)

    def _show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, STATUS_MESSAGE_MS)

    def _refresh_counts(self) -> None:
        try:
            self._counts = self._store.counts()
        except FieldbookError as exc:
            log.warning("Could not count the records: %s", exc)
            self._show_message(self.tr("Could not read the records: {error}").format(error=exc))
        self._show_counts()

    def _show_counts(self) -> None:
        parts = []
        for row, kind in enumerate(LISTED_KINDS):
            name, count = tr_kind(kind.value), self._counts.get(kind.value, 0)
            item = self._sidebar.item(row)
            unread = self._unread_by_kind.get(kind.value, 0)
            if unread:
                item.setText(self.tr("{kind} ({count}) · {unread} new").format(
                    kind=name, count=count, unread=unread))
                item.setToolTip(self.tr("{unread} records with review comments you have not read")
                                .format(unread=unread))
            else:
                item.setText(self.tr("{kind} ({count})").format(kind=name, count=count))
                item.setToolTip("")
            parts.append(self.tr("{kind} {count}").format(kind=name, count=count))
        self._counts_label.setText(" · ".join(parts))
        self._fit_sidebar()

    # --- look: primary action, empty states, first run (app/ui/style.py) ------

    def _update_new_button(self) -> None:
        text = self._records.new_kind_text()
        self._new_button.setText(text)
        self._new_button.setToolTip(self.tr("{action} ({shortcut})").format(
            action=text,
            shortcut=self._new_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)))
        self._editor_pane.set_new_text(text)

    def _set_accessible_names(self) -> None:
        """Names a screen reader reads for the main panes and icon-only controls."""
        self._sidebar.setAccessibleName(self.tr("Kinds of records and pages"))
        self._toolbar.setAccessibleName(self.tr("Toolbar"))

    def showing_welcome(self) -> bool:
        return self._central.currentWidget() is self._welcome

    def show_welcome_on_first_run(self) -> bool:
        """At start-up: an empty store never signed in opens on the welcome page."""
        if not is_first_run(self._store):
            return False
        self._central.setCurrentWidget(self._welcome)
        self._welcome.focus_first()
        return True

    def _write_first(self) -> None:
        self.set_kind(Kind.LESSON_PLAN)
        self.new_record()
        self._editor.setFocus(Qt.FocusReason.OtherFocusReason)
        self._editor.focusNextChild()

    def _sign_in_from_welcome(self) -> None:
        """Open the sign-in of the Sync menu; once signed in, leave the welcome page."""
        action = self.findChild(QAction, "action_sign_in")
        if action is None:
            return
        action.changed.connect(self._leave_welcome_if_signed_in, Qt.ConnectionType.UniqueConnection)
        action.trigger()

    def _leave_welcome_if_signed_in(self) -> None:
        action = self.findChild(QAction, "action_sign_in")
        if action is not None and not action.isEnabled():
            self._central.setCurrentWidget(self._splitter)

    # --- kinds and filters ---------------------------------------------------

    @property
    def kind(self) -> Kind:
        return self._records.kind

    def set_kind(self, kind: Kind | str) -> None:
        self._sidebar.setCurrentRow(LISTED_KINDS.index(Kind(kind)))

    def _on_sidebar_row_changed(self, row: int) -> None:
        if row < 0:
            return
        data = str(self._sidebar.item(row).data(Qt.ItemDataRole.UserRole))
        if data.startswith(PAGE_PREFIX):
            self._open_page(data.removeprefix(PAGE_PREFIX))
            return
        self._close_page()
        kind = Kind(data)
        if kind == self.kind and not self.searching:
            return
        self._records.set_kind(kind)
        self._update_new_button()
        self._update_actions()

    # --- pages (review queue, dashboard) -----------------------------------------

    def add_page(self, key: str, widget: QWidget, *, wide: bool = False) -> None:
        """A sidebar entry below the kinds that shows ``widget`` instead of the
        list; a ``wide`` page also takes the editor's room (the dashboard)."""
        item = QListWidgetItem()
        item.setData(Qt.ItemDataRole.UserRole, PAGE_PREFIX + key)
        if key in PAGE_ICONS:
            item.setIcon(style.icon(PAGE_ICONS[key]))
        self._sidebar.addItem(item)
        self._middle.addWidget(widget)
        self._pages[key] = (widget, wide)

    def _page_item(self, key: str) -> QListWidgetItem | None:
        for row in range(self._sidebar.count()):
            item = self._sidebar.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == PAGE_PREFIX + key:
                return item
        return None

    def set_page_text(self, key: str, text: str) -> None:
        item = self._page_item(key)
        if item is not None:
            item.setText(text)
            self._fit_sidebar()

    def show_author_column(self, shown: bool) -> None:
        """A reviewer's lists hold many fellows' records: name each one's author."""
        self._records.show_author_column(shown)

    def set_page_visible(self, key: str, visible: bool) -> None:
        """Hide a page's entry (no queue without a trainer account); leave it if shown."""
        item = self._page_item(key)
        if item is None:
            return
        item.setHidden(not visible)
        if not visible and self._page == key:
            self.set_kind(self.kind)

    def show_page(self, key: str) -> None:
        item = self._page_item(key)
        if item is not None and not item.isHidden():
            self._sidebar.setCurrentItem(item)

    def current_page(self) -> str | None:
        return self._page

    def _open_page(self, key: str) -> None:
        widget, wide = self._pages[key]
        self._page = key
        self._middle.setCurrentWidget(widget)
        self._editor_pane.setVisible(not wide)
        self._update_actions()

    def _close_page(self) -> None:
        if self._page is None:
            return
        self._page = None
        self._middle.setCurrentIndex(0)
        self._editor_pane.setVisible(True)
        self._update_actions()

    # --- review markers ---------------------------------------------------------

    def set_unread(self, record_ids: set[str], by_kind: dict[str, int]) -> None:
        """Mark records with review entries not yet read, in the lists and the sidebar."""
        self._unread_by_kind = dict(by_kind)
        self._records.set_marked(record_ids)
        self._show_counts()

    # --- the list (app/ui/pages/record_list.py) --------------------------------

    def clear_filters(self) -> None:
        self._records.clear_filters()

    def focus_search(self) -> None:
        self._records.focus_search()

    @property
    def searching(self) -> bool:
        return self._records.searching

    def selected_id(self) -> str | None:
        return self._records.selected_id()

    def _export_target(self) -> str | None:
        target = self._target()
        return None if target is None else target[0]

    @property
    def documents(self) -> DocumentActions:
        return self._documents

    def _target(self) -> tuple[str, str] | None:
        """The record an action applies to: the selected one, else the one open."""
        return self._records.target()

    def _update_actions(self) -> None:
        """Each action only where it means something: a page (review queue,
        dashboard) has no list to delete or duplicate from, a wide page hides
        the editor Save would save, and a read-only record (someone else's,
        submitted, approved) cannot be deleted or saved."""
        target = None if self._page is not None else self._target()
        self._delete_action.setEnabled(target is not None and not self._is_locked(target[0]))
        self._duplicate_action.setEnabled(
            target is not None and target[1] == Kind.LESSON_PLAN.value
        )
        editor_shown = self._page is None or not self._pages[self._page][1]
        self._save_action.setEnabled(
            editor_shown and self._editor.current_kind() is not None and not self._editor.is_read_only()
        )

    def _is_locked(self, record_id: str) -> bool:
        """Read-only as the editor's policy says (a record gone: nothing to change)."""
        if record_id == self._editor.current_id():
            return self._editor.is_read_only()
        try:
            status = self._store.get(record_id).status
        except FieldbookError as exc:
            log.info("Record %s cannot be changed: %s", record_id, exc)
            return True
        return self._editor.locks(record_id, status)

    # --- editor --------------------------------------------------------------

    @property
    def editor(self) -> RecordEditor:
        return self._editor

    def new_record(self, *, choose: bool = False) -> None:
        """A new record of the kind listed (blank, or with ``choose`` a lesson
        plan from New's template chooser); from a page, back to that list first."""
        self._central.setCurrentWidget(self._splitter)
        if self._page is not None:
            self.set_kind(self.kind)
        if self.searching:
            self._records.leave_search()
        if choose and self.kind == Kind.LESSON_PLAN:
            return self._templates.choose()
        self._records.clear_selection()
        self._editor.new_record(self.kind.value)
        self._editor.focus_first_field()  # the title typed next must not be lost
        self._update_actions()

    def import_from_word(self) -> None:
        """File → Import from Word…: preview, then drafts (app/ui/documents_import.py)."""
        from app.ui.documents_import import WordImport

        self._word_import = WordImport(self._store, self._runner, author_name, self)
        self._word_import.message.connect(
            lambda text: self._show_message(text) if text else self.statusBar().clearMessage())
        self._word_import.imported.connect(self._on_word_imported)
        self._word_import.start()

    def _on_word_imported(self, records: list[RecordData]) -> None:
        self._show_message(self.tr("Imported as draft lesson plans: {count}").format(count=len(records)))
        self._show_record(records[-1])

    def _on_saved(self, record: RecordData) -> None:
        self._refresh_counts()
        self._records.note_saved(record)
        self._update_actions()

    def note_record_saved(self, record: RecordData) -> None:
        """A write outside the editor's own saves changed a record (a file
        attached or removed): the counts, the list and the selection follow."""
        self._on_saved(record)

    def _show_record(self, record: RecordData) -> None:
        """Bring a record into view and open it (after duplicate or restore)."""
        if not self.searching and record.kind != self.kind.value:
            self.set_kind(record.kind)
        if self._records.bring_into_view(record.id):
            if self._editor.current_id() != record.id:
                self._editor.load(record.id)
        else:
            self._editor.load(record.id)
        self._update_actions()

    # --- delete, undo, duplicate (app/ui/record_commands.py) -------------------

    def delete_selected(self) -> None:
        self._commands.delete(self._target())

    def duplicate_selected(self) -> None:
        self._commands.duplicate(self._target())

    def undo(self) -> None:
        self._undo_stack.undo()

    @property
    def undo_stack(self) -> QUndoStack:
        return self._undo_stack

    def _on_deleted(self, record: RecordData) -> None:
        self._refresh_counts()
        if self._editor.current_id() == record.id:
            self._editor.clear()
        self._records.remove(record.id)
        self._update_actions()

    def _on_record_made(self, record: RecordData) -> None:
        """Restored or duplicated: counted, listed and opened."""
        self._refresh_counts()
        self._show_record(record)

    # --- sync hook-up (app/ui/sync_ui.py) -------------------------------------

    def add_editor_banner(self, widget: QWidget) -> None:
        """Place ``widget`` above the editor (the sync conflicts of the open record)."""
        self._editor_pane.add_banner(widget)

    def toolbar(self) -> QToolBar:
        return self._toolbar

    def refresh_records(self) -> None:
        """Re-read the counts, the list and the open record after records
        changed outside the editor (a sync, a resolved conflict)."""
        self._refresh_counts()
        self._records.refresh()
        self._editor.reload()
        self._records.reselect(self._editor.current_id())
        self._update_actions()

    def open_record(self, record_id: str) -> None:
        """Show and open one record (e.g. the next one with a conflict)."""
        try:
            record = self._store.get(record_id)
        except FieldbookError as exc:
            log.warning("Could not open record %s: %s", record_id, exc)
            self._show_message(self.tr("Could not read the records: {error}").format(error=exc))
            return
        if self._templates.not_openable(record):  # a template: only New's chooser shows it
            return
        self._show_record(record)

    # --- for tests and the application ---------------------------------------

    def list_model(self) -> RecordTableModel:
        return self._records.list_model()

    def search_model(self) -> SearchResultsModel:
        return self._records.search_model()

    def table(self) -> QTableView:
        return self._records.table()

    @property
    def record_list(self) -> RecordListPage:
        return self._records

    def sidebar(self) -> QListWidget:
        return self._sidebar

    def visible_row_count(self) -> int:
        """Rows the list (or the search results) holds now: loaded, not total."""
        return int(self.table().model().rowCount())


__all__ = ["MainWindow"]
