"""The comentor app: a thin shell around the screens of the catalog.

The app owns the journal gateway (one database thread), the key bindings of every screen in
:data:`~comentor.tui.catalog.CATALOG` (each screen's module is imported only when it is first
opened, and a screen that is not there yet is skipped with a notice), the theme (remembered
in the journal's local settings), the command palette and the sync state the dashboard
shows. Screens do the rest.
"""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.theme import Theme

from .catalog import CATALOG, ScreenEntry
from .dashboard_data import DashboardData, StartData
from .launch import Prefetch
from .messages import JournalChanged, SyncState
from .palette import ComentorCommands
from .undo import UNDO_KEY, Deletions, undo_last_delete

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from comentor.model import DeviceKeys

    from .sync_bridge import SyncBridge

__all__ = ["ComentorApp", "AppAccess", "run_app", "FOOTER_SCREENS"]

Clock = Callable[[], dt.datetime]

# Screens whose keys are shown in the footer; every key works and is in the palette.
FOOTER_SCREENS = ("dashboard", "checkin", "goals", "asks", "commitments", "search")
_BY_NAME: dict[str, ScreenEntry] = {e.name: e for e in CATALOG}
LOOK_EVERY = 1.0  # seconds between looks for writes made by another program


def _catalog_bindings() -> list[Binding]:
    return [Binding(e.key, f"open_screen('{e.name}')", e.title, show=e.name in FOOTER_SCREENS,
                    tooltip=e.help)
            for e in CATALOG]


class ComentorApp(App[int]):
    """Keyboard first, mouse welcome: the practice of two co-mentors in the terminal."""

    CSS_PATH = Path(__file__).parent / "app.tcss"  # absolute: subclasses live elsewhere
    TITLE = "comentor"
    COMMANDS = App.COMMANDS | {ComentorCommands}
    BINDINGS = [
        # first of the app's keys, shown once there is something to take back (check_action)
        Binding(UNDO_KEY, "undo_delete", "Undo delete"),
        *_catalog_bindings(),
        Binding("ctrl+t", "cycle_theme", "Theme"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    sync_state: reactive[SyncState] = reactive(SyncState, always_update=True)

    def __init__(self, journal_path: Path | str, *, now: Clock | None = None,
                 keys: DeviceKeys | None = None, prefetch: Prefetch | None = None) -> None:
        super().__init__()
        self.journal_path = Path(journal_path)
        self.now = now
        # the command line starts reading before importing Textual; otherwise start now
        self.prefetch = prefetch or Prefetch(self.journal_path, now=now, keys=keys)
        self.gateway = self.prefetch.gateway
        self.gateway.listeners.append(self._on_gateway_write)
        self.deletions = Deletions()  # the app's deletes: `u` takes one back on any screen
        self._saved_theme: str | None = None
        self._start_data: StartData | None = None
        self._theme_read = False  # the remembered theme came with the start data
        self.sync_bridge: SyncBridge | None = None
        self.ready = False
        self._told = False  # the screens were told of a change since the last look
        self.gc_paused = False  # set by run_app: the collector waits for the first frame

    # ------------------------------------------------------------------ clock
    def clock(self) -> dt.datetime:
        """The app's notion of now (fixed in tests, the system clock otherwise)."""
        return self.now() if self.now is not None else dt.datetime.now().astimezone()

    def today(self) -> dt.date:
        return self.clock().astimezone().date()

    def timer_clock(self) -> Callable[[], float]:
        """Wall-clock seconds for the check-in timer (its shared state is stamped with the
        journal's clock, so it counts on the same clock): the fixed clock when there is one."""
        if self.now is not None:
            now = self.now
            return lambda: now().timestamp()
        return time.time

    # ------------------------------------------------------------------ start
    def on_load(self) -> None:
        """Before the first frame: take the remembered theme and the dashboard's data.

        Waits at most a moment (the read started while Textual was importing); if the data
        is late or failed, the dashboard reads it in its own worker and reports any error.
        """
        self._start_data = self.prefetch.result(timeout=1.0)
        self._theme_read = self._start_data is not None
        if self._start_data is not None and self._start_data.theme:
            self._apply_theme(self._start_data.theme)

    def take_start_data(self) -> DashboardData | None:
        """The dashboard read before the first frame, handed out once."""
        data, self._start_data = self._start_data, None
        return None if data is None else data.dashboard

    def get_default_screen(self) -> Screen[Any]:
        """The dashboard is the app's first screen when the journal exists: Textual then
        composes it with the app and draws it once, like any app's first screen (a screen
        pushed while the app starts is laid out and drawn for nothing, then again)."""
        if not self.journal_path.exists():
            return super().get_default_screen()
        from .screens.dashboard import DashboardScreen

        self.ready = True
        return DashboardScreen()

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        if self.gc_paused:  # run_app paused the collector for the first frame: drawn by then
            self.screen.call_after_refresh(gc.enable)
        if self.ready:  # the dashboard is already there (get_default_screen)
            self._journal_opened()
        else:
            from .screens.first_run import FirstRunScreen

            self.push_screen(FirstRunScreen())

    def open_journal(self) -> None:
        """Show the dashboard on the journal (after the first run created it)."""
        from .screens.dashboard import DashboardScreen

        self.ready = True
        if isinstance(self.screen, ModalScreen) or len(self.screen_stack) > 1:
            self.switch_screen(DashboardScreen())
        else:
            self.push_screen(DashboardScreen())
        self._journal_opened()

    def _journal_opened(self) -> None:
        """The theme remembered in the journal (unless read before the first frame), and
        live sync (never for a demo or unpaired journal, nor under a test's fixed clock)."""
        if self._saved_theme is None and not self._theme_read:
            self._restore_theme()
        from .sync_bridge import SyncBridge, sync_disabled

        self.set_interval(LOOK_EVERY, self._look_for_changes)
        if self.sync_bridge is None and self.now is None and not sync_disabled():
            self.sync_bridge = SyncBridge(self)
            self.sync_bridge.start()

    def on_unmount(self) -> None:
        if self.sync_bridge is not None:
            self.sync_bridge.stop()
        self.gateway.close()

    # ------------------------------------------------------------------ screens
    def make_screen(self, entry: ScreenEntry) -> Screen[Any] | None:
        """Import the entry's module and build its screen; None (with a notice) if missing."""
        module_name = f"comentor.tui.screens.{entry.module}"
        try:
            module = importlib.import_module(module_name)
            cls = getattr(module, entry.cls)
            screen = cls()
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                self.notify(f"{entry.title} cannot open: {exc}", severity="error", markup=False)
            else:
                self.notify(f"{entry.title} is not available in this version yet.",
                            severity="warning", markup=False)
            return None
        except Exception as exc:  # noqa: BLE001 - a broken screen never takes the app down
            self.notify(f"{entry.title} cannot open: {type(exc).__name__}: {exc}",
                        severity="error", markup=False)
            return None
        return screen

    def action_open_screen(self, name: str) -> None:
        """Go to a screen of the catalog: pushed over the dashboard, replacing any other."""
        from .screens.dashboard import DashboardScreen

        entry = _BY_NAME.get(name)
        if entry is None or not self.ready or isinstance(self.screen, ModalScreen):
            return
        if name == "dashboard":
            # the dashboard is the first screen (or the one after the first run's)
            while len(self.screen_stack) > 1 and not isinstance(self.screen, DashboardScreen):
                self.pop_screen()
            return
        if type(self.screen).__name__ == entry.cls:
            return
        screen = self.make_screen(entry)
        if screen is None:
            return
        if isinstance(self.screen, DashboardScreen):
            self.push_screen(screen)
        else:
            self.switch_screen(screen)

    # ------------------------------------------------------------------ undo
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo_delete":  # hidden until there is a delete, and never over a modal
            return len(self.deletions) > 0 and not isinstance(self.screen, ModalScreen)
        return True

    def action_undo_delete(self) -> None:
        """Bring back the newest item deleted in the app, from whatever screen is shown."""
        undo_last_delete(self)

    # ------------------------------------------------------------------ theme
    def action_cycle_theme(self) -> None:
        names = sorted(n for n in self.available_themes if n != "textual-ansi")
        current = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(current + 1) % len(names)]
        self.notify(f"Theme: {self.theme}", timeout=2, markup=False)

    def _theme_changed(self, theme: Theme) -> None:
        if self.ready and theme.name != self._saved_theme:
            self._saved_theme = theme.name
            self._save_theme(theme.name)

    def _run_in_thread(self, fn: Callable[[], None]) -> None:
        self.run_worker(fn, thread=True, group="app-settings")

    def _save_theme(self, name: str) -> None:
        def save() -> None:
            try:
                self.gateway.write(lambda j: j.set_setting("theme", name))
            except Exception as exc:  # noqa: BLE001 - a setting is not worth a crash
                self.call_from_thread(self.notify, f"Theme not saved: {exc}", severity="warning",
                                      markup=False)

        self._run_in_thread(save)

    def _restore_theme(self) -> None:
        def restore() -> None:
            try:
                name = self.gateway.read(lambda j: j.setting("theme"))
            except Exception:  # noqa: BLE001 - the dashboard reports journal errors
                return
            if name:
                self.call_from_thread(self._apply_theme, str(name))

        self._run_in_thread(restore)

    def _apply_theme(self, name: str) -> None:
        if name in self.available_themes:
            self._saved_theme = name
            self.theme = name

    # ------------------------------------------------------------------ sync & changes
    def _on_app_thread(self) -> bool:
        return getattr(self, "_thread_id", None) == threading.get_ident()

    def set_sync_state(self, online: bool, last_sync: str | None = None,
                       via: str | None = None) -> None:
        """For the sync engine: partner online or not, the last sync time, and the transport.

        Safe to call from any thread; the dashboard shows it at once.
        """
        state = SyncState(online, last_sync, via)
        if self._on_app_thread():
            self.sync_state = state
        else:
            self.call_from_thread(setattr, self, "sync_state", state)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Textual's toast, with control characters shown escaped: a message may carry a
        partner's name or a relay's words (a sync warning), and Textual draws a toast's
        text as it is, escape sequences included. Markup is left as it is."""
        from .text import escape_controls

        super().notify(escape_controls(message, keep="\n"), title=escape_controls(title, keep=""),
                       severity=severity, timeout=timeout, markup=markup)

    def notify_journal_changed(self, source: str = "remote") -> None:
        """Tell every open screen to reload (after a local write or the partner's operations).

        Safe to call from any thread.
        """
        if not self._on_app_thread():
            self.call_from_thread(self.notify_journal_changed, source)
            return
        self._told = True
        for screen in list(self.screen_stack):
            screen.post_message(JournalChanged(source))

    async def _look_for_changes(self) -> None:
        """Show what another program wrote (`comentor add` in a terminal beside the app)
        within a second: nothing else tells the app of it. A change the app was told of
        since the last look (a local write, the partner's operations) is not told twice."""
        told, self._told = self._told, False
        try:
            changed = await self.gateway.changed_elsewhere()
        except Exception:  # noqa: BLE001 - the screens' own reads say what is wrong
            return
        if changed and not told and not self._told:
            self.notify_journal_changed("elsewhere")

    def _on_gateway_write(self) -> None:
        if self.is_running:
            self.notify_journal_changed("local")


class _Node(Protocol):
    @property
    def app(self) -> App[Any]: ...


class AppAccess:
    """For the app's screens and modals: `self.comentor` is the running :class:`ComentorApp`,
    typed (its gateway, clock, sync state), where Textual's `self.app` is any App."""

    @property
    def comentor(self: _Node) -> ComentorApp:
        app = self.app
        if not isinstance(app, ComentorApp):
            raise TypeError(f"{type(self).__name__} runs inside ComentorApp, not "
                            f"{type(app).__name__}")
        return app


def run_app(path: Path, *, now: Clock | None = None, prefetch: Prefetch | None = None) -> int:
    """Open the app on the journal at `path` (the first-run screen creates it if missing)."""
    path = Path(path)
    prefetch = prefetch or Prefetch(path, now=now)
    if prefetch.future is not None:
        from comentor.model.errors import PassphraseError

        try:
            prefetch.future.result(timeout=30)
        except PassphraseError:
            # the device key is sealed: ask before the app starts, then read again
            import getpass
            import os

            from comentor.model import Journal

            secret = os.environ.get("COMENTOR_PASSPHRASE") or getpass.getpass("Passphrase: ")
            j = Journal.open(path, passphrase=secret, now=now)
            keys = j.keys
            j.close()
            prefetch.gateway.close()
            prefetch = Prefetch(path, now=now, keys=keys)
        except Exception:  # noqa: BLE001 - the dashboard shows journal errors in place
            pass
    app = ComentorApp(path, now=now, prefetch=prefetch)
    # What is loaded by now (Textual, the model, their classes and tables) lives as long as
    # the process: out of the collector's sight, a full collection no longer walks it (one
    # fell in the first frame: about 14 ms on the 100k journal). And no collection at all
    # until the first frame is drawn (some 50 of the youngest generation, 3-4 ms): the app
    # turns the collector back on just after it (on_mount).
    gc.freeze()
    gc.disable()
    app.gc_paused = True
    try:
        app.run()
    finally:
        gc.enable()
    return app.return_code or 0
