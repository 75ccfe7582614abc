"""Which comentor program on this machine makes a device reachable on the LAN.

Two programs may sync one journal at once (the app twice, or the app and `comentor serve`):
they are one device, and only one of them should advertise it. Zeroconf cannot be asked
which: its probe for a name already in use is answered by unicast to port 5353, which every
mDNS socket on the machine shares (SO_REUSEPORT), so the program that probes often never
hears the answer and advertises the same name a second time; when it does hear it, all it
learns is "a name in use", which it took for another device. So a listening engine first
*claims* its device here: an exclusive ``flock`` on a small file in the state directory,
named by the device id, which the operating system drops when the program ends, however it
ends. Whoever holds the claim advertises; another program of the same device finds it held
(and by which process), says so once, syncs on without advertising, and takes the claim
over when that program ends.

``flock`` (not ``fcntl`` record locks) because two engines of one process must exclude each
other too: a ``flock`` belongs to an open file, not to the process. Where it cannot be had
(no ``fcntl``, or the state directory cannot be written) every program may advertise, as
before there were claims.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from comentor.model import state_dir

__all__ = ["LanClaim", "claim_device"]

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class LanClaim:
    """The outcome of :func:`claim_device`: ``ours`` (this program may advertise the
    device), else ``holder``, the id of the process that holds it (0 if unknown)."""

    def __init__(self, fd: int | None, *, ours: bool, holder: int = 0) -> None:
        self._fd = fd
        self.ours = ours
        self.holder = holder

    def release(self) -> None:
        """Give the claim up (closing the file drops the lock); safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def _path(device_id: str) -> Path | None:
    if not _NAME.fullmatch(device_id):  # a device id is a file name here: nothing else
        return None
    return state_dir() / "lan" / f"{device_id}.lock"


def claim_device(device_id: str) -> LanClaim:
    """Claim ``device_id`` for this program (see the module docstring); never raises."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not a POSIX system: no claims
        return LanClaim(None, ours=True)
    path = _path(device_id)
    if path is None:
        return LanClaim(None, ours=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return LanClaim(None, ours=True)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # another program holds it
        holder = _holder(fd)
        os.close(fd)
        return LanClaim(None, ours=False, holder=holder)
    except OSError:  # locks not supported on this file system: no claims
        os.close(fd)
        return LanClaim(None, ours=True)
    with contextlib.suppress(OSError):  # who holds it, for the other program's message
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return LanClaim(fd, ours=True)


def _holder(fd: int) -> int:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return 0
    return int(text) if text.isdigit() else 0
