"""How the command line words an error: the model's message plus the remedy a user types.

The core's messages never name a flag or a command (the app words the same error with its
own buttons); an error carries the remedy as fields, and this is where the command line
turns them into `comentor ...` text. Errors are told apart by type and fields, never by
their message. Every line is inert: a message that quotes user text (a path, a name)
never drives the terminal.
"""

from __future__ import annotations

from comentor.model import short_id
from comentor.model.errors import ComentorError

from ..text import one_line

__all__ = ["word"]

# hint field -> what to run
_HINTS = {
    "init": "run `comentor init --name NAME` first",
    "repair": "`comentor repair` rebuilds it into a new file, keeping this one as it is",
    "pair-again": "make a new journal (`comentor init`) and pair it again (`comentor join`)",
    "restore": "`comentor restore FILE`",
}


def word(exc: ComentorError) -> str:
    """The one line `comentor` prints for `exc` (without the `comentor: ` prefix)."""
    from .sync import cli_text  # the sync layer's fields (option, hint) as flags

    message = cli_text(exc)
    hint = exc.field("hint")
    row = exc.field("row")
    if hint == "undo-delete" and isinstance(row, str):
        message = f"{message}: `comentor undo-delete {short_id(row)}`"
    elif isinstance(hint, str) and hint in _HINTS:
        message = f"{message}: {_HINTS[hint]}"
    instead = exc.field("instead")  # the field to set instead, named as its option
    if isinstance(instead, str):
        message = f"{message} (--{instead})"
    return one_line(message)

