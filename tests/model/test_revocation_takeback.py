"""A revocation's cut-off, applied where the revoked device's later changes already are.

The revoking device refuses what the revoked one made past the cut-off; a partner that
received some of it first takes it back when the revocation reaches it, so the two journals
hold the same operations and the same tables (model/_takeback.py).
"""

from __future__ import annotations

from pathlib import Path

from comentor.model import _devices as devices
from comentor.model import _remote as remote
from comentor.model._journal import Journal
from comentor.model._projection import digest
from comentor.model._store import ops_since, version_vector
from comentor.model.replication import digests
from comentor.model.testing import FixedClock as Clock
from comentor.sync._report import TransportOutcome

from .helpers import paired, sync_pair


def _second_device(tmp_path: Path, owner: Journal, name: str, *, by: Journal) -> Journal:
    """A new device of `owner`'s person, paired with `by` (which records it)."""
    j = Journal.create(tmp_path / f"{name}.db", "Ada", joining=True, person=owner.me,
                       now=Clock(), device_name=name)
    devices.set_partnership_key(j, owner.partnership_key() or b"")
    devices.trust_device(j, devices.my_device_info(by))
    devices.trust_device(by, devices.my_device_info(j))
    return j


def _goals(j: Journal) -> list[str]:
    return sorted(str(g["text"]) for g in j.rows("goals"))


def _of(j: Journal, device: str) -> dict[str, int]:
    return {r: s for r, s in version_vector(j.conn).items() if r.startswith(device + ".")}


def _setup(tmp_path: Path) -> tuple[Journal, Journal, Journal, str]:
    """Ada (desk and laptop) and Ben; the laptop wrote one goal everyone has, then changed
    it and wrote another, which only Ben received before the desk revoked the laptop."""
    ada, ben = paired(tmp_path, ("Ada", "Ben"), now=Clock)
    sync_pair(ada, ben)
    laptop = _second_device(tmp_path, ada, "laptop", by=ada)
    goal = laptop.put("goals", None, text="written on the laptop before it was lost")
    sync_pair(ada, laptop)
    sync_pair(ada, ben)
    laptop.put("goals", goal, text="changed on the laptop later")
    laptop.put("goals", None, text="seen only by Ben")
    sync_pair(laptop, ben)
    assert "seen only by Ben" in _goals(ben)
    devices.revoke_device(ada, laptop.device_id)
    return ada, ben, laptop, goal


def test_a_partner_takes_back_what_the_revoked_device_made_past_the_cut_off(
        tmp_path: Path) -> None:
    ada, ben, laptop, goal = _setup(tmp_path)
    result = remote.apply_remote(ben, ops_since(ada.conn, version_vector(ben.conn)))
    assert result.taken_back == 2 and result.rebuilt
    assert _goals(ben) == _goals(ada) == ["written on the laptop before it was lost"]
    assert (ben.get("goals", goal) or {})["text"] == "written on the laptop before it was lost"
    # the same operations held, counted and digested alike: nothing to offer or refuse
    assert _of(ben, laptop.device_id) == _of(ada, laptop.device_id)
    vector = _of(ada, laptop.device_id)
    assert digests(ben, vector) == digests(ada, vector)
    back = remote.apply_remote(ada, ops_since(ben.conn, version_vector(ada.conn)))
    assert back.refused == 0 and back.forks == 0
    sync_pair(ada, ben)
    assert digest(ada.conn) == digest(ben.conn)
    assert ben.conn.execute("SELECT count(*) FROM forks").fetchone()[0] == 0


def test_the_sync_says_what_it_took_back(tmp_path: Path) -> None:
    ada, ben, _laptop, _goal = _setup(tmp_path)
    report = TransportOutcome(via="LAN", peer_name="Ada")
    report.note_applied(remote.apply_remote(
        ben, ops_since(ada.conn, version_vector(ben.conn))))
    assert any(line.startswith("took back 2 change(s) a removed device made")
               for line in report.news())


def test_a_device_the_revoked_one_brought_in_past_the_cut_off_goes_with_it(
        tmp_path: Path) -> None:
    ada, ben = paired(tmp_path, ("Ada", "Ben"), now=Clock)
    sync_pair(ada, ben)
    laptop = _second_device(tmp_path, ada, "laptop", by=ada)
    sync_pair(ada, laptop)
    sync_pair(ada, ben)
    phone = _second_device(tmp_path, ada, "phone", by=laptop)  # the laptop vouches for it
    phone.put("goals", None, text="written on the phone")
    sync_pair(laptop, phone)
    sync_pair(laptop, ben)
    assert "written on the phone" in _goals(ben)
    assert ben.get("devices", phone.device_id) is not None
    devices.revoke_device(ada, laptop.device_id)
    result = remote.apply_remote(ben, ops_since(ada.conn, version_vector(ben.conn)))
    assert result.taken_back >= 2  # the phone's record (by the laptop) and its goal
    assert "written on the phone" not in _goals(ben)
    assert ben.get("devices", phone.device_id, include_deleted=True) is None
    assert not _of(ben, phone.device_id)
    sync_pair(ada, ben)
    assert digest(ada.conn) == digest(ben.conn)


def test_the_revoked_device_keeps_what_it_wrote(tmp_path: Path) -> None:
    ada, ben, laptop, _goal = _setup(tmp_path)
    result = remote.apply_remote(laptop, ops_since(ada.conn, version_vector(laptop.conn)))
    assert result.taken_back == 0
    assert "seen only by Ben" in _goals(laptop)
    assert (laptop.get("devices", laptop.device_id) or {}).get("revoked_at")


def test_nothing_is_taken_back_when_the_cut_off_covers_everything(tmp_path: Path) -> None:
    ada, ben = paired(tmp_path, ("Ada", "Ben"), now=Clock)
    sync_pair(ada, ben)
    laptop = _second_device(tmp_path, ada, "laptop", by=ada)
    laptop.put("goals", None, text="everyone has this")
    sync_pair(ada, laptop)
    sync_pair(ada, ben)
    devices.revoke_device(ada, laptop.device_id)
    result = remote.apply_remote(ben, ops_since(ada.conn, version_vector(ben.conn)))
    assert result.taken_back == 0 and not result.rebuilt
    assert _goals(ben) == ["everyone has this"]
