"""The journal's replication port: all that sync needs of the model, and nothing more.

Sync moves operations between journals; it never reads or writes tables itself. Through
this port it learns what a journal holds (its version vector, a log mark that moves with
every new operation), reads what a peer lacks, applies a peer's batch (checked and in one
transaction), and reaches the trust list and the partnership keys. `comentor.sync` imports
the model only through here, `comentor.model` and `comentor.model.errors`
(an import-linter contract keeps it so).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._devices import (
    PairedDevice,
    PeerDevice,
    ensure_syncable,
    is_paired,
    my_device_info,
    paired_devices,
    safety_number,
    set_partnership_key,
    trust_device,
)
from ._identity import DeviceKeys, verify_signature
from ._ops import MAX_OP_BYTES, Operation, decode_op, encode_op
from ._remote import ApplyResult, apply_remote
from ._rotation import ROTATION_TABLES, drop_previous_key, previous_key
from ._store import max_seq
from ._store import ops_since as _ops_since
from ._store import version_vector as _version_vector

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "ApplyResult", "DeviceKeys", "MAX_OP_BYTES", "Operation", "PairedDevice", "PeerDevice",
    "ROTATION_TABLES", "apply_remote", "bump_epoch_if_restored", "decode_op", "device_ids",
    "device_record", "drop_previous_key", "encode_op", "ensure_syncable", "is_paired",
    "is_trusted", "issued", "log_mark", "my_device_info", "ops_since", "paired_devices",
    "previous_key", "safety_number", "set_partnership_key", "trust_device", "verify_signature",
    "version_vector",
]


def version_vector(j: Journal) -> dict[str, int]:
    """Per replica, the highest sequence number below which this journal misses nothing."""
    return _version_vector(j.conn)


def ops_since(j: Journal, known: dict[str, int], *, limit: int = 500) -> list[Operation]:
    """Up to `limit` operations a peer that knows `known` lacks, devices and grants first."""
    return _ops_since(j.conn, known, limit=limit)


def issued(j: Journal) -> int:
    """The highest sequence number this journal holds of its own current replica."""
    return max_seq(j.conn, j.replica)


def log_mark(j: Journal) -> int:
    """A number that grows whenever an operation is added (by any process): a cheap poll."""
    row = j.conn.execute("SELECT max(rowid) FROM ops").fetchone()
    return int(row[0] or 0)


def bump_epoch_if_restored(j: Journal, peer_vector: dict[str, int]) -> bool:
    """Move to a new epoch if a peer holds more of this journal's own history than it does.

    That happens only to a journal restored from a backup: its next sequence numbers were
    already used. A new epoch (a fresh replica id) means no number is ever reused. Returns
    whether it happened.
    """
    if peer_vector.get(j.replica, 0) <= issued(j):
        return False
    with j.transaction():
        j.bump_epoch()
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
