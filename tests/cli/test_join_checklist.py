"""The first run on the command line for both partners (issue 10, point 5), as real processes.

`comentor init` stores the cadence (the default proposed, or the flags) in a time zone and
the peer checklist as ticked; `comentor join` syncs once with the inviter right after
pairing (over 127.0.0.1, or through a real relay) and prints the checklist as the inviter
answered it and the cadence the inviter chose, then records the joiner's own answers and
keeps or changes the cadence. The two processes run in different time zones.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from comentor.model import (
    CadenceChoice,
    cadence,
    checklist_from,
    peer_checklist,
    start_partnership,
)
from comentor.model._journal import Journal

from .helpers import refused, run
from .test_pairing_cli import Inviter, _env, _free_port, invite_and_join, run_cli

ADA_FLAGS = ["--every", "2w", "--at", "09:30", "--zone", "Europe/Berlin",
             "--tick", "outside_company", "--tick", "similar_stage"]


def _env_in(tmp_path: Path, who: str, tz: str) -> dict[str, str]:
    env = _env(tmp_path, who)
    env["TZ"] = tz
    return env


def test_init_stores_the_cadence_zone_and_what_was_ticked(tmp_path: Path) -> None:
    path = tmp_path / "ada.db"
    proc = run(path, "init", "--name", "Ada", *ADA_FLAGS)
    out = proc.stdout
    assert "Cadence: every 2 weeks at 09:30 Europe/Berlin, 30 minutes" in out
    assert "  [x] My partner works outside my company (not a colleague)" in out
    assert "  [ ] My partner works outside my market (not a competitor)" in out
    assert "1 box left unticked. It records what you ticked" in out
    assert "stored as ticked" not in out
    with Journal.open(path) as j:
        cad = cadence(j)
        assert (cad.every_days, cad.at, cad.minutes, cad.zone) == (14, "09:30", 30, "Europe/Berlin")
        assert dict(peer_checklist(j).ticked) == {
            "outside_company": True, "outside_market": False, "similar_stage": True}


def test_init_without_flags_stores_the_proposal_in_the_machine_zone(tmp_path: Path) -> None:
    path = tmp_path / "ada.db"
    out = run(path, "init", "--name", "Ada", env={"TZ": "America/New_York"}).stdout
    assert "Cadence: every 3 weeks at 12:00 America/New_York, 30 minutes" in out
    assert "Peer checklist: not answered yet" in out  # no terminal, no --tick: nothing recorded
    with Journal.open(path) as j:
        assert cadence(j).zone == "America/New_York"
        assert not peer_checklist(j).confirmed


def test_bad_flags_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "ada.db"
    refused(run(path, "init", "--name", "Ada", "--zone", "Mars/Olympus", ok=False),
            "unknown time zone 'Mars/Olympus'")
    refused(run(path, "init", "--name", "Ada", "--tick", "outside_compny", ok=False),
            "unknown checklist box 'outside_compny'")
    refused(run(path, "init", "--name", "Ada", "--every", "3x", ok=False), "bad cadence")
    assert not path.exists()
    refused(run(tmp_path / "bo.db", "join", "7-orbit-candle-harbor", "--name", "Bo",
                "--tick", "nonsense", ok=False), "unknown checklist box 'nonsense'")
    assert not (tmp_path / "bo.db").exists()


async def test_join_prints_the_inviters_checklist_and_cadence_and_confirms(
        tmp_path: Path) -> None:
    a_path, b_path = tmp_path / "ada.db", tmp_path / "bo.db"
    run(a_path, "init", "--name", "Ada", *ADA_FLAGS, env={"TZ": "Europe/Berlin"})
    port = _free_port()
    inv = await Inviter.start(a_path, ["--host", "127.0.0.1", "--port", str(port),
                                       "--timeout", "20"], _env_in(tmp_path, "a", "Europe/Berlin"))
    joined = await run_cli(b_path, ["join", inv.code, "--name", "Bo", "--peer",
                                    f"127.0.0.1:{port}", "--tick", "all", "--minutes", "45"],
                           _env_in(tmp_path, "b", "America/New_York"))
    invited = await inv.finish()
    assert joined.rc == 0 and invited.rc == 0, (joined.err, invited.err)
    assert joined.safety == invited.safety
    out = joined.out
    assert "First sync with Ada: received" in out
    assert "First sync with Bo: received" in invited.out
    assert ("The peer checklist, as Ada answered it:\n"
            "  [x] My partner works outside my company (not a colleague)\n"
            "  [ ] My partner works outside my market (not a competitor)\n"
            "  [x] We are at a similar stage (peers, not mentor and mentee)\n") in out
    assert "The cadence Ada chose: every 2 weeks at 09:30 Europe/Berlin, 30 minutes" in out
    assert "Cadence changed to: every 2 weeks at 09:30 Europe/Berlin, 45 minutes" in out
    assert out.index("The cadence Ada chose") < out.index("Peer checklist, your answers:")
    with Journal.open(b_path) as j:
        box = peer_checklist(j)
        assert box.all_ticked and box.by == "Bo"
        cad = cadence(j)  # the inviter's zone, not the joiner's machine's
        assert (cad.every_days, cad.at, cad.minutes, cad.zone) == (14, "09:30", 45, "Europe/Berlin")
    # Bo pairs again with Ada (say, after a revocation) and says nothing new: the answers
    # on record are Bo's own, and the lines about them agree
    port = _free_port()
    inv = await Inviter.start(a_path, ["--host", "127.0.0.1", "--port", str(port),
                                       "--timeout", "20"], _env_in(tmp_path, "a", "Europe/Berlin"))
    again = await run_cli(b_path, ["join", inv.code, "--peer", f"127.0.0.1:{port}"],
                          _env_in(tmp_path, "b", "America/New_York"))
    await inv.finish()
    assert again.rc == 0, again.err
    assert "The peer checklist, as Bo answered it:" in again.out
    assert "not answered yet" not in again.out
    assert "Peer checklist: kept as you answered it" in again.out


async def test_join_through_a_relay_keeps_the_cadence_and_records_nothing_unasked(
        tmp_path: Path) -> None:
    from comentor.sync.relay.server import RelayServer

    a_path, b_path = tmp_path / "ada.db", tmp_path / "bo.db"
    run(a_path, "init", "--name", "Ada", *ADA_FLAGS)
    server = RelayServer(tmp_path / "relay")
    url = f"ws://127.0.0.1:{await server.start('127.0.0.1', 0)}"
    try:
        invited, joined = await invite_and_join(
            a_path, b_path, url, (_env(tmp_path, "a"), _env(tmp_path, "b")))
    finally:
        await server.stop()
    assert joined.rc == 0 and invited.rc == 0, (joined.err, invited.err)
    out = joined.out
    assert "First sync with Ada: received" in out, out
    assert "  [ ] My partner works outside my market (not a competitor)" in out
    assert "The cadence Ada chose: every 2 weeks at 09:30 Europe/Berlin, 30 minutes" in out
    assert "Peer checklist: not answered yet" in out
    assert "Cadence kept: every 2 weeks at 09:30 Europe/Berlin, 30 minutes" in out
    with Journal.open(b_path) as j:
        box = peer_checklist(j)  # still Ada's answers: Bo was not asked, nothing recorded
        assert box.by == "Ada" and not box.ticked["outside_market"]
        assert cadence(j).sequence == 1  # Ada's one setting; keeping it wrote nothing


# ---------------------------------------------------------------- on a terminal: asked
def _answers(*texts: str) -> Callable[[str], str]:
    """A person at the terminal: each prompt gets the next answer (Enter is "")."""
    queue = list(texts)

    def ask(prompt: str) -> str:
        assert queue, f"asked more than expected: {prompt!r}"
        return queue.pop(0)

    return ask


def test_init_on_a_terminal_asks_with_the_proposal_and_asks_again_when_wrong(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from comentor.tui.cli.onboarding import first_run
    from comentor.tui.cli.parser import build_parser

    monkeypatch.setenv("TZ", "Europe/Paris")
    args = build_parser().parse_args(["init", "--name", "Ada"])
    with Journal.create(tmp_path / "ada.db", "Ada") as j:
        # every: Enter keeps 3w; at 10:00; minutes: Enter; zone: a wrong one, then Enter (Paris)
        first_run(args, j, ask=_answers("", "10:00", "", "Mars/Olympus", "", "y", "n", "yes"))
        cad, box = cadence(j), peer_checklist(j)
    out = capsys.readouterr().out
    assert "proposed every 3 weeks at 12:00 Europe/Paris, 30 minutes" in out
    assert "unknown time zone 'Mars/Olympus'" in out
    assert (cad.every_days, cad.at, cad.minutes, cad.zone) == (21, "10:00", 30, "Europe/Paris")
    assert dict(box.ticked) == {"outside_company": True, "outside_market": False,
                                "similar_stage": True}
    assert "1 box left unticked. It records what you ticked" in out


def test_join_on_a_terminal_shows_the_inviters_answers_then_asks(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from comentor.model.testing import paired_journals, sync_in_process
    from comentor.tui.cli.onboarding import confirm_joining
    from comentor.tui.cli.parser import build_parser

    ada, bo = paired_journals(tmp_path, ("Ada", "Bo"), sync=False)
    try:
        start_partnership(ada, checklist_from(["all"]),
                          CadenceChoice("3w", "12:00", 30, "America/New_York"))
        sync_in_process(ada, bo)
        args = build_parser().parse_args(["join", "1-orbit-candle-harbor"])
        # all three ticked; "n" to keeping the cadence, then 2w, Enter, 60, Enter (the zone)
        confirm_joining(args, bo, ask=_answers("y", "y", "y", "n", "2w", "", "60", ""))
        cad, box = cadence(bo), peer_checklist(bo)
    finally:
        ada.close()
        bo.close()
    out = capsys.readouterr().out
    assert "  [x] We are at a similar stage (peers, not mentor and mentee)" in out
    assert "The cadence Ada chose: every 3 weeks at 12:00 America/New_York, 30 minutes" in out
    assert "Cadence changed to: every 2 weeks at 12:00 America/New_York, 60 minutes" in out
    assert (cad.every_days, cad.minutes, cad.zone) == (14, 60, "America/New_York")
    assert box.all_ticked and box.by == "Bo"


_CTRL_C_CHILD = """
import sys, threading
from comentor.tui.first_sync import FirstSync, interruptible

seen = []

def run(stop: threading.Event) -> FirstSync:
    print("waiting", flush=True)
    seen.append(stop.wait(30))  # a listener waiting for the new device
    return FirstSync(received=1)

print("skipped" if interruptible(run) is None else "not skipped", seen, flush=True)
print(interruptible(lambda stop: FirstSync(received=3, sent=2)), flush=True)
failed = interruptible(lambda stop: 1 // 0)
print("failed:", failed.error if failed else None, flush=True)
"""


def test_ctrl_c_skips_the_first_sync_wait_and_winds_it_down() -> None:
    """`comentor invite` waits up to 20 s for the joiner's first sync: Ctrl-C (SIGINT to a
    real process) only skips that wait and the sync is told to stop; the process goes on."""
    import signal
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", _CTRL_C_CHILD], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "waiting"
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    lines = out.splitlines()
    # stopped because asked, not because the 30 s ran out
    assert lines[0] == "skipped [True]"
    assert lines[1] == "FirstSync(received=3, sent=2, via='', error='')"
    assert lines[2].startswith("failed: ZeroDivisionError")
