"""App-level messages: how the app tells its screens that something outside them changed.

Screens never poll the journal. A write through the gateway, or operations arriving from the
partner (the sync engine calls :meth:`ComentorApp.notify_journal_changed`), become one
:class:`JournalChanged` posted to every screen on the stack, which reload in a worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from textual.message import Message

if TYPE_CHECKING:
    from comentor.sync import Presence

__all__ = ["JournalChanged", "DashboardLoaded", "SyncState", "PartnerPresence"]


class JournalChanged(Message):
    """The journal changed (a local write or operations from the partner): reload views."""

    def __init__(self, source: str = "local") -> None:
        self.source = source
        super().__init__()


class SyncState(NamedTuple):
    """What the dashboard shows about sync; the sync engine sets it via the app. (A named
    tuple, immutable and equal by value: the app loads it before its first frame, where a
    frozen dataclass costs its generated methods' compilation.)"""

    online: bool = False
    last_sync: str | None = None
    via: str | None = None


class DashboardLoaded(Message):
    """The dashboard has shown real data (the startup benchmark waits for this)."""


class PartnerPresence(Message):
    """A partner's device opened a check-in agenda item, left the check-in, or went offline
    (the sync bridge posts it to every screen; ephemeral, never stored)."""

    def __init__(self, presence: Presence) -> None:
        self.presence = presence
        super().__init__()
