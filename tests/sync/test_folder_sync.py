"""Two paired journals syncing through a shared folder of encrypted files."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

from comentor.model import _devices as devices
from comentor.model import _entities as e
from comentor.model import testing
from comentor.model._journal import Journal
from comentor.model.errors import DemoJournalError
from comentor.model.testing import paired_journals
from comentor.sync.errors import TransportError
from comentor.sync.keys import folder_tag
from comentor.sync.mailbox.folder import FolderSync

PLANTED = "PLANTED-folder-9c1e-SECRET"


def goals(j: Journal) -> set[str]:
    return {g["text"] for g in j.rows("goals")}


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_two_journals_sync_through_a_folder(tmp_path: Path) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    e.add_goal(a, "Ada's goal")
    e.add_goal(b, "Ben's goal")
    ra = FolderSync(a.path, shared).sync_once()
    assert ra.sent == 1
    rb = FolderSync(b.path, shared).sync_once()
    assert "Ada's goal" in goals(b) and rb.received == 1
    FolderSync(a.path, shared).sync_once()
    assert goals(a) == goals(b) == {"Ada's goal", "Ben's goal"}
    # names reveal nobody: one folder per device, named by a keyed hash; numbered files
    for p in files(shared):
        rel = p.relative_to(shared).as_posix()
        assert re.fullmatch(r"[0-9a-f]{20}/[0-9]{12}\.cmenv", rel), rel
        for word in ("Ada", "Ben", a.device_id, b.device_id):
            assert word not in rel
    key = a.partnership_key()
    assert key is not None
    assert (shared / folder_tag(key, a.device_id)).is_dir()


def test_folder_from_settings_and_missing_folder(tmp_path: Path) -> None:
    a, _ = paired_journals(tmp_path, sync=False)
    with pytest.raises(TransportError, match="no sync folder configured"):
        FolderSync(a.path).sync_once()
    a.set_setting("sync_folder", str(tmp_path / "usb-stick-not-plugged-in"))
    with pytest.raises(TransportError, match="does not exist"):
        FolderSync(a.path).sync_once()


def test_partial_and_foreign_files_are_reported_then_recovered(tmp_path: Path) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    FolderSync(a.path, shared).sync_once()
    FolderSync(b.path, shared).sync_once()
    FolderSync(a.path, shared).sync_once()
    e.add_goal(a, "arrives in pieces")
    FolderSync(a.path, shared).sync_once()
    key = a.partnership_key()
    assert key is not None
    mine = shared / folder_tag(key, a.device_id)
    newest = sorted(mine.glob("*.cmenv"))[-1]
    whole = newest.read_bytes()
    newest.write_bytes(whole[: len(whole) // 3])  # the file-sync service delivered a part
    stray = shared / ("f" * 20)
    stray.mkdir()
    (stray / "000000000001.cmenv").write_bytes(os.urandom(4000))  # junk planted by the host
    (mine / "notes.txt").write_text("ignored")
    rep = FolderSync(b.path, shared).sync_once()
    assert "arrives in pieces" not in goals(b)
    # the partial file is reported; a subfolder of no device of ours is passed over in silence
    assert len(rep.rejected) == 1 and "partial files" in rep.rejected[0], rep.rejected
    assert newest.name in rep.rejected[0] and stray.name not in rep.rejected[0]
    newest.write_bytes(whole)  # the rest arrives
    rep = FolderSync(b.path, shared).sync_once()
    assert "arrives in pieces" in goals(b) and rep.received == 1


def test_two_writers_at_once_and_pruning(tmp_path: Path) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    for i in range(10):
        e.add_goal(a, f"a{i}")
        e.add_goal(b, f"b{i}")
    errors: list[BaseException] = []

    def run(path: Path) -> None:
        try:
            for _ in range(3):
                FolderSync(path, shared).sync_once()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(j.path,)) for j in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for _ in range(2):
        FolderSync(a.path, shared).sync_once()
        FolderSync(b.path, shared).sync_once()
    assert goals(a) == goals(b) and len(goals(a)) == 20
    assert not list(shared.rglob("*.tmp"))
    # each device deleted its own files once the other had processed them
    FolderSync(a.path, shared).sync_once()
    FolderSync(b.path, shared).sync_once()
    assert len(files(shared)) <= 2


def test_folder_never_holds_plaintext(tmp_path: Path) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    e.add_goal(a, PLANTED)
    FolderSync(a.path, shared, prune=False).sync_once()
    FolderSync(b.path, shared, prune=False).sync_once()
    assert PLANTED in goals(b)
    blob = b"".join(p.read_bytes() for p in files(shared))
    assert len(blob) > 1000
    assert PLANTED.encode() not in blob and b"Ada" not in blob


def test_demo_journal_never_syncs_through_a_folder(tmp_path: Path) -> None:
    from comentor.model._demo import create_demo

    path = tmp_path / "demo.db"
    create_demo(path).close()
    shared = tmp_path / "shared"
    shared.mkdir()
    with pytest.raises(DemoJournalError, match="demo journal"):
        FolderSync(path, shared).sync_once()
    assert not files(shared)


def test_fifos_and_symlinks_in_the_folder_are_never_followed(tmp_path: Path) -> None:
    import threading


    a = Journal.create(tmp_path / "ada.db", "Ada")
    b = Journal.create(tmp_path / "b.db", "Bo", joining=True)
    testing.pair_in_process(a, b)
    key, own, theirs = a.partnership_key(), a.device_id, b.device_id
    a.close()
    b.close()
    share = tmp_path / "share"
    share.mkdir()
    assert key is not None
    planted = share / folder_tag(key, theirs)  # in a subfolder that is read: Bo's
    planted.mkdir()
    os.mkfifo(planted / "000000000001.cmenv")
    (tmp_path / "secret").write_bytes(b"x" * 600)
    os.symlink(tmp_path / "secret", planted / "000000000002.cmenv")
    result: list[object] = []
    t = threading.Thread(target=lambda: result.append(FolderSync(tmp_path / "ada.db", share).sync_once()),
                         daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive() and result, "folder sync blocked on a FIFO"
    # our own subfolder replaced by a symlink: refused, nothing written or pruned there
    assert key is not None
    mine = share / folder_tag(key, own)
    for p in mine.iterdir():
        p.unlink()
    mine.rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, mine)
    with pytest.raises(TransportError, match="not a plain directory"):
        FolderSync(tmp_path / "ada.db", share).sync_once()
    assert list(elsewhere.iterdir()) == []


def test_revocation_rotates_the_folder_key_and_the_revoked_device_reads_nothing_after(
    tmp_path: Path,
) -> None:
    from comentor.model import _rotation as rotation
    from comentor.sync.errors import ProtocolError
    from comentor.sync.keys import derive_mailbox, envelope_key
    from comentor.sync.mailbox.envelope import open_envelope

    ada, ben = paired_journals(tmp_path, sync=False)
    laptop = Journal.create(tmp_path / "laptop.db", "Ada", joining=True, person=ada.me,
                            device_name="laptop")
    testing.pair_in_process(ada, laptop)
    devices.trust_device(laptop, devices.my_device_info(ben))
    devices.trust_device(ben, devices.my_device_info(laptop))
    shared = tmp_path / "shared"
    shared.mkdir()
    e.add_goal(ada, "Before the theft")
    for j in (ada, laptop, ben, ada, laptop):
        FolderSync(j.path, shared, prune=False).sync_once()
    assert "Before the theft" in goals(laptop) and "Before the theft" in goals(ben)
    old = ada.partnership_key()
    devices.revoke_device(ada, laptop.device_id)
    new = ada.partnership_key()
    assert old is not None and new is not None and new != old
    e.add_goal(ada, PLANTED)
    FolderSync(ada.path, shared, prune=False).sync_once()
    # Ben was offline: the old subfolders bring him the revocation and his grant
    FolderSync(ben.path, shared, prune=False).sync_once()
    assert ben.partnership_key() == new and PLANTED in goals(ben)
    FolderSync(ada.path, shared, prune=False).sync_once()
    assert rotation.previous_key(ada) is None  # Ben's files under the new key: he switched
    rep = FolderSync(laptop.path, shared, prune=False).sync_once()
    assert laptop.partnership_key() == old and PLANTED not in goals(laptop)
    assert rep.received >= 1  # it did read the old subfolders (devices, grants), no more
    # nothing written under the new key opens with the old one
    mailbox, _ = derive_mailbox(new)
    new_dirs = {folder_tag(new, d) for d in (ada.device_id, ben.device_id)}
    sealed = [p for p in files(shared) if p.parent.name in new_dirs]
    assert sealed
    for p in sealed:
        data = p.read_bytes()
        assert PLANTED.encode() not in data
        with pytest.raises(ProtocolError):
            open_envelope(envelope_key(old), mailbox, "folder", data)
    # and nothing under the old key carries the new goal
    for p in files(shared):
        if p.parent.name in new_dirs:
            continue
        try:
            c = open_envelope(envelope_key(old), derive_mailbox(old)[0], "folder", p.read_bytes())
        except ProtocolError:
            continue
        assert all(PLANTED.encode() not in op for op in c.ops), p
