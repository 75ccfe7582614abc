"""The LAN engine's watch on its journal file: edits by other processes, and the file
replaced under it (a mixin of :class:`comentor.sync.lan.engine.SyncEngine`).

Every tenth of a second the engine looks at the op log (one indexed ``max(rowid)``): edits
made by another process (the command line, another program of this device) reach it without
a notify, and are pushed from here. It also looks at which file is at the journal's path
(:func:`~comentor.model.file_identity`): when a restore (`comentor restore --force`) put
another file there, the engine ends every session, lets go of the old file (whose log must
never reach the new one, see ``model/_replaced.py``) and syncs the restored file from then
on. A session ended so would fail with whatever its connection saw last ("connection lost",
"the other device closed the connection"), which says nothing of why: each is noted here,
and :meth:`LanReplaced._cut_short` gives its real cause, a :class:`JournalReplacedError`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from comentor.model import file_identity, let_go
from comentor.model.errors import ComentorError
from comentor.model.replication import log_mark
from comentor.sync._journal import open_for_sync
from comentor.sync.errors import JournalReplacedError

if TYPE_CHECKING:
    from comentor.model import Journal
    from comentor.sync._summary import EventSummary
    from comentor.sync.lan.session import LiveSession

__all__ = ["LanReplaced", "POLL"]

# how often the op log is checked for edits that came without a notify (another process,
# the command line): one indexed max(rowid), cheap enough to keep such edits under 150 ms
POLL = 0.1


class LanReplaced:
    """The engine's polling of its journal file; see the module docstring."""

    journal_path: Path
    _j: Journal | None
    _file: tuple[int, int] | None
    _last_mark: int
    _sessions: dict[str, LiveSession]
    _stopping: asyncio.Event | None
    _refusals: EventSummary
    _replaced: dict[LiveSession, JournalReplacedError]  # sessions ended by a restore

    def _journal(self) -> Journal:
        raise NotImplementedError

    def _push_all(self) -> None:
        raise NotImplementedError

    def _error(self, message: str, error: ComentorError | None = None) -> None:
        raise NotImplementedError

    def _cut_short(self, session: LiveSession) -> JournalReplacedError | None:
        """Why ``session`` failed, if the journal's replacement ended it: the engine closed
        it for that, or the file was replaced before the poll saw it (a write to the moved
        file may fail first). The note is forgotten then."""
        cut = self._replaced.pop(session, None)
        if cut is None and file_identity(self.journal_path) not in (None, self._file):
            cut = _cut_short()
        return cut

    async def _poll_local(self) -> None:
        """Edits made by other processes (the CLI) reach the op log without a notify."""
        while True:
            await asyncio.sleep(POLL)
            self._refusals.tick()
            if file_identity(self.journal_path) not in (None, self._file):
                await self._reopen()
                if self._stopping is not None and self._stopping.is_set():
                    return
            top = log_mark(self._journal())
            if top != self._last_mark:
                self._last_mark = top
                self._push_all()

    async def _reopen(self) -> None:
        """The journal file was replaced (a backup restored while the app runs): end the
        sessions, saying why, let go of the old file (never letting its log reach the new
        one) and sync the restored file from now on; its first exchange finds it restored."""
        for session in list(self._sessions.values()):
            self._replaced[session] = _cut_short()  # before the close that makes it fail
            await session.channel.close()
        await asyncio.sleep(0.1)  # the sessions end before their journal closes
        old = self._journal()
        let_go(old)
        try:
            self._j = open_for_sync(self.journal_path, keys=old.keys)
        except ComentorError as exc:  # the new file is not a journal this device can use
            self._error(f"the journal file was replaced by one that cannot be synced: {exc}", exc)
            assert self._stopping is not None
            self._stopping.set()
            return
        self._file = file_identity(self.journal_path)
        self._last_mark = log_mark(self._j)
        self._error("the journal file was replaced (restored from a backup?): syncing the "
                    "restored file from now on")


def _cut_short() -> JournalReplacedError:
    return JournalReplacedError(
        "the journal file was replaced during this sync (restored from a backup?): the sync "
        "was cut short, and the next one syncs the restored journal")
