"""The main window: kinds on the left, the list in the middle, the editor on the right.

Reads (the list, search, counts) are paged and indexed, so they run on the
GUI thread; every write goes through the ``TaskRunner`` so the window never
waits on the disk. Deleting is undoable with Ctrl+Z through a ``QUndoStack``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, QSize, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QIcon,
    QKeySequence,
    QShortcut,
    QShowEvent,
    QUndoCommand,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import FieldbookError, ValidationFailed
from app.models.fields import Kind, Status, kind_spec
from app.models.store import ListQuery, RecordData, Store
from app.models.validation import Problem
from app.ui import settings, style
from app.ui.documents_ui import DocumentActions
from app.ui.editors import RecordEditor
from app.ui.empty_state import EmptyStack, EmptyState
from app.ui.i18n import Translations, tr_choice, tr_kind, tr_problem, tr_status
from app.ui.list_model import (
    CAPPED_COLUMN_EM,
    RecordTableModel,
    SearchResultsModel,
    column_width,
)
from app.ui.settings_dialog import SettingsDialog, author_name
from app.ui.tasks import TaskRunner, log_failure
from app.ui.welcome import WelcomePage, is_first_run
from app.ui.widgets import DateFilterEdit, refill_combo

log = logging.getLogger("fieldbook.ui")

SEARCH_DELAY_MS = 150
STATUS_MESSAGE_MS = 10_000
DEFAULT_SIZE = (1200, 760)
DEFAULT_SPLITTER_SIZES = (150, 470, 580)
FIRST_START_SHARE = 0.9  # of the free screen, at most, for the first start's window
LIST_SHARE = 0.6  # of the room right of the sidebar, at most, for the list by default
# How far to page through the list looking for a record to select.
FIND_ROW_LIMIT = 2_000

PAGE_PREFIX = "page:"  # sidebar items that open a page (the review queue…), not a kind
# Our line icons (resources/icons/) for the kinds, the pages and the actions.
KIND_ICONS = {Kind.LESSON_PLAN.value: "lesson_plan", Kind.TRAINING.value: "training",
              Kind.EXCHANGE.value: "exchange"}
PAGE_ICONS = {"review_queue": "review_queue", "dashboard": "dashboard"}
ACTION_ICONS = {"action_new": "new", "action_save": "save", "action_delete": "delete",
                "action_undo": "undo", "action_redo": "redo", "action_duplicate": "duplicate",
                "action_find": "search", "action_sync_now": "sync", "action_sign_in": "sign_in"}


def _shortcut(standard: QKeySequence.StandardKey, fallback: str) -> list[QKeySequence]:
    """The platform's keys for an action, or ``fallback`` where it has none
    (Windows has no standard key for Quit)."""
    keys = QKeySequence.keyBindings(standard)
    return keys or [QKeySequence(fallback)]


def _escape_mnemonic(text: str) -> str:
    return text.replace("&", "&&")


class DeleteRecordCommand(QUndoCommand):
    """A soft delete that has already happened: undo restores the record,
    redo deletes it again. Both run on the task runner."""

    def __init__(
        self,
        store: Store,
        runner: TaskRunner,
        record: RecordData,
        text: str,
        *,
        on_deleted: Callable[[RecordData], None],
        on_restored: Callable[[RecordData], None],
        on_failed: Callable[[Exception], None],
    ) -> None:
        super().__init__(text)
        self._store, self._runner = store, runner
        self.record_id = record.id
        self.title = record.title
        self._on_deleted, self._on_restored, self._on_failed = on_deleted, on_restored, on_failed
        self._first = True

    def redo(self) -> None:
        if self._first:  # QUndoStack.push() calls redo(); the delete is already done
            self._first = False
            return
        record_id = self.record_id
        self._runner.submit(lambda: self._store.delete(record_id), self._on_deleted, self._on_failed)

    def undo(self) -> None:
        record_id = self.record_id
        self._runner.submit(
            lambda: self._store.restore(record_id), self._on_restored, self._on_failed
        )


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
        self._kind = self._initial_kind()
        self._searching = False
        self._selecting = False  # selecting a row from code: do not reload the editor
        self._counts: dict[str, int] = {kind.value: 0 for kind in Kind}
        self._save_state = "idle"
        self._sync_text: str | None = None
        self._unread_by_kind: dict[str, int] = {}
        self._pages: dict[str, tuple[QWidget, bool]] = {}  # key -> (widget, wide)
        self._page: str | None = None  # the page shown instead of the list, if any
        self._undo_stack = QUndoStack(self)

        self._build_sidebar()
        list_area = self._build_list_area()
        # The list, or a page chosen in the sidebar below the kinds (review queue, dashboard).
        self._middle = QStackedWidget(self)
        self._middle.setObjectName("middle")
        self._middle.addWidget(list_area)
        self._editor = RecordEditor(store, runner, author_name, self)
        self._editor.setObjectName("editor")
        # The editor with room above it for banners (sync conflicts).
        self._editor_pane = QWidget(self)
        self._editor_pane.setObjectName("editor_pane")
        self._editor_pane_layout = QVBoxLayout(self._editor_pane)
        self._editor_pane_layout.setContentsMargins(0, 0, 0, 0)
        self._editor_empty = EmptyState("editor_empty", "lesson_plan", self, action=self.new_record)
        self._editor_stack = EmptyStack(self._editor, self._editor_empty, self._editor_pane)
        self._editor_stack.setObjectName("editor_stack")
        self._editor_pane_layout.addWidget(self._editor_stack, 1)
        self._editor.record_shown.connect(lambda _record_id: self._update_editor_empty())
        self._column_layout: tuple[object, ...] | None = None
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
            self, store, runner, current=self._export_target, listed=self._listed_records,
            flush=self._editor.flush,
        )
        self._documents.add_to_menu(self._file_menu, self._preferences_action)
        self._documents.message.connect(self.show_message)

        self._editor.saved.connect(self._on_saved)
        self._editor.save_state_changed.connect(self._on_save_state_changed)
        self._editor.read_only_changed.connect(lambda _locked: self._update_actions())
        self._editor.record_shown.connect(lambda _record_id: self._update_actions())
        self._undo_stack.canUndoChanged.connect(self._undo_action.setEnabled)
        self._undo_stack.canRedoChanged.connect(self._redo_action.setEnabled)
        self._undo_stack.undoTextChanged.connect(self._update_undo_texts)
        self._undo_stack.redoTextChanged.connect(self._update_undo_texts)

        self.retranslate()
        self._restore_settings()
        self._sidebar.setCurrentRow(list(Kind).index(self._kind))
        self._sidebar.currentRowChanged.connect(self._on_sidebar_row_changed)
        self._update_filter_visibility()
        self._refresh_counts()
        self._after_list_reload()
        self._update_editor_empty()
        self._set_accessible_names()

    # --- building ------------------------------------------------------------

    @staticmethod
    def _initial_kind() -> Kind:
        try:
            return Kind(settings.get(settings.LAST_KIND))
        except ValueError:
            return Kind.LESSON_PLAN

    def _build_sidebar(self) -> None:
        self._sidebar = QListWidget(self)
        self._sidebar.setObjectName("sidebar")
        self._sidebar.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._sidebar.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for kind in Kind:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, kind.value)
            item.setIcon(style.icon(KIND_ICONS[kind.value]))
            self._sidebar.addItem(item)
        self._sidebar.setIconSize(QSize(20, 20))

    def _build_list_area(self) -> QWidget:
        area = QWidget(self)
        layout = QVBoxLayout(area)
        layout.setContentsMargins(0, 0, 0, 0)

        # Search across every kind.
        self._search = QLineEdit(area)
        self._search.setObjectName("search")
        self._search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._run_search)
        self._search.textChanged.connect(self._on_search_text_changed)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self._search)
        escape.setContext(Qt.ShortcutContext.WidgetShortcut)
        escape.activated.connect(self._cancel_search)
        self._result_count = QLabel(area)
        self._result_count.setObjectName("result_count")
        search_row = QHBoxLayout()
        search_row.addWidget(self._search, 1)
        search_row.addWidget(self._result_count)
        layout.addLayout(search_row)

        # Filters for the current kind.
        self._filter_bar = QWidget(area)
        self._filter_bar.setObjectName("filter_bar")
        # Two short rows, so the list stays narrow enough to leave the editor room.
        filters = QVBoxLayout(self._filter_bar)
        filters.setContentsMargins(0, 0, 0, 0)
        choices_row, dates_row = QHBoxLayout(), QHBoxLayout()
        filters.addLayout(choices_row)
        filters.addLayout(dates_row)
        self._status_filter = QComboBox(self._filter_bar)
        self._status_filter.setObjectName("filter_status")
        self._subject_filter = QComboBox(self._filter_bar)
        self._subject_filter.setObjectName("filter_subject")
        self._grade_filter = QComboBox(self._filter_bar)
        self._grade_filter.setObjectName("filter_grade")
        self._date_from = DateFilterEdit(self._filter_bar)
        self._date_from.setObjectName("filter_from")
        self._date_to = DateFilterEdit(self._filter_bar)
        self._date_to.setObjectName("filter_to")
        self._status_label = QLabel(self._filter_bar)
        self._subject_label = QLabel(self._filter_bar)
        self._grade_label = QLabel(self._filter_bar)
        self._from_label = QLabel(self._filter_bar)
        self._to_label = QLabel(self._filter_bar)
        self._clear_filters = QPushButton(self._filter_bar)
        self._clear_filters.setObjectName("clear_filters")
        self._clear_filters.clicked.connect(self.clear_filters)
        for row, label, widget in (
            (choices_row, self._status_label, self._status_filter),
            (choices_row, self._subject_label, self._subject_filter),
            (choices_row, self._grade_label, self._grade_filter),
            (dates_row, self._from_label, self._date_from),
            (dates_row, self._to_label, self._date_to),
        ):
            label.setBuddy(widget)
            row.addWidget(label)
            row.addWidget(widget)
        choices_row.addStretch(1)
        dates_row.addStretch(1)
        dates_row.addWidget(self._clear_filters)
        for combo in (self._status_filter, self._subject_filter, self._grade_filter):
            # Long subject names must not widen the whole list.
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
            combo.currentIndexChanged.connect(self._apply_filters)
        for edit in (self._date_from, self._date_to):
            edit.dateChanged.connect(self._apply_filters)
        layout.addWidget(self._filter_bar)

        # The records.
        self._list_model = RecordTableModel(self._store, ListQuery(self._kind.value), self)
        self._search_model = SearchResultsModel(self._store, self)
        for model in (self._list_model, self._search_model):
            model.failed.connect(self._show_message)
        self._search_model.rowsInserted.connect(self._update_result_count)
        self._table = QTableView(area)
        self._table.setObjectName("records")
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setAlternatingRowColors(True)
        self._table.setWordWrap(False)
        rows = self._table.verticalHeader()
        rows.setVisible(False)
        # One line per record, all the same height: cheap to lay out however many.
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        self._table.horizontalHeader().setHighlightSections(False)
        self._table.setModel(self._list_model)
        self._table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self._sync_sort_indicator()
        self._table.setSortingEnabled(True)
        self._chip_delegate = style.StatusChipDelegate(self._table)
        self._chip_column: int | None = None
        self._search_icon = self._search.addAction(
            style.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        # An empty list says why and what to do, instead of an empty grid.
        self._list_empty = EmptyState("list_empty", "lesson_plan", area, action=self._empty_action)
        self._list_stack = EmptyStack(self._table, self._list_empty, area)
        self._list_stack.setObjectName("records_stack")
        for model in (self._list_model, self._search_model):  # however the rows changed
            for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved):
                signal.connect(lambda *_args: self._update_list_empty())
        layout.addWidget(self._list_stack, 1)
        return area

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
            "action_new", self.new_record, _shortcut(key.New, "Ctrl+N"), theme.DocumentNew
        )
        self._save_action = self._action(
            "action_save", self._editor.flush, _shortcut(key.Save, "Ctrl+S"), theme.DocumentSave
        )
        self._delete_action = self._action(
            "action_delete", self.delete_selected, _shortcut(key.Delete, "Del"), theme.EditDelete
        )
        # Delete only from the list: in a text field the key deletes text.
        self._delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.removeAction(self._delete_action)
        self._table.addAction(self._delete_action)
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
        self._new_button.clicked.connect(lambda _checked=False: self.new_record())
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
        self._save_state_label = QLabel(status)
        self._save_state_label.setObjectName("save_state")
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
        self._column_layout = None  # other words, other widths
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
        self._editor_empty.set_texts(
            self.tr("Choose a record, or start a new one"),
            self.tr("Pick a record in the list to read or edit it. What you type is saved on "
                    "this computer as you go."),
            self._new_kind_text(),
        )
        self._set_accessible_names()

        self._search.setPlaceholderText(
            self.tr("Search all records ({shortcut})").format(
                shortcut=self._find_action.shortcut().toString(
                    QKeySequence.SequenceFormat.NativeText
                )
            )
        )
        self._status_label.setText(self.tr("Status:"))
        self._subject_label.setText(self.tr("Subject:"))
        self._grade_label.setText(self.tr("Grade:"))
        self._from_label.setText(self.tr("From:"))
        self._to_label.setText(self.tr("To:"))
        for edit in (self._date_from, self._date_to):
            edit.setToolTip(self.tr("“—” means any date"))
        self._clear_filters.setText(self.tr("Clear filters"))
        refill_combo(
            self._status_filter,
            [(self.tr("All statuses"), None)] + [(tr_status(s.value), s.value) for s in Status],
        )
        subject = kind_spec(Kind.LESSON_PLAN).field("subject")
        refill_combo(
            self._subject_filter,
            [(self.tr("All subjects"), None)]
            + [(tr_choice(subject, c.code), c.code) for c in subject.choices],
        )
        grade = kind_spec(Kind.LESSON_PLAN).field("grade")
        refill_combo(
            self._grade_filter,
            [(self.tr("All grades"), None)]
            + [(tr_choice(grade, c.code), int(c.code)) for c in grade.choices],
        )
        self._show_counts()
        self._update_result_count()
        self._show_save_state()
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
        self._fit_columns()
        total = max(self._splitter.width(), sum(DEFAULT_SPLITTER_SIZES))
        sidebar = self._sidebar.minimumWidth()
        header = self._table.horizontalHeader()
        columns = sum(header.sectionSize(c) for c in range(header.count())
                      if header.sectionResizeMode(c) != QHeaderView.ResizeMode.Stretch)
        title = self._table.fontMetrics().horizontalAdvance("M") * CAPPED_COLUMN_EM
        chrome = 2 * self._table.frameWidth() + self._table.verticalScrollBar().sizeHint().width()
        room = total - sidebar - 2 * self._splitter.handleWidth()
        listed = min(columns + title + chrome, int(room * LIST_SHARE))
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
        settings.put(settings.LAST_KIND, self._kind.value)

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
        for row, kind in enumerate(Kind):
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

    def _on_save_state_changed(self, state: str) -> None:
        self._save_state = state
        self._show_save_state()

    def _editor_error(self) -> str:
        return self._editor.last_error() or ""

    def _show_save_state(self) -> None:
        state, error = self._save_state, ""
        if state in ("failed", "invalid"):
            error = self._editor_error()
        texts = {
            "idle": "",
            "pending": self.tr("Unsaved changes…"),
            "saving": self.tr("Saving…"),
            "saved": self.tr("All changes saved"),
            "invalid": (
                self.tr("Not saved: {error}").format(error=error)
                if error
                else self.tr("Not saved: please correct the marked fields")
            ),
            "failed": (
                self.tr("Not saved: {error}").format(error=error)
                if error
                else self.tr("Not saved")
            ),
        }
        self._save_state_label.setText(texts.get(state, ""))
        self._save_state_label.setToolTip(error)
        alarm = state in ("failed", "invalid")
        self._save_state_label.setStyleSheet("color: #c62828;" if alarm else "")

    def _update_result_count(self) -> None:
        if self._searching:
            n = self._search_model.rowCount()
            if n == 0:
                text = self.tr("No results")
            elif self._search_model.canFetchMore():
                text = self.tr("{count}+ results").format(count=n)
            elif n == 1:
                text = self.tr("1 result")
            else:
                text = self.tr("{count} results").format(count=n)
        else:
            n = self._list_model.total()
            if n == 0:
                text = self.tr("No records")
            elif n == 1:
                text = self.tr("1 record")
            else:
                text = self.tr("{count} records").format(count=n)
        self._result_count.setText(text)
        self._update_list_empty()

    # --- look: primary action, empty states, first run (app/ui/style.py) ------

    def _new_kind_text(self) -> str:
        if self._kind is Kind.TRAINING:
            return self.tr("New training record")
        if self._kind is Kind.EXCHANGE:
            return self.tr("New exchange log")
        return self.tr("New lesson plan")

    def _update_new_button(self) -> None:
        text = self._new_kind_text()
        self._new_button.setText(text)
        self._new_button.setToolTip(self.tr("{action} ({shortcut})").format(
            action=text,
            shortcut=self._new_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)))
        self._editor_empty.button.setText(text)
        self._update_list_empty()

    def _set_accessible_names(self) -> None:
        """Names a screen reader reads for the main panes and icon-only controls."""
        self._sidebar.setAccessibleName(self.tr("Kinds of records and pages"))
        self._search.setAccessibleName(self.tr("Search all records"))
        self._search_icon.setToolTip(self.tr("Search all records"))
        clear = self._search.findChild(QAction, "_q_qlineeditclearaction")
        if clear is not None:  # Qt's own clear button: named for screen readers
            clear.setToolTip(self.tr("Clear the search"))
        self._table.setAccessibleName(self.tr("Records"))
        self._editor_pane.setAccessibleName(self.tr("Record editor"))
        self._filter_bar.setAccessibleName(self.tr("Filters"))
        self._toolbar.setAccessibleName(self.tr("Toolbar"))

    def _update_editor_empty(self) -> None:
        self._editor_stack.set_empty(self._editor.current_kind() is None)

    def _empty_action(self) -> None:
        """The button of the empty list: what gets the teacher somewhere."""
        if self._searching:
            self._cancel_search()
        elif self._filters_active():
            self.clear_filters()
        else:
            self.new_record()

    def _update_list_empty(self) -> None:
        model = self._current_model()
        empty = model.rowCount() == 0 and not model.canFetchMore()
        self._list_stack.set_empty(empty)
        if not empty:
            return
        if self._searching:
            self._list_empty.set_icon("search")
            self._list_empty.set_texts(
                self.tr("Nothing matches “{text}”").format(text=self._search.text().strip()),
                self.tr("Search looks in every kind of record. Try a shorter word or check "
                        "the spelling."),
                self.tr("Clear the search"))
        elif self._filters_active():
            self._list_empty.set_icon("search")
            self._list_empty.set_texts(
                self.tr("No records match these filters"),
                self.tr("Records are kept; the filters only hide them."),
                self.tr("Clear filters"))
        else:
            self._list_empty.set_icon(KIND_ICONS[self._kind.value])
            self._list_empty.set_texts(*self._empty_kind_texts(), self._new_kind_text())

    def _empty_kind_texts(self) -> tuple[str, str]:
        if self._kind is Kind.TRAINING:
            return (self.tr("No training records yet"),
                    self.tr("Record a training you took part in: its dates, hours and what "
                            "you will use in class."))
        if self._kind is Kind.EXCHANGE:
            return (self.tr("No exchange logs yet"),
                    self.tr("Note a visit, a shared lesson or a meeting with a partner school."))
        return (self.tr("No lesson plans yet"),
                self.tr("Write your first lesson plan: its topic, the class and the steps of "
                        "the lesson. It is saved as you type."))

    def _place_status_chips(self) -> None:
        """The status column shows coloured chips (draft, submitted, approved, returned)."""
        column = (SearchResultsModel.COLUMNS - 1 if self._searching
                  else len(kind_spec(self._kind).list_columns))
        if column == self._chip_column:
            return
        if self._chip_column is not None:
            self._table.setItemDelegateForColumn(self._chip_column, None)  # type: ignore[arg-type]
        self._table.setItemDelegateForColumn(column, self._chip_delegate)
        self._chip_column = column

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
        return self._kind

    def set_kind(self, kind: Kind | str) -> None:
        self._sidebar.setCurrentRow(list(Kind).index(Kind(kind)))

    def _on_sidebar_row_changed(self, row: int) -> None:
        if row < 0:
            return
        data = str(self._sidebar.item(row).data(Qt.ItemDataRole.UserRole))
        if data.startswith(PAGE_PREFIX):
            self._open_page(data.removeprefix(PAGE_PREFIX))
            return
        self._close_page()
        kind = Kind(data)
        if kind == self._kind and not self._searching:
            return
        self._kind = kind
        self._update_filter_visibility()
        if self._searching:
            self._search.clear()  # back to the list, of the chosen kind
        else:
            self._apply_filters()

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
        self._list_model.set_author_column(shown)

    def set_page_visible(self, key: str, visible: bool) -> None:
        """Hide a page's entry (no queue without a trainer account); leave it if shown."""
        item = self._page_item(key)
        if item is None:
            return
        item.setHidden(not visible)
        if not visible and self._page == key:
            self.set_kind(self._kind)

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
        self._list_model.set_marked(record_ids)
        self._search_model.set_marked(record_ids)
        self._show_counts()

    def _update_filter_visibility(self) -> None:
        lesson = self._kind is Kind.LESSON_PLAN
        for widget in (
            self._subject_label, self._subject_filter, self._grade_label, self._grade_filter
        ):
            widget.setVisible(lesson)
        self._update_new_button()
        self._update_actions()

    def _query(self) -> ListQuery:
        lesson = self._kind is Kind.LESSON_PLAN
        current = self._list_model.query
        default = ListQuery(self._kind.value)
        keep_sort = current.sort in default.sortable()
        status = self._status_filter.currentData()
        subject = self._subject_filter.currentData()
        grade = self._grade_filter.currentData()
        return ListQuery(
            kind=self._kind.value,
            status=str(status) if status else None,
            subject=str(subject) if lesson and subject else None,
            grade=int(grade) if lesson and grade is not None else None,
            date_from=self._date_from.value(),
            date_to=self._date_to.value(),
            sort=current.sort if keep_sort else default.sort,
            descending=current.descending if keep_sort else default.descending,
        )

    def _filters_active(self) -> bool:
        query = self._query()
        return any(
            value is not None
            for value in (query.status, query.subject, query.grade, query.date_from, query.date_to)
        )

    def _apply_filters(self) -> None:
        self._list_model.set_query(self._query())
        self._sync_sort_indicator()
        self._after_list_reload()

    def clear_filters(self) -> None:
        for combo in (self._status_filter, self._subject_filter, self._grade_filter):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        for edit in (self._date_from, self._date_to):
            edit.blockSignals(True)
            edit.clear_value()
            edit.blockSignals(False)
        self._apply_filters()

    def _sync_sort_indicator(self) -> None:
        query = self._list_model.query
        column = self._list_model.column_of(query.sort)
        order = Qt.SortOrder.DescendingOrder if query.descending else Qt.SortOrder.AscendingOrder
        header = self._table.horizontalHeader()
        if column is not None and (
            header.sortIndicatorSection() != column or header.sortIndicatorOrder() != order
        ):
            header.setSortIndicator(column, order)

    def _after_list_reload(self) -> None:
        self._clear_filters.setEnabled(self._filters_active())
        self._fit_columns()
        self._update_result_count()
        self._reselect(self._editor.current_id())
        self._update_actions()

    def _fit_columns(self) -> None:
        """Size the columns when the set of columns changes (another kind,
        search on or off, another language) — not on every filter change:
        measuring cells after each reset cost ~100 ms at 50,000 records."""
        model = self._table.model()
        layout = (id(model), model.columnCount(), self.kind, self._searching)
        if layout == self._column_layout:
            return
        self._column_layout = layout
        self._place_status_chips()
        header = self._table.horizontalHeader()
        header.setResizeContentsPrecision(40)  # the rows a screen shows
        current = self._current_model()
        for column in range(model.columnCount()):
            fit = current.column_fit(column)  # from what it can show: dates are never cut
            header.setSectionResizeMode(
                column,
                QHeaderView.ResizeMode.Stretch if fit.stretch else QHeaderView.ResizeMode.Interactive,
            )
            if not fit.stretch:
                header.resizeSection(column, column_width(self._table, column, fit))

    # --- search --------------------------------------------------------------

    def focus_search(self) -> None:
        self._search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self._search.selectAll()

    def _on_search_text_changed(self, text: str) -> None:
        if text.strip():
            self._search_timer.start()
        else:
            self._search_timer.stop()
            self._end_search()

    def _cancel_search(self) -> None:
        self._search.clear()
        self._table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _run_search(self) -> None:
        text = self._search.text()
        if not text.strip():
            return
        self._search_model.set_text(text)
        if not self._searching:
            self._searching = True
            self._filter_bar.setEnabled(False)
            self._set_table_model(self._search_model)
        self._fit_columns()
        self._update_result_count()
        self._reselect(self._editor.current_id())
        self._update_actions()

    def _end_search(self) -> None:
        if not self._searching:
            return
        self._searching = False
        self._filter_bar.setEnabled(True)
        self._search_model.set_text("")
        self._list_model.set_query(self._query())  # records may have changed meanwhile
        self._set_table_model(self._list_model)
        self._after_list_reload()

    def _set_table_model(self, model: RecordTableModel | SearchResultsModel) -> None:
        if self._table.model() is model:
            return
        old = self._table.selectionModel()
        self._table.setSortingEnabled(False)  # search results keep their own order
        self._table.setModel(model)
        old.deleteLater()
        self._table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        if model is self._list_model:
            self._sync_sort_indicator()
            self._table.setSortingEnabled(True)

    @property
    def searching(self) -> bool:
        return self._searching

    # --- selection -----------------------------------------------------------

    def _current_model(self) -> RecordTableModel | SearchResultsModel:
        return self._search_model if self._searching else self._list_model

    def _selected_row(self) -> int | None:
        rows = self._table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def selected_id(self) -> str | None:
        row = self._selected_row()
        return None if row is None else self._current_model().record_id(row)

    def _export_target(self) -> str | None:
        target = self._target()
        return None if target is None else target[0]

    def _listed_records(self) -> list[str] | ListQuery:
        """What "Export the list" exports: the search results, else the
        filtered list (its query, run off the GUI thread)."""
        if not self._searching:
            return self._list_model.query if self._list_model.rowCount() else []
        model = self._search_model
        return [i for row in range(model.rowCount()) if (i := model.record_id(row)) is not None]

    @property
    def documents(self) -> DocumentActions:
        return self._documents

    def _target(self) -> tuple[str, str] | None:
        """The record an action applies to: the selected one, else the one open."""
        row = self._selected_row()
        model = self._current_model()
        if row is not None:
            record_id, kind = model.record_id(row), model.record_kind(row)
            if record_id is not None and kind is not None:
                return record_id, kind
        record_id = self._editor.current_id()
        if record_id is None:
            return None
        return record_id, self._editor.current_kind() or self._kind.value

    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        if not self._selecting:
            record_id = self.selected_id()
            if record_id is not None and record_id != self._editor.current_id():
                self._editor.load(record_id)
        self._update_actions()

    def _select_row(self, row: int) -> None:
        """Select a row from code; the editor is not reloaded."""
        model = self._table.model()
        index = model.index(row, 0)
        self._selecting = True
        try:
            self._table.selectionModel().setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
        finally:
            self._selecting = False
        self._table.scrollTo(index)

    def _reselect(self, record_id: str | None, *, find: bool = False) -> bool:
        """Select the row of ``record_id`` if it is listed; with ``find``, page
        further through the list to reach it."""
        if record_id is None:
            return False
        model = self._current_model()
        row = model.row_of(record_id)
        while row is None and find and model.canFetchMore() and model.rowCount() < FIND_ROW_LIMIT:
            model.fetchMore()
            row = model.row_of(record_id)
        if row is None:
            return False
        if self._selected_row() != row:
            self._select_row(row)
        return True

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

    def new_record(self) -> None:
        """A new record of the kind listed; from a page, back to that list first."""
        self._central.setCurrentWidget(self._splitter)
        if self._page is not None:
            self.set_kind(self._kind)
        if self._searching:
            self._search.clear()
        self._selecting = True
        try:
            self._table.clearSelection()
        finally:
            self._selecting = False
        self._editor.new_record(self._kind.value)
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
        if self._searching:
            self._search_model.refresh()
            self._update_result_count()
            self._reselect(self._editor.current_id())
        elif record.kind == self._kind.value:
            new = self._list_model.row_of(record.id) is None
            self._list_model.refresh()
            self._update_result_count()
            current = self._editor.current_id()
            self._reselect(current, find=new and current == record.id)
        self._update_actions()

    def note_record_saved(self, record: RecordData) -> None:
        """A write outside the editor's own saves changed a record (a file
        attached or removed): the counts, the list and the selection follow."""
        self._on_saved(record)

    def _show_record(self, record: RecordData) -> None:
        """Bring a record into view and open it (after duplicate or restore)."""
        if self._searching:
            self._search_model.refresh()
            self._update_result_count()
        else:
            if record.kind != self._kind.value:
                self.set_kind(record.kind)
            self._list_model.refresh()
            self._update_result_count()
        if self._reselect(record.id, find=True):
            if self._editor.current_id() != record.id:
                self._editor.load(record.id)
        else:
            self._editor.load(record.id)
        self._update_actions()

    # --- delete, undo, duplicate ---------------------------------------------

    def _failed(self, message: str) -> Callable[[Exception], None]:
        def report(exc: Exception) -> None:
            log_failure(message, exc)
            error = (" ".join(tr_problem(p) if isinstance(p, Problem) else str(p)
                              for p in exc.problems.values())
                     if isinstance(exc, ValidationFailed) else str(exc))
            self._show_message(self.tr("{what}: {error}").format(what=message, error=error))

        return report

    def _display_title(self, record: RecordData) -> str:
        return record.title.strip() or self._list_model.untitled()

    def delete_selected(self) -> None:
        target = self._target()
        if target is None:
            self._show_message(self.tr("Select a record to delete."))
            return
        record_id = target[0]
        if self._is_locked(record_id):
            self._show_message(self.tr("This record is read-only: it cannot be deleted."))
            return
        if self._editor.current_id() == record_id:
            self._editor.flush()  # its last edit is queued before the delete
            self._editor.clear()
        self._runner.submit(
            lambda: self._store.delete(record_id),
            self._on_first_delete,
            self._failed(self.tr("Could not delete the record")),
        )

    def _on_first_delete(self, record: RecordData) -> None:
        title = self._display_title(record)
        command = DeleteRecordCommand(
            self._store,
            self._runner,
            record,
            self.tr("Delete “{title}”").format(title=_escape_mnemonic(title)),
            on_deleted=self._on_deleted,
            on_restored=self._on_restored,
            on_failed=self._failed(self.tr("Could not undo")),
        )
        self._undo_stack.push(command)
        self._on_deleted(record)

    def _on_deleted(self, record: RecordData) -> None:
        self._refresh_counts()
        model = self._current_model()
        row = model.row_of(record.id)
        if self._editor.current_id() == record.id:
            self._editor.clear()
        self._list_model.remove(record.id)
        self._search_model.remove(record.id)
        self._update_result_count()
        if row is not None and model.rowCount() > 0:
            # Select the neighbour, so Delete can be pressed again.
            row = min(row, model.rowCount() - 1)
            self._table.selectRow(row)
        self._update_actions()
        shortcut = self._undo_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        self._show_message(
            self.tr("Deleted “{title}”. Press {shortcut} to undo.").format(
                title=self._display_title(record), shortcut=shortcut
            )
        )

    def _on_restored(self, record: RecordData) -> None:
        self._refresh_counts()
        self._show_record(record)
        self._show_message(
            self.tr("Restored “{title}”.").format(title=self._display_title(record))
        )

    def undo(self) -> None:
        self._undo_stack.undo()

    @property
    def undo_stack(self) -> QUndoStack:
        return self._undo_stack

    def duplicate_selected(self) -> None:
        target = self._target()
        if target is None or target[1] != Kind.LESSON_PLAN.value:
            self._show_message(self.tr("Select a lesson plan to duplicate."))
            return
        record_id = target[0]
        if self._editor.current_id() == record_id:
            self._editor.flush()  # the copy includes the last edit
        author, suffix = author_name(), self.tr(" (copy)")
        self._runner.submit(
            lambda: self._store.duplicate(record_id, author=author, title_suffix=suffix),
            self._on_duplicated,
            self._failed(self.tr("Could not duplicate the lesson plan")),
        )

    def _on_duplicated(self, record: RecordData) -> None:
        self._refresh_counts()
        self._show_record(record)
        self._show_message(
            self.tr("Created “{title}”.").format(title=self._display_title(record))
        )

    # --- sync hook-up (app/ui/sync_dialogs.py) --------------------------------

    def add_editor_banner(self, widget: QWidget) -> None:
        """Place ``widget`` above the editor (the sync conflicts of the open record)."""
        self._editor_pane_layout.insertWidget(0, widget)

    def toolbar(self) -> QToolBar:
        return self._toolbar

    def refresh_records(self) -> None:
        """Re-read the counts, the list and the open record after records
        changed outside the editor (a sync, a resolved conflict)."""
        self._refresh_counts()
        self._current_model().refresh()
        self._update_result_count()
        self._editor.reload()
        self._reselect(self._editor.current_id())
        self._update_actions()

    def open_record(self, record_id: str) -> None:
        """Show and open one record (e.g. the next one with a conflict)."""
        try:
            record = self._store.get(record_id)
        except FieldbookError as exc:
            log.warning("Could not open record %s: %s", record_id, exc)
            self._show_message(self.tr("Could not read the records: {error}").format(error=exc))
            return
        self._show_record(record)

    # --- for tests and the application ---------------------------------------

    def list_model(self) -> RecordTableModel:
        return self._list_model

    def search_model(self) -> SearchResultsModel:
        return self._search_model

    def table(self) -> QTableView:
        return self._table

    def sidebar(self) -> QListWidget:
        return self._sidebar

    def visible_row_count(self) -> int:
        """Rows the list (or the search results) holds now: loaded, not total."""
        return int(self._table.model().rowCount())


__all__ = ["DateFilterEdit", "DeleteRecordCommand", "MainWindow"]  # the filter: for the pages
