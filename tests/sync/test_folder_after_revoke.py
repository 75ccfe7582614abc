"""A shared folder after a revocation: leftovers of a retired key are not "tampering".

Three devices (Ada, her laptop, Ben) sync through one folder; Ada revokes the laptop, which
rotates the partnership key. The envelopes left under the old key's subfolders, and the
revoked laptop's own envelopes, must not be reported again on every later sync, while a
genuinely tampered envelope in the current mailbox still is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comentor.model import _devices as devices
from comentor.model import _entities as e
from comentor.model._journal import Journal
from comentor.model.replication import previous_key
from comentor.model.testing import paired_journals
from comentor.sync.keys import folder_tag
from comentor.sync.mailbox import stream
from comentor.sync.mailbox.folder import FolderSync

TAMPER = "does not authenticate"
REVOKED = "which was revoked"


def goals(j: Journal) -> set[str]:
    return {g["text"] for g in j.rows("goals")}


def three_devices(tmp_path: Path) -> tuple[Journal, Journal, Journal, Path]:
    """Ada, her laptop and Ben, all synced through one shared folder."""
    ada, ben, laptop = paired_journals(tmp_path, ("Ada", "Ben", "Ada"), sync=False,
                                       device_names=("desk", "phone", "laptop"))
    shared = tmp_path / "shared"
    shared.mkdir()
    e.add_goal(ada, "before the revocation")
    for j in (ada, laptop, ben, ada, laptop, ben):
        assert FolderSync(j.path, shared).sync_once().rejected == []
    assert "before the revocation" in goals(ben)
    return ada, laptop, ben, shared


def sync(j: Journal, shared: Path) -> list[str]:
    return FolderSync(j.path, shared).sync_once().rejected


def test_leftovers_of_the_old_key_are_not_reported_again_and_again(tmp_path: Path) -> None:
    ada, laptop, ben, shared = three_devices(tmp_path)
    devices.revoke_device(ada, laptop.device_id)
    e.add_goal(ada, "after the revocation")
    said: dict[str, list[str]] = {"ada": [], "ben": []}
    for _ in range(2):  # the transition: Ben adopts the new key, both drop the old one
        said["ada"] += sync(ada, shared)
        said["ben"] += sync(ben, shared)
    assert previous_key(ada) is None and previous_key(ben) is None
    assert "after the revocation" in goals(ben)
    # nothing was mistaken for tampering, not even while Ben adopted the new key
    assert not [r for rs in said.values() for r in rs if TAMPER in r], said
    # the laptop's unread envelope was worth one word to Ada, not one per sync
    assert sum(REVOKED in r for r in said["ada"]) == 1, said
    for _ in range(3):  # and then silence, while data still flows both ways
        e.add_goal(ben, f"ben {_}")
        assert sync(ada, shared) == []
        assert sync(ben, shared) == []
    assert sync(ada, shared) == []
    assert goals(ada) == goals(ben) and "ben 2" in goals(ada)
    # the old subfolders are still there (other devices' files are never deleted)
    key = ada.partnership_key()
    assert key is not None
    assert {p.name for p in shared.iterdir()} - {
        folder_tag(key, d) for d in (ada.device_id, ben.device_id)}


def test_a_revoked_device_writing_again_is_reported_once_per_envelope(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a thief's copy that does not stop when told (comentor itself stops: the test below)
    monkeypatch.setattr(stream, "removal", lambda _j: None)
    ada, laptop, ben, shared = three_devices(tmp_path)
    devices.revoke_device(ada, laptop.device_id)
    sync(ada, shared)
    assert previous_key(ada) is not None  # Ben has not switched: the transition goes on
    e.add_goal(laptop, "from the stolen laptop")
    FolderSync(laptop.path, shared).sync_once()  # it still holds the old key and writes
    first = sync(ada, shared)
    assert any(REVOKED in r for r in first) and all(REVOKED in r for r in first), first
    assert sync(ada, shared) == []  # the same envelopes: judged already
    e.add_goal(laptop, "again from the stolen laptop")
    FolderSync(laptop.path, shared).sync_once()
    again = sync(ada, shared)
    assert len(again) == 1 and REVOKED in again[0], again  # a new one: reported once
    assert sync(ada, shared) == []
    assert not {"from the stolen laptop", "again from the stolen laptop"} & goals(ada)


def test_a_tampered_envelope_in_the_current_mailbox_is_still_reported(tmp_path: Path) -> None:
    ada, laptop, ben, shared = three_devices(tmp_path)
    devices.revoke_device(ada, laptop.device_id)
    for _ in range(2):
        sync(ada, shared)
        sync(ben, shared)
    assert previous_key(ada) is None
    e.add_goal(ben, "tampered on the way")
    sync(ben, shared)
    key = ben.partnership_key()
    assert key is not None
    newest = sorted((shared / folder_tag(key, ben.device_id)).glob("*.cmenv"))[-1]
    data = bytearray(newest.read_bytes())
    data[-1] ^= 1
    newest.write_bytes(bytes(data))
    for _ in range(2):  # every sync, until the file is whole again
        said = sync(ada, shared)
        assert len(said) == 1 and TAMPER in said[0] and newest.name in said[0], said
    assert "tampered on the way" not in goals(ada)


def test_remembered_subfolder_names_stay_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from comentor.model import _rotation as rotation
    from comentor.sync.mailbox import folder

    monkeypatch.setattr(folder, "MAX_KEYS_REMEMBERED", 3)
    ada, ben = paired_journals(tmp_path, sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    for _ in range(2):  # within the limit: every retired key's subfolders stay quiet
        rotation.rotate_key(ada)
        for _ in range(2):
            assert sync(ada, shared) == [] and sync(ben, shared) == []
    for _ in range(3):  # past it, the oldest keys' names are forgotten, never more than 3
        rotation.rotate_key(ada)
        for _ in range(2):
            sync(ada, shared)
            sync(ben, shared)
    assert ada.partnership_key() == ben.partnership_key()
    for j in (ada, ben):
        raw = j.cursor("envelopes", "folder:key-tags")
        assert raw is not None and len(json.loads(raw)) == 3


def test_a_revoked_device_told_in_a_round_sends_nothing_after_it(tmp_path: Path) -> None:
    """docs/security.md: sync refuses at once, also when the news arrives during the sync.
    The laptop wrote after it was revoked; the round that tells it seals nothing more."""
    ada, laptop, ben, shared = three_devices(tmp_path)
    devices.revoke_device(ada, laptop.device_id)
    sync(ada, shared)  # the old key's subfolder carries the revocation
    e.add_goal(laptop, "written after the revocation")
    key = laptop.partnership_key()
    assert key is not None
    mine = shared / folder_tag(key, laptop.device_id)
    before = sorted(p.name for p in mine.glob("*.cmenv"))
    outcome = FolderSync(laptop.path, shared).sync_once()
    assert outcome.sent == 0, outcome.lines()
    assert sorted(p.name for p in mine.glob("*.cmenv")) == before
