"""Paired devices: trusting a partner's device, revoking a lost one, and safety numbers.

The devices table is synced, and it is also the trust list: an operation is accepted only if
its author is a device recorded there (and not revoked). A device record can only be written
by an already-trusted device, so trust starts from the pairing exchange, where the two
devices learn each other's keys over a channel the spoken code authenticated.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._identity import device_id_for
from ._ops import validate_fields
from ._rotation import rotate_in_transaction
from ._store import version_vector
from .errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "PeerDevice", "trust_device", "revoke_device", "devices", "safety_number",
    "set_partnership_key", "my_device_info", "pair_in_process", "sync_in_process",
]


@dataclass(frozen=True)
class PeerDevice:
    """What pairing tells one device about the other."""

    device_id: str
    sign_pk: bytes
    box_pk: bytes
    person: str
    person_name: str
    device_name: str


def my_device_info(j: Journal) -> PeerDevice:
    return PeerDevice(j.device_id, j.keys.sign_public, j.keys.box_public, j.me,
                      j.person_name(j.me), str((j.get("devices", j.device_id) or {}).get("name") or ""))


def trust_device(j: Journal, peer: PeerDevice) -> None:
    """Record a device learnt through pairing, vouched for by this device's signature."""
    if device_id_for(peer.sign_pk) != peer.device_id:
        raise ValidationError("the paired device's id does not match its key")
    if len(peer.box_pk) != 32:
        raise ValidationError("the paired device's key-agreement key is malformed")
    known = j.get("devices", peer.device_id, include_deleted=True)
    if known and any(
        known.get(name) is not None and known[name] != value
        for name, value in (("sign_pk", peer.sign_pk), ("box_pk", peer.box_pk),
                            ("person", peer.person))
    ):
        raise ValidationError("a different key or owner is already recorded for this device")
    if known and known.get("revoked_at"):
        raise ValidationError("this device was revoked: pair it again as a new device "
                              "(a new journal on it makes new keys)")
    j.put("devices", peer.device_id, person=peer.person, name=peer.device_name[:60] or "device",
          sign_pk=peer.sign_pk, box_pk=peer.box_pk, added_at=j.now_iso())
    if j.get("people", peer.person) is None and peer.person_name:
        j.put("people", peer.person, name=peer.person_name[:80])


def revoke_device(j: Journal, device: str) -> None:
    """Stop trusting a lost device and rotate the partnership key away from it.

    What it makes from now on is refused everywhere, and what the partners share from now on
    is sealed under a key it does not have.

    What it made before (as far as this device has seen) stays valid, so partners who
    already hold those operations keep syncing; the cut-off travels with the revocation.
    """
    if device == j.device_id:
        raise ValidationError("this is the device you are using: revoke it from another device")
    if j.get("devices", device) is None:
        raise NotFoundError(f"no device with id {device}")
    seen = {r: s for r, s in version_vector(j.conn).items() if r.split(".")[0] == device}
    change = validate_fields("devices", device, {
        "revoked_at": j.now_iso(),
        "revoked_seqs": json.dumps(seen, sort_keys=True, separators=(",", ":")),
    })
    # the revocation and the new key's grants land together: no device learns one without
    # the other, and the revoked device gets no grant (see rotation.py)
    with j.transaction():
        rotate_in_transaction(j, [("devices", device, change)], exclude=device)
    j.raise_mark()


def devices(j: Journal) -> list[dict[str, Any]]:
    out = []
    for d in j.rows("devices", order="added_at"):
        item = {k: v for k, v in d.items() if not isinstance(v, bytes)}
        item["owner"] = j.person_name(d.get("person"))
        item["this_device"] = d["id"] == j.device_id
        item["safety_number"] = (
            safety_number(j.keys.sign_public, bytes(d["sign_pk"])) if d.get("sign_pk") else ""
        )
        out.append(item)
    return out


def safety_number(a: bytes, b: bytes) -> str:
    """A short number both screens show after pairing; the same whichever side computes it."""
    first, second = sorted((a, b))
    digest = hashlib.blake2b(first + second, digest_size=16, person=b"comentor-safety").digest()
    number = int.from_bytes(digest, "big") % 10**12
    text = f"{number:012d}"
    return " ".join(text[i:i + 4] for i in range(0, 12, 4))


def set_partnership_key(j: Journal, key: bytes) -> None:
    """Store the partnership secret received while pairing (local only, never synced)."""
    if len(key) != 32:
        raise ValidationError("the partnership key must be 32 bytes")
    with j.transaction():
        j.conn.execute(
            "INSERT INTO local_secrets (name, value) VALUES ('partnership', ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (key,),
        )


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

    The in-process twin of a sync session (version vectors, then what the other lacks, in
    bounded batches, through the same checked `apply_remote`), for the demo generator,
    tests and benchmarks. Stops when a batch brings nothing new, so a gap neither side can
    fill never loops.
    """
    from ._remote import apply_remote
    from ._store import ops_since

    for src, dst in ((a, b), (b, a)):
        while True:
            ops = ops_since(src.conn, version_vector(dst.conn), limit=batch)
            if not ops:
                break
            done = apply_remote(dst, ops, allow_mass_delete=True)
            if done.applied == 0 and done.quarantined == 0:
                break
