"""A damaged, read-only, full or newer journal, as the command line meets it (real processes).

Every command either works or refuses with one line (no traceback, no "unexpected error",
a non-zero exit), and a refused write leaves the file's bytes as they were. The read-only
folder is a read-only bind mount and the full disk a tiny tmpfs (tests run as root, where
chmod stops no write): both skip cleanly where mounting is not permitted.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from comentor import model as m
from comentor.model._journal import Journal

READS = (("list", "goal"), ("status",), ("export", "json"), ("search", "Goal"))
WRITES = (("add", "goal", "written after the damage"), ("edit", "GOAL", "changed text"))


def cli(journal: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "comentor.tui.cli", *args, "--journal", str(journal)],
        capture_output=True, text=True, env=dict(os.environ, COMENTOR_BUSY_TIMEOUT="0.3"),
        timeout=60,
    )
    assert "Traceback" not in proc.stderr and "unexpected error" not in proc.stderr, proc.stderr
    if proc.returncode != 0:
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("comentor: "), proc.stderr
    return proc


def hundred_items(path: Path) -> str:
    """A journal with a hundred items of four kinds; returns one goal's id."""
    j = Journal.create(path, "Ada")
    goal = ""
    for i in range(40):
        goal = m.add_goal(j, f"Goal {i}: finish the chapter on pricing")
    for i in range(30):
        m.add_commitment(j, f"Commitment {i}: call the printer", due="2026-06-01")
    for i in range(20):
        m.add_win(j, f"Win {i}: a client said yes", date="2026-01-05")
    for i in range(10):
        j.add_private_note(f"Private thought {i}")
    j.close()
    return goal


def _command(cmd: tuple[str, ...], goal: str) -> list[str]:
    return [goal[-8:] if part == "GOAL" else part for part in cmd]


@pytest.mark.parametrize("chunk", range(5))
def test_flipped_bytes_every_command_works_or_refuses_and_nothing_lands(
        tmp_path: Path, chunk: int) -> None:
    original = tmp_path / "j.db"
    goal = hundred_items(original)
    data = original.read_bytes()
    named = 0
    for trial in range(chunk * 10, chunk * 10 + 10):  # 50 seeded trials in all
        rnd = random.Random(trial)
        spoilt = bytearray(data)
        for _ in range(50):
            spoilt[rnd.randrange(len(spoilt))] ^= rnd.randrange(1, 256)
        path = tmp_path / f"trial{trial}.db"
        path.write_bytes(bytes(spoilt))
        damaged = False
        for cmd in READS:
            proc = cli(path, *cmd)
            damaged |= "is damaged" in proc.stderr
        for cmd in WRITES:
            before = path.read_bytes()
            proc = cli(path, *_command(cmd, goal))
            damaged |= "is damaged" in proc.stderr
            if damaged or proc.returncode != 0:
                assert proc.returncode != 0, f"trial {trial}: {cmd[0]} wrote to a damaged journal"
                assert path.read_bytes() == before, f"trial {trial}: {cmd[0]} changed the file"
        named += damaged
        assert not any(p.exists() for p in (Path(f"{path}-wal"), Path(f"{path}-shm")))
    assert named >= 5  # almost every trial is seen; the rest read and write fine


def test_a_truncated_journal_is_damaged_not_something_else(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    hundred_items(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    before = path.read_bytes()
    for cmd in (("list", "goal"), ("add", "goal", "never lands")):
        proc = cli(path, *cmd)
        assert proc.returncode == 1
        assert "is damaged" in proc.stderr and "comentor repair" in proc.stderr
        assert "not a comentor journal" not in proc.stderr
    assert path.read_bytes() == before


def test_a_newer_schema_is_read_and_refuses_writes_naming_the_version(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    goal = hundred_items(path)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                 "VALUES ('comentor', 'm099_from_the_future', '2030-01-01')")
    conn.execute("UPDATE local_meta SET value = '99.0.0' WHERE key = 'needs_version'")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    assert len(json.loads(cli(path, "list", "goal", "--json").stdout)) == 40
    for cmd in WRITES:
        proc = cli(path, *_command(cmd, goal))
        assert proc.returncode == 1 and "comentor 99.0.0" in proc.stderr
    assert path.read_bytes() == before


def test_repair_rebuilds_a_damaged_journal_into_a_new_file(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    hundred_items(path)
    conn = sqlite3.connect(path)
    want = {bytes(s) for (s,) in conn.execute("SELECT sig FROM ops")}
    conn.close()
    data = bytearray(path.read_bytes())
    data[100:600] = b"\xa5" * 500  # the table of tables: SQLite reaches nothing
    path.write_bytes(bytes(data))
    assert "is damaged" in cli(path, "list", "goal").stderr
    proc = cli(path, "repair")
    assert proc.returncode == 0
    assert f"Recovered {len(want)} operations" in proc.stdout
    assert path.read_bytes() == bytes(data)
    new = tmp_path / "j-repaired.db"
    conn = sqlite3.connect(new)
    assert {bytes(s) for (s,) in conn.execute("SELECT sig FROM ops")} == want
    conn.close()
    assert len(json.loads(cli(new, "list", "goal", "--json").stdout)) == 40
    assert len(json.loads(cli(new, "list", "win", "--json").stdout)) == 20
    assert cli(new, "add", "goal", "after the repair").returncode == 0
    again = cli(path, "repair")
    assert again.returncode == 1 and "already exists" in again.stderr


def test_a_damaged_device_key_is_refused_at_open_and_by_repair_plainly(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    hundred_items(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE local_keys SET sign_secret = x'0102'")
    conn.close()
    for args in (("add", "goal", "x"), ("status",)):
        proc = cli(path, *args)
        assert proc.returncode == 1 and "is damaged" in proc.stderr
        assert "unexpected" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    proc = cli(path, "repair")
    assert proc.returncode == 1 and "keys cannot be read" in proc.stderr
    assert "comentor join" in proc.stderr and "unexpected" not in proc.stderr


# ---------------------------------------------------------------- mounts (root only)
def _mount(*args: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _umount(where: Path) -> None:
    if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(a folder, the same folder seen through a read-only bind mount)."""
    src, ro = tmp_path / "src", tmp_path / "ro"
    src.mkdir()
    ro.mkdir()
    if not _mount("--bind", str(src), str(ro)):
        pytest.skip("bind mounts are not permitted here")
    try:
        if not _mount("-o", "remount,ro,bind", str(ro)):
            pytest.skip("read-only remounts are not permitted here")
        yield src, ro
    finally:
        _umount(ro)


def test_a_read_only_folder_reads_and_refuses_writes_plainly(
        read_only_folder: tuple[Path, Path]) -> None:
    src, ro = read_only_folder
    goal = hundred_items(src / "j.db")
    before = (src / "j.db").read_bytes()
    path = ro / "j.db"
    assert len(json.loads(cli(path, "list", "goal", "--json").stdout)) == 40
    for cmd in READS:
        assert cli(path, *cmd).returncode == 0
    for cmd in WRITES:
        proc = cli(path, *_command(cmd, goal))
        assert proc.returncode == 1 and "is read-only" in proc.stderr
    assert (src / "j.db").read_bytes() == before
    assert os.listdir(src) == ["j.db"]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "disk"
    where.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)):
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield where
    finally:
        _umount(where)


def _fill(disk: Path, leave: int = 0) -> None:
    """Fill the disk, leaving about `leave` bytes free."""
    filler = disk / "filler"
    try:
        with open(filler, "ab") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
    except OSError:
        pass
    if leave:
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        os.truncate(filler, max(0, filler.stat().st_size - (leave - free)))


def test_a_full_disk_changes_nothing_and_says_so(tmp_path: Path, tiny_disk: Path) -> None:
    hundred_items(tmp_path / "j.db")
    path = tiny_disk / "j.db"
    shutil.copyfile(tmp_path / "j.db", path)
    _fill(tiny_disk)
    before = path.read_bytes()
    files = sorted(os.listdir(tiny_disk))
    proc = cli(path, "add", "goal", "never lands")
    assert proc.returncode == 1
    assert proc.stderr.startswith("comentor: the disk is full: nothing was changed")
    assert len(json.loads(cli(path, "list", "goal", "--json").stdout)) == 40
    proc = cli(tiny_disk / "new.db", "init", "--name", "Bo")
    assert proc.returncode == 1 and "the disk is full" in proc.stderr
    assert sorted(os.listdir(tiny_disk)) == files  # no empty or half-made journal
    assert path.read_bytes() == before
    # room to start a write but not to finish it: SQLite's own "full", rolled back
    _fill(tiny_disk, leave=256 * 1024)
    proc = cli(path, "add", "story", "a long story " * 7000)
    assert proc.returncode == 1 and "the disk is full: nothing was changed" in proc.stderr
    assert path.read_bytes() == before
    assert json.loads(cli(path, "list", "story", "--json").stdout) == []
    assert sorted(os.listdir(tiny_disk)) == files


def test_the_last_line_of_defence_tells_sqlite_errors_by_their_code(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from comentor.tui.cli import main, reports

    def fails(code: int) -> None:
        exc = sqlite3.DatabaseError("some words nobody parses")
        exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        raise exc

    for code, said, status in ((sqlite3.SQLITE_CORRUPT, "is damaged", 1),
                               (sqlite3.SQLITE_FULL, "the disk is full", 1),
                               (sqlite3.SQLITE_READONLY, "is read-only", 1),
                               (sqlite3.SQLITE_ERROR, "unexpected error", 70)):
        monkeypatch.setitem(reports.HANDLERS, "status", lambda args, c=code: fails(c))
        assert main(["status", "--journal", str(tmp_path / "j.db")]) == status
        err = capsys.readouterr().err
        assert said in err and len(err.splitlines()) == 1
