"""Command-line parsers and handlers for live sync: `comentor serve` and `comentor sync`.

Both run the sync engine (comentor.sync.lan.engine), which has no Textual in it; these handlers
only print. `serve` stays in the foreground, one line per sync, until Ctrl-C or SIGTERM.
`sync` finds the partner (``--peer HOST:PORT`` or zeroconf), syncs, and says what moved; then
it syncs through the relay and the shared folder if the journal has them (LAN, relay, folder,
in that order, each reported on its own: a partner away from the LAN does not fail the rest).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
import threading
from typing import Any

__all__ = ["add_parsers", "HANDLERS", "DEFAULT_PORT", "parse_peer"]

DEFAULT_PORT = 47474


def _interfaces(args: argparse.Namespace) -> list[str]:
    given = list(getattr(args, "lan_interface", None) or [])
    env = os.environ.get("COMENTOR_LAN_INTERFACES", "")
    return given or [part.strip() for part in env.split(",") if part.strip()]


def parse_peer(text: str) -> tuple[str, int]:
    """HOST:PORT (or [IPv6]:PORT) into a tuple; a ValidationError names what is wrong."""
    from comentor.model.errors import ValidationError

    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValidationError(f"--peer must look like HOST:PORT (for example 192.168.1.20:"
                              f"{DEFAULT_PORT}), not {text!r}")
    return host, int(port)


def add_parsers(sub: Any) -> None:
    """Add the sync commands to the top-level subparsers."""
    s = sub.add_parser("serve", help="sync live with your partner's devices until stopped")
    s.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"TCP port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")
    s.add_argument("--host", default="0.0.0.0", help="address to listen on (default all)")
    s.add_argument("--lan-interface", action="append", metavar="ADDR",
                   help="advertise only on this interface address (repeatable; "
                        "default $COMENTOR_LAN_INTERFACES or all)")
    s.add_argument("--no-discovery", action="store_true", help="do not use zeroconf")
    s.add_argument("--allow-mass-delete", action="store_true",
                   help="accept a sync that deletes much of the journal")

    s = sub.add_parser("sync", help="sync with your partner's device now")
    s.add_argument("--peer", metavar="HOST:PORT", help="the partner's `comentor serve` address "
                   "(default: find it with zeroconf)")
    s.add_argument("--once", action="store_true", help="exit after the first complete exchange")
    s.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="give up (or, without --once, stop syncing) after S seconds (default 30)")
    s.add_argument("--lan-interface", action="append", metavar="ADDR",
                   help="use only this interface address for zeroconf (repeatable)")
    s.add_argument("--allow-mass-delete", action="store_true",
                   help="accept a sync that deletes much of the journal")


def _say(text: str) -> None:
    print(text, flush=True)


def _warn(text: str) -> None:
    print(f"comentor: {text}", file=sys.stderr, flush=True)


def _stamp() -> str:
    return dt.datetime.now().strftime("%H:%M:%S")


def _keys(args: argparse.Namespace) -> Any:
    """Unlock the device key here (prompting if needed); the engine opens its own journal."""
    from comentor.model.errors import DemoJournalError

    from .common import open_journal

    j = open_journal(args)
    try:
        if j.is_demo:
            raise DemoJournalError(
                "this is a demo journal: it never syncs (create your own with `comentor init`)"
            )
        return j.keys
    finally:
        j.close()


def cmd_serve(args: argparse.Namespace) -> int:
    from comentor.sync.lan.engine import SyncEngine, SyncReport

    from .common import journal_path

    if not 0 <= args.port < 65536:
        from comentor.model.errors import ValidationError

        raise ValidationError("--port must be between 0 and 65535")
    stop = threading.Event()

    def synced(report: SyncReport) -> None:
        _say(f"{_stamp()} synced with {report.peer_name or report.peer_device} "
             f"({report.address}): sent {report.sent}, received {report.received} operations"
             + (" (moved to a new epoch: this journal was restored)" if report.epoch_bumped else ""))

    def applied(result: Any, name: str) -> None:
        if result.applied and stop.is_set() is False:
            _say(f"{_stamp()} received {result.applied} operations from {name or 'partner'}")

    engine = SyncEngine(
        journal_path(args), keys=_keys(args), lan_interfaces=_interfaces(args),
        listen_host=args.host, listen_port=args.port, discover=not args.no_discovery,
        allow_mass_delete=args.allow_mass_delete, on_synced=synced, on_applied=applied,
        on_error=_warn,
    )
    engine.start()
    _say(f"listening on {args.host}:{engine.port}; Ctrl-C to stop")
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        engine.stop()
    _say("stopped")
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    """LAN first, then relay and folder (if configured); fails only if nothing synced."""
    from comentor.sync.errors import SyncError

    from .relay import sync_via_settings

    lan_failure: SyncError | None = None
    try:
        _sync_lan(args)
    except SyncError as exc:
        lan_failure = exc
    lines = sync_via_settings(args)
    for line in lines:
        _say(line)
    if lan_failure is None:
        return 0
    failed = [line for line in lines if line.startswith(("relay: ", "folder: "))
              and not line.startswith(("relay: received", "folder: received"))]
    if not lines or len(failed) == len(lines):
        raise lan_failure
    _warn(f"LAN: {lan_failure}")
    return 0


def _sync_lan(args: argparse.Namespace) -> int:
    from comentor.model.errors import ValidationError
    from comentor.sync.errors import TransportError
    from comentor.sync.lan.engine import SyncEngine, SyncReport

    from .common import journal_path

    if not 0 < args.timeout <= 86400:
        raise ValidationError("--timeout must be between 0 and 86400 seconds")
    peer = parse_peer(args.peer) if args.peer else None
    reports: list[SyncReport] = []
    errors: list[str] = []

    def synced(report: SyncReport) -> None:
        reports.append(report)
        if not args.once:
            _say(f"{_stamp()} {report.line()}")

    def failed(message: str) -> None:
        errors.append(message)
        if not args.once:
            _warn(message)

    engine = SyncEngine(
        journal_path(args), keys=_keys(args), lan_interfaces=_interfaces(args),
        # --once only looks for the partner; a lasting sync also listens and advertises so
        # that the partner's engine can reach it too.
        listen=peer is None and not args.once, discover=peer is None,
        auto_connect=not args.once, allow_mass_delete=args.allow_mass_delete,
        on_synced=synced, on_error=failed,
    )
    engine.start()
    try:
        if args.once:
            try:
                report = engine.sync_once(peer, args.timeout)
            except TransportError as exc:
                if peer is None and "no complete sync" in str(exc):
                    raise TransportError(
                        f"no partner device found on this network within {args.timeout:g} s "
                        "(try --peer HOST:PORT)"
                    ) from None
                raise
            _say(report.line())
            return 0
        if peer is not None:
            engine.add_peer(*peer)
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set())
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            stop.wait(args.timeout)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        engine.stop()
    if not reports:
        raise TransportError(errors[-1] if errors else
                             f"no partner device found within {args.timeout:g} s")
    return 0


HANDLERS: dict[str, Any] = {"serve": cmd_serve, "sync": cmd_sync}
