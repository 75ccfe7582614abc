"""Several received batches in one transaction: one commit where there were several.

A first sync receives thousands of batches of up to 2,000 operations, and committing each
one (with ``synchronous=FULL``) writes every page it touched again: at a million operations
the rows, field clocks, text heads and search keys of a batch lie on pages spread over the
whole file, so the commits grew faster than the history. A transport that holds several
decoded batches at once applies them with :func:`apply_remote_many`: each batch is still
applied whole or not at all (a savepoint of its own, its cursors with it), and the batches
that applied commit together. Nothing waits for the network inside the transaction: the
batches are already received.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._ops import Operation
from ._remote import ApplyResult, _apply_batch, _devices_first
from ._verify import Signatures, check_ahead
from .errors import JournalError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["ReceivedBatch", "apply_remote_many"]


@dataclass
class ReceivedBatch:
    """One batch for :func:`apply_remote_many`: its operations, the sync cursors to write
    with it, and its signatures checked ahead (or None)."""

    ops: Iterable[Operation]
    cursors: Iterable[tuple[str, str, str]] = ()
    signatures: Signatures | None = None


def apply_remote_many(
    journal: Journal, received: Iterable[ReceivedBatch], *, allow_mass_delete: bool = False,
) -> tuple[list[ApplyResult], Exception | None]:
    """Apply several batches from a peer in one transaction, each as :func:`apply_remote`
    would (all of it or none of it, its cursors with it): one commit for all of them.

    Returns the results of the batches that applied, in order, and the error of the first
    that did not (None when all did): that one and the ones after it changed nothing, and
    the ones before it are committed. A caller acknowledges a batch only after this returns,
    so no acknowledgement is ever ahead of what is on disk.
    """
    results: list[ApplyResult] = []
    error: Exception | None = None
    conn = journal.conn
    with journal.transaction():
        for item in received:
            batch = sorted(item.ops, key=lambda op: (op.hlc, op.replica, op.seq))
            signatures = item.signatures
            if signatures is None:
                signatures = check_ahead(journal, _devices_first(batch))
            conn.execute("SAVEPOINT received_batch")
            try:
                results.append(_apply_batch(
                    journal, batch, item.cursors, allow_mass_delete, signatures))
            except JournalError as exc:
                if not conn.in_transaction:  # SQLite ended it (a full disk): nothing lands
                    raise
                conn.execute("ROLLBACK TO received_batch")
                conn.execute("RELEASE received_batch")
                error = exc
                break
            conn.execute("RELEASE received_batch")
    if any(r.key_changed or r.moved or r.reissued for r in results):
        journal.raise_mark()
    return results, error
