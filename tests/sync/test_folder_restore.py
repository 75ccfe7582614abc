"""A journal restored from a backup goes back to the backup's envelope counter: the numbers
it issues next were used already. Nothing either partner wrote may be lost for it, through a
shared folder (where the same number is the same file name) or a relay (where the partner
has read that number already). Real journals, real files, a real relay on 127.0.0.1."""

from __future__ import annotations

import errno
import os
from collections.abc import Awaitable
from pathlib import Path

import pytest

from comentor.model import Journal, backup_journal, restore_backup
from comentor.model import _entities as e
from comentor.model.testing import paired_paths
from comentor.sync.keys import folder_tag
from comentor.sync.mailbox.folder import FolderSync
from comentor.sync.mailbox.relay_sync import RelaySync
from comentor.sync.relay.server import RelayServer


def goals(path: Path) -> set[str]:
    j = Journal.open(path)
    try:
        return {g["text"] for g in j.rows("goals")}
    finally:
        j.close()


def add_goal(path: Path, text: str) -> None:
    j = Journal.open(path)
    try:
        e.add_goal(j, text)
    finally:
        j.close()


def subfolder(shared: Path, journal: Path) -> Path:
    j = Journal.open(journal)
    try:
        key = j.partnership_key()
        assert key is not None
        return shared / folder_tag(key, j.device_id)
    finally:
        j.close()


def restore(backup: Path, journal: Path) -> None:
    """Ada's disk died: the journal is restored from last night's backup."""
    for f in journal.parent.glob(journal.name + "*"):
        f.unlink()
    restore_backup(backup, journal)


def test_a_restored_journal_never_overwrites_an_envelope_nobody_read(tmp_path: Path) -> None:
    ada, ben = paired_paths(tmp_path, sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    for p in (ada, ben, ada):
        FolderSync(p, shared).sync_once()
    backup_journal(ada, tmp_path / "ada.bak")
    add_goal(ada, "after the backup, synced")
    FolderSync(ada, shared).sync_once()  # Ben is away: it waits in the folder
    waiting = {p.name: p.read_bytes() for p in shared.rglob("*.cmenv")}
    restore(tmp_path / "ada.bak", ada)
    add_goal(ada, "after the restore")
    FolderSync(ada, shared).sync_once()
    # the envelope Ben has not read is still there, byte for byte, beside the new one
    after = {p.name: p.read_bytes() for p in shared.rglob("*.cmenv")}
    assert all(after.get(name) == data for name, data in waiting.items())
    for _ in range(3):
        FolderSync(ben, shared).sync_once()
        FolderSync(ada, shared).sync_once()
    both = {"after the backup, synced", "after the restore"}
    assert both <= goals(ben) and both <= goals(ada)


def test_a_restored_journal_never_writes_over_a_file_still_arriving(tmp_path: Path) -> None:
    """On the new disk the cloud service is still bringing the folder down: Ada's unread
    envelope is there only in part. It does not open as hers, so it cannot tell her
    counter anything, but its name is still not hers to take."""
    ada, ben = paired_paths(tmp_path, sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    for p in (ada, ben, ada):
        FolderSync(p, shared).sync_once()
    backup_journal(ada, tmp_path / "ada.bak")
    add_goal(ada, "after the backup, synced")
    FolderSync(ada, shared).sync_once()
    unread = max(subfolder(shared, ada).glob("*.cmenv"))
    whole = unread.read_bytes()
    unread.write_bytes(whole[:100])  # still arriving
    restore(tmp_path / "ada.bak", ada)
    add_goal(ada, "after the restore")
    FolderSync(ada, shared).sync_once()
    assert unread.read_bytes() == whole[:100]  # not written over
    unread.write_bytes(whole)  # it has arrived
    for _ in range(3):
        FolderSync(ben, shared).sync_once()
        FolderSync(ada, shared).sync_once()
    both = {"after the backup, synced", "after the restore"}
    assert both <= goals(ben) and both <= goals(ada)


def test_a_restored_journal_never_writes_over_where_links_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A USB stick's FAT has no hard links: the name is claimed another way, still never
    over an existing file."""

    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    test_a_restored_journal_never_writes_over_a_file_still_arriving(tmp_path)


async def test_a_restored_journal_reaches_a_partner_that_read_its_numbers_already(
    tmp_path: Path,
) -> None:
    """Through a relay, Ben read Ada's envelope and the relay deleted it; restored, Ada
    issues that number again. Ben took it for a replay and ignored it, and with nothing new
    to say never answered: Ada's new goal never reached him, nor his copy of her old one
    her. A "replay" carrying what Ben lacks is a number used twice: he asks for it again."""
    ada, ben = paired_paths(tmp_path, sync=False)
    server = RelayServer(tmp_path / "relay")
    port = await server.start("127.0.0.1", 0)
    url = f"ws://127.0.0.1:{port}"

    def sync(p: Path) -> Awaitable[object]:
        return RelaySync(p, url).sync_once()

    try:
        for p in (ada, ben, ada):
            await sync(p)
        backup_journal(ada, tmp_path / "ada.bak")
        add_goal(ada, "after the backup, synced")
        for p in (ada, ben, ada, ben, ada, ben):  # read, answered, acked by all: deleted
            await sync(p)
        assert "after the backup, synced" in goals(ben)
        restore(tmp_path / "ada.bak", ada)
        add_goal(ada, "after the restore")
        for _ in range(3):
            await sync(ada)
            await sync(ben)
        both = {"after the backup, synced", "after the restore"}
        assert both <= goals(ben) and both <= goals(ada)
    finally:
        await server.stop()
