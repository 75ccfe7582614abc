"""Runs the atheris harness of the network decoders for about ten seconds."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).parents[1] / "fuzz" / "fuzz_decoders.py"


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None,
                    reason="atheris is not installed (pip install atheris) on this machine")
def test_atheris_finds_no_crash_in_the_decoders(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(HARNESS), "-max_total_time=10", "-rss_limit_mb=2048",
         f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done" in done.stderr and "#" in done.stderr  # it really ran inputs
    assert not list(tmp_path.glob("crash-*"))
