"""`comentor invite` and `comentor join`: pairing from the command line.

Printing only; the flow is :func:`comentor.sync.invite` / :func:`comentor.sync.join`. The
`Code:` line is printed on a line of its own and flushed at once, so that a script (or a
test) driving `invite` can read it while the command keeps waiting.

Pairing exchanges keys, not the journal, so both commands then sync once
(:mod:`comentor.tui.first_sync`): the inviter serves on the port it paired on for a little
while, the joiner connects. The partner who joins then sees the peer checklist as the
inviter answered it and the cadence the inviter chose, and confirms
(:func:`comentor.tui.cli.onboarding.confirm_joining`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..text import one_line
from .parser import add_first_run_arguments

__all__ = ["add_parsers", "HANDLERS", "cmd_invite", "cmd_join"]


def add_parsers(sub: Any) -> None:
    """Add `invite` and `join` to the top-level subparsers."""
    s = sub.add_parser("invite", help="show a code to pair with your partner (or your own device)")
    s.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                   help="how long the code stays valid (default 600)")
    s.add_argument("--device", action="store_true",
                   help="add one of your own devices instead of a partner")
    s.add_argument("--relay", metavar="URL", help="meet through a relay (ws://host:port)")
    s.add_argument("--host", default="0.0.0.0", help="address to listen on (default all)")
    s.add_argument("--port", type=int, default=0, help="TCP port to listen on (default any)")
    s.add_argument("--lan-interface", action="append", metavar="ADDR", dest="lan_interface",
                   help="announce only on the interface with this address (repeatable; "
                        "default $COMENTOR_LAN_INTERFACES or the system default)")

    s = sub.add_parser("join", help="pair using the code your partner's `invite` shows")
    s.add_argument("code", metavar="CODE", help="the code, like 7-orbit-candle-harbor")
    s.add_argument("--name", help="your name, as your partner will see it "
                                  "(needed when this device has no journal yet)")
    s.add_argument("--device", action="store_true",
                   help="this is another device of the person who invited")
    s.add_argument("--relay", metavar="URL", help="meet through a relay (ws://host:port)")
    s.add_argument("--peer", metavar="HOST:PORT",
                   help="connect to the inviting device directly instead of searching the LAN")
    s.add_argument("--lan-interface", action="append", metavar="ADDR", dest="lan_interface",
                   help="search only on the interface with this address (repeatable)")
    s.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="how long to look for the inviting device (default 60)")
    add_first_run_arguments(s, joining=True)


def _say(text: str = "") -> None:
    print(text, flush=True)


def _print_result(result: Any) -> None:
    peer = result.peer
    who = "your own device" if result.own_device else f"{peer.person_name}'s device"
    _say(f"Paired with {who} {peer.device_name!r} ({peer.device_id}).")
    _say(f"Safety number: {result.safety_number}")
    _say("Compare it with the number on the other screen: it must be the same. If it is not, "
         "someone came between you: tell each other and do not use this pairing.")


def cmd_invite(args: argparse.Namespace) -> int:
    import asyncio

    from comentor.sync import InviteOptions, invite

    from .common import open_journal

    if args.timeout <= 0:
        raise _err("--timeout must be a positive number of seconds")
    if args.relay and args.port:  # one of them would be ignored without a word
        raise _err("--relay and --port do not go together: through a relay nothing listens "
                   "on a port here; give one of them")
    # the first sync after pairing is served on the same port, so pick it now
    port = args.port or (0 if args.relay else _free_port(args.host))
    opts = InviteOptions(timeout=args.timeout, device=args.device, relay=args.relay,
                         host=args.host, port=port, interfaces=args.lan_interface)
    j = open_journal(args)
    try:
        def on_code(code: Any, where: str) -> None:
            _say(f"Code: {code}")
            what = "your other device" if args.device else "your partner"
            _say(f"Read it to {what}, who runs: comentor join {code}"
                 + (" --device" if args.device else ""))
            _say(f"Waiting {args.timeout:g} s {where}... (Ctrl-C to cancel)")

        result = asyncio.run(invite(j, opts, on_code, on_status=lambda m: print(
            m, file=sys.stderr, flush=True)))
        _print_result(result)
        _remember_relay(j, args.relay)
        _serve_first_sync(args, j, result, port)
    finally:
        j.close()
    return 0


def _free_port(host: str) -> int:
    """A port free on `host` now (0 when none can be had: the flow then picks one)."""
    import socket

    try:
        with socket.socket() as s:
            s.bind((host if host not in ("", "0.0.0.0") else "", 0))
            return int(s.getsockname()[1])
    except OSError:
        return 0


def _serve_first_sync(args: argparse.Namespace, j: Any, result: Any, port: int) -> None:
    """Let the device that just joined sync once (see the module docstring)."""
    from ..first_sync import FIRST_SYNC_SECONDS, interruptible, inviter_first_sync

    who = _short_who(result)
    if args.relay:
        _say(f"Leaving this journal for {who} at the relay (Ctrl-C skips this)...")
    else:
        _say(f"Waiting up to {FIRST_SYNC_SECONDS:g} s for {who} to fetch this journal once "
             "(Ctrl-C skips this)...")
    done = interruptible(lambda stop: inviter_first_sync(
        j.path, j.keys, device=result.peer.device_id, host=args.host, port=port,
        interfaces=args.lan_interface, relay=args.relay, stop=stop))
    _said_first_sync(done, who, f"{who} gets everything at the next sync")


def _remember_relay(j: Any, relay: str | None) -> None:
    """A relay both sides just met through is the one they sync through next, unless this
    journal already has one: `comentor sync` and the app then find each other there (the
    pairing's promise of "the next sync" held only on one network before)."""
    from comentor.sync import SyncService

    if not relay or SyncService.settings(j).relay_url:
        return
    url = SyncService.use_relay(j, relay)
    _say(f"This journal now syncs through the relay at {one_line(str(url))} "
         "(`comentor relay use` changes it).")


def _said_first_sync(done: Any, who: str, later: str) -> None:
    """One line on the first sync: what moved, or why not and when it will."""
    if done is None:
        _say(f"First sync skipped: {later} (`comentor sync`, or the app).")
    elif done.ok:
        _say(f"First sync with {who}: received {done.received}, sent {done.sent}.")
    else:
        _say(f"No first sync yet ({done.error}): {later} (`comentor sync`, or the app).")


def _short_who(result: Any) -> str:
    return "your other device" if result.own_device else result.peer.person_name


def cmd_join(args: argparse.Namespace) -> int:
    import asyncio

    from comentor.sync import JoinOptions, join, parse_code, parse_peer

    from .common import journal_path, open_journal
    from .onboarding import check_first_run, confirm_joining

    if args.timeout <= 0:
        raise _err("--timeout must be a positive number of seconds")
    if args.relay and args.peer:  # one of them would be ignored without a word
        raise _err("--relay and --peer do not go together: meet through the relay, or "
                   "connect to the inviting device directly; give one of them")
    code = parse_code(args.code)
    check_first_run(args)  # a bad --every or --tick: said before pairing
    path = journal_path(args)
    existing = open_journal(args) if path.exists() and path.stat().st_size > 0 else None
    opts = JoinOptions(device=args.device, relay=args.relay,
                       peer=parse_peer(args.peer) if args.peer else None,
                       interfaces=args.lan_interface, timeout=args.timeout)
    j = existing
    try:
        j, result = asyncio.run(join(path, existing, code, args.name, opts,
                                     on_status=lambda m: print(m, file=sys.stderr, flush=True)))
        if result.created:
            _say(f"Created this device's journal at {path}.")
        _print_result(result)
        _remember_relay(j, args.relay)
        _join_first_sync(args, j, result, opts.peer)
        if not result.own_device:
            _say()
            confirm_joining(args, j)
    finally:
        if j is not None:
            j.close()
    return 0


def _join_first_sync(args: argparse.Namespace, j: Any, result: Any,
                     peer: tuple[str, int] | None) -> None:
    from ..first_sync import interruptible, joiner_first_sync

    who = _short_who(result)
    _say(f"Syncing once with {who} (Ctrl-C skips this)...")
    done = interruptible(lambda stop: joiner_first_sync(
        j.path, j.keys, peer=peer, relay=args.relay, interfaces=args.lan_interface,
        inviter=result.peer.device_id, stop=stop))
    _said_first_sync(done, who, f"{who}'s journal arrives at the next sync")


def _err(message: str) -> Exception:
    from comentor.sync.errors import PairingError

    return PairingError(message)


HANDLERS: dict[str, Any] = {"invite": cmd_invite, "join": cmd_join}
