"""Running `comentor` as a real process, and looking at a journal from outside."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["run", "refused", "snapshot"]


def run(journal: Path, *args: str, ok: bool = True, env: dict[str, str] | None = None,
        **kw: Any) -> subprocess.CompletedProcess[str]:
    """`comentor --journal JOURNAL ARGS`; with `ok`, it must succeed. Never a traceback."""
    full_env = dict(os.environ, COMENTOR_BUSY_TIMEOUT="0.3", **(env or {}))
    proc = subprocess.run(
        [sys.executable, "-m", "comentor.tui.cli", "--journal", str(journal), *args],
        capture_output=True, text=True, env=full_env, timeout=60, errors="surrogateescape",
        **kw,
    )
    assert "Traceback" not in proc.stderr
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def refused(proc: subprocess.CompletedProcess[str], words: str) -> None:
    """The command failed with exit 1 and one line on stderr that says `words`."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1 and words in lines[0], proc.stderr


def snapshot(path: Path) -> bytes:
    """Everything the journal file holds, to compare before and after a command."""
    conn = sqlite3.connect(path)
    data = "\n".join(conn.iterdump()).encode()
    conn.close()
    return data
