"""The relay's pairing rendezvous: opaque bytes between exactly two parties for one nameplate.

An inviter opens a rendezvous and the relay *allocates* its nameplate, the number spoken at
the head of the pairing code (as a magic-wormhole server does): a random free number of
1-999 while fewer than half of those are open, else of 1-9999, and so on. A client
therefore cannot squat the pairing space: holding every short number only makes the next
code one digit longer. At most one joiner joins a nameplate, and the relay passes the two
parties' messages along without understanding them (the words of the code never reach it).

Pairing state is small and bounded: a few KiB per pairing (messages held for a joiner that
has not arrived are capped in count and bytes) within a relay-wide memory budget. When the
budget is reached, the oldest pairing still waiting for a joiner, of the client address
holding the most such pairings, is ended to make room: one client's flood evicts its own
state first. A nameplate lives ``pair_ttl`` seconds, admits ``pair_max_joins`` attempts,
and an address that keeps asking for unknown nameplates (scanning) is refused for a while.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from comentor.sync.relay.connection import Refused, Session
from comentor.sync.relay.observe import RelayMetrics
from comentor.sync.relay.wire import MAX_NAMEPLATE, Message, RelayLimits, encode

__all__ = ["PAIR_COST", "Pair", "Rendezvous", "recent"]

#: The memory one open pairing is counted for, besides the messages it holds.
PAIR_COST = 4096


@dataclass(eq=False)
class Pair:
    """An open nameplate: its opener, at most one joiner, the join attempts so far, and the
    messages held for a joiner that has not arrived yet."""

    nameplate: int
    opener: Session
    client: str
    opened: float = field(default_factory=time.monotonic)
    timer: asyncio.TimerHandle | None = None
    joiner: Session | None = None
    attempts: int = 0
    pending: list[bytes] = field(default_factory=list)
    pending_bytes: int = 0

    @property
    def cost(self) -> int:
        return PAIR_COST + self.pending_bytes


def recent(log: dict[str, list[float]], ip: str, window: float, now: float) -> list[float]:
    """The times in ``log[ip]`` within ``window`` seconds of ``now`` (older ones forgotten)."""
    times = [t for t in log.get(ip, ()) if now - t < window]
    if times:
        log[ip] = times
    else:
        log.pop(ip, None)
    return times


def _digits(nameplate: int) -> int:
    return len(str(nameplate))


class Rendezvous:
    """Every open nameplate of one relay; ``clock`` is the relay's (wall time)."""

    def __init__(self, limits: RelayLimits, clock: Callable[[], float],
                 metrics: RelayMetrics | None = None) -> None:
        self.limits = limits
        self._clock = clock
        self._metrics = metrics
        self.pairs: dict[int, Pair] = {}
        self.memory = 0  # the sum of every open pair's cost
        self._by_digits: Counter[int] = Counter()  # open nameplates by their length
        self._waiting: dict[str, dict[Pair, None]] = defaultdict(dict)  # client -> oldest first
        self._misses: dict[str, list[float]] = defaultdict(list)  # ip -> pair_join misses

    # ------------------------------------------------------------ allocation and budget
    def _allocate(self, wanted: int | None) -> int:
        """The requested nameplate if it is free, else a random free one of the shortest
        length of which fewer than half are open."""
        if wanted is not None and wanted not in self.pairs:
            return wanted
        digits = 3
        while 10**digits - 1 < MAX_NAMEPLATE and 2 * sum(
                n for d, n in self._by_digits.items() if d <= digits) >= 10**digits - 1:
            digits += 1
        space = 10**digits - 1
        for _ in range(64):
            nameplate = secrets.randbelow(space) + 1
            if nameplate not in self.pairs:
                return nameplate
        return next(n for n in range(1, MAX_NAMEPLATE + 1) if n not in self.pairs)

    def _make_room(self, need: int, keep: Pair | None = None) -> None:
        """End waiting pairings, the flooding client's oldest first, until ``need`` fits."""
        while self.memory + need > self.limits.pair_memory_budget:
            candidates = [(len(w), c) for c, w in self._waiting.items()
                          if w and not (keep is not None and list(w) == [keep])]
            if not candidates:
                raise Refused("busy", "the relay is handling too many pairings; try again later")
            _, client = max(candidates)
            victim = next(p for p in self._waiting[client] if p is not keep)
            if self._metrics is not None:
                self._metrics.refused("evicted", f"ended a waiting pairing of {client} "
                                                 "to stay within the pairing memory budget")
            self.end(victim, "the relay had to make room; make a new code")

    def _hold(self, pair: Pair) -> None:
        self.pairs[pair.nameplate] = pair
        self.memory += pair.cost
        self._by_digits[_digits(pair.nameplate)] += 1
        self._waiting[pair.client][pair] = None

    def _release(self, pair: Pair) -> None:
        if self.pairs.get(pair.nameplate) is not pair:
            return
        del self.pairs[pair.nameplate]
        self.memory -= pair.cost
        self._by_digits[_digits(pair.nameplate)] -= 1
        self._unwait(pair)

    def _unwait(self, pair: Pair) -> None:
        waiting = self._waiting.get(pair.client)
        if waiting is not None:
            waiting.pop(pair, None)
            if not waiting:
                del self._waiting[pair.client]

    # ------------------------------------------------------------ requests
    def open(self, session: Session, msg: Message) -> None:
        if len(self.pairs) >= self.limits.max_pairings:
            raise Refused("busy", "the relay is handling too many pairings; try again later")
        self._make_room(PAIR_COST)
        nameplate = self._allocate(msg.opt_int("nameplate"))
        pair = Pair(nameplate, session, session.ip)
        pair.timer = asyncio.get_running_loop().call_later(
            self.limits.pair_ttl, self.end, pair, "pairing code expired")
        self._hold(pair)
        if self._metrics is not None:
            self._metrics.pairings_opened.inc()
        session.pair, session.pairing = pair, True
        session.send(encode("pair_ok", rid=msg.get_int("rid"), nameplate=nameplate))

    def join(self, session: Session, msg: Message) -> None:
        lim = self.limits
        misses = recent(self._misses, session.ip, lim.pair_miss_window, self._clock())
        if len(misses) >= lim.pair_join_misses_per_ip:  # scanning for open nameplates
            raise Refused("rate_limited", "too many unknown pairing codes from your address; "
                                          "try again later")
        pair = self.pairs.get(msg.get_int("nameplate"))
        if pair is None:
            self._misses[session.ip] = [*misses, self._clock()]
            raise Refused("no_pairing", "no pairing is open for this code: check it or ask for a new one")
        pair.attempts += 1
        if pair.attempts > lim.pair_max_joins:
            self.end(pair, "too many join attempts for this code")
            raise Refused("too_many_attempts", "too many join attempts for this code; ask for a new one")
        if pair.joiner is not None:
            raise Refused("pair_busy", "someone else is already using this pairing code")
        pair.joiner, session.pair, session.pairing = session, pair, True
        self._unwait(pair)
        session.send(encode("pair_ok", rid=msg.get_int("rid")))
        pair.opener.send(encode("pair_peer"))
        for data in pair.pending:
            session.send(encode("pair_msg", data=data))
        self.memory -= pair.pending_bytes
        pair.pending.clear()
        pair.pending_bytes = 0

    def relay(self, session: Session, data: bytes) -> None:
        """Pass a message to the other party, or hold a few until a joiner arrives."""
        pair = session.pair
        if pair is None:
            raise Refused("no_pairing", "no pairing in progress on this connection")
        peer = pair.joiner if session is pair.opener else pair.opener
        if peer is not None:
            peer.send(encode("pair_msg", data=data))
            return
        lim = self.limits
        if (len(pair.pending) >= lim.max_pair_pending
                or pair.pending_bytes + len(data) > lim.pair_pending_bytes):
            raise Refused("pair_backlog", "too many pairing messages before the other side joined")
        self._make_room(len(data), keep=pair)
        if self.pairs.get(pair.nameplate) is not pair:  # pragma: no cover - keep is spared
            return
        pair.pending.append(data)
        pair.pending_bytes += len(data)
        self.memory += len(data)

    def leave(self, session: Session) -> None:
        """A party's connection ended: the opener leaving ends the nameplate."""
        pair = session.pair
        if pair is None:
            return
        if pair.opener is session:
            self.end(pair, "the other side left")
            return
        pair.joiner = None
        session.pair = None
        if pair.attempts >= self.limits.pair_max_joins:
            self.end(pair, "too many join attempts for this code")
        else:
            self._waiting[pair.client][pair] = None
            pair.opener.send(encode("pair_gone", reason="the other side left"))

    def end(self, pair: Pair, reason: str) -> None:
        self._release(pair)
        if pair.timer is not None:
            pair.timer.cancel()
        for party in (pair.opener, pair.joiner):
            if party is not None and party.pair is pair:
                party.pair = None
                party.send(encode("pair_end", reason=reason))
                party.close_soon(1000, "pairing ended")  # one pairing per connection

    def end_all(self, reason: str) -> None:
        for pair in list(self.pairs.values()):
            self.end(pair, reason)
