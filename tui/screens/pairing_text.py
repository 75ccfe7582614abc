"""The pairing modals' wording: the safety-number hint, and errors worded as the modals'
controls where the command line would name a flag.

Split from :mod:`.pairing` (which re-exports :func:`app_text` and :data:`COMPARE_HINT`) so
the modals stay short; plain strings, no Textual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from comentor.sync import PairResult

__all__ = ["COMPARE_HINT", "DEVICE_BOX", "app_text", "who_paired"]

COMPARE_HINT = (
    "Compare it with the number on your partner's screen (side by side, or read it aloud on "
    "the phone): it must be the same. If it is not, someone came between you: do not use "
    "this pairing, revoke the device and pair again."
)


DEVICE_BOX = "One of my own devices"
_HINTS = {
    "peer": " (fill in the inviting device's address)",
    "peer_or_relay": ", or fill in the inviting device's address, or meet through the relay",
}


def app_text(exc: BaseException) -> str:
    """An error's message with its remedy worded as this modal's controls."""
    from comentor.model.errors import ComentorError

    text = str(exc)
    if not isinstance(exc, ComentorError):
        return text
    hint, option = exc.field("hint"), exc.field("option")
    if isinstance(hint, str) and hint in _HINTS:
        return text + _HINTS[hint]
    if option == "device":
        return f"{text} (the own-device box)"
    if option == "peer":
        return f"Inviting device's address: {text}"
    return text


def who_paired(result: PairResult) -> str:
    """Whose device was paired, as the modal says it."""
    return "your own device" if result.own_device else f"{result.peer.person_name}'s device"
