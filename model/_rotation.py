"""Rotating the partnership key when a device is revoked.

Every envelope key, mailbox and folder tag derives from the partnership key, so a revoked
(stolen) device that kept the key could read everything the partners share afterwards
through a relay or a folder. Revoking a device therefore makes a new random key and writes,
in the same transaction as the revocation, one ``key_grants`` row per remaining device: the
key sealed (X25519 SealedBox) to that device's ``box_pk``. The key itself never appears in
an operation, and the revoked device gets no grant.

Every grant of one rotation carries the same ``generation``; a rotation's stamp is the
highest (hlc, replica) stamp of its grants, so every device orders rotations alike. A
device adopts the newest *valid* rotation that grants it a key: valid means its author is a
paired, unrevoked device and none of its grants went to a device revoked since (two devices
revoking two different devices at once each sealed the key to the device the other
revoked). When the key a device holds turns out to be known to a revoked device and no
valid newer rotation exists, the device rotates again itself; the newest valid rotation
still wins everywhere, so concurrent rotations converge on one key.

The previous key is kept (local ``partnership_prev``) for a transition: sync also visits the
previous mailbox and folder tags, sending there only ``devices`` and ``key_grants``, so a
device that has not switched yet learns of the revocation and gets its grant, while nothing
new is sealed under the old key. All functions run in the caller's transaction unless said.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING, Any

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from ._clocks import COLUMN, load
from ._ops import Value, device_of, new_row_id, stamp_of
from ._record import Record

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "ROTATION_TABLES",
    "TRANSITION_DAYS",
    "Adoption",
    "adopt_grants",
    "rotate_in_transaction",
    "rotate_key",
    "previous_key",
    "drop_previous_key",
    "key_state",
]

ROTATION_TABLES = ("devices", "key_grants")  # all that is sent under a previous key
TRANSITION_DAYS = 30  # how long a previous key is kept at most


# Written out, not dataclasses (about 0.4 ms each as the module loads, and `status` loads
# it through the receive path): see _record.py.


class Adoption:
    """What :func:`adopt_grants` did (filled in as it goes)."""

    __slots__ = ("adopted", "rotated", "bad")

    def __init__(self, adopted: bool = False, rotated: bool = False, bad: int = 0) -> None:
        self.adopted = adopted  # this device switched to a key granted by another device
        self.rotated = rotated  # this device made a new rotation (its key had been exposed)
        self.bad = bad  # grants addressed to this device that did not unseal to a 32-byte key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Adoption):
            return NotImplemented
        return (self.adopted, self.rotated, self.bad) == (other.adopted, other.rotated, other.bad)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return f"Adoption(adopted={self.adopted!r}, rotated={self.rotated!r}, bad={self.bad!r})"


class _Grant(Record):
    """A partnership key sealed to one device, as a grant row holds it."""

    row: str
    device: str
    sealed: bytes
    generation: str
    stamp: str
    author: str


def _set_secret(j: Journal, name: str, value: bytes) -> None:
    j.conn.execute(
        "INSERT INTO local_secrets (name, value) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (name, value),
    )


def _secret(j: Journal, name: str) -> bytes | None:
    row = j.conn.execute("SELECT value FROM local_secrets WHERE name = ?", (name,)).fetchone()
    return None if row is None else bytes(row[0])


def key_state(j: Journal) -> tuple[str, str]:
    """(generation, stamp) of the rotation that gave this device its key; ("", "") for the
    key from pairing."""
    return str(j.meta("key_generation") or ""), str(j.meta("key_stamp") or "")


def previous_key(j: Journal, now: dt.datetime | None = None) -> bytes | None:
    """The key before the last rotation, while its transition lasts; else None."""
    prev = _secret(j, "partnership_prev")
    if prev is None:
        return None
    since = j.meta("key_rotated_at")
    try:
        start = dt.datetime.fromisoformat(str(since).replace("Z", "+00:00"))
    except ValueError:
        return prev
    if (now or j.now()) - start > dt.timedelta(days=TRANSITION_DAYS):
        return None
    return prev


def drop_previous_key(j: Journal) -> None:
    """End the transition: forget the previous key (its own transaction)."""
    with j.transaction():
        j.conn.execute("DELETE FROM local_secrets WHERE name = 'partnership_prev'")


def _switch(j: Journal, key: bytes, generation: str, stamp: str) -> None:
    """Make `key` this device's partnership key; keep the key the transition started from."""
    old = j.partnership_key()
    prev = _secret(j, "partnership_prev")
    if prev is None and old is not None and old != key:
        _set_secret(j, "partnership_prev", old)  # the oldest key some device may still use
    elif prev == key:
        j.conn.execute("DELETE FROM local_secrets WHERE name = 'partnership_prev'")
    _set_secret(j, "partnership", key)
    j._set_meta("key_generation", generation)
    j._set_meta("key_stamp", stamp)
    j._set_meta("key_rotated_at", j.now_iso())


def _devices(j: Journal) -> dict[str, dict[str, Any]]:
    return {str(d["id"]): d for d in j.rows("devices")}


def rotate_in_transaction(j: Journal, changes: list[tuple[str, str, dict[str, Value]]],
                          exclude: str = "") -> None:
    """Write `changes` (e.g. a revocation) and a new key's grants as one batch of
    operations, then switch to that key. `exclude` gets no grant (the device being revoked).

    Inside the caller's transaction; the caller calls ``j.raise_mark()`` after its commit.
    """
    key = os.urandom(32)
    made = j.now().timestamp()
    generation = new_row_id(now=made)
    now = j.now_iso()
    grants: list[tuple[str, str, dict[str, Value]]] = []
    for dev_id, d in sorted(_devices(j).items()):
        if dev_id in (j.device_id, exclude) or d.get("revoked_at") or not d.get("box_pk"):
            continue
        sealed = SealedBox(PublicKey(bytes(d["box_pk"]))).encrypt(key)
        grants.append(("key_grants", new_row_id(now=made), {
            "device": dev_id, "sealed": bytes(sealed), "generation": generation,
            "created_at": now,
        }))
    ops = j.write_in_transaction([*changes, *grants])
    stamp = max(op.stamp for op in ops) if ops else stamp_of(j.clock.now(), j.replica)
    _switch(j, key, generation, stamp)


def rotate_key(j: Journal) -> None:
    """Rotate the partnership key now (its own transaction)."""
    with j.transaction():
        rotate_in_transaction(j, [])
    j.raise_mark()


def _grants(j: Journal) -> list[_Grant]:
    rows = j.conn.execute(
        f"SELECT id, device, sealed, generation, {COLUMN} FROM key_grants "
        "WHERE deleted = 0 AND sealed IS NOT NULL AND device IS NOT NULL "
        "AND generation IS NOT NULL"
    ).fetchall()
    out = []
    for r, d, s, g, clocks in rows:
        clock = load(clocks).get("sealed")
        if clock is not None:
            out.append(_Grant(str(r), str(d), bytes(s), str(g), stamp_of(*clock),
                              device_of(clock[1])))
    return out


def _generations(j: Journal, grants: list[_Grant]) -> dict[str, tuple[str, bool]]:
    """generation -> (its stamp, whether it is valid)."""
    devs = _devices(j)
    revoked = {d for d, rec in devs.items() if rec.get("revoked_at")}
    out: dict[str, tuple[str, bool]] = {}
    for g in grants:
        stamp, ok = out.get(g.generation, ("", True))
        first = next(x for x in grants if x.generation == g.generation)
        ok = ok and g.author == first.author and g.author in devs and g.author not in revoked \
            and g.device not in revoked
        out[g.generation] = (max(stamp, g.stamp), ok)
    return out


def _unseal(j: Journal, sealed: bytes) -> bytes | None:
    try:
        key = SealedBox(PrivateKey(j.keys.box_secret)).decrypt(sealed)
    except (CryptoError, ValueError, TypeError):
        return None
    return bytes(key) if len(key) == 32 else None


def adopt_grants(j: Journal) -> Adoption:
    """Switch to the newest valid rotation granting this device a key, if it beats the
    current one (or the current one is known to a revoked device); rotate again if the
    current key is exposed and nothing better exists. In the caller's transaction."""
    result = Adoption()
    me = j.get("devices", j.device_id)
    if me is None or me.get("revoked_at"):
        return result  # a revoked device adopts nothing and rotates nothing
    grants = _grants(j)
    gens = _generations(j, grants)
    current, cur_stamp = key_state(j)
    exposed = bool(current) and current in gens and not gens[current][1]
    mine = sorted(
        (g for g in grants if g.device == j.device_id and gens[g.generation][1]
         and g.generation != current),
        key=lambda g: gens[g.generation][0], reverse=True,
    )
    for g in mine:
        stamp = gens[g.generation][0]
        if stamp <= cur_stamp and not exposed:
            break
        key = _unseal(j, g.sealed)
        if key is None:
            result.bad += 1
            continue
        _switch(j, key, g.generation, stamp)
        result.adopted = True
        return result
    if exposed:
        rotate_in_transaction(j, [])
        result.rotated = True
    return result
