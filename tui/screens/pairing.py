"""Pairing from the app: the invite and join modals of the devices screen.

The flow is :func:`comentor.sync.invite` / :func:`comentor.sync.join`, the same as
`comentor invite` / `comentor join`.
It writes the trusted device and the partnership key on the thread that runs its event
loop, so each modal runs it in a thread worker with its own event loop and its own
Journal (sqlite connections belong to one thread); the app's gateway keeps working beside
it. Both modals end on the safety number, which the two people must compare: that is what
makes the pairing safe against someone in the middle. A wrong code ends with the flow's
one clear message, and nothing is written. Errors name the modal's own controls where the
command line would name a flag (:func:`~comentor.tui.screens.pairing_text.app_text`, kept
with the modals' other wording in :mod:`~comentor.tui.screens.pairing_text`).

Pairing exchanges keys, not the journal: the join modal then syncs once with the inviter
(:mod:`comentor.tui.first_sync`, on the same worker thread) and reads what the inviter
answered and chose; "Continue" opens :class:`~comentor.tui.screens.join_confirm.
ConfirmPartnershipModal`, where the partner who joins confirms the peer checklist and
accepts or changes the cadence.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from ..app import AppAccess
from ..text import escape_controls
from ..widgets.tick_box import TickBox
from .pairing_text import COMPARE_HINT, DEVICE_BOX, app_text, who_paired

if TYPE_CHECKING:
    from comentor.model import Journal, Onboarding
    from comentor.sync import PairingCode, PairResult

    from ..first_sync import FirstSync

__all__ = ["InviteModal", "JoinModal", "COMPARE_HINT", "app_text"]

class _PairingModal(AppAccess, ModalScreen[bool]):
    """Shared plumbing: run one pairing coroutine in a thread, cancel it on escape."""

    DEFAULT_CSS = """
    _PairingModal { align: center middle; }
    _PairingModal > #pair-dialog {
        width: 76; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    _PairingModal #pair-title { text-style: bold; margin-bottom: 1; }
    _PairingModal #pair-code {
        height: auto; content-align: center middle; text-align: center;
        text-style: bold; color: $accent; border: double $accent; padding: 1 2; margin: 1 0;
    }
    _PairingModal #pair-error { color: $error; height: auto; }
    _PairingModal #pair-status { color: $text-muted; height: auto; }
    _PairingModal #pair-safety { height: auto; margin-top: 1; }
    _PairingModal #pair-buttons { height: auto; margin-top: 1; align-horizontal: right; }
    _PairingModal Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Cancel")]

    TITLE_TEXT = ""

    def __init__(self) -> None:
        super().__init__()
        self.running = False
        self.paired = False
        self._flow_loop: asyncio.AbstractEventLoop | None = None
        self._flow_task: asyncio.Task[Any] | None = None
        self._stop = threading.Event()  # ends a first sync still trying when closed

    def compose(self) -> ComposeResult:
        with Vertical(id="pair-dialog"):
            yield Label(self.TITLE_TEXT, id="pair-title", markup=False)
            yield from self.form()
            yield Static("", id="pair-code", markup=False)
            yield Static("", id="pair-status", markup=False)
            yield Static("", id="pair-error", markup=False)
            yield Static("", id="pair-safety", markup=False)
            with Horizontal(id="pair-buttons"):
                yield Button("Close", id="pair-close")
                yield Button(self.start_label(), id="pair-start", variant="primary")
                yield Button("Continue: checklist and cadence", id="pair-next",
                             variant="primary")

    def form(self) -> ComposeResult:
        """The fields above the code (options, the code input)."""
        yield from ()

    def start_label(self) -> str:
        return "Start"

    def on_mount(self) -> None:
        self.query_one("#pair-code").display = False
        self.query_one("#pair-next").display = False

    # ------------------------------------------------------------------ shown state
    def status(self, text: str) -> None:
        self.query_one("#pair-status", Static).update(escape_controls(text, keep="\n"))

    def error(self, text: str) -> None:
        # a relay's refusal or close reason is its own words: shown escaped
        self.query_one("#pair-error", Static).update(escape_controls(text, keep="\n"))

    def _finished(self, safety: str | None, who: str, error: str | None) -> None:
        self.running = False
        if not self.is_mounted:
            return
        start = self.query_one("#pair-start", Button)
        if error is not None:
            self.error(error)
            self.status("")
            start.disabled = False
            return
        self.paired = True
        self.query_one("#pair-code").display = False
        self.status(f"Paired with {who}.")
        self.query_one("#pair-safety", Static).update(f"Safety number: {safety}\n\n{COMPARE_HINT}")
        start.display = False
        self.query_one("#pair-close", Button).focus()
        from ..sync_bridge import restart_sync

        restart_sync(self.comentor)
        self.comentor.notify_journal_changed("remote")

    # ------------------------------------------------------------------ running the flow
    def run_flow(self, make: Callable[[], Coroutine[Any, Any, tuple[str, str]]],
                 then: Callable[[], None] | None = None) -> None:
        """Run `make()` (returns safety number and who) on a thread with its own loop;
        then, once it paired, `then()` on that thread (blocking work such as a sync)."""
        self.running = True
        self.error("")
        self.query_one("#pair-start", Button).disabled = True

        async def main() -> tuple[str, str]:
            self._flow_loop, self._flow_task = asyncio.get_running_loop(), asyncio.current_task()
            return await make()

        def work() -> None:
            from comentor.model.errors import ComentorError

            try:
                safety, who = asyncio.run(main())
            except ComentorError as exc:
                self._report(None, "", app_text(exc))
            except asyncio.CancelledError:
                self._report(None, "", "cancelled")
            except Exception as exc:  # noqa: BLE001 - shown, never a crash
                self._report(None, "", f"pairing failed: {type(exc).__name__}: {exc}")
            else:
                if then is not None:
                    # the pairing stands even if this extra step fails: never a stuck modal
                    with contextlib.suppress(Exception):
                        then()
                self._report(safety, who, None)

        self.run_worker(work, thread=True, exclusive=True, group="pairing", exit_on_error=False)

    def _report(self, safety: str | None, who: str, error: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(self._finished, safety, who, error)

    def later(self, fn: Callable[..., None], *args: Any) -> None:
        """From the flow's thread: update this modal on the app's thread."""
        def update() -> None:
            if self.is_mounted:
                fn(*args)

        with contextlib.suppress(RuntimeError):
            self.app.call_from_thread(update)

    def action_close(self) -> None:
        self._stop.set()
        loop, task = self._flow_loop, self._flow_task
        if self.running and loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        self.dismiss(self.paired)

    @on(Button.Pressed, "#pair-close")
    def _close_pressed(self) -> None:
        self.action_close()

    @on(Button.Pressed, "#pair-start")
    def _start_pressed(self) -> None:
        if not self.running:
            self.begin()

    def begin(self) -> None:
        """Start the flow (subclasses)."""

    def open_journal(self) -> Journal:
        """This modal's own connection to the app's journal (on the calling thread)."""
        from comentor.model import Journal

        keys = self.comentor.gateway.read(lambda j: j.keys)
        return Journal.open(self.comentor.journal_path, keys=keys)

    def relay_url(self) -> str:
        """The journal's relay, for "through the relay" (from the flow's thread)."""
        from comentor.sync import SyncService
        from comentor.sync.errors import PairingError

        url = self.comentor.gateway.read(lambda j: SyncService.settings(j).relay_url)
        if not url:
            raise PairingError("no relay configured: run `comentor relay use URL` first, "
                               "or untick “through the relay”")
        return url


class InviteModal(_PairingModal):
    """Show a code for the partner (or my other device) and wait for one attempt."""

    TITLE_TEXT = "Invite your partner, or one of your own devices"

    def form(self) -> ComposeResult:
        yield TickBox(f"{DEVICE_BOX} (--device)", id="pair-device")
        yield TickBox("Meet through the relay instead of the local network", id="pair-relay")

    def start_label(self) -> str:
        return "Show code"

    def begin(self) -> None:
        from comentor.sync import InviteOptions, SyncOptions, invite

        device = self.query_one("#pair-device", Checkbox).value
        self.status("Preparing a code…")
        relay_checked = self.query_one("#pair-relay", Checkbox).value

        def on_code(code: PairingCode, where: str) -> None:
            what = "your other device" if device else "your partner"
            how = " --device" if device else ""
            self.later(self._show_code, str(code),
                       f"Read it to {what}, who presses j on the devices screen (or runs "
                       f"`comentor join {code}{how}`). Waiting {where}… (escape cancels)")

        async def flow() -> tuple[str, str]:
            relay = self.relay_url() if relay_checked else None
            j = self.open_journal()
            try:
                # where live sync listens (COMENTOR_SYNC_HOST) is where the code is offered
                host = SyncOptions.from_env().listen_host
                opts = InviteOptions(device=device, relay=relay, host=host)
                result = await invite(j, opts, on_code,
                                      on_status=lambda m: self.later(self.status, m))
                return result.safety_number, who_paired(result)
            finally:
                j.close()

        self.run_flow(flow)

    def _show_code(self, code: str, hint: str) -> None:
        box = self.query_one("#pair-code", Static)
        box.update("   ".join(code.upper().split("-")))
        box.display = True
        self.status(hint)


class JoinModal(_PairingModal):
    """Type the code the partner's screen shows; checked as it is typed. Once paired with a
    partner: sync once and offer to confirm the checklist and the cadence."""

    TITLE_TEXT = "Join your partner's invitation"

    def __init__(self) -> None:
        super().__init__()
        self.synced: FirstSync | None = None
        self.info: Onboarding | None = None  # what the partner who joins confirms

    def form(self) -> ComposeResult:
        yield Label("Code (like 7-orbit-candle-harbor)")
        yield Input(placeholder="7-orbit-candle-harbor", id="pair-input")
        yield TickBox("This is another device of the person who invited (--device)",
                      id="pair-device")
        yield TickBox("Meet through the relay instead of the local network", id="pair-relay")
        yield Label("Inviting device's address (optional, HOST:PORT; otherwise searched on "
                    "the local network)")
        yield Input(placeholder="192.168.1.20:47001", id="pair-peer")

    def start_label(self) -> str:
        return "Join"

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#pair-input", Input).focus()

    def _code(self) -> PairingCode:
        from comentor.sync import parse_code

        return parse_code(self.query_one("#pair-input", Input).value)

    @on(Input.Changed, "#pair-input")
    def _typed(self, event: Input.Changed) -> None:
        from comentor.sync.errors import PairingError

        if self.running:
            return
        try:
            self._code()
        except PairingError as exc:
            # quiet while the code is still being typed; say what is wrong once it is whole
            whole = len([p for p in event.value.replace(" ", "-").split("-") if p]) >= 4
            self.error(str(exc) if whole else "")
        else:
            self.error("")

    @on(Input.Submitted)
    def _submitted(self) -> None:
        if not self.running:
            self.begin()

    def begin(self) -> None:
        from comentor.sync import JoinOptions, join, parse_peer
        from comentor.sync.errors import SyncError

        address = self.query_one("#pair-peer", Input).value.strip()
        try:
            code = self._code()
            peer = parse_peer(address) if address else None
        except SyncError as exc:
            self.error(app_text(exc))
            return
        device = self.query_one("#pair-device", Checkbox).value
        relay_checked = self.query_one("#pair-relay", Checkbox).value
        self.status("Looking for the invitation…")
        paired: dict[str, Any] = {}

        async def flow() -> tuple[str, str]:
            relay = self.relay_url() if relay_checked else None
            j = self.open_journal()
            try:
                opts = JoinOptions(device=device, relay=relay, peer=peer)
                _, result = await join(self.comentor.journal_path, j, code, None, opts,
                                       on_status=lambda m: self.later(self.status, m))
                paired.update(result=result, relay=relay)
                return result.safety_number, who_paired(result)
            finally:
                j.close()

        def first_sync() -> None:
            self._first_sync(paired["result"], peer, paired["relay"])

        self.run_flow(flow, first_sync)

    def _first_sync(self, result: PairResult, peer: tuple[str, int] | None,
                    relay: str | None) -> None:
        """On the flow's thread, once paired: sync once, then read what to confirm."""
        from ..first_sync import after_joining

        who = "your other device" if result.own_device else result.peer.person_name
        self.later(self.status, f"Paired. Syncing once with {who}…")
        keys = self.comentor.gateway.read(lambda j: j.keys)
        self.synced, self.info = after_joining(self.comentor.journal_path, keys, result,
                                               peer=peer, relay=relay, stop=self._stop)

    def _finished(self, safety: str | None, who: str, error: str | None) -> None:
        super()._finished(safety, who, error)
        if error is not None or not self.is_mounted:
            return
        done = self.synced
        if done is not None and done.ok:
            self.status(f"Paired with {who}. First sync done: received {done.received}.")
        elif done is not None:
            self.status(f"Paired with {who}. No first sync yet ({done.error}): the journal "
                        "arrives at the next sync.")
        if self.info is not None:
            button = self.query_one("#pair-next", Button)
            button.display = True
            button.focus()

    @on(Button.Pressed, "#pair-next")
    def _next(self) -> None:
        from .join_confirm import ConfirmPartnershipModal

        info = self.info
        self.dismiss(self.paired)
        if info is not None:
            self.app.push_screen(ConfirmPartnershipModal(info))
