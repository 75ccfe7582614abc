"""Issue 10, point 4, as real processes: a backup that brings everything back.

`comentor backup` writes a consistent copy of the whole journal (private notes and keys
included), sealed with a passphrase when asked; `comentor restore` puts it back as a copy
that moves to a new epoch, so it never issues a (replica, seq) the device already used.
Two paired journals sync through a shared folder (no network) before and after a restore
(over the journal, or on a new machine), and end identical with every item present.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from comentor.model import Journal, add_goal, add_note, export_json
from comentor.model._schema import TABLES
from comentor.model.testing import paired_journals

from .helpers import refused, run, snapshot

NO_TTY = {"stdin": subprocess.DEVNULL}  # never a passphrase prompt in a test


def texts(journal: Path, kind: str, env: dict[str, str] | None = None) -> set[str]:
    out = run(journal, "list", kind, "--all", "--json", env=env).stdout
    return {item["text"] for item in json.loads(out)}


def sync(folder: Path, *sides: tuple[Path, dict[str, str] | None]) -> None:
    """Rounds of `sync-folder` on every side, until everything has gone both ways."""
    for _ in range(3):
        for journal, env in sides:
            run(journal, "sync-folder", str(folder), env=env)


def ops(journal: Path) -> dict[tuple[str, int], bytes]:
    """Every version a journal holds, by (replica, seq): applied, held back, or forked."""
    conn = sqlite3.connect(journal)
    try:
        found: dict[tuple[str, int], bytes] = {}
        for table in ("ops", "quarantine", "forks"):
            for replica, seq, sig in conn.execute(f"SELECT replica, seq, sig FROM {table}"):
                assert found.setdefault((replica, seq), sig) == sig, (
                    f"{replica}:{seq} names two operations")
        return found
    finally:
        conn.close()


def tables(journal: Path) -> dict[str, list[tuple[object, ...]]]:
    """The synced tables as they read (what both partners must agree on)."""
    conn = sqlite3.connect(journal)
    try:
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY id').fetchall() for t in TABLES}
    finally:
        conn.close()


def replica(journal: Path) -> str:
    conn = sqlite3.connect(journal)
    try:
        meta = dict(conn.execute("SELECT key, value FROM local_meta").fetchall())
    finally:
        conn.close()
    return f"{meta['device_id']}.{int(meta['epoch'] or 0)}"


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    paired_journals(tmp_path, close=True)
    return tmp_path / "ada.db", tmp_path / "ben.db"


@pytest.mark.parametrize("where", ["over-the-journal", "new-machine"])
def test_backup_restore_sync_loses_nothing_and_reuses_no_sequence_number(
        pair: tuple[Path, Path], tmp_path: Path, where: str) -> None:
    ada, ben = pair
    folder = tmp_path / "shared"
    folder.mkdir()
    run(ada, "add", "goal", "Ada before the backup")
    run(ada, "add", "note", "Ada's private thought", "--private")
    run(ben, "add", "goal", "Ben before the backup")
    sync(folder, (ada, None), (ben, None))
    backup = tmp_path / "ada-backup.db"
    made = run(ada, "backup", "-o", str(backup)).stdout
    assert "1 private note" in made and "this device's keys, the partnership key" in made

    # after the backup: Ada writes more (and it reaches Ben); the backup lacks it
    run(ada, "add", "goal", "Ada after the backup")
    run(ben, "add", "goal", "Ben after the backup")
    sync(folder, (ada, None), (ben, None))
    old_replica = replica(ada)
    old_ops = ops(ada)

    env: dict[str, str] | None = None
    if where == "over-the-journal":
        restored = ada
        said = run(ada, "restore", str(backup), "--force").stdout
        assert "kept as" in said and (tmp_path / "ada.db.before-restore").exists()
    else:  # a new machine: fresh home, data and state folders; the default journal path
        home = tmp_path / "new-machine"
        env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
               "XDG_STATE_HOME": str(home / "xstate"), "COMENTOR_STATE_DIR": str(home / "state")}
        proc = subprocess.run(
            [sys.executable, "-m", "comentor.tui.cli", "restore",
             str(backup)], capture_output=True, text=True, timeout=60,
            env=dict(os.environ, **env), stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stderr
        said = proc.stdout
        restored = home / "data" / "comentor" / "journal.db"
        assert restored.is_file()
    assert "Restored" in said and "1 private note" in said and "new replica id" in said
    assert replica(restored) != old_replica
    assert texts(restored, "goal", env) == {"Ada before the backup", "Ben before the backup"}

    run(restored, "add", "goal", "Ada after the restore", env=env)
    run(ben, "add", "goal", "Ben after the restore")
    sync(folder, (restored, env), (ben, None))

    every = {"Ada before the backup", "Ben before the backup", "Ada after the backup",
             "Ben after the backup", "Ada after the restore", "Ben after the restore"}
    assert texts(restored, "goal", env) == every == texts(ben, "goal")
    assert tables(restored) == tables(ben)
    assert ops(restored).keys() == ops(ben).keys()
    # no (replica, seq) ever names two operations, across every copy that ever wrote
    merged = dict(old_ops)
    for journal in (restored, ben):
        for key, sig in ops(journal).items():
            assert merged.setdefault(key, sig) == sig, f"{key} was issued twice"
    new_replica = replica(restored)
    assert any(r == new_replica for r, _ in ops(ben))  # what it wrote after the restore
    # the private note came back with the backup, and never left the device
    assert "private note" in run(restored, "search", "thought", env=env).stdout
    assert "private note" not in run(ben, "search", "thought").stdout


def test_a_sealed_backup_needs_its_passphrase_and_shows_no_text(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    run(journal, "init", "--name", "Ada Lovelace")
    run(journal, "add", "goal", "Negotiate the conference budget")
    run(journal, "add", "note", "Worried about the reorg", "--private")
    backup = tmp_path / "sealed.bak"
    said = run(journal, "backup", "-o", str(backup), "--passphrase",
               env={"COMENTOR_PASSPHRASE": "correct horse"}).stdout
    assert "sealed with a passphrase" in said
    data = backup.read_bytes()
    # (words of five bytes or more: three random bytes of ciphertext spelt "Ada" once)
    for text in (b"Negotiate", b"conference", b"reorg", b"Lovelace", b"SQLite format"):
        assert text not in data
    assert "Negotiate".encode("utf-16-le") not in data

    target = tmp_path / "restored.db"
    refused(run(target, "restore", str(backup), ok=False, **NO_TTY), "sealed")
    refused(run(target, "restore", str(backup), ok=False, **NO_TTY,
                env={"COMENTOR_PASSPHRASE": "wrong horse"}), "wrong passphrase")
    assert not target.exists()
    # a copy cut short is told apart before any passphrase; a changed byte cannot be
    cut, changed = tmp_path / "cut.bak", tmp_path / "changed.bak"
    cut.write_bytes(data[:-1000])  # 1,000 bytes: never a whole number of pages
    changed.write_bytes(data[:-100] + bytes([data[-100] ^ 1]) + data[-99:])
    refused(run(target, "restore", str(cut), ok=False, **NO_TTY), "is cut short or damaged")
    refused(run(target, "restore", str(changed), ok=False, **NO_TTY,
                env={"COMENTOR_PASSPHRASE": "correct horse"}),
            "or the file was changed after it was written")
    assert not target.exists()
    run(target, "restore", str(backup), env={"COMENTOR_PASSPHRASE": "correct horse"}, **NO_TTY)
    assert texts(target, "goal") == {"Negotiate the conference budget"}
    assert "reorg" in run(target, "search", "reorg").stdout


def test_a_locked_device_key_is_restored_locked(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    secret = {"COMENTOR_PASSPHRASE": "device secret"}
    run(journal, "init", "--name", "Ada", "--lock", env=secret)
    run(journal, "add", "goal", "Locked away", env=secret)
    run(journal, "backup", "-o", str(tmp_path / "b.db"))  # needs no passphrase
    target = tmp_path / "restored.db"
    refused(run(target, "restore", str(tmp_path / "b.db"), ok=False, **NO_TTY), "locked")
    run(target, "restore", str(tmp_path / "b.db"), env=secret, **NO_TTY)
    refused(run(target, "list", "goal", ok=False, **NO_TTY), "locked")
    assert texts(target, "goal", secret) == {"Locked away"}


def test_a_sealed_backup_of_a_locked_key_with_its_own_passphrase_restores_from_cron(
        tmp_path: Path) -> None:
    """Two secrets and no terminal: the backup's passphrase has a variable of its own."""
    journal, sealed = tmp_path / "j.db", tmp_path / "sealed.bak"
    device = {"COMENTOR_PASSPHRASE": "device secret"}
    both = {**device, "COMENTOR_BACKUP_PASSPHRASE": "backup secret"}
    run(journal, "init", "--name", "Ada", "--lock", env=device)
    run(journal, "add", "goal", "Locked away", env=device)
    run(journal, "backup", "-o", str(sealed), "--passphrase", env=both, **NO_TTY)
    target = tmp_path / "restored.db"
    refused(run(target, "restore", str(sealed), ok=False, env=device, **NO_TTY),
            "wrong passphrase for the backup")
    run(target, "restore", str(sealed), env=both, **NO_TTY)
    assert texts(target, "goal", device) == {"Locked away"}
    refused(run(journal, "backup", "-o", "-", ok=False), "a backup is written to a file")
    assert not (tmp_path / "-").exists() and not Path("-").exists()


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_backup_never_writes_over_the_journal(tmp_path: Path, suffix: str) -> None:
    journal = tmp_path / "j.db"
    run(journal, "init", "--name", "Ada")
    run(journal, "add", "goal", "Keep me")
    before = snapshot(journal)
    said = "is a comentor journal, not a backup" if not suffix else "is a file of your journal"
    refused(run(journal, "backup", "-o", str(journal) + suffix, ok=False), said)
    link = tmp_path / "backup.db"
    link.symlink_to(journal.with_name(journal.name + suffix))
    refused(run(journal, "backup", "-o", str(link), ok=False), said)
    assert snapshot(journal) == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_backup_replaces_an_older_backup_but_never_another_journal(tmp_path: Path) -> None:
    journal, other = tmp_path / "j.db", tmp_path / "other.db"
    run(journal, "init", "--name", "Ada")
    run(other, "init", "--name", "Ben")
    before = snapshot(other)
    refused(run(journal, "backup", "-o", str(other), ok=False), "not a backup")
    assert snapshot(other) == before
    backup = tmp_path / "b.db"
    run(journal, "backup", "-o", str(backup))
    run(journal, "add", "goal", "Newer")
    run(journal, "backup", "-o", str(backup))  # the older backup is replaced
    run(journal, "backup", "-o", str(backup), "--passphrase", env={"COMENTOR_PASSPHRASE": "x"})
    run(journal, "backup", "-o", str(backup))  # and a sealed one too
    restored = tmp_path / "restored.db"
    run(restored, "restore", str(backup))
    assert texts(restored, "goal") == {"Newer"}
    refused(run(journal, "backup", "-o", str(restored), ok=False), "not a backup")


_UNCHECKPOINTED = """
import os, sys
from comentor.model import Journal, add_goal
j = Journal.open(sys.argv[1])
j.conn.execute("PRAGMA wal_autocheckpoint = 0")
add_goal(j, "Only in the WAL")
os._exit(0)  # no checkpoint, no close: the change lives in the -wal file alone
"""


@pytest.mark.parametrize("command", [["export", "md"], ["export", "ics"], ["backup"]])
@pytest.mark.parametrize("suffix", ["-wal", "-shm"])
def test_no_write_replaces_another_journals_wal_or_shm(tmp_path: Path, command: list[str],
                                                       suffix: str) -> None:
    """Ben's journal's latest change is still in its -wal: writing over that file (a typo
    in -o) would lose it. Every command that writes a file the user names refuses."""
    journal, other = tmp_path / "j.db", tmp_path / "other.db"
    run(journal, "init", "--name", "Ada")
    run(other, "init", "--name", "Ben")
    subprocess.run([sys.executable, "-c", _UNCHECKPOINTED, str(other)], check=True)
    target = tmp_path / f"other.db{suffix}"
    assert target.exists()
    before = target.read_bytes()
    refused(run(journal, *command, "-o", str(target), ok=False),
            "is part of the database other.db")
    assert target.read_bytes() == before
    assert "Only in the WAL" in texts(other, "goal")


def test_the_kept_journal_holds_its_latest_writes_and_restores_with_them(
        tmp_path: Path) -> None:
    """A program wrote to the journal just before `restore --force` put another in its
    place; those writes were in its -wal, which SQLite does not merge into a renamed file:
    the kept `.before-restore` lacked them on its own, and restoring it lost them."""
    journal, backup = tmp_path / "j.db", tmp_path / "b.db"
    run(journal, "init", "--name", "Ada")
    run(journal, "backup", "-o", str(backup))
    subprocess.run([sys.executable, "-c", _UNCHECKPOINTED, str(journal)], check=True)
    run(journal, "restore", str(backup), "--force")
    kept = tmp_path / "j.db.before-restore"
    alone = tmp_path / "alone.db"  # the kept file by itself, as a copy of it would be
    alone.write_bytes(kept.read_bytes())
    assert "Only in the WAL" in texts(alone, "goal")
    # a kept journal whose -wal still holds changes (written after the fold) restores whole
    subprocess.run([sys.executable, "-c", _UNCHECKPOINTED.replace("Only in the WAL", "Later"),
                    str(kept)], check=True)
    assert (tmp_path / "j.db.before-restore-wal").stat().st_size > 0
    run(journal, "restore", str(kept), "--force")
    assert texts(journal, "goal") >= {"Only in the WAL", "Later"}


def test_backup_to_a_fifo_is_refused_not_a_hang(tmp_path: Path) -> None:
    journal, fifo = tmp_path / "j.db", tmp_path / "pipe"
    run(journal, "init", "--name", "Ada")
    os.mkfifo(fifo)
    refused(run(journal, "backup", "-o", str(fifo), ok=False), "not a regular file")
    assert fifo.is_fifo()


def test_a_full_output_says_so_in_one_line(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    run(journal, "init", "--name", "Ada")
    for command in (["export", "md"], ["export", "json"], ["status"]):
        with open("/dev/full", "w") as full:
            got = subprocess.run(
                [sys.executable, "-m", "comentor.tui.cli", "--journal", str(journal), *command],
                stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
        assert (got.returncode, got.stderr) == (
            1, "comentor: cannot write: the disk is full\n"), command


def test_restore_refuses_what_it_must_not_replace(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    run(journal, "init", "--name", "Ada")
    run(journal, "add", "goal", "The journal in place")
    backup = tmp_path / "b.db"
    run(journal, "backup", "-o", str(backup))
    run(journal, "add", "goal", "Written after the backup")
    before = snapshot(journal)

    refused(run(journal, "restore", str(backup), ok=False), "--force")
    refused(run(journal, "restore", str(journal), "--force", ok=False), "the journal itself")
    other = tmp_path / "notes.txt"
    other.write_text("not a backup")
    refused(run(journal, "restore", str(other), "--force", ok=False), "not a comentor backup")
    refused(run(journal, "restore", str(tmp_path / "missing.db"), ok=False), "no backup at")
    assert snapshot(journal) == before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("j.db")) == \
        ["b.db", "notes.txt"]

    run(journal, "restore", str(backup), "--force")
    assert texts(journal, "goal") == {"The journal in place"}
    kept = tmp_path / "j.db.before-restore"
    assert snapshot(kept) == before


def test_the_json_export_schema_is_documented(tmp_path: Path) -> None:
    """docs/export-json.md names every top-level key the export writes, and every field of
    every array (a table or field added to the schema must be documented)."""
    doc = (Path(__file__).parents[2] / "docs" / "export-json.md").read_text(encoding="utf-8")
    with Journal.create(tmp_path / "j.db", "Ada") as j:
        add_goal(j, "Ship it")
        add_note(j, "only here", private=True)
        data = json.loads(export_json(j, private=True))
    assert data["format"] == "comentor-export-1" and "`comentor-export-1`" in doc
    sections = {part.split("`", 1)[0]: part for part in doc.split("\n### `")[1:]}
    for key, value in data.items():
        assert f"`{key}`" in doc.split("\n## The tables")[0], key
        if isinstance(value, list):
            fields = set(TABLES.get(key, {})) | {k for row in value for k in row}
            if key in TABLES:  # "every row also has `id`", said once for them all
                fields.discard("id")
            for name in fields:
                assert f"| `{name}` |" in sections[key], f"{key}.{name}"
    assert set(TABLES) <= set(data)
