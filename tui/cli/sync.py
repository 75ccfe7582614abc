"""Command-line parsers and handlers for live sync (`comentor serve`, `comentor sync`), and how
the command line words sync errors.

The policy lives in :class:`comentor.sync.SyncService`: which transports run (the LAN, then
the relay and the shared folder if the journal has them), and that a sync fails only if
every transport it tried failed. These handlers turn arguments into
:class:`~comentor.sync.SyncOptions`, call the service and print. `serve` stays in the
foreground, one line per sync, until Ctrl-C or SIGTERM.

Errors from the core carry fields instead of naming flags (``option``, ``hint``);
:func:`cli_text` words those of sync as this command line's flags (the command line's one
wording, :func:`comentor.tui.cli.wording.word`, asks it).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import signal
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from comentor.model.errors import ComentorError
from comentor.sync.errors import OptionError

from ..text import escape_controls, one_line

if TYPE_CHECKING:
    from comentor.sync import SyncOptions, SyncService, TransportOutcome

__all__ = ["add_parsers", "HANDLERS", "cli_text", "service_for"]

_FLAGS = {"peer": "--peer", "interfaces": "--lan-interface", "port": "--port",
          "timeout": "--timeout", "device": "--device", "name": "--name"}
_HINTS = {
    "peer": " (try --peer HOST:PORT)",
    "peer_or_relay": ", or use --peer HOST:PORT or --relay URL",
    "pair": ": run `comentor invite` or `comentor join`",
}
_CONFIGURE = {"relay_url": ": run `comentor relay use URL` first",
              "sync_folder": ": run `comentor folder use DIR`"}


def cli_text(exc: BaseException) -> str:
    """An error's message with its remedy worded as this command line's flags."""
    text = str(exc)
    if not isinstance(exc, ComentorError):
        return text
    option, hint = exc.field("option"), exc.field("hint")
    if hint == "configure" and isinstance(option, str) and option in _CONFIGURE:
        return text + _CONFIGURE[option]
    if isinstance(hint, str) and hint in _HINTS:
        return text + _HINTS[hint]
    if option == "allow_mass_delete":
        return f"{text} (sync again with --allow-mass-delete)"
    flag = _FLAGS.get(option) if isinstance(option, str) else None
    if flag is None:
        return text
    return f"{flag}: {text}" if isinstance(exc, OptionError) else f"{text} ({flag})"


def service_for(args: argparse.Namespace, options: SyncOptions | None = None) -> SyncService:
    """The sync service of the journal the arguments name, its key unlocked here (asking
    for the passphrase if needed): every transport then opens the journal with it."""
    from comentor.sync import SyncService

    from .common import journal_path, open_journal

    j = open_journal(args)
    try:
        keys = j.keys
    finally:
        j.close()
    return SyncService(journal_path(args), options, keys=keys)


def add_parsers(sub: Any) -> None:
    """Add the sync commands to the top-level subparsers."""
    from comentor.sync import DEFAULT_PORT

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
    """Print a line of a sync's news: its names and a relay's words may come from the other
    side, so control characters are shown escaped, never sent to the terminal."""
    print(escape_controls(text, keep="\n"), flush=True)


def _warn(text: str) -> None:
    print(f"comentor: {one_line(text)}", file=sys.stderr, flush=True)


def _stamp() -> str:
    return dt.datetime.now().strftime("%H:%M:%S")


@contextlib.contextmanager
def _until_signal(stop: threading.Event) -> Iterator[list[int]]:
    """Ctrl-C and SIGTERM set ``stop`` (a clean end) instead of interrupting; yields the
    signals received, so that the command can still say it was interrupted."""
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def cmd_serve(args: argparse.Namespace) -> int:
    from comentor.sync import SyncOptions

    options = SyncOptions.parse(interfaces=args.lan_interface, listen_host=args.host,
                                listen_port=args.port, discover=not args.no_discovery,
                                allow_mass_delete=args.allow_mass_delete)
    stop = threading.Event()

    def synced(o: TransportOutcome) -> None:
        _say(f"{_stamp()} synced with {o.peer_name or o.peer_device} ({o.address}): "
             f"sent {o.sent}, received {o.received} operations"
             + (" (moved to a new epoch: this journal was restored)" if o.epoch_bumped else "")
             + "".join(f"; {news}" for news in o.news()))

    def applied(count: int, name: str) -> None:
        if not stop.is_set():
            _say(f"{_stamp()} received {count} operations from {name or 'partner'}")

    service = service_for(args, options)
    service.prepare()  # an unpaired, revoked or demo journal is refused, as by `sync`
    engine = service.serve(on_synced=synced, on_applied=applied, on_error=_warn)
    _say(f"listening on {args.host}:{engine.port}; Ctrl-C to stop")
    try:
        with _until_signal(stop):
            while not stop.wait(0.5):
                pass
    finally:  # time for the engine's shutdown and then the last "last synced" record
        engine.stop(timeout=20)
    _say("stopped")
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    """The LAN, then the relay and the folder (if configured); fails only if nothing synced.

    Ctrl-C ends it as ``comentor: interrupted``, exit 130 (what :func:`main` makes of a
    KeyboardInterrupt, as with ``--once``), and starts nothing more; SIGTERM likewise, as
    ``terminated``, exit 143. What synced before the signal is still printed.
    """
    from comentor.sync import SyncOptions

    from .wording import word

    options = SyncOptions.parse(peers=args.peer, interfaces=args.lan_interface, listen_port=0,
                                timeout=args.timeout, allow_mass_delete=args.allow_mass_delete)
    service = service_for(args, options)
    signals: list[int] = []
    if args.once:  # Ctrl-C raises KeyboardInterrupt, and the service lets it through
        report = service.sync(once=True)
    else:
        stop = threading.Event()
        with _until_signal(stop) as signals:
            def warn(message: str) -> None:
                # a failure after the signal (a handshake timing out as the sync stops) is
                # cut short by it, not the news: only "interrupted" is said then
                if not signals:
                    _warn(message)

            report = service.sync(once=False, stop=stop, on_error=warn,
                                  on_synced=lambda o: _say(f"{_stamp()} {o.line()}"))
    for outcome in report.outcomes:
        if signals and outcome.error is not None:
            continue  # cut short by the signal: its failures are not the news
        if outcome.error is not None:
            if outcome.via != "LAN":  # on stderr, as the LAN's: a failure, not a result
                _warn(f"{outcome.via}: {word(outcome.error)}")
        elif args.once or outcome.via != "LAN":  # a lasting LAN sync printed as it went
            for line in outcome.lines():
                _say(line)
    if signal.SIGINT in signals:
        raise KeyboardInterrupt
    if signals:
        _warn("terminated")
        return 128 + signal.SIGTERM
    report.raise_if_failed()
    for outcome in report.warnings:  # the relay's and the folder's are printed above
        if outcome.via == "LAN" and outcome.error is not None:
            _warn(f"LAN: {word(outcome.error)}")
    return 0


HANDLERS: dict[str, Any] = {"serve": cmd_serve, "sync": cmd_sync}
