"""Opening a journal to sync it: the one place every transport does it.

Errors of the journal pass through unchanged (they are :class:`ComentorError`\\ s already):
above all a :class:`~comentor.model.errors.PassphraseError`, so that a caller can ask for
the passphrase and try again. A demo journal is refused by the model's one demo guard.
"""

from __future__ import annotations

import os

from comentor.model import Journal
from comentor.model.replication import DeviceKeys, ensure_syncable

__all__ = ["open_for_sync"]


def open_for_sync(path: str | os.PathLike[str], *, keys: DeviceKeys | None = None,
                  passphrase: str | None = None, action: str = "sync") -> Journal:
    """Open the journal at ``path`` (with already unlocked ``keys``, or a ``passphrase``)
    and refuse a demo journal; ``action`` names what was refused (sync, relay, folder)."""
    j = Journal.open(path, keys=keys, passphrase=passphrase)
    try:
        ensure_syncable(j, action)
    except BaseException:
        j.close()
        raise
    return j
