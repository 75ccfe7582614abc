"""What a folder sync says when something is off: one line, with the place and what to do,
and nothing lost or skipped for it. Real journals and files."""

from __future__ import annotations

from pathlib import Path

import pytest

from comentor.model import _entities as e
from comentor.model import testing
from comentor.model._journal import Journal
from comentor.model.testing import paired_journals
from comentor.sync.errors import TransportError
from comentor.sync.keys import folder_tag
from comentor.sync.mailbox.folder import FolderSync
from comentor.sync.mailbox.stream import Exchange


def test_our_subfolder_replaced_by_a_file_says_what_to_do(tmp_path: Path) -> None:
    ada, _ = paired_journals(tmp_path, sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    key = ada.partnership_key()
    assert key is not None
    (shared / folder_tag(key, ada.device_id)).write_text("a file where our folder goes")
    with pytest.raises(TransportError) as raised:
        FolderSync(ada.path, shared).sync_once()
    said = str(raised.value)
    assert str(shared) in said and "remove it and sync again" in said, said


def test_a_folder_no_partner_device_wrote_to_says_so(tmp_path: Path) -> None:
    """An empty (or mistyped) folder is not "in sync": nobody else has written there."""
    ada, ben = paired_journals(tmp_path, sync=False)
    shared, typo = tmp_path / "shared", tmp_path / "sahred"
    shared.mkdir()
    typo.mkdir()
    first = FolderSync(ada.path, typo).sync_once().lines()
    assert any(s.startswith("folder: no other device of this partnership has written to")
               and str(typo) in s for s in first), first
    from comentor.sync import SyncOptions, SyncService

    service = SyncService(ada.path, SyncOptions.parse(sync_folder=str(typo)))
    assert service.sync(only="folder").ok
    assert SyncService.settings(ada).last_via is None  # it reached no partner device
    again = FolderSync(ada.path, typo).sync_once().lines()  # not "in sync": nobody is there
    assert again[0].startswith("folder: no other device") and str(typo) in again[0], again
    assert "nothing new" not in " ".join(again), again
    FolderSync(ada.path, shared).sync_once()
    FolderSync(ben.path, shared).sync_once()
    assert not [s for s in FolderSync(ada.path, shared).sync_once().lines()
                if "has written to" in s]


def test_a_write_that_fails_names_the_folder_and_skips_no_number(tmp_path: Path) -> None:
    """A path too long for the system to create our file in: the line names the folder,
    and the envelope number is not spent, so Ben sees no gap afterwards."""
    ada, ben = paired_journals(tmp_path, sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    for j in (ada, ben, ada):
        FolderSync(j.path, shared).sync_once()
    deep = tmp_path
    while len(str(deep)) < 4070:  # our subfolder fits in PATH_MAX, a file in it does not
        deep = deep / ("d" * min(250, 4070 - len(str(deep)) - 1))
    deep.mkdir(parents=True)
    e.add_goal(ada, "written after the failure")
    numbered = Exchange(ada, "folder").out_seq()
    with pytest.raises(TransportError) as raised:
        FolderSync(ada.path, deep).sync_once()
    said = str(raised.value)
    assert said.startswith(f"cannot write to sync folder {deep}: ") and "nothing was lost" in said
    assert Exchange(ada, "folder").out_seq() == numbered  # the number was given back
    FolderSync(ada.path, shared).sync_once()
    got = FolderSync(ben.path, shared).sync_once()
    assert not got.gaps and "written after the failure" in {g["text"] for g in ben.rows("goals")}


def test_a_device_not_known_yet_is_not_made_to_sound_like_an_attack(tmp_path: Path) -> None:
    ada, ben = paired_journals(tmp_path, sync=False)
    laptop = Journal.create(tmp_path / "laptop.db", "Ada", joining=True)
    testing.pair_in_process(ada, laptop)  # Ben has not heard of it yet
    out = Exchange(laptop, "relay").prepare(force=True)
    assert out is not None
    eb = Exchange(ben, "relay")
    assert eb.receive(out.data) == "rejected"
    assert "not a paired device here yet" in eb.report.rejected[-1]
    assert "once a device that knows it has synced" in eb.report.rejected[-1]
