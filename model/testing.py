"""In-process stand-ins for pairing and sync, for the demo generator, tests and benchmarks.

Real devices pair with `comentor invite` / `join` (a spoken code authenticates the
exchange) and sync over the LAN, a relay or a folder. These helpers do the same to two
journals open in one process, through the same checked paths (`trust_device`,
`apply_remote`), so a test or the demo exercises the real rules without a network.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ._devices import my_device_info, set_partnership_key, trust_device
from ._store import version_vector
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "FixedClock", "START", "pair_in_process", "sync_in_process", "paired_journals", "paired_paths",
]

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def pair_in_process(a: Journal, b: Journal) -> None:
    """Pair two journals open in this process, as pairing would over the network.

    For the demo generator, tests and benchmarks: each trusts the other's device and `b`
    takes `a`'s partnership key. Real devices pair with `comentor invite` / `join`, which
    authenticate the exchange with a spoken code first.
    """
    key = a.partnership_key()
    if key is None:
        raise ValidationError("the first journal has no partnership key to share")
    trust_device(a, my_device_info(b))
    trust_device(b, my_device_info(a))
    set_partnership_key(b, key)


def sync_in_process(a: Journal, b: Journal, *, batch: int = 500) -> None:
    """Exchange every operation both ways between two journals open in this process.

    The in-process twin of sync sessions, through the same port: vectors and digests first
    (a restored or forked copy moves to a new epoch before anything moves), then what the
    other lacks in bounded batches through the same checked `apply_remote` (every version
    of a replica the two hold differently included), again until a round brings nothing
    new, so a gap neither side can fill never loops.
    """
    from .replication import (
        apply_remote,
        bump_epoch_if_restored,
        digests,
        diverged,
        held_versions,
        ops_since,
    )

    for _ in range(8):
        heads = {id(j): (version_vector(j.conn), digests(j, version_vector(j.conn)))
                 for j in (a, b)}
        bump_epoch_if_restored(a, *heads[id(b)])
        bump_epoch_if_restored(b, *heads[id(a)])
        full = {id(a): diverged(a, *heads[id(b)]), id(b): diverged(b, *heads[id(a)])}
        moved = False
        for src, dst in ((a, b), (b, a), (a, b)):  # forks found on the way go back too
            replicas, full[id(src)] = full[id(src)], set()
            known = {**version_vector(dst.conn), **dict.fromkeys(replicas, 0)}
            held = held_versions(src, replicas)
            while True:
                ops = ops_since(src, known, limit=batch)
                if not (ops or held):
                    break
                done = apply_remote(dst, held + ops, allow_mass_delete=True)
                held = []
                full[id(dst)] |= done.forked  # the other side lacks our versions of those
                moved = moved or bool(done.applied or done.quarantined or done.forks
                                      or done.reissued)
                for op in ops:
                    known[op.replica] = max(known.get(op.replica, 0), op.seq)
        if not moved:
            return

def paired_journals(
    folder: str | os.PathLike[str],
    names: tuple[str, ...] = ("Ada", "Ben"),
    *,
    now: Callable[[], dt.datetime] | None = None,
    device_names: tuple[str, ...] | None = None,
    close: bool = False,
    sync: bool = True,
) -> tuple[Journal, ...]:
    """Journals for a partnership, created in `folder` and paired in process.

    The first name invites; each further name joins as the partner (two names: a pair;
    three: the third is the partner's second device when its name repeats a person's,
    e.g. ("Ada", "Ben", "Ada") gives Ada a laptop). Files are `<name>.db` (lower case, with
    a number for a repeated name). With `close`, they are closed and the caller reopens
    them by path (for tests that run real processes or the app). Without `sync`, the
    journals only trust each other (as right after pairing) and hold none of each other's
    operations yet.
    """
    from ._journal import Journal

    base = Path(folder)
    made: list[Journal] = []
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        count = seen.get(name, 0)
        seen[name] = count + 1
        stem = name.lower() + (str(count + 1) if count else "")
        device = device_names[index] if device_names else None
        if index == 0:
            j = Journal.create(base / f"{stem}.db", name, now=now, device_name=device)
        else:
            owner = next((m for m in made if m.person_name(m.me) == name), None)
            j = Journal.create(base / f"{stem}.db", name, joining=True, now=now,
                               device_name=device, person=owner.me if owner else None)
        if made:
            pair_in_process(made[0], j)
            for other in made[1:]:
                trust_device(other, my_device_info(j))
                trust_device(j, my_device_info(other))
            if sync:
                sync_in_process(made[0], j)
        made.append(j)
    for j in made[1:] if sync else ():
        sync_in_process(made[0], j)
    if close:
        for j in made:
            j.close()
    return tuple(made)


def paired_paths(
    folder: str | os.PathLike[str],
    names: tuple[str, ...] = ("Ada", "Ben"),
    *,
    now: Callable[[], dt.datetime] | None = None,
    device_names: tuple[str, ...] | None = None,
    sync: bool = True,
) -> tuple[Path, ...]:
    """:func:`paired_journals`, closed: the paths, for tests that open them elsewhere."""
    made = paired_journals(folder, names, now=now, device_names=device_names, close=True,
                           sync=sync)
    return tuple(j.path for j in made)


class FixedClock:
    """A clock that stands still until moved: the one fixed clock of tests and benches.

    Give it to a journal as `now=`; move it with :meth:`advance` or by setting `t`.
    """

    def __init__(self, start: dt.datetime = START) -> None:
        self.start = start
        self.t = start

    def __call__(self) -> dt.datetime:
        return self.t

    def advance(self, **delta: float) -> None:
        """Move forward by a timedelta's keywords (`minutes=5`, `days=1`)."""
        self.t = self.t + dt.timedelta(**delta)

    def tick(self, seconds: float) -> None:
        self.advance(seconds=seconds)
