"""Revoking a device rotates the partnership key: grants, adoption, convergence, bad grants."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from nacl.public import PublicKey, SealedBox

from comentor.model import _devices as devices
from comentor.model import _rotation as rotation
from comentor.model._journal import Journal
from comentor.model._store import iter_stored_ops

from .helpers import sync_all, sync_pair


def trio(tmp: Path) -> tuple[Journal, Journal, Journal]:
    """Ada's desktop, Ada's laptop (same person) and Ben, all paired with one another."""
    ada = Journal.create(tmp / "ada.db", "Ada", device_name="desktop")
    laptop = Journal.create(tmp / "laptop.db", "Ada", joining=True, person=ada.me,
                            device_name="laptop")
    ben = Journal.create(tmp / "ben.db", "Ben", joining=True, device_name="phone")
    key = ada.partnership_key()
    assert key is not None
    for j in (laptop, ben):
        devices.set_partnership_key(j, key)
    js = [ada, laptop, ben]
    for a in js:
        for b in js:
            if a is not b:
                devices.trust_device(a, devices.my_device_info(b))
    sync_all(js)
    return ada, laptop, ben


def test_revoking_rotates_the_key_for_everyone_but_the_revoked(tmp_path: Path) -> None:
    ada, laptop, ben = trio(tmp_path)
    old = ada.partnership_key()
    devices.revoke_device(ada, laptop.device_id)
    new = ada.partnership_key()
    assert new is not None and new != old
    assert rotation.previous_key(ada) == old
    grants = ada.rows("key_grants")
    assert {g["device"] for g in grants} == {ben.device_id}  # not the laptop, not itself
    # the key never appears in clear in any operation
    for op in iter_stored_ops(ada.conn):
        assert all(not (isinstance(v, bytes) and new in v) for v in op.fields.values())
    sync_all([ada, laptop, ben])
    assert ben.partnership_key() == new
    assert rotation.previous_key(ben) == old
    assert laptop.partnership_key() == old  # it learnt of the rotation, not the key
    assert laptop.get("devices", laptop.device_id)["revoked_at"]  # type: ignore[index]


def test_the_revocation_and_its_grants_are_one_transaction(tmp_path: Path) -> None:
    ada, laptop, ben = trio(tmp_path)
    devices.revoke_device(ada, laptop.device_id)
    mine = [op for op in iter_stored_ops(ada.conn) if op.replica == ada.replica]
    tail = mine[-2:]
    assert [op.table for op in tail] == ["devices", "key_grants"]
    assert tail[1].seq == tail[0].seq + 1


def test_a_second_device_of_the_revoker_gets_a_grant(tmp_path: Path) -> None:
    ada, laptop, ben = trio(tmp_path)
    devices.revoke_device(ben, laptop.device_id)  # Ben revokes Ada's laptop
    sync_all([ada, laptop, ben])
    assert ada.partnership_key() == ben.partnership_key() != laptop.partnership_key()


def test_concurrent_rotations_converge_to_one_key(tmp_path: Path) -> None:
    ada, laptop, ben = trio(tmp_path)
    devices.revoke_device(ada, laptop.device_id)
    devices.revoke_device(ben, laptop.device_id)
    assert ada.partnership_key() != ben.partnership_key()
    sync_all([ada, laptop, ben])
    assert ada.partnership_key() == ben.partnership_key() != laptop.partnership_key()
    assert rotation.key_state(ada) == rotation.key_state(ben)


def test_concurrent_revocations_of_two_devices_rotate_again(tmp_path: Path) -> None:
    # Ada revokes the laptop while Ben revokes a tablet: each sealed its key to the device
    # the other revoked, so neither key may stay; a third rotation leaves both out.
    ada, laptop, ben = trio(tmp_path)
    tablet = Journal.create(tmp_path / "tablet.db", "Ben", joining=True, person=ben.me,
                            device_name="tablet")
    key = ada.partnership_key()
    assert key is not None
    devices.set_partnership_key(tablet, key)
    for j in (ada, laptop, ben):
        devices.trust_device(j, devices.my_device_info(tablet))
        devices.trust_device(tablet, devices.my_device_info(j))
    sync_all([ada, laptop, ben, tablet])
    devices.revoke_device(ada, laptop.device_id)
    devices.revoke_device(ben, tablet.device_id)
    sync_pair(ada, ben)
    sync_pair(ada, ben)
    final = ada.partnership_key()
    assert final == ben.partnership_key()
    assert final not in (laptop.partnership_key(), tablet.partnership_key(), key)
    gen, _ = rotation.key_state(ada)
    recipients = {g["device"] for g in ada.rows("key_grants") if g["generation"] == gen}
    assert laptop.device_id not in recipients and tablet.device_id not in recipients


def test_a_grant_to_someone_else_or_corrupted_changes_nothing(tmp_path: Path) -> None:
    ada, laptop, ben = trio(tmp_path)
    key = ben.partnership_key()
    # a grant addressed to Ada, written by Ben: only Ada may adopt it
    ben_box = bytes(PublicKey(ben.keys.box_public))
    ben.put("key_grants", None, device=ada.device_id, generation="g1",
            sealed=bytes(SealedBox(PublicKey(ben_box)).encrypt(b"k" * 32)),
            created_at=ben.now_iso())
    # a corrupted grant addressed to Ada
    ben.put("key_grants", None, device=ada.device_id, generation="g2", sealed=b"\x00" * 80,
            created_at=ben.now_iso())
    before = ada.partnership_key()
    sync_pair(ada, ben)
    assert ada.partnership_key() == before == key
    assert rotation.key_state(ada) == ("", "")
    # ... the next apply still works and reports the bad grants
    from comentor.model._remote import apply_remote

    res = apply_remote(ada, [op for op in iter_stored_ops(ben.conn) if op.table == "key_grants"])
    assert res.duplicates == 2 and ada.partnership_key() == key


def test_a_grant_larger_than_its_limit_is_refused(tmp_path: Path) -> None:
    from comentor.model.errors import ValidationError

    ada, _, ben = trio(tmp_path)
    with pytest.raises(ValidationError, match="at most 128 bytes"):
        ada.put("key_grants", None, device=ben.device_id, sealed=b"x" * 129)
    with pytest.raises(ValidationError, match="at most 64 bytes"):
        ada.put("devices", ada.device_id, sign_pk=b"x" * 65)


def test_a_grant_from_a_device_revoked_since_is_not_adopted(tmp_path: Path) -> None:
    # the thief rotates (to a key it knows) before the revocation reaches everyone
    ada, laptop, ben = trio(tmp_path)
    rotation.rotate_key(laptop)
    stolen = laptop.partnership_key()
    sync_pair(laptop, ben)
    assert ben.partnership_key() == stolen
    devices.revoke_device(ada, laptop.device_id)
    sync_pair(ada, ben)
    assert ben.partnership_key() == ada.partnership_key() != stolen


def test_the_previous_key_expires_after_the_transition(tmp_path: Path) -> None:
    ada, laptop, _ = trio(tmp_path)
    devices.revoke_device(ada, laptop.device_id)
    assert rotation.previous_key(ada) is not None
    later = ada.now() + dt.timedelta(days=rotation.TRANSITION_DAYS + 1)
    assert rotation.previous_key(ada, now=later) is None
    rotation.drop_previous_key(ada)
    assert rotation.previous_key(ada) is None
