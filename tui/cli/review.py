"""`comentor review`: where we started, where we are, as text, Markdown or one HTML file.

The model gathers the review and renders it (see model/_review.py); this handler reads the
options, picks the format from the file name and writes the file safely. Without -o the
Markdown is printed, control characters shown escaped. A year in review is
`comentor review --since 1y`. Imports nothing heavy: no Textual, no asyncio.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from comentor import model as m

from ..text import escape_controls, one_line
from .common import journal_path, open_journal

__all__ = ["HANDLERS", "FORMATS", "format_for"]

# file name endings and what each writes
FORMATS = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}


def format_for(output: str) -> str | None:
    """"md" or "html" for a file name by its ending; None for any other ending."""
    return FORMATS.get(Path(output).suffix.lower())


def cmd_review(args: argparse.Namespace) -> int:
    """Print the review as Markdown, or write it to -o FILE.md / FILE.html."""
    to_stdout = args.output in (None, "-")  # "-": standard output, as tools write it
    kind = "md" if to_stdout else format_for(args.output)
    if kind is None:  # checked before the journal is opened: nothing is read or written
        print(f"comentor: review -o {one_line(args.output)}: the file name must end in .md "
              "(Markdown) or .html (one self-contained page)", file=sys.stderr)
        return 2
    with open_journal(args) as j:
        since = m.parse_since(args.since, j.today()) if args.since else None
        found = m.review(j, since)
    text = m.render_review_html(found) if kind == "html" else m.render_review_markdown(found)
    if not to_stdout:
        # never the journal itself, its -wal or -shm, a device or a folder; atomic
        written = m.write_file_safely(args.output, text.encode("utf-8"),
                                      protect=m.journal_files(journal_path(args)))
        print(f"wrote {one_line(written)} ({found.period})")
    else:
        sys.stdout.buffer.write(escape_controls(text).encode("utf-8"))
        sys.stdout.flush()
    return 0


HANDLERS: dict[str, Any] = {"review": cmd_review}
