"""Paired devices: trusting a partner's device, revoking a lost one, and safety numbers.

The devices table is synced, and it is also the trust list: an operation is accepted only if
its author is a device recorded there (and not revoked). A device record can only be written
by an already-trusted device, so trust starts from the pairing exchange, where the two
devices learn each other's keys over a channel the spoken code authenticated.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from ._clocks import field_clock
from ._digest import blake2b
from ._identity import device_id_for
from ._ops import Operation, device_of, validate_fields
from ._record import Record
from ._store import row_to_op, version_vector
from .errors import DemoJournalError, NotFoundError, ValidationError

if TYPE_CHECKING:
    from ._journal import Journal
    from ._peer import PeerDevice

__all__ = [
    "PeerDevice", "PairedDevice", "Removal", "trust_device", "revoke_device", "rename_device",
    "DEVICE_NAME_MAX", "devices",
    "safety_number", "set_partnership_key", "my_device_info", "is_paired", "paired_devices",
    "ensure_syncable", "removal", "revocation_ops", "adders", "added_by",
]


# The records here are frozen records written out, not dataclasses (see _record.py), and
# PeerDevice (a dataclass) is in _peer: the dashboard's first read and `status` load this
# module for is_paired alone.


def __getattr__(name: str) -> Any:
    """:class:`PeerDevice`, from its own module on first use (see _peer.py)."""
    if name == "PeerDevice":
        from ._peer import PeerDevice

        return PeerDevice
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class PairedDevice(Record):
    """Another device this journal trusts: whom to sync with, and its key-agreement key."""

    device_id: str
    box_pk: bytes
    name: str


def is_paired(j: Journal) -> bool:
    """The one rule for "is this journal paired?": it holds the partnership key and trusts
    at least one device besides this one."""
    if j.partnership_key() is None:
        return False
    row = j.conn.execute(
        "SELECT count(*) FROM devices WHERE deleted = 0 AND id != ?", (j.device_id,)
    ).fetchone()
    return int(row[0]) > 0


def paired_devices(j: Journal) -> list[PairedDevice]:
    """Every other device this journal trusts (recorded, not deleted, not revoked)."""
    out = []
    for row in j._rows("devices", order="added_at"):
        if row["id"] == j.device_id or row.get("revoked_at") or not row.get("box_pk"):
            continue
        owner = j.person_name(row.get("person"))
        out.append(PairedDevice(str(row["id"]), bytes(row["box_pk"]), owner))
    return out


def ensure_syncable(j: Journal, action: str = "sync") -> None:
    """The one demo guard: a demo journal never syncs, advertises, pairs or contacts a relay.

    `action` names what was refused (sync, pair, relay, folder), for the interface's wording.
    """
    if j.is_demo:
        raise DemoJournalError(
            "this is a demo journal: it never syncs, pairs or contacts a relay "
            "(create your own journal to use it for real)", action=action)


def my_device_info(j: Journal) -> PeerDevice:
    from ._peer import PeerDevice

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
    # `added_at` says when the device joined the partnership: written once, by the device
    # bringing it in (it holds the partnership key; the joiner gets it after this). Written
    # again, the later stamp wins everywhere: a joiner would move its inviter's date to today
    when = {"added_at": j.now_iso()} if known is None and j.partnership_key() else {}
    j.put("devices", peer.device_id, person=peer.person, name=peer.device_name[:60] or "device",
          sign_pk=peer.sign_pk, box_pk=peer.box_pk, **when)
    if j.get("people", peer.person) is None and peer.person_name:
        j.put("people", peer.person, name=peer.person_name[:80])


DEVICE_NAME_MAX = 60  # as pairing cuts a device's name


def rename_device(j: Journal, device: str, name: str) -> str:
    """Give one of this person's devices a new name, the one every paired device shows
    (`comentor devices`, the devices screen); return it as kept (on one line, its runs of
    white space one space). One's own devices only: the partner names theirs. A name is a
    label, not trust: the keys that the trust rests on never change."""
    rec = j.get("devices", device)
    if rec is None:
        raise NotFoundError(f"no device with id {device}")
    if rec.get("person") != j.me:
        raise ValidationError(f"that is {j.person_name(rec.get('person')) or 'another person'}'s "
                              "device: only its owner renames it", field="name")
    if rec.get("revoked_at"):
        raise ValidationError("that device is revoked: its name stays as it was", field="name")
    from ._entities import is_blank  # here: renaming is rare, and _entities only writes

    new = " ".join(str(name or "").split())
    if is_blank(new):  # (a zero-width space shows nothing either)
        raise ValidationError("give the device a name", field="name")
    if len(new) > DEVICE_NAME_MAX:
        raise ValidationError(f"a device's name is at most {DEVICE_NAME_MAX} characters "
                              f"(this one has {len(new)})", field="name")
    if new != rec.get("name"):
        j.put("devices", device, name=new)
    return new


def revoke_device(j: Journal, device: str) -> None:
    """Stop trusting a lost device and rotate the partnership key away from it.

    What it makes from now on is refused everywhere, and what the partners share from now on
    is sealed under a key it does not have.

    What it made before (as far as this device has seen) stays valid, so partners who
    already hold those operations keep syncing; the cut-off travels with the revocation.
    """
    if device == j.device_id:
        raise ValidationError("this is the device you are using: revoke it from another device")
    rec = j.get("devices", device)
    if rec is None:
        raise NotFoundError(f"no device with id {device}")
    if rec.get("revoked_at"):  # again would rotate the key again, and move the cut-off
        raise ValidationError(f"this device was revoked already, on "
                              f"{str(rec['revoked_at'])[:10]}: nothing changed")
    import json  # here, with the key's rotation: the dashboard and `status` only ask is_paired

    from ._rotation import rotate_in_transaction

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


class Removal(Record):
    """This device was revoked: when (`at`, an ISO date-time) and by whom (`by`, the name of
    the person whose device revoked it). Its edits from then on reach no one."""

    at: str
    by: str

    @property
    def date(self) -> str:
        return self.at[:10]

    def describe(self) -> str:
        """What happened, as an error message says it."""
        return f"this device was removed from the partnership on {self.date} by {self.by}"

    def notice(self) -> str:
        """The sentence every interface shows first (status, devices, the app)."""
        return (f"This device was removed from the partnership on {self.date} by {self.by}: "
                "what you write here stays on this device")


def removal(j: Journal) -> Removal | None:
    """Whether this device was revoked (it learns so from the revocation, which partners
    send it over the LAN, or on the previous key's mailbox and folder)."""
    me = j.get("devices", j.device_id, include_deleted=True)
    if not me or not me.get("revoked_at"):
        return None
    clock = field_clock(j.conn, "devices", j.device_id, "revoked_at")
    by = "a partner's device"
    if clock is not None:
        author = j.get("devices", device_of(clock[1]), include_deleted=True)
        if author is not None:
            by = j.person_name(author.get("person")) or by
    return Removal(str(me["revoked_at"]), by)


def revocation_ops(j: Journal, device: str) -> list[Operation]:
    """The operations that revoked `device`: all a revoked device is sent, to be told."""
    rows = j.conn.execute(
        "SELECT replica, seq, hlc, tbl, row_id, body, sig FROM ops "
        "WHERE tbl = 'devices' AND row_id = ? ORDER BY hlc", (device,),
    ).fetchall()
    return [op for op in map(row_to_op, rows) if "revoked_at" in op.fields]


def adders(j: Journal) -> dict[str, str | None]:
    """Which device added each device: id -> the adder's id (None: it started the journal,
    or its introduction is not held here).

    The adder is the author of the first introduction (a write carrying the keys) of the
    record by another device: every device introduces itself when its journal is made, so
    its own write vouches for nothing, and only a trusted device's write of it was taken.
    The device that started the journal (the first writer of the partnership row) was
    added by no one. Why it matters: a device a stolen one added is the thief's too, and
    survives the stolen one's revocation unless it is revoked as well. "First" is by the
    operations' clocks, which a device's owner sets: a device can make itself look earlier
    in others' records, never un-write the record that introduced it.
    """
    rows = j.conn.execute(
        "SELECT replica, seq, hlc, tbl, row_id, body, sig FROM ops "
        "WHERE tbl = 'devices' ORDER BY hlc, replica").fetchall()
    first = j.conn.execute("SELECT replica FROM ops WHERE tbl = 'partnership' "
                           "ORDER BY hlc, replica LIMIT 1").fetchone()
    founder = device_of(str(first[0])) if first else None
    out: dict[str, str | None] = {}
    for op in map(row_to_op, rows):
        author = device_of(op.replica)
        if op.row in out or op.row == founder or author == op.row or "sign_pk" not in op.fields:
            continue
        out[op.row] = author
    return out


def added_by(j: Journal, device: str) -> list[dict[str, Any]]:
    """The devices `device` added, as :func:`devices` lists them: what a revocation of a
    stolen device must name, since a thief may have paired a device of their own with it."""
    return [d for d in devices(j) if d.get("added_by") == device and d["id"] != device]


def devices(j: Journal) -> list[dict[str, Any]]:
    """Every device recorded, with its owner, safety number, and the device that added it
    (`added_by`, an id or None; `added_by_name`, that device's name)."""
    out = []
    found = adders(j)
    for d in j._rows("devices", order="added_at"):
        item = {k: v for k, v in d.items() if not isinstance(v, bytes)}
        item["added_by"] = found.get(str(d["id"]))
        item["owner"] = j.person_name(d.get("person"))
        item["this_device"] = d["id"] == j.device_id
        item["safety_number"] = (
            safety_number(j.keys.sign_public, bytes(d["sign_pk"])) if d.get("sign_pk") else ""
        )
        out.append(item)
    names = {str(d["id"]): d.get("name") or "device" for d in out}
    for d in out:
        d["added_by_name"] = names.get(d["added_by"]) if d["added_by"] else None
    trusted = Counter(d.get("person") for d in out if not d.get("revoked_at"))
    # `last_of_owner`: the only device of its owner not revoked; revoking it leaves that
    # person no way to sync with this journal until they pair again
    for d in out:
        d["last_of_owner"] = not d.get("revoked_at") and trusted.get(d.get("person")) == 1
    return out


def safety_number(a: bytes, b: bytes) -> str:
    """A short number both screens show after pairing; the same whichever side computes it."""
    first, second = sorted((a, b))
    digest = blake2b(first + second, digest_size=16, person=b"comentor-safety")
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
