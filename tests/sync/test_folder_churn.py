"""Files in the shared folder that never open must not make syncs churn.

A file that does not open used to make every sync ask every device to send everything
again, and so re-ship, as new files, all that the slowest device lacks, at every sync: a
mentor's second partnership in the same folder, or one stray empty file, was enough.
Subfolders of no device of the partnership are passed over now; a file that does not open
is reported in one line, asked for again once, and read again only once it changes.
Real journals and files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from comentor.model import _entities as e
from comentor.model import testing
from comentor.model._journal import Journal
from comentor.model._ops import encode_op
from comentor.model.replication import ops_since, version_vector
from comentor.model.testing import paired_journals
from comentor.sync._report import TransportOutcome
from comentor.sync.keys import folder_tag
from comentor.sync.mailbox import folder as folder_module
from comentor.sync.mailbox.envelope import Contents, seal
from comentor.sync.mailbox.folder import FolderSync
from comentor.sync.mailbox.stream import Exchange


def sync(j: Journal, shared: Path) -> TransportOutcome:
    return FolderSync(j.path, shared).sync_once()


def envelopes(shared: Path) -> list[Path]:
    return sorted(shared.rglob("*.cmenv"))


def subfolder(shared: Path, j: Journal) -> Path:
    key = j.partnership_key()
    assert key is not None
    return shared / folder_tag(key, j.device_id)


def quiet(r: TransportOutcome) -> bool:
    return r.received == r.sent == 0 and not r.rejected and not r.gaps and not r.notes


def test_two_partnerships_in_one_folder_settle(tmp_path: Path) -> None:
    """A mentor with two mentees points both journals at one folder: each partnership
    reads its own subfolders only, says nothing of the other's, and both settle."""
    ada, ben = paired_journals(tmp_path / "one", ("Ada", "Ben"), sync=False)
    mentor, cal = paired_journals(tmp_path / "two", ("Ada", "Cal"), sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    for i in range(20):
        e.add_goal(ben, f"ben {i} " + "x" * 500)
        e.add_goal(cal, f"cal {i} " + "y" * 500)
    said: list[TransportOutcome] = []
    for _ in range(3):
        for j in (ben, ada, cal, mentor):
            said.append(sync(j, shared))
    assert not [line for r in said for line in r.rejected + r.gaps], said
    assert {f"ben {i} " + "x" * 500 for i in range(20)} <= {g["text"] for g in ada.rows("goals")}
    assert {f"cal {i} " + "y" * 500 for i in range(20)} <= {g["text"] for g in mentor.rows("goals")}
    files = envelopes(shared)
    for _ in range(3):
        for j in (ben, ada, cal, mentor):
            r = sync(j, shared)
            assert quiet(r), r.lines()
            assert r.lines() == ["folder: nothing new either way"]
    assert envelopes(shared) == files


def test_a_file_that_never_opens_is_asked_for_once(tmp_path: Path) -> None:
    """Ada's laptop stays off, so Ben's 40 goals are what the slowest device lacks; a file
    that never opens (an empty one, in Ben's own subfolder and in one of no device) is
    reported in one line at each sync, but makes Ben send everything again only once."""
    ada, ben, laptop = paired_journals(tmp_path, ("Ada", "Ben", "Ada"), sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    for j in (ada, ben, laptop):
        sync(j, shared)
    for i in range(40):
        e.add_goal(ben, f"note {i} " + "z" * 1900)
    sync(ben, shared)
    sync(ada, shared)
    stray = shared / ("0" * 20)
    stray.mkdir()
    (stray / "000000000001.cmenv").write_bytes(b"")
    ahead = subfolder(shared, ben) / "000000000099.cmenv"
    ahead.write_bytes(b"")
    first = sync(ada, shared)
    assert len(first.rejected) == 1 and ahead.name in first.rejected[0], first.rejected
    assert stray.name not in first.rejected[0]
    resent = sync(ben, shared).sent_ops  # asked once: it sends what the laptop lacks again
    assert resent >= 40
    sizes = []
    for _ in range(4):
        r = sync(ada, shared)
        assert len(r.rejected) == 1 and ahead.name in r.rejected[0], r.rejected
        assert sync(ben, shared).sent_ops == 0
        sizes.append(sum(p.stat().st_size for p in envelopes(shared)))
    assert len(set(sizes)) == 1, sizes  # the folder stopped growing
    # the file is completed (here: by a genuine envelope under that name): read again
    ahead.unlink()
    e.add_goal(ben, "after all")
    sync(ben, shared)
    sync(ada, shared)
    assert "after all" in {g["text"] for g in ada.rows("goals")}


def test_a_flood_of_junk_is_one_line_and_the_count_left_is_true(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(folder_module, "MAX_FILES_PER_ROUND", 10)
    ada, ben = paired_journals(tmp_path, sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    for j in (ada, ben, ada):
        sync(j, shared)
    theirs = subfolder(shared, ben)
    for n in range(100, 125):
        (theirs / f"{n:012d}.cmenv").write_bytes(os.urandom(700))
    left = []
    for _ in range(4):
        r = sync(ada, shared)
        assert len(r.rejected) == 1 and "ignored" in r.rejected[0], r.rejected
        left.append([n for n in r.notes if "left for the next sync" in n])
    assert "25 files that do not open" in r.rejected[0]
    assert [len(n) for n in left] == [1, 1, 0, 0], left
    assert "15 more file(s)" in left[0][0] and "5 more file(s)" in left[1][0]


def test_a_device_added_later_is_read_once_its_record_arrives(tmp_path: Path) -> None:
    """Ada's new laptop writes to the folder before Ben knows of it: that is no attack and
    needs no words; its subfolder is read as soon as Ben learns of the laptop."""
    ada, ben = paired_journals(tmp_path, sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    for j in (ada, ben, ada):
        sync(j, shared)
    laptop = Journal.create(tmp_path / "laptop.db", "Ada", joining=True)
    testing.pair_in_process(ada, laptop)  # Ben has not heard of it yet
    e.add_goal(laptop, "from the new laptop")
    said = [sync(laptop, shared), sync(ben, shared), sync(ada, shared), sync(ben, shared)]
    assert not [line for r in said for line in r.rejected + r.gaps], [r.lines() for r in said]
    assert "from the new laptop" in {g["text"] for g in ben.rows("goals")}


def test_a_refused_envelope_is_judged_once_and_asked_for_again(tmp_path: Path) -> None:
    """Ben's latest envelope is refused (here: it carries an operation whose signature does
    not hold). Ada judges it once and asks Ben for what it should have brought: Ben's file
    is still in the folder, so no heartbeat would ever reveal that it did not apply."""
    ada, ben = paired_journals(tmp_path, sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    for j in (ada, ben, ada, ben):
        sync(j, shared)
    e.add_goal(ben, "in the refused envelope")
    sync(ben, shared)
    latest = max(subfolder(shared, ben).glob("*.cmenv"))
    eb = Exchange(ben, "folder")
    op = ops_since(ben, {}, limit=1)[0]
    forged = op.__class__(op.replica, 999, op.hlc, "goals", "z" * 16, {"text": "forged"}, {},
                          op.sig)
    bad = Contents(ben.replica, int(latest.name[:12]), version_vector(ben), {}, (),
                   (encode_op(forged),))
    latest.write_bytes(seal(eb.key, eb.mailbox, "folder", bad, ben.keys.sign))
    first = sync(ada, shared)
    assert len(first.rejected) == 1 and "from Ben's" in first.rejected[0], first.rejected
    for _ in range(2):
        sync(ben, shared)
        assert not sync(ada, shared).rejected  # judged once
    assert "in the refused envelope" in {g["text"] for g in ada.rows("goals")}
    assert "forged" not in {g["text"] for g in ada.rows("goals")}
