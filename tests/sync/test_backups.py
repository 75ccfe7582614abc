"""Issue 8, point 1, as real processes: a journal restored from a backup loses nothing.

Each "machine" is its own home folder (HOME, XDG dirs and the state folder), so a machine
that never saw the journal has no state folder at all. Ada's device is restored from a
backup on the same machine, on a new machine, on two new machines at once, with its state
folder restored too (a full home backup: nothing local can tell it is a copy), and while
its app runs (a `comentor serve` process stands in for the app). Every time, after a few
ordinary syncs with Ben's device, both sides hold every item and identical tables.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from comentor.model import Journal
from comentor.model._projection import digest
from comentor.model.testing import paired_journals

from .test_sync_lan import Serve, run


class Machine:
    """A home folder: the commands run there see only its own state folder."""

    def __init__(self, root: Path, name: str) -> None:
        self.home = root / f"home-{name}"
        self.env = dict(os.environ, HOME=str(self.home),
                        XDG_DATA_HOME=str(self.home / "data"),
                        XDG_STATE_HOME=str(self.home / "state"),
                        XDG_CONFIG_HOME=str(self.home / "config"),
                        COMENTOR_STATE_DIR=str(self.home / "state" / "comentor"),
                        COMENTOR_LAN_INTERFACES="127.0.0.1")

    def cli(self, journal: Path, *args: str, ok: bool = True) -> str:
        got = run("--journal", str(journal), *args, env=self.env, timeout=150)
        assert "Traceback" not in got.stderr
        if ok:
            assert got.returncode == 0, got.stderr
        return got.stdout + got.stderr

    def add_goals(self, journal: Path, *titles: str) -> None:
        for title in titles:
            self.cli(journal, "add", "goal", title)

    def sync(self, journal: Path, port: int) -> str:
        # a long timeout: a loaded CI machine may be slow, and a hang would still show
        return self.cli(journal, "sync", "--peer", f"127.0.0.1:{port}", "--once",
                        "--timeout", "90")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Machine, Machine]:
    """Ada's journal on machine A, Ben's on machine B, paired; each machine's state folder
    as the commands that made the journals would have left it."""
    a, b = Machine(tmp_path, "a"), Machine(tmp_path, "b")
    monkeypatch.setenv("COMENTOR_STATE_DIR", a.env["COMENTOR_STATE_DIR"])
    paired_journals(tmp_path, ("Ada", "Ben"), close=True)
    shutil.copytree(a.home / "state", b.home / "state")
    return tmp_path / "ada.db", tmp_path / "ben.db", a, b


def backup(journal: Path, to: Path) -> Path:
    """A consistent copy, as a backup tool (or `sqlite3 .backup`) takes it."""
    src, dst = sqlite3.connect(journal), sqlite3.connect(to)
    src.backup(dst)
    src.close()
    dst.close()
    return to


def titles(journal: Path) -> set[str]:
    j = Journal.open(journal)
    try:
        return {str(g["text"]) for g in j.rows("goals")}
    finally:
        j.close()


def same(*journals: Path) -> bool:
    found = []
    for path in journals:
        j = Journal.open(path)
        found.append(digest(j.conn))
        j.close()
    return all(d == found[0] for d in found)


def goals(prefix: str) -> list[str]:
    return [f"{prefix} goal {i}" for i in range(1, 6)]


def test_restored_on_the_same_machine(world: tuple[Path, Path, Machine, Machine],
                                      tmp_path: Path) -> None:
    ada, ben, a, b = world
    saved = backup(ada, tmp_path / "saved.db")
    serve = Serve(ben, "--no-discovery", env=b.env)
    try:
        a.add_goals(ada, *goals("before"))
        a.sync(ada, serve.port)
        for suffix in ("-wal", "-shm"):
            Path(f"{ada}{suffix}").unlink(missing_ok=True)
        shutil.copy(saved, ada)  # the old file is back, the state folder is not older
        a.add_goals(ada, *goals("after"))
        out = a.sync(ada, serve.port)
        a.sync(ada, serve.port)
    finally:
        serve.stop()
    want = set(goals("before") + goals("after"))
    assert titles(ada) == titles(ben) == want, out
    assert same(ada, ben)


def test_restored_on_two_new_machines(world: tuple[Path, Path, Machine, Machine],
                                      tmp_path: Path) -> None:
    """The same backup on a laptop and on a desktop (no state folder on either): both move
    to a new epoch, and they never pick the same one (this morning both picked epoch 1,
    reused each other's numbers, and the second sync said "sent 0, received 0")."""
    ada, ben, a, b = world
    saved = backup(ada, tmp_path / "saved.db")
    laptop, desktop = Machine(tmp_path, "laptop"), Machine(tmp_path, "desktop")
    copies = {laptop: tmp_path / "laptop.db", desktop: tmp_path / "desktop.db"}
    serve = Serve(ben, "--no-discovery", env=b.env)
    try:
        a.add_goals(ada, *goals("original"))
        a.sync(ada, serve.port)
        for machine, path in copies.items():
            shutil.copy(saved, path)
            machine.add_goals(path, *goals(machine.home.name))
            machine.sync(path, serve.port)
        for _ in range(2):
            a.sync(ada, serve.port)
            for machine, path in copies.items():
                machine.sync(path, serve.port)
    finally:
        serve.stop()
    want = set(goals("original") + goals("home-laptop") + goals("home-desktop"))
    for path in (ada, ben, *copies.values()):
        assert titles(path) == want, path.name
    assert same(ada, ben, *copies.values())


def test_restored_with_its_state_folder_forks_and_heals(
        world: tuple[Path, Path, Machine, Machine], tmp_path: Path) -> None:
    """A full home backup restored on a new machine: the state folder says nothing is
    wrong, so the copy writes under numbers the original already used (a fork). The sync
    keeps both versions, the copy re-issues what it wrote under a new epoch, and once the
    original syncs too every item is everywhere (this morning: "sync refused")."""
    ada, ben, a, b = world
    saved = backup(ada, tmp_path / "saved.db")
    restored = Machine(tmp_path, "restored")
    shutil.copytree(a.home, restored.home)  # the whole home folder, state included
    serve = Serve(ben, "--no-discovery", env=b.env)
    try:
        a.add_goals(ada, *goals("original"))
        a.sync(ada, serve.port)
        copy = tmp_path / "copy.db"
        shutil.copy(saved, copy)
        restored.add_goals(copy, *goals("copy"))
        said = restored.sync(copy, serve.port)
        assert "re-issued" in said, said
        said = a.sync(ada, serve.port)
        assert "re-issued" in said, said
        restored.sync(copy, serve.port)
        a.sync(ada, serve.port)
    finally:
        serve.stop()
    want = set(goals("original") + goals("copy"))
    for path in (ada, ben, copy):
        assert titles(path) == want, path.name
    assert same(ada, ben, copy)


def test_restored_while_the_app_runs(world: tuple[Path, Path, Machine, Machine],
                                     tmp_path: Path) -> None:
    """Ada's app (here `comentor serve`) keeps running while the backup is moved into
    place: it lets go of the old file at once (its log never reaches the restored one) and
    syncs the restored file from then on."""
    ada, ben, a, b = world
    saved = backup(ada, tmp_path / "saved.db")
    app = Serve(ada, "--no-discovery", env=a.env)
    try:
        a.add_goals(ada, *goals("before"))
        b.sync(ben, app.port)
        assert set(goals("before")) <= titles(ben)
        shutil.copy(saved, tmp_path / "restoring.db")
        os.replace(tmp_path / "restoring.db", ada)  # as a backup tool restores a file
        assert app.proc.stderr is not None
        said: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [said.put(x) for x in app.proc.stderr or []],
                         daemon=True).start()
        line = ""
        with contextlib.suppress(queue.Empty):
            while "replaced" not in line:
                line = said.get(timeout=10)
        assert "replaced" in line, line
        a.add_goals(ada, *goals("after"))
        b.sync(ben, app.port)
        b.sync(ben, app.port)
    finally:
        code, out, err = app.stop()
    assert code == 0, err
    want = set(goals("before") + goals("after"))
    assert titles(ada) == titles(ben) == want
    assert same(ada, ben)
    with sqlite3.connect(ada) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
