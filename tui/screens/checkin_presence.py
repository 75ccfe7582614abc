"""Presence in the check-in: which agenda item the partner has open, never stored.

:class:`PresenceLine` is the check-in's line "Ben is on: Pricing ask". It tells the partner
which item is selected here (a moment after the selection settles, so walking the list
sends one message, not one per row) and, when the screen goes, that this device left; the
sync bridge brings the partner's (:class:`PartnerPresence`, which the screen hands over).
:class:`PresenceBoard` keeps what each partner device said last and forgets it when that
device left the check-in, went offline (its LAN session ended), or said nothing for
``PRESENCE_TTL`` seconds (the sender says it again every few seconds while it stays). The
item the partner is on is also marked on the agenda (:class:`PresenceLine.Here`, which
the screen passes to its agenda). Names and titles are shown inert (:mod:`..text`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from comentor.model import AgendaItem
from comentor.sync import PRESENCE_TTL

from ..app import AppAccess
from ..text import first_name, one_line
from ..widgets.agenda import item_key

if TYPE_CHECKING:
    from comentor.sync import Presence

__all__ = ["PresenceBoard", "PresenceLine", "Seen", "presence_line", "PRESENCE_TTL",
           "SAY_DELAY"]

SAY_DELAY = 0.3  # the selection settles this long before it is told


@dataclass(frozen=True)
class Seen:
    """A partner device's open item ("table:row"), as last told, and when (monotonic)."""

    name: str
    session: str | None
    key: str
    when: float


class PresenceBoard:
    """What each partner device has open; see the module docstring."""

    def __init__(self, ttl: float = PRESENCE_TTL) -> None:
        self.ttl = ttl
        self._seen: dict[str, Seen] = {}

    def take(self, presence: Presence, now: float | None = None) -> None:
        """A device's latest: an item (kept) or none (forgotten)."""
        if presence.row is None or presence.table is None:
            self._seen.pop(presence.device, None)
            return
        name = first_name(presence.name, "Your partner")
        self._seen[presence.device] = Seen(name, presence.session,
                                           item_key(presence.table, presence.row),
                                           time.monotonic() if now is None else now)

    def expire(self, now: float | None = None) -> bool:
        """Forget what was not said again in time; True if anything went."""
        now = time.monotonic() if now is None else now
        stale = [d for d, seen in self._seen.items() if now - seen.when > self.ttl]
        for device in stale:
            del self._seen[device]
        return bool(stale)

    def here(self, session: str | None) -> list[Seen]:
        """What the partner has open in this check-in (a presence from another check-in,
        once both have one, does not count), the latest first."""
        return sorted((s for s in self._seen.values()
                       if s.session is None or session is None or s.session == session),
                      key=lambda s: s.when, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._seen)


def presence_line(seen: Iterable[Seen], items: dict[str, AgendaItem]) -> Text:
    """"Ben is on: Pricing ask" (the latest of the partner's devices), or nothing."""
    for s in seen:
        out = Text()
        out.append(f"{s.name} is on: ", style="bold")
        item = items.get(s.key)
        if item is None:
            out.append("an item not on this agenda yet", style="dim italic")
        else:
            out.append(one_line(item.text))
        return out
    return Text()


class PresenceLine(AppAccess, Static):
    """The partner's open item, and telling the partner ours; see the module docstring."""

    DEFAULT_CSS = """
    PresenceLine { height: auto; padding: 0 1; color: $text-accent; display: none; }
    PresenceLine.-show { display: block; }
    """

    class Here(Message):
        """The items the partner has open now: item key -> name (for the agenda's marks)."""

        def __init__(self, marks: dict[str, str]) -> None:
            self.marks = marks
            super().__init__()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.board = PresenceBoard()
        self.session: str | None = None
        self.items: dict[str, AgendaItem] = {}
        self.said: tuple[str | None, str | None] | None = None  # what we told: (session, item)
        self._wanted: tuple[str | None, str | None] = (None, None)
        self._say_timer: Timer | None = None
        self._expiry: Timer | None = None
        self._shown: tuple[str, dict[str, str]] | None = None

    def on_mount(self) -> None:
        bridge = self.comentor.sync_bridge
        for presence, when in (bridge.presence.values() if bridge is not None else ()):
            self.board.take(presence, when)  # what the partner had open before we came
        self.board.expire()
        self._watch()

    def on_unmount(self) -> None:
        if self.said is not None and self.said[1] is not None:
            self._tell(self.said[0], None)  # this device left the check-in

    # ------------------------------------------------------------------ ours
    def tell(self, session: str | None, key: str | None) -> None:
        """Tell the partner that item ``key`` of check-in ``session`` is open here, once
        the selection has settled (and only if it is news)."""
        wanted = (session, key)
        if wanted == self._wanted and (self._say_timer is not None or wanted == self.said):
            return  # on its way, or told: a reload (the partner typing) restarts nothing
        self._wanted = wanted
        if self._say_timer is not None:
            self._say_timer.stop()
        self._say_timer = self.set_timer(SAY_DELAY, self._say)

    def _say(self) -> None:
        self._say_timer = None
        if self._wanted != self.said and (self._wanted[1] is not None or self.said is not None):
            self.said = self._wanted
            self._tell(*self._wanted)

    def _tell(self, session: str | None, key: str | None) -> None:
        bridge = self.comentor.sync_bridge
        if bridge is not None:
            table, _, row = (key or "").partition(":")
            bridge.set_presence(session, table or None, row or None)

    # ------------------------------------------------------------------ the partner's
    def take(self, presence: Presence) -> None:
        """What a partner device said it has open (or that it left)."""
        self.board.take(presence)
        self._watch()
        self.show()

    def context(self, session: str | None, items: dict[str, AgendaItem]) -> None:
        """The check-in shown and its agenda (the titles the line names)."""
        self.session, self.items = session, items
        self.show()

    def _watch(self) -> None:
        if self.board and self._expiry is None:
            self._expiry = self.set_interval(2.0, self._expire)

    def _expire(self) -> None:
        if self.board.expire():
            self.show()

    def show(self) -> None:
        here = self.board.here(self.session)
        line = presence_line(here, self.items)
        marks = {seen.key: seen.name for seen in reversed(here)}  # the latest wins a row
        if self._shown == (line.plain, marks):
            return
        self._shown = (line.plain, marks)
        self.update(line)
        self.set_class(bool(line.plain), "-show")
        self.post_message(self.Here(marks))
