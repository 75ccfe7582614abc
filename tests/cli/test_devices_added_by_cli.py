"""`comentor devices` says which device added each one, and `devices revoke` names the
devices the revoked one added: a thief's device paired from a stolen one must not hide
behind a row identical to its owner's."""

from __future__ import annotations

import json
from pathlib import Path

from comentor.model import _devices as devices
from comentor.model._journal import Journal
from comentor.model.testing import FixedClock, paired_journals, sync_in_process

from .helpers import run


def _join(inviter: Journal, path: Path, clock: FixedClock, name: str) -> Journal:
    """Another device of the inviter's owner, paired as `invite --device` does."""
    new = Journal.create(path, "Ada", joining=True, now=clock, person=inviter.me,
                         device_name=name)
    devices.trust_device(inviter, devices.my_device_info(new))
    devices.trust_device(new, devices.my_device_info(inviter))
    devices.set_partnership_key(new, inviter.partnership_key() or b"")
    sync_in_process(inviter, new)
    return new


def _stolen(tmp_path: Path) -> tuple[Path, str, str]:
    """Ada's journal, her phone (stolen) and the `vm` the thief paired from the phone."""
    clock = FixedClock()
    ada, ben = paired_journals(tmp_path, ("Ada", "Ben"), now=clock, device_names=("vm", "b"))
    clock.advance(days=3)
    phone = _join(ada, tmp_path / "phone.db", clock, "vm")
    clock.advance(days=2)
    thief = _join(phone, tmp_path / "thief.db", clock, "vm")
    sync_in_process(phone, ada)
    ids = (phone.device_id, thief.device_id)
    for j in (ada, ben, phone, thief):
        j.close()
    return tmp_path / "ada.db", *ids


def test_devices_shows_who_added_each(tmp_path: Path) -> None:
    journal, phone, thief = _stolen(tmp_path)
    listed = run(journal, "devices").stdout.splitlines()
    lines = {i[:12]: next(x for x in listed if i[:12] in x.split()[:2]) for i in (phone, thief)}
    assert f"added 2026-03-07 by {phone[:12]} (vm)" in lines[thief[:12]]
    assert "added 2026-03-05 by " in lines[phone[:12]]
    shown = {d["id"]: d for d in json.loads(
        run(journal, "devices", "--json").stdout)["devices"]}
    assert shown[thief]["added_by"] == phone and shown[phone]["added_by"] != thief


def test_revoke_names_the_devices_it_added_and_revokes_them_only_when_asked(
        tmp_path: Path) -> None:
    journal, phone, thief = _stolen(tmp_path)
    said = run(journal, "devices", "revoke", phone[:8]).stdout
    assert f"it added vm (Ada, {thief[:12]}) on 2026-03-07" in said
    assert f"revoke it too: comentor devices revoke {thief[:12]}" in said
    rows = {d["id"]: d for d in json.loads(
        run(journal, "devices", "--json").stdout)["devices"]}
    assert rows[phone]["revoked_at"] and not rows[thief]["revoked_at"]


def test_revoke_with_added_revokes_both(tmp_path: Path) -> None:
    journal, phone, thief = _stolen(tmp_path)
    said = run(journal, "devices", "revoke", phone[:8], "--with-added").stdout
    assert said.count("revoked vm (Ada, ") == 2 and thief[:12] in said
    rows = {d["id"]: d for d in json.loads(
        run(journal, "devices", "--json").stdout)["devices"]}
    assert rows[phone]["revoked_at"] and rows[thief]["revoked_at"]
