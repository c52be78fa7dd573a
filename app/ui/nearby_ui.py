"""File → Share with a trainer nearby… / Fellows nearby…, and the carried
parcels' trip to the server.

A fellow sees the first (``ShareDialog``), a trainer or admin the second
(``CollectDialog``): one clear action each. After every direct sync the
parcels the trainer's laptop carries are delivered too, off the GUI thread,
so the trainer never has to remember them in town (docs/parcels.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from app.models.store import Store
from app.sync import lan, nearby
from app.ui import style
from app.ui.main_window import MainWindow
from app.ui.menu_actions import WindowActions
from app.ui.nearby_collect import BrowserFactory, CarriedDelivery, CollectDialog, describe_delivery
from app.ui.nearby_share import ShareDialog, SharingFactory, explain_nearby
from app.ui.sync_controller import SyncController

log = logging.getLogger("fieldbook.ui")


def default_sharing(store: Store) -> SharingFactory:
    return lambda on_event: nearby.Sharing(store, on_event)


def default_browser() -> BrowserFactory:
    return lambda added, removed: lan.Browser(added, removed, interface=None)


class NearbyUi(WindowActions):
    """The two File-menu actions, their dialogs, and delivery after a sync."""

    message = Signal(str)  # translated, for the status bar
    changed = Signal()  # something came in by the room: the list and the sync status re-read

    def __init__(self, window: QWidget, store: Store, *, api_client: Callable[[], Any],
                 role: Callable[[], str | None], menu: QMenu | None, before: QAction | None = None,
                 make_sharing: SharingFactory | None = None, make_browser: BrowserFactory | None = None,
                 flush: Callable[[], None] = lambda: None) -> None:
        super().__init__(window)
        self._store = store
        self._role, self._flush = role, flush
        self._make_sharing = make_sharing or default_sharing(store)
        self._make_browser = make_browser or default_browser()
        self.courier = nearby.Courier(store)
        self.delivery = CarriedDelivery(self.courier, api_client, self)
        self.delivery.finished.connect(lambda result: self.message.emit(describe_delivery(result)))
        self.delivery.failed.connect(self._delivery_failed)
        self.share_dialog: ShareDialog | None = None
        self.collect_dialog: CollectDialog | None = None
        self.share_action = self.make_action("action_share_nearby", self.open_share, style.icon("nearby"))
        self.collect_action = self.make_action("action_fellows_nearby", self.open_collect,
                                               style.icon("nearby"))
        if menu is not None:
            for action in (self.share_action, self.collect_action):
                menu.insertAction(before, action)  # type: ignore[arg-type]
        self.retranslate()
        self.account_changed()

    def retranslate(self) -> None:
        self.share_action.setText(self.tr("S&hare with a trainer nearby…"))
        self.share_action.setToolTip(self.tr(
            "No signal? A trainer's laptop on the same Wi-Fi or hotspot takes your work to the server"))
        self.collect_action.setText(self.tr("Fello&ws nearby…"))
        self.collect_action.setToolTip(self.tr(
            "Take the work of fellows in the room to the server, and give them your comments at once"))

    def account_changed(self) -> None:
        """A trainer collects, everyone else shares: the menu offers the one that fits."""
        reviewer = self._role() in nearby.REVIEWER_ROLES
        self.share_action.setVisible(not reviewer)
        self.collect_action.setVisible(reviewer)

    # --- dialogs ---

    def open_share(self) -> ShareDialog:
        if self.share_dialog is None:
            self.share_dialog = ShareDialog(self._make_sharing, self._window, flush=self._flush)
            self.share_dialog.changed.connect(self.changed)
        self.share_dialog.open()
        return self.share_dialog

    def open_collect(self) -> CollectDialog:
        if self.collect_dialog is None:
            self.collect_dialog = CollectDialog(self.delivery, self._make_browser, self._window)
        self.collect_dialog.refresh()
        self.collect_dialog.open()
        return self.collect_dialog

    # --- in town ---

    def deliver_carried(self) -> None:
        """After a direct sync: deliver what this laptop carries, if anything."""
        if self.courier.counts()[0]:
            self.delivery.start()

    def _delivery_failed(self, exc: Exception) -> None:
        self.message.emit(self.tr("Could not deliver the parcels you carry: {why}. They are kept "
                                  "for the next sync.").format(why=explain_nearby(exc)))

    def shutdown(self) -> None:
        """At quit: stop sharing and browsing."""
        for dialog in (self.share_dialog, self.collect_dialog):
            if dialog is not None:
                dialog.done(0)


def nearby_ui(window: MainWindow, store: Store, sync: SyncController, *,
              make_sharing: SharingFactory | None = None,
              make_browser: BrowserFactory | None = None) -> NearbyUi:
    """The actions wired into the window as ``application.py`` (and the
    screenshots, sharing on loopback) set them up: after the parcel actions
    in the File menu, delivering with the sync session's sign-in after each
    direct sync."""
    ui = NearbyUi(window, store, api_client=sync.api_client, role=lambda: sync.account().role,
                  menu=window.findChild(QMenu, "menu_file"),
                  before=window.findChild(QAction, "action_preferences"), flush=window.editor.flush,
                  make_sharing=make_sharing, make_browser=make_browser)
    ui.message.connect(window.show_message)
    sync.account_changed.connect(ui.account_changed)
    sync.synced.connect(lambda _report: ui.deliver_carried())

    def refresh() -> None:
        window.refresh_records()
        sync.parcel_imported()

    ui.changed.connect(refresh)
    return ui
