"""A screen that reads and writes the journal through the app's gateway, off the UI thread.

Split from :mod:`.base` (the list screens): the screens that are not lists (search, review,
devices, schedule, conflicts, skills, recently deleted) share this much with them. A write
the journal refuses shows its one-line message and changes nothing; a form's save is run by
the form itself (:meth:`GatewayScreen.open_form`), so a refusal keeps the form open with
what was typed; a delete can be taken back with `u` on any screen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

from textual import on, work
from textual.binding import Binding, BindingType

from comentor.model import delete_item

from ..data import JournalGateway
from ..messages import JournalChanged
from ..modals.form import FormModal, Submit
from ..undo import Deletion, deleted_message
from .reads import ReadingScreen

__all__ = ["GatewayScreen", "PlannedWrite"]


class PlannedWrite(NamedTuple):
    """A write a screen asked for while its form was being saved: run by the form instead."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    message: str
    after: Callable[[Any], None] | None


class GatewayScreen(ReadingScreen):
    """A screen that reads and writes through the app's gateway, off the UI thread
    (reads with :meth:`~.reads.ReadingScreen.fetch`).

    `self.comentor` is the running app, typed; `self.gateway` its journal gateway.
    """

    SCREEN_TITLE: ClassVar[str] = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ]

    def __init__(self, focus: str | None = None) -> None:
        super().__init__()
        self.focus_id = focus
        self._planned: list[PlannedWrite] | None = None  # while a form's save is planned

    @property
    def gateway(self) -> JournalGateway:
        return self.comentor.gateway

    def on_mount(self) -> None:
        self.title = self.SCREEN_TITLE
        self.refresh_data()

    def on_screen_resume(self) -> None:
        if not self.first_resume() and self.is_mounted:
            self.refresh_data()

    def refresh_data(self) -> None:
        """Reload from the journal."""

    @on(JournalChanged)
    def _journal_changed(self, event: JournalChanged) -> None:
        # this screen's own writes reload when they finish, other screens' on resume;
        # the partner's operations (or anything not local) reload at once
        if event.source != "local" and self.is_mounted:
            self.refresh_data()

    def action_reload(self) -> None:
        self.refresh_data()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def error(self, message: str) -> None:
        self.notify(message, title="Not saved", severity="error", markup=False)

    def write(self, fn: Callable[..., Any], *args: Any, message: str = "",
              after: Callable[[Any], None] | None = None) -> None:
        """Run a journal write; on refusal show the journal's message, change nothing.

        Called while a form's save is planned (:meth:`open_form`), the write is only noted:
        the form runs it, so a refusal keeps the form and its text.
        """
        if self._planned is not None:
            self._planned.append(PlannedWrite(fn, args, message, after))
            return
        self._write_now(fn, *args, message=message, after=after)

    @work(thread=True, group="write")
    def _write_now(self, fn: Callable[..., Any], *args: Any, message: str = "",
                   after: Callable[[Any], None] | None = None) -> None:
        try:
            result = self.gateway.write(fn, *args)
        except Exception as exc:  # noqa: BLE001 - shown in place, never a crash
            self.app.call_from_thread(self.error, str(exc))
            return
        self.app.call_from_thread(self._written, result, message, after)

    def _written(self, result: Any, message: str, after: Callable[[Any], None] | None) -> None:
        if message:
            self.notify(message, markup=False)
        if after is not None:
            after(result)
        self.refresh_data()

    def open_form(self, form: FormModal, save: Callable[[dict[str, Any]], None]) -> None:
        """Show `form`; on Save, `save(values)` says what to write (by calling self.write)
        and the form runs that write itself: if the journal refuses it, the form stays open
        with the journal's message and everything typed, instead of closing and losing it.
        Every save plans one write today; several would run one after the other, each its
        own transaction (the journal's transactions do not nest), so a save that needs two
        must make them one model call.
        """
        planned: list[PlannedWrite] = []

        def plan(values: dict[str, Any]) -> Submit | None:
            # on the UI thread, at once: no other write of this screen can slip in between
            planned.clear()
            self._planned = planned
            try:
                save(values)
            finally:
                self._planned = None
            if not planned:
                return None  # nothing to write (save said why, if anything)
            return lambda j, _values: [w.fn(j, *w.args) for w in planned]

        def done(result: Any) -> None:
            if isinstance(result, list):  # saved: each write's message and follow-up
                for write, written in zip(planned, result, strict=True):
                    self._written(written, write.message, write.after)

        form.plan = plan
        self.app.push_screen(form, done)

    def deleted(self, table: str, item_id: str, text: object) -> None:
        """Delete one item at once: the app keeps it, so `u` brings it back from any screen
        (and Recently deleted lists it), and the notification says so."""
        deletion = Deletion.of(table, item_id, text)
        self.write(delete_item, table, item_id, after=lambda _: self._deleted(deletion))

    def _deleted(self, deletion: Deletion) -> None:
        self.comentor.deletions.push(deletion)
        self.app.refresh_bindings()
        self.notify(deleted_message(deletion), markup=False, timeout=10)
