"""`sync-folder OTHER` once (a USB stick carried to the partner, a folder tried out) must
not hold back what the usual folder carries: it used to count as delivered, so the usual
folder got it only after the next heartbeat (ten minutes or more). Real journals, files."""

from __future__ import annotations

from pathlib import Path

from comentor.model import _entities as e
from comentor.model._journal import Journal
from comentor.model.testing import paired_journals
from comentor.sync.mailbox.folder import FolderSync


def goals(j: Journal) -> set[str]:
    return {g["text"] for g in j.rows("goals")}


def test_a_one_off_folder_does_not_hold_back_the_usual_one(tmp_path: Path) -> None:
    ada, ben = paired_journals(tmp_path, sync=False)
    usual, stick = tmp_path / "usual", tmp_path / "stick"
    usual.mkdir()
    stick.mkdir()
    for j in (ada, ben):
        j.set_setting("sync_folder", str(usual))
    for j in (ada, ben, ada, ben):
        FolderSync(j.path).sync_once()
    for i in range(3):
        e.add_goal(ada, f"carried on a stick {i}")
        FolderSync(ada.path, stick).sync_once()
    # the usual folder, no heartbeat due: it still gets all of it
    assert FolderSync(ada.path).sync_once().sent_ops == 3
    # and the stick alone carried all of it too
    FolderSync(ben.path, stick).sync_once()
    assert {f"carried on a stick {i}" for i in range(3)} <= goals(ben)
    for j in (ben, ada, ben, ada):
        r = FolderSync(j.path).sync_once()
        assert not r.rejected and not r.gaps, r.lines()
    assert goals(ada) == goals(ben)
    assert FolderSync(ben.path).sync_once().lines() == ["folder: nothing new either way"]
