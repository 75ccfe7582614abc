"""How a screen reads the journal: off the UI thread, once per opening, newest read drawn.

Two things every reading screen got wrong alike, so they live here once:

- Textual sends ScreenResume right after a screen's first Mount. A screen that reads on
  mount and again on resume read a large journal twice as it opened (and on the review
  screen the two draws interleaved). :meth:`ReadingScreen.first_resume` tells that resume apart.
- A thread worker can be made exclusive, but a thread that is already reading cannot be
  stopped, and two reads can hand their results back out of order: `t` (all items) then a
  partner's change must end on all items, and a quick run down a list on the last item's
  detail, not on whichever read came last. :meth:`ReadingScreen.fetch` numbers each read of a kind
  and draws only the newest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.screen import Screen

from ..app import AppAccess

if TYPE_CHECKING:
    from comentor.model import Journal

__all__ = ["ReadingScreen"]

T = TypeVar("T")


class ReadingScreen(AppAccess, Screen[None]):
    """A screen of the app that reads the journal through the app's gateway."""

    _asked: dict[str, int] | None = None  # per kind of read, the number of the newest
    _resumed = False

    def first_resume(self) -> bool:
        """Whether this ScreenResume is the one that follows the first Mount (the mount's
        read covers it); True only once."""
        first, self._resumed = not self._resumed, True
        return first

    def fetch(self, kind: str, read: Callable[[Journal], T], show: Callable[[T], None],
              failed: Callable[[str], None] | None = None) -> None:
        """Run `read` through the app's gateway in a thread worker (exclusive within
        `kind`), then `show` its result on the UI thread, unless a newer read of the same
        kind was asked for meanwhile; a refusal goes to `failed` as its one-line message
        (by default a notification)."""
        number = self._ask(kind)
        gateway = self.comentor.gateway

        def run() -> None:
            try:
                found = gateway.read(read)
            except Exception as exc:  # noqa: BLE001 - shown in place, never a crash
                self.app.call_from_thread(self._arrived, kind, number,
                                          failed or self.read_failed, str(exc))
                return
            self.app.call_from_thread(self._arrived, kind, number, show, found)

        self.run_worker(run, thread=True, exclusive=True, group=kind)

    def forget(self, kind: str) -> None:
        """Draw none of the reads of `kind` under way (the screen shows something else)."""
        self._ask(kind)

    def _ask(self, kind: str) -> int:
        """The number of a new read of `kind`: every one before it is now out of date."""
        if self._asked is None:
            self._asked = {}
        number = self._asked[kind] = self._asked.get(kind, 0) + 1
        return number

    def newest(self, kind: str, number: int) -> bool:
        """Whether read `number` of `kind` is still the newest asked for."""
        return (self._asked or {}).get(kind) == number

    def read_failed(self, message: str) -> None:
        """A read the journal refused, said in one line."""
        self.notify(message, title="Could not read the journal", severity="error",
                    markup=False)

    def _arrived(self, kind: str, number: int, show: Callable[[Any], None], found: Any) -> None:
        if self.newest(kind, number) and self.is_attached:
            show(found)
