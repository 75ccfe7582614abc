"""The sync layer's one error hierarchy.

Every failure that comes from a peer, a relay, a folder or a pairing code is raised as a
subclass of :class:`SyncError`, with a message a user can act on. Callers (the command line,
the app) catch ``SyncError`` (or the common root ``ComentorError``) and show its message on one line; nothing else should escape.
"""

from __future__ import annotations

from comentor.model.errors import ComentorError

__all__ = [
    "SyncError",
    "ProtocolError",
    "HandshakeError",
    "PairingError",
    "RelayError",
    "TransportError",
]


class SyncError(ComentorError):
    """Base class of every error the sync layer raises on purpose."""


class ProtocolError(SyncError):
    """Bytes from the network, a relay or a file that are malformed, too large or forged."""


class HandshakeError(SyncError):
    """The Noise handshake failed: unknown device, wrong keys, or tampered messages."""


class PairingError(SyncError):
    """Pairing failed: wrong or expired code, or the other side gave up."""


class RelayError(SyncError):
    """The relay refused a request or could not be reached."""


class TransportError(SyncError):
    """A connection, listener or folder could not be used."""
