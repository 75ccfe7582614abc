"""Detecting a journal restored from a backup, so it never reuses sequence numbers.

Beside the journal, in the user's state directory (outside the journal file, so a backup of
the journal does not bring it back), each device keeps a high-water mark: the highest epoch
it has used and the highest sequence number it has issued in it. It is checked inside every
write transaction and raised after every commit. A journal whose epoch is older than the
mark, or whose sequence numbers stop short of it, was restored (or is a stale copy): the
device moves to a new epoch — a fresh replica id `<device>.<epoch>` whose sequence numbers
start at one — before it issues anything, so no (replica, seq) is ever issued twice with
different contents. A journal whose device has no mark on this machine (copied to a new
machine, state lost) moves to a new epoch too: that costs nothing but a new replica id.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Mark", "state_dir", "read_mark", "write_mark", "next_epoch_needed"]


def state_dir() -> Path:
    """Where the per-device marks live: $COMENTOR_STATE_DIR or the platform's state dir."""
    override = os.environ.get("COMENTOR_STATE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_state_dir("comentor", appauthor=False))


@dataclass(frozen=True)
class Mark:
    """The highest epoch a device has used on this machine, and its highest seq there."""

    epoch: int
    seq: int


def _path(device_id: str) -> Path:
    return state_dir() / "replicas" / f"{device_id}.json"


def read_mark(device_id: str) -> Mark | None:
    """The device's mark on this machine; None when there is none (or it is unreadable)."""
    try:
        data = json.loads(_path(device_id).read_text(encoding="utf-8"))
        return Mark(int(data["epoch"]), int(data["seq"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_mark(device_id: str, mark: Mark) -> None:
    """Raise the mark (never lower it), atomically: a temporary file, then a rename.

    A failure is ignored: a missing or old mark only means a new epoch next time.
    """
    current = read_mark(device_id)
    if current is not None and (current.epoch, current.seq) >= (mark.epoch, mark.seq):
        return
    path = _path(device_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"epoch": mark.epoch, "seq": mark.seq}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def next_epoch_needed(mark: Mark | None, epoch: int, seq: int, has_history: bool) -> bool:
    """Whether a journal at (epoch, seq issued in it) must move to a new epoch."""
    if mark is None:
        return has_history
    if mark.epoch > epoch:
        return True
    return mark.epoch == epoch and mark.seq > seq
