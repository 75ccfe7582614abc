"""Revocation is visible (issue 8, point 6): `comentor devices` lists and revokes as the
security guide says; a revoked device learns it at its next sync (over the LAN, and through
a relay or folder while the old key's mailbox is visited) and then says so everywhere: in
`status`, in `sync` (non-zero exit) and in the app."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from comentor.model import Journal, device_removal, revoke_device
from comentor.model.testing import paired_journals
from comentor.sync import SyncOptions, SyncService
from comentor.sync.errors import RemovedError
from comentor.sync.mailbox.folder import FolderSync

from .test_sync_lan import Serve, run

REMOVED = re.compile(r"removed from the partnership on \d{4}-\d\d-\d\d by Ada")


def cli(journal: Path, *args: str, code: int = 0) -> str:
    got = run("--journal", str(journal), *args)
    assert "Traceback" not in got.stderr
    assert got.returncode == code, got.stderr
    return got.stdout + got.stderr


@pytest.fixture
def partnership(tmp_path: Path) -> tuple[Path, Path]:
    paired_journals(tmp_path, ("Ada", "Ben"), device_names=("ada-laptop", "ben-phone"),
                    close=True)
    return tmp_path / "ada.db", tmp_path / "ben.db"


def test_devices_lists_and_revokes(partnership: tuple[Path, Path]) -> None:
    """This morning `comentor devices` did not exist, though the security guide named it."""
    ada, ben = partnership
    listed = cli(ada, "devices")
    assert "ada-laptop  this device" in listed and "ben-phone  trusted  added " in listed
    assert "safety " in listed.split("ben-phone", 1)[1]
    found = json.loads(cli(ada, "devices", "--json"))
    phone = next(d["id"] for d in found["devices"] if d["name"] == "ben-phone")
    assert found["removed"] is None
    for d in found["devices"]:  # what a script acts on, none of the journal's bookkeeping
        assert "hlc_created" not in d and "deleted" not in d and "revoked_seqs" not in d
        assert (d["safety_number"] is None) == d["this_device"]
    cli(ada, "devices", "revoke", "zz", code=1)
    said = cli(ada, "devices", "revoke", phone[:6])
    assert said.startswith("revoked ben-phone (Ben, ")
    assert "that was Ben's last device" in said  # he can come back only by pairing anew
    assert "ben-phone  revoked " in cli(ada, "devices")
    with Journal.open(ada) as j:
        before = j.conn.execute("SELECT count(*) FROM ops").fetchone()[0]
    again = cli(ada, "devices", "revoke", phone[:6], code=1)  # not a second rotation
    assert "revoked already" in again and len(again.strip().splitlines()) == 1
    with Journal.open(ada) as j:
        assert j.conn.execute("SELECT count(*) FROM ops").fetchone()[0] == before
    assert "this is the device you are using" in cli(
        ada, "devices", "revoke", next(d["id"] for d in found["devices"]
                                       if d["name"] == "ada-laptop"), code=1)


def test_a_revoked_device_is_told_over_the_lan_and_says_so(partnership: tuple[Path, Path]) -> None:
    """This morning a revoked device's `status` looked normal, `sync` exited 0 and its new
    items stayed local forever without a word."""
    ada, ben = partnership
    phone = next(d["id"] for d in json.loads(cli(ada, "devices", "--json"))["devices"]
                 if d["name"] == "ben-phone")
    cli(ada, "devices", "revoke", phone)
    cli(ben, "add", "goal", "written on the lost phone")
    serve = Serve(ada, "--no-discovery")
    try:
        said = cli(ben, "sync", "--peer", f"127.0.0.1:{serve.port}", "--once", code=1)
        assert REMOVED.search(said) and said.count("\n") == 1, said
    finally:
        serve.stop()
    status = cli(ben, "status")
    assert status.startswith("This device was removed from the partnership on "), status
    assert REMOVED.search(status.splitlines()[0])
    assert json.loads(cli(ben, "status", "--json"))["removed"]["by"] == "Ada"
    # from now on it says so without trying
    said = cli(ben, "sync", "--peer", "127.0.0.1:9", "--once", code=1)
    assert REMOVED.search(said), said
    assert REMOVED.search(cli(ben, "devices").splitlines()[0])
    j = Journal.open(ada)
    assert "written on the lost phone" not in {g["text"] for g in j.rows("goals")}
    j.close()


def test_a_revoked_device_is_told_through_a_folder(partnership: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    ada, ben = partnership
    shared = tmp_path / "shared"
    shared.mkdir()
    FolderSync(ben, shared).sync_once()
    FolderSync(ada, shared).sync_once()
    j = Journal.open(ada)
    revoke_device(j, next(d["id"] for d in j.rows("devices") if d["name"] == "ben-phone"))
    j.close()
    FolderSync(ada, shared).sync_once()  # the old key's subfolder carries the revocation
    service = SyncService(ben, SyncOptions.parse(sync_folder=str(shared)))
    report = service.sync(only="folder")
    assert report.removed is not None and not report.ok
    with pytest.raises(RemovedError, match=REMOVED):
        report.raise_if_failed()
    with pytest.raises(RemovedError, match=REMOVED):  # and from then on, before anything
        service.sync(only="folder")
    j = Journal.open(ben)
    gone = device_removal(j)
    assert gone is not None and gone.by == "Ada"
    j.close()

