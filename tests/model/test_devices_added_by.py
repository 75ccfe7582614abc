"""Which device added which: a device a stolen one paired must be findable and revocable,
and pairing must not move an existing device's `added_at`."""

from __future__ import annotations

from pathlib import Path

from comentor.model import _devices as devices
from comentor.model._journal import Journal
from comentor.model.testing import FixedClock, paired_journals

from .helpers import sync_all


def _join(inviter: Journal, path: Path, clock: FixedClock, name: str) -> Journal:
    """A device of the inviter's owner, paired as `invite --device` / `join --device` do:
    the joiner trusts the inviter, then takes the partnership key."""
    new = Journal.create(path, inviter.person_name(inviter.me), joining=True, now=clock,
                         person=inviter.me, device_name=name)
    devices.trust_device(inviter, devices.my_device_info(new))
    devices.trust_device(new, devices.my_device_info(inviter))
    key = inviter.partnership_key()
    assert key is not None
    devices.set_partnership_key(new, key)
    return new


def test_the_device_a_stolen_one_added_is_named_as_its(tmp_path: Path) -> None:
    clock = FixedClock()
    ada, ben = paired_journals(tmp_path, ("Ada", "Ben"), now=clock)
    clock.advance(days=3)
    phone = _join(ada, tmp_path / "phone.db", clock, "phone")
    clock.advance(days=2)
    thief = _join(phone, tmp_path / "thief.db", clock, "vm")
    sync_all([ada, ben, phone, thief])
    for j in (ada, ben, phone, thief):
        by = devices.adders(j)
        assert by.get(ada.device_id) is None  # started the journal
        assert by[ben.device_id] == ada.device_id
        assert by[phone.device_id] == ada.device_id
        assert by[thief.device_id] == phone.device_id
    assert [d["id"] for d in devices.added_by(ada, phone.device_id)] == [thief.device_id]
    listed = {d["id"]: d for d in devices.devices(ada)}
    assert listed[thief.device_id]["added_by_name"] == "phone"
    assert str(listed[thief.device_id]["added_at"]).startswith("2026-03-07")


def test_pairing_a_device_leaves_the_inviters_added_at(tmp_path: Path) -> None:
    clock = FixedClock()
    ada, ben = paired_journals(tmp_path, ("Ada", "Ben"), now=clock)
    before = {d["id"]: d["added_at"] for d in devices.devices(ben)}
    clock.advance(days=5)
    laptop = _join(ada, tmp_path / "laptop.db", clock, "laptop")
    devices.trust_device(ada, devices.my_device_info(ben))  # pairing again changes nothing
    sync_all([ada, ben, laptop])
    for j in (ada, ben, laptop):
        dates = {d["id"]: d["added_at"] for d in devices.devices(j)}
        assert dates[ada.device_id] == before[ada.device_id]
        assert dates[ben.device_id] == before[ben.device_id]
        assert str(dates[laptop.device_id]).startswith("2026-03-07")
