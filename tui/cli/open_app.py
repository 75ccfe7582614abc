"""Opening the app: `comentor` on your journal, `comentor demo` on the demo partnership.

Textual is imported only here, and only once a command opens the app.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING, Any

from comentor.model.errors import ValidationError

from .common import default_dir, given_journal, journal_path

if TYPE_CHECKING:
    import argparse  # `comentor` alone opens the app without it (see main)

__all__ = ["HANDLERS"]


def cmd_demo(args: argparse.Namespace) -> int:
    from comentor.model import DEMO_SEED, create_demo

    path = demo_path(args)
    if not path.exists():
        create_demo(path, seed=args.seed if args.seed is not None else DEMO_SEED).close()
    if args.status:
        args.journal = str(path)
        args.json = False
        from .reports import cmd_status

        return cmd_status(args)
    return _open_app(path)


def demo_path(args: argparse.Namespace) -> Path:
    """The demo's journal: --journal only when given explicitly (never $COMENTOR_JOURNAL,
    which names the user's real journal), else demo.db in the user data directory.

    A path given explicitly that holds a journal other than a demo is refused: the demo
    never opens a real journal as if it were the demo.
    """
    from comentor.model import is_demo_journal

    given = given_journal(args)
    if given is None:
        return default_dir() / "demo.db"
    path = Path(given).expanduser()
    if path.exists() and not is_demo_journal(path):
        raise ValidationError(f"{path} is a real journal, not a demo: `comentor demo` never "
                              "opens it (leave out --journal, or name a new file)",
                              option="journal")
    return path


def _open_app(path: Path) -> int:
    """Start reading the first screen, import Textual meanwhile, run the app.

    The collector stays off until the first frame (run_app turns it back on after it):
    what is loaded by then lives as long as the process, so its passes over it while Textual
    and the model load are wasted (bench/startup.py shows a minimal app with the same setting
    beside the plain one). `main` has it off already on the app's own path; this covers
    `comentor demo` and the command lines argparse reads."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        from ..launch import Prefetch

        prefetch = Prefetch(path)  # reads the first screen while Textual is imported below
        from ..app import run_app

        return run_app(path, prefetch=prefetch)
    finally:
        if collecting:
            gc.enable()


def cmd_app(args: argparse.Namespace) -> int:
    return _open_app(journal_path(args))


HANDLERS: dict[str | None, Any] = {"demo": cmd_demo, None: cmd_app}
