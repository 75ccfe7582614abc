"""The journal's replication port: all that sync needs of the model, and nothing more.

Sync moves operations between journals; it never reads or writes tables itself. Through
this port it learns what a journal holds (its version vector and, per replica, a digest of
the versions held, so forks show; a log mark that moves with every new operation), reads
what a peer lacks, applies a peer's batch (checked and in one transaction), learns what
the journal holds back from whom, and reaches the trust list and the partnership keys.
Every transport calls :func:`bump_epoch_if_restored` with each peer's vector and digests
before it applies or sends anything: the one rule by which a restored or forked copy moves
to a new epoch, over the LAN, a relay or a folder alike. `comentor.sync` imports
the model only through here, `comentor.model` and `comentor.model.errors`
(an import-linter contract keeps it so).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _forks as forks
from ._devices import (
    PairedDevice,
    PeerDevice,
    Removal,
    ensure_syncable,
    is_paired,
    my_device_info,
    paired_devices,
    removal,
    revocation_ops,
    safety_number,
    set_partnership_key,
    trust_device,
)
from ._identity import DeviceKeys, verify_signature
from ._ops import MAX_OP_BYTES, Operation, decode_op, encode_op, is_replica_id
from ._quarantine import HeldBack, held_back
from ._receive_many import ReceivedBatch, apply_remote_many
from ._remote import ApplyResult, apply_order, apply_remote
from ._rotation import ROTATION_TABLES, drop_previous_key, previous_key
from ._store import max_seq
from ._store import ops_since as _ops_since
from ._store import version_vector as _version_vector
from ._verify import Signatures
from ._verify import check_ahead as _check_ahead

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "ApplyResult", "DeviceKeys", "DIGEST_BITS", "HeldBack", "MAX_OP_BYTES", "Operation",
    "Signatures", "check_signatures",
    "PairedDevice", "PeerDevice", "ReceivedBatch", "Removal", "ROTATION_TABLES",
    "apply_remote", "apply_remote_many",
    "bump_epoch_if_restored", "decode_op", "device_ids", "device_record", "digests",
    "diverged", "drop_previous_key", "encode_op", "ensure_syncable", "held_back",
    "held_versions", "is_paired", "is_replica_id", "is_trusted", "issued", "log_mark",
    "my_device_info", "ops_since", "paired_devices", "previous_key", "removal",
    "revocation_ops", "safety_number", "set_partnership_key", "trust_device",
    "verify_signature", "version_vector",
]

DIGEST_BITS = forks.DIGEST_BITS  # a digest is an integer below 2**DIGEST_BITS


def version_vector(j: Journal) -> dict[str, int]:
    """Per replica, the highest sequence number below which this journal misses nothing."""
    return _version_vector(j.conn)


def ops_since(j: Journal, known: dict[str, int], *, limit: int = 500) -> list[Operation]:
    """Up to `limit` operations a peer that knows `known` lacks, devices and grants first,
    then the kept forks beyond `known` (so a page may hold a few more: forks are few)."""
    return forks.with_forks(j.conn, _ops_since(j.conn, known, limit=limit), known)


def check_signatures(j: Journal, ops: list[Operation],
                     introduced: dict[str, bytes] | None = None) -> Signatures:
    """Start checking the signatures of a received batch on the other cores and return at
    once: pass the result to :func:`apply_remote` (``signatures=``), so the checks of the
    next batch run while this one applies (model/_verify.py). The verdicts are the same.
    `introduced`: one dict kept over the batches of an exchange, for the device keys that
    batches read ahead introduce before they are applied."""
    return _check_ahead(j, apply_order(ops), introduced)


def issued(j: Journal) -> int:
    """The highest sequence number this journal holds of its own current replica."""
    return max_seq(j.conn, j.replica)


def log_mark(j: Journal) -> int:
    """A number that grows whenever an operation is added (by any process): a cheap poll."""
    row = j.conn.execute("SELECT max(rowid) FROM ops").fetchone()
    return int(row[0] or 0)


def digests(j: Journal, vector: dict[str, int]) -> dict[str, int]:
    """Per replica of `vector` (this journal's own), the digest of the versions held up to
    its number: sent beside the vector, so that forks show (see model/_forks.py)."""
    return forks.digests(j.conn, vector)


def diverged(j: Journal, peer_vector: dict[str, int], peer_digests: dict[str, int]) -> set[str]:
    """The replicas a peer holds other versions of than this journal (where this journal
    can tell): send the peer every version of them (the log from the start, which carries
    the kept forks, and :func:`held_versions`), and it keeps what it lacks."""
    return forks.diverged(j.conn, version_vector(j), peer_vector, peer_digests)


def held_versions(j: Journal, replicas: set[str]) -> list[Operation]:
    """The operations of these replicas this journal holds back: sent (with the log from the
    start) when a peer's digest of them differs, since the digest counts them."""
    return forks.held_versions(j.conn, replicas)


def bump_epoch_if_restored(j: Journal, peer_vector: dict[str, int],
                           peer_digests: dict[str, int] | None = None) -> bool:
    """Move to a new epoch if a peer holds more of this journal's own current replica than
    it does, or other versions of it.

    The first happens only to a journal restored from a backup: its next sequence numbers
    were already used. The second to a copy that already wrote under numbers another copy
    used (a fork): it must not write one more there (the fork itself heals as the versions
    arrive). Called at the start of every exchange and with every vector a peer sends,
    before anything is written. Returns whether it happened.
    """
    mine = issued(j)
    theirs = peer_vector.get(j.replica, 0)
    forked = (peer_digests is not None and 0 < theirs <= mine
              and j.replica in forks.diverged(j.conn, version_vector(j),
                                              {j.replica: theirs}, peer_digests))
    if theirs <= mine and not forked:
        return False
    with j.transaction():
        j.bump_epoch()
    j.raise_mark()
    return True


def device_record(j: Journal, device_id: str) -> dict[str, Any] | None:
    """One device's record (owner, name, keys, revocation), deleted ones included."""
    return j.get("devices", device_id, include_deleted=True)


def device_ids(j: Journal) -> list[str]:
    """Every device recorded in this journal, this one and revoked ones included."""
    return [str(d["id"]) for d in j._rows("devices", order="added_at")]


def is_trusted(j: Journal, device_id: str) -> bool:
    """Whether a device is recorded, not deleted, not revoked and has its keys."""
    rec = j.get("devices", device_id)
    return bool(rec and rec.get("box_pk") and rec.get("sign_pk") and not rec.get("revoked_at"))
