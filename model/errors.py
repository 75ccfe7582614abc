"""The journal's one error hierarchy.

Every error the model raises on purpose is a :class:`JournalError` whose message is one line
a user can act on. The command line prints it to stderr and exits non-zero; the app shows it
as a notification. Nothing else should escape the model for bad input.
"""

from __future__ import annotations

__all__ = [
    "ComentorError",
    "JournalError",
    "NotAJournalError",
    "JournalMissingError",
    "JournalLockedError",
    "JournalExistsError",
    "PassphraseError",
    "ValidationError",
    "NotFoundError",
    "InvalidOperationError",
    "UntrustedOperationError",
    "MassDeletionError",
    "DemoJournalError",
]


class ComentorError(Exception):
    """The root of every error comentor raises on purpose (journal and sync alike).

    The message is one line a person can act on. Errors also carry fields (`option`: the
    setting or input it is about, `device`, ...) so that each interface can word the
    remedy its own way (a CLI flag, a checkbox in the app) without parsing the text.
    """

    def __init__(self, message: str = "", **fields: object) -> None:
        super().__init__(message)
        self.fields: dict[str, object] = fields

    def field(self, name: str) -> object:
        """One of the error's fields, or None."""
        return self.fields.get(name)


class JournalError(ComentorError):
    """Base class of every error the journal raises on purpose."""


class JournalMissingError(JournalError):
    """The journal file does not exist (run `comentor init` first)."""


class NotAJournalError(JournalError):
    """The file exists but is not a comentor journal (or is damaged)."""


class JournalLockedError(JournalError):
    """Another process holds the journal's write lock for too long."""


class JournalExistsError(JournalError):
    """`init` was asked to create a journal where one already exists."""


class PassphraseError(JournalError):
    """The device key is sealed and the passphrase is missing or wrong."""


class ValidationError(JournalError):
    """A value given by the user does not fit the field it is meant for."""


class NotFoundError(JournalError):
    """No item with the given id (or id prefix) exists."""


class InvalidOperationError(JournalError):
    """An operation from a peer or file is malformed: wrong shape, table, field or type."""


class UntrustedOperationError(JournalError):
    """An operation is not signed by a paired device, or its signature does not verify."""


class MassDeletionError(JournalError):
    """A received batch would delete much of the journal; it needs an explicit yes."""


class DemoJournalError(JournalError):
    """A demo journal never syncs, advertises or contacts a relay."""


# What keeps a journal from being written (issue 8): each refuses writes with one line;
# reading works wherever the file can still be read.
__all__ += ["DamagedJournalError", "ReadOnlyJournalError", "DiskFullError", "NewerJournalError"]


class DamagedJournalError(JournalError):
    """The journal file is damaged (SQLite finds it malformed, or it is cut short): nothing
    is written to it any more. Fields: path, detail (what SQLite's check said), hint
    ("repair": the readable tables can be rebuilt into a new file from the signed log)."""


class ReadOnlyJournalError(JournalError):
    """The journal (its file or its folder) cannot be written: reading works. Field: path."""


class DiskFullError(JournalError):
    """The disk is full: the change was not made, the journal is as it was. Field: path."""


class NewerJournalError(JournalError):
    """A newer comentor changed this journal's schema: this version reads it but never
    writes to it. Fields: path, needs (the version it needs, when the journal says)."""
