"""A sync with a peer named on the command line never loads zeroconf (issue 11): it is a
direct TCP connection, and importing mDNS cost about 25 ms of every such process. Both
sides are real processes: `comentor serve --no-discovery` and `comentor sync --once --peer`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from comentor.model import testing

from .test_imports import WRAPPER


def test_sync_with_a_named_peer_loads_no_zeroconf(tmp_path: Path) -> None:
    testing.paired_journals(tmp_path, close=True, sync=False)
    ada_path, ben_path = tmp_path / "ada.db", tmp_path / "ben.db"
    server = subprocess.Popen(
        [sys.executable, "-m", "comentor.tui.cli", "--journal", str(ben_path), "serve",
         "--host", "127.0.0.1", "--port", "0", "--no-discovery"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        found = re.search(r"listening on [\d.]+:(\d+)", line)
        assert found, line
        out = tmp_path / "modules.json"
        proc = subprocess.run(
            [sys.executable, "-c", WRAPPER, str(out), "--journal", str(ada_path), "sync",
             "--once", "--peer", f"127.0.0.1:{found.group(1)}"],
            env=dict(os.environ), capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)
    loaded = {name.split(".")[0] for name in json.loads(out.read_text())}
    modules = set(json.loads(out.read_text()))
    assert "comentor.sync.lan.engine" in modules or "comentor.sync.lan.session" in modules
    assert "zeroconf" not in loaded
