"""Opening the app: `comentor` on your journal, `comentor demo` on the demo partnership.

Textual is imported only here, and only once a command opens the app.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from .common import default_dir, journal_path

__all__ = ["HANDLERS"]


def cmd_demo(args: argparse.Namespace) -> int:
    from comentor.model._demo import DEMO_SEED, create_demo

    path = journal_path(args) if (args.journal or os.environ.get("COMENTOR_JOURNAL")) else None
    if path is None:
        path = default_dir() / "demo.db"
    if not path.exists():
        create_demo(path, seed=args.seed if args.seed is not None else DEMO_SEED).close()
    if args.status:
        args.journal = str(path)
        args.json = False
        from .reports import cmd_status

        return cmd_status(args)
    return _open_app(path)


def _open_app(path: Path) -> int:
    from ..launch import Prefetch

    prefetch = Prefetch(path)  # reads the first screen while Textual is imported below
    from ..app import run_app

    return run_app(path, prefetch=prefetch)


def cmd_app(args: argparse.Namespace) -> int:
    return _open_app(journal_path(args))


HANDLERS: dict[str | None, Any] = {"demo": cmd_demo, None: cmd_app}
