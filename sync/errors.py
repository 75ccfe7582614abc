"""The sync layer's one error hierarchy.

Every failure that comes from a peer, a relay, a folder or a pairing code is raised as a
subclass of :class:`SyncError`, with a one-line message a user can act on. Callers (the
command line, the app) catch ``SyncError`` (or the common root ``ComentorError``).

Messages never name a command-line flag or a checkbox: what an interface should offer as
the remedy travels in fields, and each interface words it its own way.

- ``option``: the option or setting the error is about (a :class:`SyncOptions` field or a
  settings key): ``peer``, ``interfaces``, ``port``, ``timeout``, ``allow_mass_delete``,
  ``device`` (pair one's own device), ``name``, ``relay_url``, ``sync_folder``.
- ``hint``: a remedy: ``peer`` (give the partner device's address instead of searching the
  network), ``peer_or_relay`` (that, or meet through a relay), ``pair`` (pair this journal
  first), ``configure`` (set the setting named by ``option``).
- ``code``: a relay's refusal code (``code_in_use``, ``quota``, ...).
- ``reason``: what kind of failure, where callers must tell cases apart (``timeout``;
  ``name_taken``: a zeroconf name in use, with the ``addresses`` that answered for it).
- ``from_peer``: the other device ended a session and said why (we need not tell it).
- ``version`` / ``ours``: the protocol version the other side speaks, and ours
  (:class:`OutdatedPeerError`: whichever side is older must update comentor).
- ``at`` / ``by``: when and by whom this device was removed from the partnership
  (:class:`RemovedError`).

(The model's errors carry fields too: a ``DemoJournalError`` names the refused ``action``; a
``MassDeletionError`` from sync has ``option="allow_mass_delete"``.)
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
    "ListenError",
    "OptionError",
    "OutdatedPeerError",
    "RemovedError",
    "JournalReplacedError",
    "network_reason",
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


class ListenError(TransportError):
    """A port to listen on is taken or not allowed (fields ``host`` and ``port``)."""


class OptionError(SyncError):
    """An option or setting given to sync is malformed (``option`` names it)."""


class OutdatedPeerError(ProtocolError):
    """The other side speaks another version of a sync protocol (``version``; ours is
    ``ours``): comentor must be updated on whichever device is older."""


class RemovedError(SyncError):
    """This device was revoked (``at``, ``by``): nothing it writes reaches the partnership
    any more, so sync refuses, saying when and by whom."""


class JournalReplacedError(SyncError):
    """The journal file was replaced at its path while a sync ran (a backup restored): the
    sync was cut short, so that nothing of the old file reaches the restored one. Not a
    network failure, though the connection is what ended it."""


def network_reason(exc: BaseException) -> str:
    """Why a connection failed, in words a person reads ("nothing answers there"), not
    Python's ("[Errno 111] Connect call failed ('127.0.0.1', 9)")."""
    import socket

    if isinstance(exc, ConnectionRefusedError):
        return "nothing is listening there (connection refused)"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, socket.gaierror):
        return "that host name is not known"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "the other end closed the connection"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__
