"""What a sync did: one :class:`TransportOutcome` per transport tried, in one :class:`SyncReport`
(and :class:`SyncStatus`, what the live LAN engine is doing).

Every transport fills the same outcome as it goes (a LAN session, a relay round, a folder
round), so the command line and the app read one type. Whether a sync failed is decided
here, on the outcomes' types, never on their wording: a sync fails only if every transport
it tried failed, and then with the first failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from comentor.model.errors import ComentorError

if TYPE_CHECKING:
    from comentor.model.replication import ApplyResult, Removal

__all__ = ["HeldBy", "TransportOutcome", "SyncReport", "SyncStatus", "VIAS", "ahead_text"]

VIAS = ("LAN", "relay", "folder")  # the transports, in the order a sync tries them
_COUNTS = ("received", "applied", "duplicates", "quarantined", "sent", "sent_ops", "replays",
           "own", "forks", "reissued")


def ahead_text(ms: int) -> str:
    """How far ahead a clock is, in the unit a person would say: 2 h, 45 min, 3 days."""
    minutes = max(1, round(ms / 60_000))
    if minutes < 90:
        return f"{minutes} min"
    hours = round(minutes / 60)
    return f"{hours} h" if hours < 48 else f"{round(hours / 24)} days"


@dataclass(frozen=True)
class HeldBy:
    """A partner device holds back `count` of this device's changes, stamped up to
    `ahead_ms` ahead of its clock: this device's clock is (or was) wrong."""

    holder: str  # who holds them back, as a person would say it ("Jonas's device")
    count: int
    ahead_ms: int

    def line(self) -> str:
        return (f"{self.count} of your changes are held back by {self.holder}: stamped "
                f"{ahead_text(self.ahead_ms)} in the future; fix this device's clock")


@dataclass
class TransportOutcome:
    """What one transport did in one sync, or why it failed (``error``).

    ``via`` is ``LAN``, ``relay`` or ``folder``. Over the LAN ``sent`` and ``received`` count
    operations and ``peer_*``/``address`` name the partner device; through a relay or a
    folder they count envelopes (``sent_ops`` the operations sent in them), and ``replays``,
    ``own``, ``rejected``, ``gaps`` and ``notes`` say what was ignored and why.
    """

    via: str
    error: ComentorError | None = None
    peer_device: str = ""
    peer_name: str = ""
    address: str = ""
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    quarantined: int = 0
    sent: int = 0
    sent_ops: int = 0
    replays: int = 0
    own: int = 0
    forks: int = 0  # operations received under numbers another copy used: kept (forks)
    reissued: int = 0  # this copy's own forked changes, re-issued under its new epoch
    epoch_bumped: bool = False
    held_back: list[HeldBy] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # why "nothing new" is not "in sync" (a folder no partner device has written to yet):
    # said instead of that line
    alone: str = ""
    tables: set[str] = field(default_factory=set)
    # relay, after the round: per other device that has sent an envelope, how
    # many of the operations it said it held (in its latest one) this journal still lacks
    lacking: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def line(self) -> str:
        """One line for a LAN session: what moved, and with whom."""
        text = (f"sent {self.sent}, received {self.received} operations from "
                f"{self.peer_name or self.peer_device}")
        if self.quarantined:
            text += f" ({self.quarantined} held in quarantine: clock far ahead)"
        if self.epoch_bumped:
            text += " (this journal was restored from a backup: moved to a new epoch)"
        return "; ".join([text, *self.news()])

    def news(self) -> list[str]:
        """What both kinds of transport say beyond their counts: forks, held-back changes."""
        out = []
        if self.reissued:
            out.append(f"this journal is a copy that wrote under numbers another copy used: "
                       f"re-issued {self.reissued} of its change(s), nothing is lost")
        if self.forks:
            out.append(f"kept {self.forks} change(s) written by two copies of one journal "
                       "under the same numbers: nothing is lost")
        return out + [h.line() for h in self.held_back]

    def note_applied(self, result: ApplyResult) -> None:
        """Count what one applied batch did."""
        self.applied += result.applied
        self.duplicates += result.duplicates
        self.quarantined += result.quarantined
        self.forks += result.forks
        self.reissued += result.reissued
        self.epoch_bumped = self.epoch_bumped or result.moved
        self.tables |= result.tables

    def note_held(self, held: HeldBy) -> None:
        """A partner's latest word on how many of our changes it holds back."""
        self.held_back = [h for h in self.held_back if h.holder != held.holder]
        if held.count:
            self.held_back.append(held)

    def lines(self) -> list[str]:
        """What moved, in words a user can act on (nothing for a failed transport)."""
        if self.error is not None:
            return []
        if self.via == "LAN":
            return [self.line()]
        if self.received or self.sent:
            head = (f"{self.via}: received {self.received} envelope(s), applied {self.applied} "
                    f"change(s); sent {self.sent} envelope(s) with {self.sent_ops} change(s)")
        else:
            head = f"{self.via}: {self.alone or 'nothing new either way'}"
        extra = [f"{self.via}: {self.alone}"] if self.alone and self.alone not in head else []
        if self.replays:
            extra.append(f"{self.via}: ignored {self.replays} replayed envelope(s)")
        if self.quarantined:
            extra.append(f"{self.via}: {self.quarantined} change(s) held in quarantine "
                         "(clock far ahead): see `comentor quarantine`")
        if self.epoch_bumped:
            extra.append(f"{self.via}: this journal was restored from a backup (or copied): "
                         "moved to a new epoch")
        extra += [f"{self.via}: {line}" for line in self.news()]
        return [head, *extra, *self.gaps, *self.rejected, *self.notes]

    def merge(self, other: TransportOutcome) -> TransportOutcome:
        """Add what ``other`` (another round or session of the same transport) did."""
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.epoch_bumped = self.epoch_bumped or other.epoch_bumped
        self.peer_device = self.peer_device or other.peer_device
        self.peer_name = self.peer_name or other.peer_name
        self.rejected += other.rejected
        self.gaps += other.gaps
        self.notes += other.notes
        self.alone = self.alone or other.alone
        self.tables |= other.tables
        for device, count in other.lacking.items():  # this report's own word comes first
            self.lacking.setdefault(device, count)
        for held in other.held_back:
            self.note_held(held)
        return self


@dataclass
class SyncReport:
    """One sync: the outcome of each transport tried, in the order they ran."""

    outcomes: list[TransportOutcome] = field(default_factory=list)
    removed: Removal | None = None  # this device was revoked (learnt before or during it)

    @property
    def ok(self) -> bool:
        """A sync succeeds when at least one transport it tried succeeded, and this device
        is still part of the partnership."""
        return self.removed is None and any(o.ok for o in self.outcomes)

    @property
    def failure(self) -> ComentorError | None:
        """Why the sync failed (a removal first, else the first failure), or None."""
        if self.removed is not None:
            from comentor.sync.errors import RemovedError

            return RemovedError(self.removed.describe(), at=self.removed.at,
                                by=self.removed.by)
        if self.ok:
            return None
        return next((o.error for o in self.outcomes if o.error is not None), None)

    @property
    def warnings(self) -> list[TransportOutcome]:
        """The transports that failed while the sync as a whole succeeded."""
        return [o for o in self.outcomes if not o.ok] if self.ok else []

    def outcome(self, via: str) -> TransportOutcome | None:
        return next((o for o in self.outcomes if o.via == via), None)

    def lines(self) -> list[str]:
        """What moved, transport by transport."""
        return [line for o in self.outcomes for line in o.lines()]

    def raise_if_failed(self) -> None:
        """Raise the first failure when every transport tried failed."""
        failure = self.failure
        if failure is not None:
            raise failure


@dataclass
class SyncStatus:
    """What the engine is doing, for a status bar or a log line."""

    state: str  # starting | listening | online | stopped
    port: int = 0
    online: list[str] = field(default_factory=list)  # names of partners connected now
    last_sync: str | None = None
    message: str = ""
