"""`comentor devices rename ID NAME`: one's own device, as a real process; the partner's
is refused in one line and nothing changes."""

from __future__ import annotations

import json
from pathlib import Path

from comentor.model.testing import paired_journals

from .helpers import refused, run


def test_rename_own_device_and_refuse_the_partners(tmp_path: Path) -> None:
    paired_journals(tmp_path, close=True)
    path = tmp_path / "ada.db"
    listed = json.loads(run(path, "devices", "--json").stdout)["devices"]
    mine = next(d for d in listed if d["this_device"])
    theirs = next(d for d in listed if not d["this_device"])
    said = run(path, "devices", "rename", mine["id"][:6], "Studio", "desktop").stdout
    assert said.startswith(f"renamed {mine['id'][:12]} to “Studio desktop”")
    assert "Studio desktop" in run(path, "devices").stdout
    refused(run(path, "devices", "rename", theirs["id"][:6], "Mine now", ok=False),
            "only its owner renames it")
    again = {d["id"]: d["name"] for d in json.loads(run(path, "devices", "--json").stdout)["devices"]}
    assert again == {mine["id"]: "Studio desktop", theirs["id"]: theirs["name"]}


def test_the_same_name_or_an_unpaired_journal_says_so(tmp_path: Path) -> None:
    path = tmp_path / "solo.db"
    run(path, "init", "--name", "Ada")
    me = json.loads(run(path, "devices", "--json").stdout)["devices"][0]["id"]
    run(path, "devices", "rename", me, "laptop")
    assert run(path, "devices", "rename", me, "laptop").stdout.strip().endswith(
        "is already called “laptop”: nothing changed")
    said = run(path, "devices", "rename", me, "desk").stdout.strip()
    assert said == f"renamed {me[:12]} to “desk”"  # no partner to tell yet
    refused(run(path, "devices", "rename", me, "\u200b", ok=False), "give the device a name")
