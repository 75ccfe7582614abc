"""Deletes in the app can be taken back from anywhere: the app keeps what it deleted.

A delete reaches the partner too, so a slip of a key must not cost anything. A screen that
deletes an item hands it to :class:`Deletions` (held by the app, not by the screen, so it
survives leaving the screen); `u`, on any screen, brings back the newest one, and the
notification of every delete names that key. Recently deleted (z) lists every deleted item,
from either partner, for whatever is older.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

from comentor import model
from comentor.model.errors import ValidationError

from .text import one_line

if TYPE_CHECKING:
    from .app import ComentorApp

__all__ = ["Deletion", "Deletions", "ShowsItems", "UNDO_KEY", "deleted_message", "undo_last_delete"]

UNDO_KEY = "u"  # the app's binding: one key, the same on every screen


class Deletion(NamedTuple):
    """One item the app deleted: where it lives and a few words of it, for messages. (A
    named tuple: the app loads this module before its first frame, where a frozen dataclass
    costs its generated methods' compilation.)"""

    table: str
    row: str
    label: str

    @classmethod
    def of(cls, table: str, row: str, text: object) -> Deletion:
        words = one_line(text)
        return cls(table, row, words if len(words) <= 40 else words[:39] + "…")


@runtime_checkable
class ShowsItems(Protocol):
    """A screen that can put its cursor on an item once it is back (the list screens)."""

    def focus_item(self, table: str, row: str) -> None: ...


class Deletions:
    """The app's deletes of this run, newest last (at most :attr:`LIMIT`)."""

    LIMIT = 50

    def __init__(self) -> None:
        self._stack: list[Deletion] = []

    def __len__(self) -> int:
        return len(self._stack)

    def push(self, deletion: Deletion) -> None:
        self.forget(deletion.table, deletion.row)
        self._stack.append(deletion)
        del self._stack[:-self.LIMIT]

    def pop(self) -> Deletion | None:
        return self._stack.pop() if self._stack else None

    def forget(self, table: str, row: str) -> None:
        """The item came back some other way (Recently deleted): nothing to undo for it."""
        self._stack = [d for d in self._stack if (d.table, d.row) != (table, row)]


def deleted_message(deletion: Deletion) -> str:
    """What the app says after a delete: what went, and the key that brings it back."""
    return (f"Deleted {model.item_kind(deletion.table, article=True)} “{deletion.label}”: "
            f"press {UNDO_KEY} to undo, on any screen (or find it in Recently deleted, z)")


def undo_last_delete(app: ComentorApp) -> None:
    """Restore the newest deletion still deleted, in a worker (the gateway's thread writes).

    An item that came back meanwhile (restored on the other device, or in Recently deleted)
    is skipped, and the one before it is restored instead.
    """
    deletions = app.deletions
    if not deletions:
        app.notify("Nothing to undo: no item was deleted in this session.", markup=False)
        return

    def restore() -> None:
        while (deletion := deletions.pop()) is not None:
            try:
                app.gateway.write(model.restore_item, deletion.table, deletion.row)
            except ValidationError as exc:
                if exc.field("state") == "live":
                    continue  # already back: take back the delete before it
                app.call_from_thread(_failed, app, deletion, str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - shown, never a crash
                deletions.push(deletion)  # not restored: keep it for another try
                app.call_from_thread(_failed, app, deletion, str(exc))
                return
            app.call_from_thread(_restored, app, deletion)
            return
        app.call_from_thread(_nothing_left, app)

    app.run_worker(restore, thread=True, group="undo-delete", exclusive=True)


def _restored(app: ComentorApp, deletion: Deletion) -> None:
    screen = app.screen
    if isinstance(screen, ShowsItems):
        screen.focus_item(deletion.table, deletion.row)
    app.refresh_bindings()
    app.notify(f"Restored {model.item_kind(deletion.table, article=True)} “{deletion.label}”",
               markup=False)
    app.notify_journal_changed("undo")  # every open screen shows it again, now


def _failed(app: ComentorApp, deletion: Deletion, message: str) -> None:
    app.refresh_bindings()
    app.notify(f"“{deletion.label}” was not restored: {message}", title="Not restored",
               severity="error", markup=False)


def _nothing_left(app: ComentorApp) -> None:
    app.refresh_bindings()
    app.notify("Nothing to undo: what was deleted is already back.", markup=False)
