"""Two comentor programs on one journal (the app twice, or the app and `comentor serve`): one
device. The first makes it reachable on the LAN; the second says so, plainly and once, goes
on syncing without advertising, and takes over when the first ends. Zeroconf on 127.0.0.1
only, in process (each test has a state directory of its own, where the claims live).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from pathlib import Path

import pytest

from comentor.model import Journal, add_win
from comentor.model.testing import paired_paths
from comentor.sync import SyncOptions, SyncService
from comentor.sync.errors import TransportError
from comentor.sync.keys import lan_tag
from comentor.sync.lan import claim as claims
from comentor.sync.lan import discovery
from comentor.sync.lan.discovery import SERVICE_TYPE, find_instance, taken_name
from comentor.sync.lan.engine import SyncEngine
from comentor.sync.lan.peers import RETRY

from .waiting import wait_until

LOOPBACK = "127.0.0.1"
SAID = ("this device is already reachable on the network through another comentor program "
        "on this machine (process ")



def _tag(path: Path) -> str:
    """The name this device advertises under today."""
    j = Journal.open(path)
    try:
        key = j.partnership_key()
        assert key is not None
        return lan_tag(key, j.device_id, dt.datetime.now(dt.UTC).date())
    finally:
        j.close()


def _found(tag: str) -> int | None:
    """The port a partner device finds this device at (None: not advertised)."""
    where = asyncio.run(find_instance(SERVICE_TYPE, tag, timeout=3.0, interfaces=[LOOPBACK]))
    return None if where is None else where[1]


def _serve(path: Path, said: list[str]) -> SyncEngine:
    """`comentor serve` (or the app's LAN engine): listening, advertising on 127.0.0.1."""
    options = SyncOptions.parse(interfaces=LOOPBACK, listen_host=LOOPBACK, listen_port=0)
    return SyncService(path, options).serve(on_error=said.append)


def test_the_second_program_says_the_device_is_reachable_already_and_still_syncs(
        tmp_path: Path) -> None:
    pa, pb = paired_paths(tmp_path, ("Ada", "Bo"), sync=False)
    tag = _tag(pa)
    first_said: list[str] = []
    second_said: list[str] = []
    first = _serve(pa, first_said)
    try:
        wait_until("the first program to be found", lambda: _found(tag) == first.port)
        second = _serve(pa, second_said)
        try:
            wait_until("the second program to say why it does not advertise",
                  lambda: bool(second_said))
            assert second_said[0].startswith(SAID), second_said
            assert "takes over when that one ends" in second_said[0]
            assert "same name" not in second_said[0] and "another device" not in second_said[0]
            # partners find the device at one program's address: the first's
            assert _found(tag) == first.port
            # the second still syncs: here with Bo's device, at its address
            bo = SyncEngine(pb, listen_host=LOOPBACK, discover=False)
            bo.start()
            try:
                outcome = second.sync_once((LOOPBACK, bo.port), timeout=20)
            finally:
                bo.stop()
            assert outcome.error is None and outcome.peer_name == "Bo"
        finally:
            second.stop()
    finally:
        first.stop()
    assert first_said == []
    assert len(second_said) == 1, second_said


def test_only_the_program_holding_the_claim_keeps_a_session_with_the_partner(
        tmp_path: Path) -> None:
    """The partner keeps one session per device: two programs of one device that both
    dialled it would push each other off every couple of seconds ("the other device closed
    the connection" on both). The second dials no discovered device; what it writes reaches
    the partner through the first, which watches the journal file."""
    pa, pb = paired_paths(tmp_path, ("Ada", "Bo"), sync=False)
    first_said: list[str] = []
    second_said: list[str] = []
    bo_said: list[str] = []
    first = _serve(pa, first_said)
    second: SyncEngine | None = None
    bo = _serve(pb, bo_said)
    try:
        wait_until("the first program to advertise", lambda: first.advertised is not None)
        second = _serve(pa, second_said)
        wait_until("the first program in session with Bo", lambda: bool(first._sessions), 30)
        time.sleep(4 * RETRY + 2)  # time enough for the second to have dialled Bo twice
        assert not second._sessions and first._sessions
        knocked = [m for m in first_said + second_said + bo_said if "closed" in m]
        assert knocked == [], knocked
        # the second program's write (the app's, say) reaches Bo through the first one
        j = Journal.open(pa)
        try:
            add_win(j, "Written in the second window")
        finally:
            j.close()
        wait_until("Bo to hold the second window's win",
              lambda: "Written in the second window" in _wins(pb), 30)
    finally:
        bo.stop()
        if second is not None:
            second.stop()
        first.stop()


def test_a_sync_asked_for_now_beside_the_app_still_reaches_the_partner(
        tmp_path: Path) -> None:
    """`comentor sync` (without --once) while the app holds the claim: it may not advertise,
    but it dials the partner it finds, as the person asked, and does not wait its timeout."""
    pa, pb = paired_paths(tmp_path, ("Ada", "Bo"), sync=False)
    first = _serve(pa, [])
    bo = _serve(pb, [])
    try:
        wait_until("the first program to advertise", lambda: first.advertised is not None)
        options = SyncOptions.parse(interfaces=LOOPBACK, listen_host=LOOPBACK, listen_port=0,
                                    timeout=12)
        report = SyncService(pa, options).sync(only="LAN", once=False)
        assert report.ok, report.failure
        assert report.outcomes[0].peer_name == "Bo"
    finally:
        bo.stop()
        first.stop()


def _wins(path: Path) -> set[str]:
    j = Journal.open(path)
    try:
        return {str(t) for (t,) in j.conn.execute("SELECT text FROM wins WHERE deleted = 0")}
    finally:
        j.close()


def test_the_second_program_takes_over_when_the_first_ends_having_said_it_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discovery, "ADVERTISE_EVERY", 0.1)  # it checks again this often
    tries: list[str] = []

    def counted(device_id: str) -> claims.LanClaim:
        tries.append(device_id)
        return claims.claim_device(device_id)

    monkeypatch.setattr(discovery, "claim_device", counted)
    pa, _ = paired_paths(tmp_path, ("Ada", "Bo"), sync=False)
    tag = _tag(pa)
    said: list[str] = []
    first = _serve(pa, [])
    second: SyncEngine | None = None
    try:
        wait_until("the first program to advertise", lambda: first.advertised is not None)
        second = _serve(pa, said)
        wait_until("the second program to have checked again and again", lambda: len(tries) >= 6)
        assert len(said) == 1 and said[0].startswith(SAID), said
        assert second.advertised is None
        first.stop()
        wait_until("the second program to take over", lambda: second.advertised is not None)
        assert _found(tag) == second.port
    finally:
        first.stop()
        if second is not None:
            second.stop()
    assert len(said) == 1, said  # nothing more: taking over is what it said it would do


def test_a_name_taken_elsewhere_is_worded_by_who_holds_it() -> None:
    def taken(*addresses: str) -> TransportError:
        return TransportError("another device on this network uses the same name",
                              reason="name_taken", addresses=addresses)

    here = taken_name(taken(LOOPBACK))
    assert here.startswith("another program on this machine advertises this device")
    elsewhere = taken_name(taken("198.51.100.7"))  # TEST-NET-2: no machine of ours
    assert elsewhere.startswith("another computer on this network (198.51.100.7) advertises "
                                "this device: is a copy of this journal open there?")
    assert taken_name(taken()).startswith("something else on this network advertises")
    other = taken_name(TransportError("no network address to advertise on"))
    assert other == "cannot advertise on the network: no network address to advertise on"


def test_a_claim_is_one_program_s_until_it_ends(tmp_path: Path) -> None:
    mine = claims.claim_device("abcdefghijklmnop")
    assert mine.ours
    other = claims.claim_device("abcdefghijklmnop")  # another open file: excluded too
    assert not other.ours and other.holder == os.getpid()
    another = claims.claim_device("bbcdefghijklmnop")  # another device: its own claim
    assert another.ours
    another.release()
    mine.release()
    mine.release()  # twice: nothing more
    again = claims.claim_device("abcdefghijklmnop")
    assert again.ours
    again.release()
    assert claims.claim_device("../escape").ours  # not a device id: no file, no claim
