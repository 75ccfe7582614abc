"""`list` and `search` at the terminal's width, and whole when piped: real processes, the
terminal a real pseudo-terminal of the width given (COLUMNS)."""

from __future__ import annotations

import datetime as dt
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from comentor.tui.text import clip, columns

from .helpers import run

LONG = ("Ship the field guide to every co-mentor in the programme before the spring term "
        "starts, with translations into three languages and a printed copy for the library")
WIDE = "田中さんとの面談の準備をする" * 3  # two columns a character


@pytest.fixture
def jpath(tmp_path: Path) -> Path:
    path = tmp_path / "j.db"
    run(path, "init", "--name", "Ada")
    for text in (LONG, WIDE, "A short goal"):
        run(path, "add", "goal", text)
    return path


def on_terminal(journal: Path, *args: str, width: int) -> list[str]:
    """The command's lines as a terminal `width` columns wide shows them."""
    main, tty = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "comentor.tui.cli", "--journal", str(journal), *args],
            stdout=tty, stderr=subprocess.PIPE, env=dict(os.environ, COLUMNS=str(width)),
            timeout=60, check=False)
        os.close(tty)
        tty = -1
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal's other end closed: all of it read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(main)
        if tty >= 0:
            os.close(tty)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr
    return b"".join(chunks).decode().replace("\r\n", "\n").splitlines()


@pytest.mark.parametrize("width", [60, 100])
def test_list_and_search_fit_the_terminal(jpath: Path, width: int) -> None:
    for args in (("list", "goals"), ("search", "the"), ("search", "面談")):
        lines = on_terminal(jpath, *args, width=width)
        assert lines, args
        for line in lines:
            assert columns(line) <= width, (args, line)
    listed = on_terminal(jpath, "list", "goals", width=width)
    assert any(line.endswith("A short goal") for line in listed)  # short text left whole
    assert any(line.endswith("…") and "Ship the field" in line for line in listed)


def test_piped_lines_keep_the_whole_text(jpath: Path) -> None:
    listed = run(jpath, "list", "goals").stdout.splitlines()
    assert any(line.endswith(LONG) for line in listed)
    assert any(line.endswith(WIDE) for line in listed)


def test_a_search_result_says_whose_and_which_day(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    run(path, "init", "--name", "Ada Lovelace")
    run(path, "add", "win", "Gave the pricing talk", "--date", "2026-03-04")
    before = dt.date.today().isoformat()
    run(path, "add", "goal", "Raise pricing")
    lines = run(path, "search", "pricing").stdout.splitlines()
    days = {before, dt.date.today().isoformat()}  # (a test run across midnight)
    assert any("  2026-03-04  Ada Lovelace  win   Gave the [pricing] talk" in line
               for line in lines), lines  # a win on the day it happened
    assert any(f"  {day}  Ada Lovelace  goal  Raise [pricing]" in line
               for line in lines for day in days), lines


def test_a_wide_owner_name_keeps_the_line_in_the_terminal(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    run(path, "init", "--name", "田中太郎さんの名前です")  # 22 columns in 11 characters
    run(path, "add", "goal", LONG)
    for line in on_terminal(path, "list", "goals", width=60):
        assert columns(line) <= 60, line


def test_clip_counts_columns() -> None:
    assert clip("abcdef", 4) == "abc…"
    assert clip("abc", 3) == "abc" and clip("abc", None) == "abc"
    assert clip("田中さん", 5) == "田中…" and columns(clip("田中さん", 5)) == 5
    assert columns("e\u0301") == 1  # a combining accent takes no column
    assert columns("a\u200bb") == 2  # nor a zero-width space
