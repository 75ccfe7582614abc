"""Issue 8, as real processes: exports never land on the wrong file, deletes come back.

`export -o` refuses every file of the open journal, anything that is not a regular file, and
leaves no temporary file behind when it fails; `list KIND --deleted` shows what was deleted,
by whom and when (the partner's deletes included), and `undo-delete` brings any of it back;
asking for a state an item is already in writes nothing and says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import stat
from pathlib import Path

import pytest

from comentor.model import Journal, add_goal
from comentor.model.testing import pair_in_process, sync_in_process

from .helpers import refused, run, snapshot


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def jpath(tmp_path: Path) -> Path:
    path = tmp_path / "cli.db"
    run(path, "init", "--name", "Ada")
    run(path, "add", "goal", "Write the field guide")
    return path


# ---------------------------------------------------------------- exports (point 2)
@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_export_refuses_every_file_of_the_journal(jpath: Path, suffix: str) -> None:
    before = digest(jpath)
    target = jpath.with_name(jpath.name + suffix)
    proc = run(jpath, "export", "md", "-o", str(target), ok=False)
    refused(proc, "is a file of your journal")
    assert digest(jpath) == before
    assert not target.exists() or suffix == ""
    assert json.loads(run(jpath, "list", "goal", "--json").stdout)[0]["text"] == \
        "Write the field guide"


def test_export_refuses_the_journal_by_another_name(jpath: Path, tmp_path: Path) -> None:
    link = tmp_path / "export.md"
    link.symlink_to(jpath)
    before = digest(jpath)
    refused(run(jpath, "export", "md", "-o", str(link), ok=False), "is a file of your journal")
    os.chdir(tmp_path)
    refused(run(jpath, "export", "json", "-o", "./cli.db", ok=False), "is a file of your journal")
    assert digest(jpath) == before and link.is_symlink()


def test_export_refuses_what_is_not_a_regular_file(jpath: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    refused(run(jpath, "export", "json", "-o", str(fifo), ok=False), "not a regular file")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    refused(run(jpath, "export", "json", "-o", str(tmp_path), ok=False), "it is a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cli.db", "pipe"]


def test_export_to_dev_full_refuses_and_leaves_the_device(jpath: Path, tmp_path: Path) -> None:
    """As root, an export once replaced /dev/full with a regular file. A device made here
    stands in for it where this test may make one (so a regression cannot break the host's
    /dev/full); elsewhere /dev/full itself is safe, since nobody else can replace it."""
    device = Path("/dev/full")
    try:
        os.mknod(tmp_path / "full", 0o666 | stat.S_IFCHR, os.stat(device).st_rdev)
        device = tmp_path / "full"
    except OSError:
        pass
    refused(run(jpath, "export", "json", "-o", str(device), ok=False), "not a regular file")
    assert stat.S_ISCHR(os.stat(device).st_mode)
    assert not [p for p in device.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_failed_export_leaves_no_temporary_file(jpath: Path, tmp_path: Path) -> None:
    for n in range(30):
        run(jpath, "add", "goal", f"goal {n} " + "x" * 1900)
    out = tmp_path / "out" / "export.json"
    out.parent.mkdir()

    def small_files() -> None:  # the export is larger than this: its write fails midway
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))

    proc = run(jpath, "export", "json", "-o", str(out), ok=False, preexec_fn=small_files)
    assert list(out.parent.iterdir()) == []
    refused(proc, "nothing was changed")
    out.write_text("the earlier export")
    proc = run(jpath, "export", "json", "-o", str(out), ok=False, preexec_fn=small_files)
    assert proc.returncode == 1
    assert [p.name for p in out.parent.iterdir()] == ["export.json"]
    assert out.read_text() == "the earlier export"


# ---------------------------------------------------------------- deleted items (point 3)
def test_the_partners_delete_is_listed_with_who_and_when_and_comes_back(tmp_path: Path) -> None:
    ada_path, ben_path = tmp_path / "ada.db", tmp_path / "ben.db"
    ada = Journal.create(ada_path, "Ada")
    ben = Journal.create(ben_path, "Ben", joining=True)
    pair_in_process(ada, ben)
    goal = add_goal(ada, "Write the field guide")
    sync_in_process(ada, ben)
    ada.close()
    ben.close()

    assert "deleted" in run(ben_path, "delete", goal[-8:]).stdout
    ada, ben = Journal.open(ada_path), Journal.open(ben_path)
    sync_in_process(ada, ben)
    ada.close()
    ben.close()

    assert json.loads(run(ada_path, "list", "goal", "--json").stdout) == []
    listed = run(ada_path, "list", "goal", "--deleted").stdout.splitlines()
    assert goal[-8:] in listed[0] and "by Ben" in listed[0] and "Write the field guide" in listed[0]
    (item,) = json.loads(run(ada_path, "list", "goal", "--deleted", "--json").stdout)
    assert item["id"] == goal and item["deleted_by"] == "Ben" and item["owner"] == "Ada"
    assert item["deleted_at"].endswith("Z") and not item["local"]

    assert "restored" in run(ada_path, "undo-delete", goal[-8:]).stdout
    assert [g["id"] for g in json.loads(run(ada_path, "list", "goal", "--json").stdout)] == [goal]
    assert "no deleted goal items" in run(ada_path, "list", "goal", "--deleted").stdout


def test_private_notes_and_drafts_are_listed_deleted_and_come_back(jpath: Path) -> None:
    note = run(jpath, "add", "note", "only mine", "--private").stdout.strip()
    draft = run(jpath, "add", "point", "Studio or not").stdout.strip()
    run(jpath, "delete", note)
    run(jpath, "delete", draft)
    (gone,) = json.loads(run(jpath, "list", "private", "--deleted", "--json").stdout)
    assert gone["id"] == note and gone["local"] and gone["deleted_by"] == "Ada"
    assert "on this device" in run(jpath, "list", "draft", "--deleted").stdout
    run(jpath, "undo-delete", draft)
    assert json.loads(run(jpath, "list", "draft", "--json").stdout)[0]["id"] == draft


def test_repeating_a_delete_a_restore_or_a_close_writes_nothing(jpath: Path) -> None:
    goal = json.loads(run(jpath, "list", "goal", "--json").stdout)[0]["id"]
    refused(run(jpath, "undo-delete", goal, ok=False), "is not deleted")
    run(jpath, "delete", goal)
    before = snapshot(jpath)
    refused(run(jpath, "delete", goal, ok=False), "already deleted")
    refused(run(jpath, "done", goal, ok=False), "undo-delete")
    assert snapshot(jpath) == before
    run(jpath, "undo-delete", goal)
    before = snapshot(jpath)
    refused(run(jpath, "undo-delete", goal, ok=False), "is not deleted")
    assert snapshot(jpath) == before
    commitment = run(jpath, "add", "commitment", "Call the bank").stdout.strip()
    run(jpath, "done", commitment)
    before = snapshot(jpath)
    refused(run(jpath, "drop", commitment, ok=False), "already done")
    refused(run(jpath, "done", commitment, ok=False), "already done")
    assert snapshot(jpath) == before
    run(jpath, "drop", goal)
    before = snapshot(jpath)
    refused(run(jpath, "done", goal, ok=False), "already dropped")
    assert snapshot(jpath) == before
