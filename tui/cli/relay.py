"""Command-line parsers and handlers for the relay and for folder sync.

`comentor relay serve|use|show`, `comentor folder use|show`, and for scripting and tests
`comentor sync-relay [--once]` and `comentor sync-folder [DIR]`. `sync_via_settings(args)`
runs whichever of relay and folder sync this journal is configured for; `comentor sync`
calls it after the LAN sync.
"""

from __future__ import annotations

import argparse
import json
import signal
from pathlib import Path
from typing import Any

__all__ = ["add_parsers", "HANDLERS", "sync_via_settings"]


def add_parsers(sub: Any) -> None:
    """Add the relay and folder commands to the top-level subparsers."""
    s = sub.add_parser("relay", help="run a relay, or choose the relay this journal syncs through")
    rsub = s.add_subparsers(dest="action", metavar="ACTION")
    t = rsub.add_parser("serve", help="run a relay server (store-and-forward, end-to-end encrypted)")
    t.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    t.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    t.add_argument("--data", metavar="DIR", default=None,
                   help="where the relay keeps its database (default: the user state dir)")
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


def _passphrase() -> str | None:
    import os

    return os.environ.get("COMENTOR_PASSPHRASE")


def cmd_relay(args: argparse.Namespace) -> int:
    from comentor.model.errors import ValidationError
    from comentor.sync.mailbox.relay_sync import check_relay_url

    action = getattr(args, "action", None)
    if action == "serve":
        return _serve(args)
    if action not in ("use", "show"):
        raise ValidationError("relay needs an action: serve, use or show")
    j = _journal(args)
    try:
        if action == "use":
            if args.url.strip().lower() == "none":
                j.set_setting("relay_url", None)
                print("this journal no longer syncs through a relay")
                return 0
            if j.is_demo:
                raise ValidationError("this is a demo journal: it never contacts a relay")
            url = check_relay_url(args.url)
            j.set_setting("relay_url", url)
            print(f"this journal syncs through the relay at {url}")
            if url.startswith("ws://") and not url.startswith(("ws://127.", "ws://localhost")):
                print("note: ws:// is not encrypted in transit (envelopes still are); prefer wss://")
            return 0
        url = j.setting("relay_url")
        if args.json:
            print(json.dumps({"relay_url": url}))
        else:
            print(url or "no relay configured (comentor relay use URL)")
        return 0
    finally:
        j.close()


def _serve(args: argparse.Namespace) -> int:
    from comentor.model._epoch import state_dir
    from comentor.sync.relay.server import serve_forever

    data = Path(args.data).expanduser() if args.data else state_dir() / "relay"
    data.mkdir(parents=True, exist_ok=True)
    print(f"relay listening on ws://{args.host}:{args.port} (data in {data}); Ctrl-C to stop",
          flush=True)
    serve_forever(args.host, args.port, data)
    return 0


def cmd_folder(args: argparse.Namespace) -> int:
    from comentor.model.errors import ValidationError
    from comentor.sync.mailbox.folder import check_folder

    action = getattr(args, "action", None)
    if action not in ("use", "show"):
        raise ValidationError("folder needs an action: use or show")
    j = _journal(args)
    try:
        if action == "use":
            if args.dir.strip().lower() == "none":
                j.set_setting("sync_folder", None)
                print("this journal no longer syncs through a folder")
                return 0
            if j.is_demo:
                raise ValidationError("this is a demo journal: it never syncs")
            path = check_folder(args.dir).resolve()
            j.set_setting("sync_folder", str(path))
            print(f"this journal syncs through encrypted files in {path}")
            return 0
        folder = j.setting("sync_folder")
        if args.json:
            print(json.dumps({"sync_folder": folder}))
        else:
            print(folder or "no sync folder configured (comentor folder use DIR)")
        return 0
    finally:
        j.close()


def cmd_sync_relay(args: argparse.Namespace) -> int:
    import asyncio

    from comentor.sync.mailbox.relay_sync import RelaySync

    from .common import journal_path

    rs = RelaySync(journal_path(args), args.url, passphrase=_passphrase(),
                   on_status=lambda text: print(text, flush=True),
                   allow_mass_delete=args.allow_mass_delete)
    if args.once:
        report = asyncio.run(rs.sync_once())
        print("\n".join(report.lines()))
        return 0

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
    from comentor.sync.mailbox.folder import FolderSync

    from .common import journal_path

    report = FolderSync(journal_path(args), args.dir, passphrase=_passphrase(),
                        allow_mass_delete=args.allow_mass_delete).sync_once()
    print("\n".join(report.lines()))
    return 0


def sync_via_settings(args: argparse.Namespace) -> list[str]:
    """Run relay and folder sync if this journal has them configured; report lines.

    A failure of one transport is reported as a line and does not stop the other. Returns
    an empty list when neither is configured (or the journal is a demo).
    """
    import asyncio

    from comentor.model.errors import JournalError
    from comentor.sync.errors import SyncError
    from comentor.sync.mailbox.folder import FolderSync
    from comentor.sync.mailbox.relay_sync import RelaySync

    from .common import journal_path

    j = _journal(args)
    try:
        if j.is_demo:
            return []
        url, folder = j.setting("relay_url"), j.setting("sync_folder")
    finally:
        j.close()
    path, secret = journal_path(args), _passphrase()
    allow = bool(getattr(args, "allow_mass_delete", False))
    lines: list[str] = []
    if url:
        try:
            report = asyncio.run(RelaySync(path, url, passphrase=secret,
                                           allow_mass_delete=allow).sync_once())
            lines += report.lines()
        except (SyncError, JournalError) as exc:
            lines.append(f"relay: {exc}")
    if folder:
        try:
            lines += FolderSync(path, folder, passphrase=secret,
                                allow_mass_delete=allow).sync_once().lines()
        except (SyncError, JournalError) as exc:
            lines.append(f"folder: {exc}")
    return lines


HANDLERS: dict[str, Any] = {
    "relay": cmd_relay,
    "folder": cmd_folder,
    "sync-relay": cmd_sync_relay,
    "sync-folder": cmd_sync_folder,
}
