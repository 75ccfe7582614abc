"""The relay's pairing rendezvous: opaque bytes between exactly two parties for one code id.

An inviter opens a code id (a hash of the pairing code's number, never the code), at most
one joiner joins it, and the relay passes their messages along without understanding them.
A code id lives for ``pair_ttl`` seconds, admits ``pair_max_joins`` attempts, and an
address that keeps asking for unknown code ids (scanning) is refused for a while.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from comentor.sync.relay.connection import Refused, Session
from comentor.sync.relay.wire import Message, RelayLimits, encode

__all__ = ["Pair", "Rendezvous", "recent"]


@dataclass(eq=False)
class Pair:
    """An open pairing code id: its opener, at most one joiner, and the join attempts so far."""

    code: str
    opener: Session
    timer: asyncio.TimerHandle | None = None
    joiner: Session | None = None
    attempts: int = 0
    pending: list[bytes] = field(default_factory=list)


def recent(log: dict[str, list[float]], ip: str, window: float, now: float) -> list[float]:
    """The times in ``log[ip]`` within ``window`` seconds of ``now`` (older ones forgotten)."""
    times = [t for t in log.get(ip, ()) if now - t < window]
    if times:
        log[ip] = times
    else:
        log.pop(ip, None)
    return times


class Rendezvous:
    """Every open pairing code id of one relay; ``clock`` is the relay's (wall time)."""

    def __init__(self, limits: RelayLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        self.pairs: dict[str, Pair] = {}
        self._misses: dict[str, list[float]] = defaultdict(list)  # ip -> pair_join misses

    def open(self, session: Session, msg: Message) -> None:
        code = msg.get_str("code")
        if code in self.pairs:
            raise Refused("code_in_use", "this pairing code is in use; make a new code")
        if len(self.pairs) >= self.limits.max_pairings:
            raise Refused("busy", "the relay is handling too many pairings; try again later")
        pair = Pair(code, session)
        loop = asyncio.get_running_loop()
        pair.timer = loop.call_later(self.limits.pair_ttl, self.end, pair, "pairing code expired")
        self.pairs[code] = pair
        session.pair, session.pairing = pair, True
        session.send(encode("pair_ok", rid=msg.get_int("rid")))

    def join(self, session: Session, msg: Message) -> None:
        lim = self.limits
        misses = recent(self._misses, session.ip, lim.pair_miss_window, self._clock())
        if len(misses) >= lim.pair_join_misses_per_ip:  # scanning for open code ids
            raise Refused("rate_limited", "too many unknown pairing codes from your address; "
                                          "try again later")
        pair = self.pairs.get(msg.get_str("code"))
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
        session.send(encode("pair_ok", rid=msg.get_int("rid")))
        pair.opener.send(encode("pair_peer"))
        for data in pair.pending:
            session.send(encode("pair_msg", data=data))
        pair.pending.clear()

    def relay(self, session: Session, data: bytes) -> None:
        """Pass a message to the other party, or hold a few until a joiner arrives."""
        pair = session.pair
        if pair is None:
            raise Refused("no_pairing", "no pairing in progress on this connection")
        peer = pair.joiner if session is pair.opener else pair.opener
        if peer is not None:
            peer.send(encode("pair_msg", data=data))
        elif len(pair.pending) < self.limits.max_pair_pending:
            pair.pending.append(data)
        else:
            raise Refused("pair_backlog", "too many pairing messages before the other side joined")

    def leave(self, session: Session) -> None:
        """A party's connection ended: the opener leaving ends the code id."""
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
            pair.opener.send(encode("pair_gone", reason="the other side left"))

    def end(self, pair: Pair, reason: str) -> None:
        if self.pairs.get(pair.code) is pair:
            del self.pairs[pair.code]
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
