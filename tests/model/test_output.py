"""Writing a file the user named never touches the journal, a device or a folder."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from comentor.model._output import journal_files, write_file_safely
from comentor.model.errors import ValidationError


def test_writes_atomically_and_replaces_a_regular_file(tmp_path: Path) -> None:
    target = tmp_path / "out.md"
    target.write_text("old")
    write_file_safely(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_refuses_every_file_of_the_journal(tmp_path: Path, suffix: str) -> None:
    journal = tmp_path / "j.db"
    for f in journal_files(journal)[:3]:
        f.write_bytes(b"precious")
    target = journal.with_name(journal.name + suffix)
    with pytest.raises(ValidationError) as err:
        write_file_safely(target, b"x", protect=journal_files(journal))
    assert err.value.field("option") == "output"
    assert target.read_bytes() == b"precious"


def test_refuses_the_journal_through_a_symlink_or_relative_path(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    journal = tmp_path / "j.db"
    journal.write_bytes(b"precious")
    link = tmp_path / "link.md"
    link.symlink_to(journal)
    with pytest.raises(ValidationError):
        write_file_safely(link, b"x", protect=journal_files(journal))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError):
        write_file_safely("j.db", b"x", protect=journal_files(journal))
    assert journal.read_bytes() == b"precious"


def test_refuses_devices_folders_and_fifos(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for target in (Path("/dev/full"), Path("/dev/null"), tmp_path, fifo):
        with pytest.raises(ValidationError):
            write_file_safely(target, b"x")
    assert Path("/dev/full").is_char_device()
    assert fifo.is_fifo()


def test_a_full_disk_leaves_nothing_behind(tmp_path: Path) -> None:
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        (mnt / "out.md").write_bytes(b"old")
        with pytest.raises(ValidationError, match="disk is full"):
            write_file_safely(mnt / "out.md", b"x" * 1_000_000)
        assert sorted(p.name for p in mnt.iterdir()) == ["out.md"]
        assert (mnt / "out.md").read_bytes() == b"old"
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
