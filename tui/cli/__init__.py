"""The `comentor` command line: quick capture and scripting, in the manner of jrnl and git.

`parser` builds the arguments; each command group lives in its own module (`items`,
`reports`, `open_app`, `sync`, `pair`, `relay`), imported only when one of its commands
runs, so `comentor add` never loads asyncio, the network stack or Textual. Every failure the
user can cause ends with one line on stderr and a non-zero exit; no traceback reaches the
terminal unless COMENTOR_DEBUG is set.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

__all__ = ["main"]

# which module handles each command (None: no command, open the app)
_GROUPS: dict[str | None, str] = {
    **dict.fromkeys(("init", "add", "list", "done", "drop", "delete", "undo-delete", "edit"),
                    "items"),
    **dict.fromkeys(("status", "schedule", "export", "search", "conflicts", "quarantine"),
                    "reports"),
    **dict.fromkeys(("demo", None), "open_app"),
    **dict.fromkeys(("serve", "sync"), "sync"),
    **dict.fromkeys(("invite", "join"), "pair"),
    **dict.fromkeys(("relay", "folder", "sync-relay", "sync-folder"), "relay"),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit status."""
    from .parser import build_parser

    args = build_parser().parse_args(argv)
    from comentor.model.errors import ComentorError

    try:
        module = importlib.import_module(f".{_GROUPS[args.command]}", __name__)
        result: int = module.HANDLERS[args.command](args)
        return result
    except ComentorError as exc:
        print(f"comentor: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("comentor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # last line of defence: one line, never a traceback
        if os.environ.get("COMENTOR_DEBUG"):
            raise
        print(f"comentor: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 70
