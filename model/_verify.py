"""Checking the signatures of a received batch on every core, ahead of applying it.

Verifying Ed25519 signatures is about half of what receiving an operation costs. So the
signatures of a large batch are checked by a pool of worker processes, one per core, in
chunks and in the order the batch will be applied, while the journal's thread applies the
chunks already checked (and a transport may start the checks of the next batch while the
current one applies: :func:`check_ahead`). Processes, not threads: PyNaCl releases the GIL
while libsodium verifies, but the journal's thread releases it around every SQLite call,
and with verifying threads waiting for it each of those calls became a hand-over (the apply
ran no faster at all); a worker process shares nothing with it. A batch smaller than
:data:`MIN_AHEAD` (a live edit) is verified in place, as is everything when no worker
process can be started.

Only the verification moves. Every other check (a paired, unrevoked author whose id matches
its key, the mass-deletion guard, quarantine, forks) still runs in order inside the one
transaction, so a bad signature anywhere in a batch rejects it exactly as before. A
signature is checked ahead only with a key that belongs to its author by construction (a
device id is a hash of its key, see ``device_id_for``): the key the journal records, or the
key a device record introduces, in the same batch or in an earlier one of the exchange that
is read ahead but not applied yet (``introduced``). When the batch applies, a result counts
only for the very operation it was computed for, and only if the author is then recorded
with that same key; anything else is verified there and then, as before.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._identity import device_id_for, verify_signature
from ._ops import Operation

if TYPE_CHECKING:  # multiprocessing: imported on first use (30 ms every app start)
    from concurrent.futures import Future, ProcessPoolExecutor

    from ._journal import Journal

__all__ = ["Signatures", "check_ahead", "workers", "CHUNKS", "MIN_AHEAD"]

# operations per task, growing: the apply waits only for a small first chunk, and the rest
# travels in few messages
CHUNKS = (32, 64, 128, 256)
MIN_AHEAD = 256  # smaller batches (a live edit, a partner's day) are verified in place
VERIFY_NICENESS = 10  # how much lower the workers' priority is (see _yield_to_the_journal)

_lock = threading.Lock()
_pool: tuple[int, ProcessPoolExecutor | None] | None = None  # (pid, pool or None: none works)


def workers() -> int:
    """The pool's size: the cores this process may run on, or $COMENTOR_VERIFY_WORKERS
    (0 verifies everything in place, as before)."""
    wanted = os.environ.get("COMENTOR_VERIFY_WORKERS", "").strip()
    if wanted.isdigit():
        return int(wanted)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _executor() -> ProcessPoolExecutor | None:
    """The worker processes (started on first use), or None where none can be started."""
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid():
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            pool: ProcessPoolExecutor | None = None
            try:  # spawned: forking a process that runs threads (an app, a sync) is unsafe
                if workers() > 0:
                    pool = ProcessPoolExecutor(
                        workers(), mp_context=multiprocessing.get_context("spawn"),
                        initializer=_yield_to_the_journal)
            except (OSError, ValueError, ImportError, NotImplementedError):
                pool = None
            _pool = (os.getpid(), pool)
            if pool is not None:
                atexit.register(pool.shutdown, wait=False, cancel_futures=True)
        return _pool[1]


def _yield_to_the_journal() -> None:
    """In each worker process, first: run at a lower priority than the process it works
    for. Its checks only have to stay ahead of the apply, and the journal's thread (the
    apply, the decoding of the next batch, an app's interface) is the one a sync waits on:
    at equal priority the workers took a core from it for 2-3 s of a 10 s first sync; at
    this one it waits about 1 s, and the sync's wall time per CPU second is about 9 %
    lower (docs/performance.md)."""
    wanted = os.environ.get("COMENTOR_VERIFY_NICENESS", "").strip()  # 0: as before (A/B)
    try:
        os.nice(int(wanted) if wanted.isdigit() else VERIFY_NICENESS)
    except OSError:  # pragma: no cover - not allowed here: run at the usual priority
        pass


def _broken() -> None:
    """A worker process died: verify in place from now on (the results stay the same)."""
    global _pool
    with _lock:
        _pool = (os.getpid(), None)


def _verify_chunk(jobs: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
    """In a worker process: (key, signed bytes, signature) -> whether it verifies."""
    return [verify_signature(key, message, sig) for key, message, sig in jobs]


class Signatures:
    """The signature checks of one batch, done or under way in the worker processes."""

    def __init__(self) -> None:
        self._where: dict[int, tuple[Operation, bytes, int, int]] = {}
        self._futures: list[Future[list[bool]]] = []
        self._done: dict[int, list[bool]] = {}  # chunk -> its verdicts, once taken

    def add(self, pool: ProcessPoolExecutor, jobs: list[tuple[Operation, bytes]]) -> None:
        """Start checking one chunk of (operation, its author's key)."""
        index = len(self._futures)
        for pos, (op, key) in enumerate(jobs):
            self._where[id(op)] = (op, key, index, pos)
        self._futures.append(pool.submit(
            _verify_chunk, [(key, op.signed_bytes(), op.sig) for op, key in jobs]))

    def ok(self, op: Operation, key: bytes) -> bool | None:
        """Whether `op` carries a valid signature by `key` (waiting for its chunk), or None
        when it was not checked ahead with that key: the caller verifies it itself."""
        found = self._where.get(id(op))
        if found is None or found[0] is not op or found[1] != key:
            return None
        chunk = found[2]
        if chunk not in self._done:
            try:
                self._done[chunk] = self._futures[chunk].result()
            except Exception:  # noqa: BLE001 - a worker died: the caller verifies in place
                _broken()
                return None
        return self._done[chunk][found[3]]

    def futures(self) -> list[Future[list[bool]]]:
        """The chunks' futures (for a transport that awaits them on its event loop)."""
        return list(self._futures)


def _introduce(ops: Sequence[Operation], known: dict[str, bytes]) -> None:
    """Add to `known` the keys the device records among `ops` introduce, each only when
    the device's id is that key's hash."""
    for op in ops:
        if op.table == "devices":
            key = op.fields.get("sign_pk")
            if isinstance(key, bytes) and device_id_for(key) == op.row:
                known.setdefault(op.row, key)


def _keys(journal: Journal, ops: Sequence[Operation], known: dict[str, bytes]
          ) -> dict[str, bytes]:
    """Per author, the key its signatures are checked with ahead: the one the journal
    records, else the one a device record introduces (`known`: in this batch, or in an
    earlier one not yet applied); each only when the author's id is that key's hash."""
    keys: dict[str, bytes] = {}
    for device in {op.device for op in ops}:
        rec = journal.get("devices", device, include_deleted=True)
        key = rec.get("sign_pk") if rec else None
        if isinstance(key, bytes) and device_id_for(key) == device:
            keys[device] = key
        elif device in known:
            keys[device] = known[device]
    return keys


def check_ahead(journal: Journal, ops: Sequence[Operation],
                introduced: dict[str, bytes] | None = None) -> Signatures:
    """Start checking the signatures of `ops` in the worker processes, in this order (the
    order they will be applied in); returns at once. Reads the journal on the caller's
    thread. A reader that prepares several batches before the first is applied passes the
    same `introduced` dict with each: the device records of the first batch (a first sync
    sends them first) then cover the authors of the next ones, which the journal does not
    record yet."""
    known = {} if introduced is None else introduced
    _introduce(ops, known)  # whether or not this batch is checked ahead itself
    checks = Signatures()
    if len(ops) < MIN_AHEAD:
        return checks
    pool = _executor()
    if pool is None:
        return checks
    keys = _keys(journal, ops, known)
    jobs = [(op, keys[op.device]) for op in ops if op.device in keys]
    start, size = 0, 0
    try:
        while start < len(jobs):
            end = start + CHUNKS[min(size, len(CHUNKS) - 1)]
            checks.add(pool, jobs[start:end])
            start, size = end, size + 1
    except Exception:  # noqa: BLE001 - the pool broke: what was not sent is verified in place
        _broken()
    return checks
