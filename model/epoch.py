"""Detecting a journal restored from a backup, so it never reuses sequence numbers.

At its first write in a process the journal compares a random token kept in the journal
with the one kept beside it in the user's state directory (outside the journal file, so a
backup of the journal does not bring the file back with it). If they differ — the journal
was restored, copied to a new machine, or the state was lost — the device moves to a new
epoch: a fresh replica id whose sequence numbers start at one, so no (replica, seq) is ever
issued twice with different contents. Both tokens are then renewed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["state_dir", "read_token", "write_token", "new_token"]


def state_dir() -> Path:
    """Where the per-device tokens live: $COMENTOR_STATE_DIR or the platform's state dir."""
    override = os.environ.get("COMENTOR_STATE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_state_dir("comentor", appauthor=False))


def _path(device_id: str) -> Path:
    return state_dir() / "replicas" / f"{device_id}.token"


def read_token(device_id: str) -> str | None:
    """The token recorded for this device on this machine, if any."""
    try:
        return _path(device_id).read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def write_token(device_id: str, token: str) -> None:
    """Record the token atomically (write a temporary file, then rename)."""
    path = _path(device_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(token, encoding="ascii")
    os.replace(tmp, path)


def new_token() -> str:
    return secrets.token_hex(16)
