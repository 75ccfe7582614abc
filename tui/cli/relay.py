"""Command-line parsers and handlers for the relay and for folder sync.

`comentor relay serve|use|show`, `comentor folder use|show`, and for scripting and tests
`comentor sync-relay [--once]` and `comentor sync-folder [DIR]`. The settings and the rounds
go through :class:`comentor.sync.SyncService`; these handlers only print.
"""

from __future__ import annotations

import argparse
import json
import signal
from typing import Any

from ..text import one_line
from .sync import _say, service_for

__all__ = ["add_parsers", "HANDLERS"]


def add_parsers(sub: Any) -> None:
    """Add the relay and folder commands to the top-level subparsers."""
    s = sub.add_parser("relay", help="run a relay, or choose the relay this journal syncs through")
    rsub = s.add_subparsers(dest="action", metavar="ACTION")
    from comentor.sync import relay_options

    t = rsub.add_parser("serve", help="run a relay server (store-and-forward, end-to-end encrypted)")
    relay_options(t)
    t = rsub.add_parser("use", help="sync this journal through the relay at URL")
    t.add_argument("url", metavar="URL", help="ws://HOST:PORT or wss://HOST (use 'none' to stop)")
    t = rsub.add_parser("show", help="show the relay this journal syncs through")
    t.add_argument("--json", action="store_true")

    s = sub.add_parser("folder", help="choose a shared folder this journal syncs through")
    fsub = s.add_subparsers(dest="action", metavar="ACTION")
    t = fsub.add_parser("use", help="sync through encrypted files in DIR (use 'none' to stop)")
    t.add_argument("dir", metavar="DIR")
    t = fsub.add_parser("show", help="show the sync folder")
    t.add_argument("--json", action="store_true")

    s = sub.add_parser("sync-relay", help="sync through the configured relay now")
    s.add_argument("--once", action="store_true", help="one round, then exit (default: stay live)")
    s.add_argument("--url", metavar="URL", help="this relay instead of the configured one")
    s.add_argument("--allow-mass-delete", action="store_true",
                   help="apply a sync that deletes most of the journal")
    s = sub.add_parser("sync-folder", help="sync through a shared folder now")
    s.add_argument("dir", metavar="DIR", nargs="?", help="this folder instead of the configured one")
    s.add_argument("--allow-mass-delete", action="store_true",
                   help="apply a sync that deletes most of the journal")


def _journal(args: argparse.Namespace) -> Any:
    from .common import open_journal

    return open_journal(args)


def cmd_relay(args: argparse.Namespace) -> int:
    from comentor.model.errors import ValidationError
    from comentor.sync import SyncService

    action = getattr(args, "action", None)
    if action == "serve":
        return _serve(args)
    if action not in ("use", "show"):
        raise ValidationError("relay needs an action: serve, use or show")
    j = _journal(args)
    try:
        if action == "use":
            given = args.url.strip()
            url = SyncService.use_relay(j, None if given.lower() == "none" else given)
            if url is None:
                print("this journal no longer syncs through a relay")
                return 0
            print(f"this journal syncs through the relay at {one_line(url)}")
            if url.startswith("ws://") and not url.startswith(("ws://127.", "ws://localhost")):
                print("note: ws:// is not encrypted in transit (envelopes still are); prefer wss://")
            return 0
        url = SyncService.settings(j).relay_url
        if args.json:
            print(json.dumps({"relay_url": url}))
        else:
            print(one_line(url) if url else "no relay configured (comentor relay use URL)")
        return 0
    finally:
        j.close()


def _serve(args: argparse.Namespace) -> int:
    import dataclasses
    import logging
    import sys

    from comentor.model import state_dir
    from comentor.sync import relay_settings, serve_relay

    settings = relay_settings(args)
    if settings.data is None:
        settings = dataclasses.replace(settings, data=state_dir() / "relay")
    assert settings.data is not None
    try:
        settings.data.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file in the way, no permission: said in one line
        from comentor.sync.errors import OptionError

        why = exc.strerror or type(exc).__name__
        raise OptionError(f"--data {one_line(str(settings.data))} cannot be the relay's data "
                          f"folder: {why.lower()}", option="data") from None
    # one line per event on stderr; the WebSocket library's per-connection chatter stays out
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    relay_log = logging.getLogger("comentor.sync.relay")
    relay_log.addHandler(handler)
    relay_log.setLevel(logging.INFO)
    relay_log.propagate = False
    logging.getLogger("websockets").setLevel(logging.WARNING)

    def listening(port: int) -> None:
        where = one_line(settings.where)  # never the database password
        print(f"relay listening on ws://{settings.host}:{port} ({where}); Ctrl-C to stop",
              flush=True)

    serve_relay(settings, on_listening=listening)
    return 0


def cmd_folder(args: argparse.Namespace) -> int:
    from comentor.model.errors import ValidationError
    from comentor.sync import SyncService

    action = getattr(args, "action", None)
    if action not in ("use", "show"):
        raise ValidationError("folder needs an action: use or show")
    j = _journal(args)
    try:
        if action == "use":
            given = args.dir.strip()
            path = SyncService.use_folder(j, None if given.lower() == "none" else args.dir)
            if path is None:
                print("this journal no longer syncs through a folder")
            else:
                print(f"this journal syncs through encrypted files in {one_line(path)}")
            return 0
        folder = SyncService.settings(j).sync_folder
        if args.json:
            print(json.dumps({"sync_folder": folder}))
        else:
            print(one_line(folder) if folder else "no sync folder configured (comentor folder use DIR)")
        return 0
    finally:
        j.close()


def _one_round(args: argparse.Namespace, via: str, **options: Any) -> int:
    """One round through ``via`` (relay or folder): what moved, or why it failed."""
    from comentor.sync import SyncOptions

    service = service_for(args, SyncOptions(allow_mass_delete=args.allow_mass_delete, **options))
    report = service.sync(only=via)
    report.raise_if_failed()
    _say("\n".join(report.lines()))
    return 0


def cmd_sync_relay(args: argparse.Namespace) -> int:
    import asyncio

    from comentor.sync import SyncOptions

    if args.once:
        return _one_round(args, "relay", relay_url=args.url)
    options = SyncOptions(relay_url=args.url, allow_mass_delete=args.allow_mass_delete)
    rs = service_for(args, options).relay_session(
        on_status=_say,
        on_connected=lambda: print("connected to the relay", flush=True))

    async def live() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, rs.stop)
            except NotImplementedError:  # pragma: no cover
                pass
        await rs.run()

    asyncio.run(live())
    return 0


def cmd_sync_folder(args: argparse.Namespace) -> int:
    return _one_round(args, "folder", sync_folder=args.dir)


HANDLERS: dict[str, Any] = {
    "relay": cmd_relay,
    "folder": cmd_folder,
    "sync-relay": cmd_sync_relay,
    "sync-folder": cmd_sync_folder,
}
