"""Local-only data: settings, private notes, talking-point drafts and sync cursors.

Nothing here is ever written as an operation, so none of it can leave the device by sync.
Private notes and drafts are still indexed for local search.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

from ._fts import set_document
from ._ops import new_row_id
from ._schema import LONG_TEXT_LIMIT, TEXT_LIMIT
from .errors import NotFoundError, ValidationError

__all__ = ["LocalData"]


class LocalData:
    """Mixin of :class:`Journal` for the tables that never sync."""

    conn: sqlite3.Connection
    _rand: Callable[[int], bytes]

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:  # pragma: no cover
        raise NotImplementedError

    def now_iso(self) -> str:  # pragma: no cover
        raise NotImplementedError

    def now(self) -> dt.datetime:  # pragma: no cover
        raise NotImplementedError

    # settings -------------------------------------------------------------
    def setting(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def set_setting(self, key: str, value: str | None) -> None:
        self.set_settings({key: value})

    def set_settings(self, values: Mapping[str, str | None]) -> None:
        """Set (None: remove) several settings in one transaction: one write to the disk."""
        with self.transaction():
            for key, value in values.items():
                if value is None:
                    self.conn.execute("DELETE FROM settings WHERE key = ?", (key,))
                else:
                    self.conn.execute(
                        "INSERT INTO settings (key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        (key, value),
                    )

    # private notes --------------------------------------------------------
    def add_private_note(self, text: str, *, about_table: str | None = None,
                         about_id: str | None = None, session: str | None = None) -> str:
        """A note that stays on this device: never part of an operation or a backup to peers."""
        text = _check_text(text, LONG_TEXT_LIMIT)
        note = new_row_id(self._rand, self.now().timestamp())
        stamp = self.now_iso()
        with self.transaction():
            self.conn.execute(
                "INSERT INTO private_notes (id, text, about_table, about_id, session, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (note, text, about_table, about_id, session, stamp, stamp),
            )
            self._index_private(note, text)
        return note

    def edit_private_note(self, note: str, text: str) -> None:
        text = _check_text(text, LONG_TEXT_LIMIT)
        with self.transaction():
            cur = self.conn.execute(
                "UPDATE private_notes SET text = ?, updated_at = ? WHERE id = ?",
                (text, self.now_iso(), note),
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no private note with id {note}")
            self._index_private(note, text)

    def set_private_note_deleted(self, note: str, deleted: bool) -> None:
        with self.transaction():
            cur = self.conn.execute(
                "UPDATE private_notes SET deleted = ? WHERE id = ?", (int(deleted), note)
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no private note with id {note}")
            set_document(self.conn, "private_notes", note, None)
            if not deleted:
                text = self.conn.execute(
                    "SELECT text FROM private_notes WHERE id = ?", (note,)
                ).fetchone()[0]
                self._index_private(note, text)

    def private_notes(self, session: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM private_notes WHERE deleted = 0"
        params: tuple[object, ...] = ()
        if session is not None:
            sql += " AND session = ?"
            params = (session,)
        return _dicts(self.conn.execute(sql + " ORDER BY created_at, id", params))

    def _index_private(self, note: str, text: str) -> None:
        set_document(self.conn, "private_notes", note, text)

    # talking-point drafts ---------------------------------------------------
    def add_draft(self, text: str) -> str:
        """A talking point kept private until :meth:`share_draft` makes it a synced item."""
        text = _check_text(text, TEXT_LIMIT)
        draft = new_row_id(self._rand, self.now().timestamp())
        with self.transaction():
            self.conn.execute(
                "INSERT INTO talking_point_drafts (id, text, created_at) VALUES (?, ?, ?)",
                (draft, text, self.now_iso()),
            )
            set_document(self.conn, "talking_point_drafts", draft, text)
        return draft

    def edit_draft(self, draft: str, text: str) -> None:
        """Change a draft talking point's text (it stays on this device until shared)."""
        text = _check_text(text, TEXT_LIMIT)
        with self.transaction():
            cur = self.conn.execute(
                "UPDATE talking_point_drafts SET text = ? WHERE id = ?", (text, draft)
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no draft talking point with id {draft}")
            set_document(self.conn, "talking_point_drafts", draft, text)

    def drafts(self) -> list[dict[str, Any]]:
        return _dicts(self.conn.execute(
            "SELECT * FROM talking_point_drafts WHERE deleted = 0 ORDER BY created_at, id"
        ))

    def discard_draft(self, draft: str) -> None:
        self._set_draft_deleted(draft, True)

    def restore_draft(self, draft: str) -> None:
        """Take back :meth:`discard_draft` (the screens' undo)."""
        self._set_draft_deleted(draft, False)

    def is_draft(self, item: str) -> bool:
        return self.conn.execute(
            "SELECT 1 FROM talking_point_drafts WHERE id = ?", (item,)
        ).fetchone() is not None

    def _set_draft_deleted(self, draft: str, deleted: bool) -> None:
        with self.transaction():
            cur = self.conn.execute(
                "UPDATE talking_point_drafts SET deleted = ? WHERE id = ?", (int(deleted), draft)
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no draft talking point with id {draft}")
            text = None if deleted else self.conn.execute(
                "SELECT text FROM talking_point_drafts WHERE id = ?", (draft,)).fetchone()[0]
            set_document(self.conn, "talking_point_drafts", draft, text)

    # sync cursors -----------------------------------------------------------
    def cursor(self, peer: str, channel: str) -> str | None:
        row = self.conn.execute(
            "SELECT value FROM sync_cursors WHERE peer = ? AND channel = ?", (peer, channel)
        ).fetchone()
        return None if row is None else row[0]

    def cursors(self) -> Iterator[tuple[str, str, str]]:
        yield from self.conn.execute("SELECT peer, channel, value FROM sync_cursors")

    def write_cursor(self, peer: str, channel: str, value: str) -> None:
        """Write a cursor inside the caller's transaction (so it is never ahead of the data)."""
        self.conn.execute(
            "INSERT INTO sync_cursors (peer, channel, value) VALUES (?, ?, ?) "
            "ON CONFLICT(peer, channel) DO UPDATE SET value = excluded.value",
            (peer, channel, value),
        )


def _check_text(text: str, limit: int) -> str:
    from ._entities import is_blank  # here: _entities is only needed to write

    if is_blank(text):
        raise ValidationError("the text is empty")
    text = text.strip()
    if len(text) > limit:
        raise ValidationError(f"the text is longer than {limit:,} characters ({len(text):,} "
                              "given): shorten it, or split it in two")
    return text


def _dicts(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


