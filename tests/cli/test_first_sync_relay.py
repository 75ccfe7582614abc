"""The first sync through a relay waits for the inviter's own change sets (real processes).

The relay's mailbox is the partnership's, so a device that joins may find envelopes there
that others left before it existed: the inviter's last change set for a partner who has not
fetched it yet. Those carry changes from the middle of the inviter's history, which the new
device cannot apply (a gap). The first sync used to stop at the first envelope it received,
whoever sent it, and report success while the journal held nothing of the inviter's; it now
goes on until the inviter's journal has arrived.
"""

from __future__ import annotations

from pathlib import Path

from comentor.model._journal import Journal
from comentor.model.replication import version_vector

from .helpers import run
from .test_pairing_cli import Inviter, _env, invite_and_join, run_cli


async def test_a_new_device_through_a_relay_gets_the_inviters_journal_not_old_envelopes(
        tmp_path: Path) -> None:
    from comentor.sync.relay.server import RelayServer

    ada, bo, ada2 = tmp_path / "ada.db", tmp_path / "bo.db", tmp_path / "ada2.db"
    run(ada, "init", "--name", "Ada")
    server = RelayServer(tmp_path / "relay")
    url = f"ws://127.0.0.1:{await server.start('127.0.0.1', 0)}"
    try:
        invited, joined = await invite_and_join(
            ada, bo, url, (_env(tmp_path, "a"), _env(tmp_path, "b")))
        assert invited.rc == 0 and joined.rc == 0, (invited.err, joined.err)
        # Ada goes on writing and syncing while Bo is away: her change sets wait in the
        # mailbox for Bo, starting in the middle of her history
        for n in range(3):
            added = await run_cli(ada, ["add", "goal", f"Ship release {n}"], _env(tmp_path, "a"))
            synced = await run_cli(ada, ["sync", "--once", "--timeout", "2"], _env(tmp_path, "a"), timeout=90)
            assert added.rc == 0 and synced.rc == 0, (added.err, synced.err)
        inv = await Inviter.start(ada, ["--device", "--relay", url, "--timeout", "20"],
                                  _env(tmp_path, "a"))
        new = await run_cli(ada2, ["join", inv.code, "--device", "--relay", url],
                            _env(tmp_path, "a2"))
        await inv.finish()
    finally:
        await server.stop()
    assert new.rc == 0, new.err
    assert "First sync with" in new.out and "received" in new.out, new.out
    with Journal.open(ada) as ja:
        want = version_vector(ja)
    with Journal.open(ada2) as j:
        held = version_vector(j)
        goals = {g["text"] for g in j.rows("goals")}
    # everything Ada held: her own changes (under both of her epochs) and Bo's
    assert all(held.get(replica, 0) >= seq for replica, seq in want.items()), (held, want)
    assert {f"Ship release {n}" for n in range(3)} <= goals
