"""Heartbeats in a shared folder: they reveal a last envelope lost on the way, and nothing
else; while ours is still in the folder, none is written, so a partner who stays away (or
has nothing to answer) no longer makes the folder grow by one file per heartbeat.
Real journals and files; ``heartbeat=0`` makes every sync one where a heartbeat is due."""

from __future__ import annotations

import os
import time
from pathlib import Path

from comentor.model import _entities as e
from comentor.model._journal import Journal
from comentor.model.testing import paired_journals
from comentor.sync._report import TransportOutcome
from comentor.sync.keys import folder_tag
from comentor.sync.mailbox.folder import FolderSync


def sync(j: Journal, shared: Path) -> TransportOutcome:
    return FolderSync(j.path, shared, heartbeat=0).sync_once()


def own_files(shared: Path, j: Journal) -> list[str]:
    key = j.partnership_key()
    assert key is not None
    return sorted(p.name for p in (shared / folder_tag(key, j.device_id)).glob("*.cmenv"))


def goals(j: Journal) -> set[str]:
    return {g["text"] for g in j.rows("goals")}


def test_no_heartbeat_piles_up_while_ours_waits_in_the_folder(tmp_path: Path) -> None:
    ada, ben = paired_journals(tmp_path, sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    for j in (ada, ben, ada, ben):
        sync(j, shared)
    # both online, nothing to say: nobody writes anything more
    settled = {j.device_id: own_files(shared, j) for j in (ada, ben)}
    for _ in range(3):
        assert sync(ada, shared).sent == 0 and sync(ben, shared).sent == 0
    assert {j.device_id: own_files(shared, j) for j in (ada, ben)} == settled
    # Ben goes away: Ada's envelope waits for him, and nothing is added beside it
    e.add_goal(ada, "while Ben is away")
    assert sync(ada, shared).sent == 1
    waiting = own_files(shared, ada)
    for _ in range(5):
        assert sync(ada, shared).sent == 0
    assert own_files(shared, ada) == waiting
    # a day on, the waiting file may never have reached Ben's side: one heartbeat, no more
    latest = shared / own_files_dir(shared, ada) / waiting[-1]
    day_ago = time.time() - 86400 - 60
    os.utime(latest, (day_ago, day_ago))
    assert sync(ada, shared).sent == 1
    after_a_day = own_files(shared, ada)
    assert len(after_a_day) == len(waiting) + 1
    for _ in range(3):
        assert sync(ada, shared).sent == 0
    assert own_files(shared, ada) == after_a_day
    sync(ben, shared)
    assert "while Ben is away" in goals(ben)


def own_files_dir(shared: Path, j: Journal) -> str:
    key = j.partnership_key()
    assert key is not None
    return folder_tag(key, j.device_id)


def test_a_lost_last_envelope_is_still_found_by_a_heartbeat(tmp_path: Path) -> None:
    ada, ben = paired_journals(tmp_path, sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    for j in (ada, ben, ada, ben):
        sync(j, shared)
    e.add_goal(ada, "lost on the way")
    sync(ada, shared)
    key = ada.partnership_key()
    assert key is not None
    mine = shared / folder_tag(key, ada.device_id)
    (last,) = [p for p in mine.glob("*.cmenv") if p.name == own_files(shared, ada)[-1]]
    last.unlink()  # the file-sync service lost it
    assert sync(ada, shared).sent == 1  # a heartbeat: the next number
    gap = sync(ben, shared)
    assert gap.gaps and "missing, asking again" in gap.gaps[0]
    sync(ada, shared)
    sync(ben, shared)
    assert "lost on the way" in goals(ben)
