"""The first sync right after pairing: the partner who joins receives the inviter's journal.

Pairing exchanges keys, not the journal. The partner who joins is then asked to confirm the
peer checklist and the cadence the inviter chose, so those must have arrived first: the
joiner syncs once at once, and the inviter (when it pairs from the command line, which
would otherwise exit) waits a little for that sync. Over the LAN the inviter serves on the
port it paired on (and announces itself with zeroconf), so a joiner given ``--peer
HOST:PORT`` reaches it at the same address; through a relay the inviter leaves its change
sets in the mailbox and the joiner fetches them.

Both sides run through :class:`comentor.sync.SyncService`, blocking the calling thread
(never the app's event loop). A first sync that fails is not a failed pairing: the result
says why, and the records arrive at the next sync. On the command line
:func:`interruptible` runs it on a thread of its own, so Ctrl-C skips the wait cleanly (the
listener closed, the attempt ended) instead of ending a pairing that already succeeded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from comentor.model.errors import ComentorError

if TYPE_CHECKING:
    from comentor.model import DeviceKeys, Onboarding
    from comentor.sync import PairResult, SyncOptions, TransportOutcome

__all__ = ["FirstSync", "FIRST_SYNC_SECONDS", "joiner_first_sync", "inviter_first_sync",
           "after_joining", "interruptible"]

FIRST_SYNC_SECONDS = 20.0
_ATTEMPT_SECONDS = 4.0  # one LAN attempt: a refused connection returns at once
_STOP_SECONDS = 10.0  # how long a skipped first sync may take to wind down
_LINGER_SECONDS = 2.0  # the inviter serves on this long after its side of the sync ended


@dataclass(frozen=True)
class FirstSync:
    """What the first sync moved (``received``/``sent`` operations or envelopes) or why it
    did not happen (``error``)."""

    received: int = 0
    sent: int = 0
    via: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def _once(path: Path, keys: DeviceKeys | None, options: SyncOptions,
          only: str) -> TransportOutcome:
    from comentor.sync import SyncService

    report = SyncService(path, options, keys=keys).sync(only=only, once=True)
    return report.outcomes[0]


def joiner_first_sync(path: Path, keys: DeviceKeys | None, *, peer: tuple[str, int] | None = None,
                      relay: str | None = None, interfaces: list[str] | None = None,
                      seconds: float = FIRST_SYNC_SECONDS, inviter: str = "",
                      stop: threading.Event | None = None) -> FirstSync:
    """Sync once with the inviter, trying again until ``seconds`` have passed.

    Over the LAN: ``peer`` first (the address paired with), then whatever zeroconf finds;
    through ``relay``: until this journal holds what the inviter (``inviter``, its device
    id) held when it sealed its latest envelope. The mailbox is the partnership's, so it may
    also hold envelopes the inviter left for the others before this device existed: their
    changes start in the middle of its history and cannot be applied yet, and stopping at
    them would report a first sync that brought nothing. When the time is up, whatever did
    arrive is reported."""
    from comentor.sync import SyncOptions, TransportOutcome

    stop = stop or threading.Event()
    deadline = time.monotonic() + seconds
    error = "no partner device answered"
    moved = TransportOutcome("relay")
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        attempt = min(left, _ATTEMPT_SECONDS)
        try:
            if relay:
                outcome = _once(path, keys, SyncOptions(relay_url=relay, timeout=attempt), "relay")
                if outcome.error is not None:
                    error = str(outcome.error)
                else:
                    moved = moved.merge(outcome)
                    # caught up: all the inviter's latest envelope said it held is here now
                    # (not knowing the inviter: whatever arrived first)
                    caught_up = outcome.lacking.get(inviter) == 0 if inviter else True
                    if moved.received and caught_up:
                        return FirstSync(moved.received, moved.sent, "relay")
            else:
                for target in ([peer] if peer else []) + [None]:
                    options = SyncOptions.parse(interfaces=interfaces, listen_port=0,
                                                timeout=max(attempt, 0.5))
                    if target is not None:
                        options = _with_peer(options, target)
                    outcome = _once(path, keys, options, "LAN")
                    if outcome.ok:
                        return FirstSync(outcome.received, outcome.sent, "LAN")
                    error = str(outcome.error)
                    if stop.is_set() or time.monotonic() >= deadline:
                        break
        except ComentorError as exc:  # a locked key, a demo journal: trying again is no use
            return FirstSync(error=str(exc))
        stop.wait(0.3)
    if moved.received:
        return FirstSync(moved.received, moved.sent, "relay")
    return FirstSync(error=error)


def after_joining(path: Path, keys: DeviceKeys | None, result: PairResult, *,
                  peer: tuple[str, int] | None = None, relay: str | None = None,
                  stop: threading.Event | None = None) -> tuple[FirstSync, Onboarding | None]:
    """The joiner's first sync, then what the partner who joins confirms (None for one's own
    device, or when the journal cannot be read: the partnership screen asks it later)."""
    from comentor.model import Journal, onboarding

    synced = joiner_first_sync(path, keys, peer=peer, relay=relay,
                               inviter=result.peer.device_id, stop=stop)
    if result.own_device:
        return synced, None
    try:
        j = Journal.open(path, keys=keys)
    except ComentorError:
        return synced, None
    try:
        return synced, onboarding(j)
    finally:
        j.close()


def _with_peer(options: SyncOptions, peer: tuple[str, int]) -> SyncOptions:
    from dataclasses import replace

    return replace(options, peers=(peer,))


def inviter_first_sync(path: Path, keys: DeviceKeys | None, *, device: str, host: str,
                       port: int, interfaces: list[str] | None = None,
                       relay: str | None = None, seconds: float = FIRST_SYNC_SECONDS,
                       stop: threading.Event | None = None) -> FirstSync:
    """Let the new device (``device``, its id) sync once: through ``relay``, leave this
    journal's change sets there; over the LAN, serve on ``host:port`` until it has synced
    or ``seconds`` have passed."""
    from comentor.sync import SyncOptions, SyncService

    if relay:
        try:
            outcome = _once(path, keys, SyncOptions(relay_url=relay), "relay")
        except ComentorError as exc:
            return FirstSync(error=str(exc))
        if outcome.error is not None:
            return FirstSync(error=str(outcome.error))
        return FirstSync(outcome.received, outcome.sent_ops or outcome.sent, "relay")
    done = threading.Event()
    moved: list[TransportOutcome] = []

    def synced(outcome: TransportOutcome) -> None:
        if outcome.peer_device == device:
            moved.append(outcome)
            done.set()

    try:
        options = SyncOptions.parse(listen_host=host, listen_port=port, interfaces=interfaces)
        engine = SyncService(path, options, keys=keys).serve(on_synced=synced)
    except ComentorError as exc:
        return FirstSync(error=str(exc))
    try:
        deadline = time.monotonic() + seconds
        while not done.is_set() and not (stop is not None and stop.is_set()):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            done.wait(min(left, 0.2))
        if done.is_set():  # this side is done; let the joiner's side of the exchange end too,
            # or stopping at once cuts its session and it reports a failed first sync
            (stop or threading.Event()).wait(_LINGER_SECONDS)
    finally:
        engine.stop()
    if not moved:
        return FirstSync(error=f"the new device did not sync within {seconds:g} s")
    return FirstSync(moved[0].received, moved[0].sent, "LAN")


def interruptible(run: Callable[[threading.Event], FirstSync]) -> FirstSync | None:
    """Run `run(stop)` on a thread of its own while this (main) thread waits, so Ctrl-C
    only ends the wait: `stop` is set, the sync winds down (its listener closed, its
    attempt finished) and None says it was skipped. A second Ctrl-C ends the command."""
    stop, finished = threading.Event(), threading.Event()
    done: list[FirstSync] = []

    def body() -> None:
        try:
            done.append(run(stop))
        except Exception as exc:  # noqa: BLE001 - a failed first sync is not a failed pairing
            done.append(FirstSync(error=f"{type(exc).__name__}: {exc}"))
        finally:
            finished.set()

    try:  # Ctrl-C may come while start() waits for the thread to run: the same skip
        threading.Thread(target=body, name="comentor-first-sync", daemon=True).start()
        # an Event, not Thread.join: an interrupted join can leave the thread marked ended
        while not finished.wait(0.2):
            pass
    except KeyboardInterrupt:
        stop.set()
        finished.wait(_STOP_SECONDS)
        return None
    return done[0] if done else FirstSync(error="the first sync ended without a result")
