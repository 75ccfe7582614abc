"""A second connection in this process never drops the first one's locks (see _held.py).

POSIX locks belong to the process: reading the journal's first bytes with a plain open and
close, as the health check does for a file it does not know yet, released the WAL-mode lock
of a connection this process already held. Another process closing its connection then
believed it was the last, checkpointed and removed the -wal and -shm under the live
connection, whose next read said "damaged". Real processes and the real journal here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from comentor.model import Journal, add_goal


def _add_in_another_process(path: Path, text: str) -> None:
    subprocess.run([sys.executable, "-m", "comentor.tui.cli", "--journal", str(path), "add",
                    "goal", text], check=True, capture_output=True, timeout=60)


def test_opening_the_journal_again_keeps_the_first_connections_locks(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    Journal.create(path, "Ada").close()
    first = Journal.open(path)
    try:
        add_goal(first, "Before")
        for n in range(3):  # as `serve` recorded each sync on a short connection of its own
            Journal.open(path).close()
            _add_in_another_process(path, f"From the command line {n}")
            add_goal(first, f"Still writing {n}")
        texts = {g["text"] for g in first.rows("goals")}
        assert texts >= {"Before", "From the command line 2", "Still writing 2"}
        assert first.conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    finally:
        first.close()
