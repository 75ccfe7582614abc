"""Detecting a journal restored from a backup, so it never reuses sequence numbers.

Beside the journal, in the user's state directory (outside the journal file, so a backup of
the journal does not bring it back), each device keeps a high-water mark: the highest epoch
it has used and the highest sequence number it has issued in it. It is checked inside every
write transaction and written after every commit. A journal that does not hold what the mark
says (its epoch is another one it never reached, or its sequence numbers stop short of the
mark) was restored (or is a stale copy): the device moves to a new epoch — a fresh replica id
`<device>.<epoch>` whose sequence numbers start at one — before it issues anything. A
journal whose device has no mark on this machine (copied to a new machine, state lost)
moves to a new epoch too: that costs nothing but a new replica id.

The mark is only a first line: a copied journal carries no mark, and a restored home folder
brings back an old one. The journal file alone is enough in the end, because every exchange
tells a device what its partners hold of it (see model/_forks.py): a partner holding more of
this replica than the journal means a restored copy, and two contents under one (replica,
seq) mean a fork, which heals.

Epoch ids are random (:func:`new_epoch`), never a counter and never derived from the old one:
two copies of one journal that each move to a new epoch (one backup restored on a laptop and
again on a desktop) must never pick the same replica id.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ._record import Record

__all__ = ["Mark", "state_dir", "read_mark", "write_mark", "next_epoch_needed", "new_epoch",
           "EPOCH_DIGITS"]

# A new epoch id: a random number of exactly this many digits (about 50 bits), so it never
# meets an epoch of the counter era (0, 1, 2 ...) nor, in practice, another random one.
EPOCH_DIGITS = 15


def state_dir() -> Path:
    """Where the per-device marks live: $COMENTOR_STATE_DIR or the platform's state dir."""
    override = os.environ.get("COMENTOR_STATE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_state_dir("comentor", appauthor=False))


def new_epoch(rand: Callable[[int], bytes] = os.urandom) -> int:
    """A fresh random epoch id of :data:`EPOCH_DIGITS` digits."""
    low = 10 ** (EPOCH_DIGITS - 1)
    return low + int.from_bytes(rand(8), "big") % (9 * low)


class Mark(Record):
    """The epoch a device last wrote in on this machine, and its highest seq there (a
    frozen record, not a dataclass: every write loads this module; see _record.py)."""

    epoch: int
    seq: int


def _path(device_id: str) -> Path:
    return state_dir() / "replicas" / f"{device_id}.json"


def read_mark(device_id: str) -> Mark | None:
    """The device's mark on this machine; None when there is none (or it is unreadable)."""
    try:
        return _parse(_path(device_id).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _text(mark: Mark) -> str:
    """A mark as JSON: what ``json.dumps({"epoch": ..., "seq": ...})`` writes."""
    return f'{{"epoch": {mark.epoch:d}, "seq": {mark.seq:d}}}'


def _parse(text: str) -> Mark:
    """A mark read from its JSON. Every write reads and writes one, so the shape
    :func:`_text` writes is read without loading `json` (1 ms of each `comentor add`);
    anything else (written by hand, or otherwise) goes through `json`."""
    parts = text.split(" ")
    if len(parts) == 4 and parts[0] == '{"epoch":' and parts[2] == '"seq":':
        epoch, seq = parts[1][:-1], parts[3][:-1]
        if (parts[1][-1:], parts[3][-1:]) == (",", "}") and all(
                n.isascii() and n.isdigit() and str(int(n)) == n for n in (epoch, seq)):
            return Mark(int(epoch), int(seq))
    import json

    data = json.loads(text)
    return Mark(int(data["epoch"]), int(data["seq"]))


def write_mark(device_id: str, mark: Mark) -> None:
    """Record where the device now writes, atomically: a temporary file, then a rename.

    Within one epoch the mark only rises; another epoch replaces it (epochs are random, so
    they have no order). A failure is ignored: a missing or old mark only means a new epoch
    next time.
    """
    current = read_mark(device_id)
    if current is not None and current.epoch == mark.epoch and current.seq >= mark.seq:
        return
    path = _path(device_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(_text(mark), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def next_epoch_needed(mark: Mark | None, epoch: int, seq: int, has_history: bool,
                      held: int) -> bool:
    """Whether a journal at (epoch, seq issued in it) must move to a new epoch.

    `held` is how far the journal holds the mark's epoch (0 if not at all): a journal that
    holds all the mark names has moved on since (to the epoch it is in now), one that does
    not is a copy from before the mark.
    """
    if mark is None:
        return has_history
    if mark.epoch == epoch:
        return mark.seq > seq
    return held < mark.seq
