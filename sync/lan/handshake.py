"""Opening a live session's channel over TCP: the Noise KK handshake with a paired device.

:func:`connect` dials an address and tries each candidate paired device's key (an address
does not say which device listens there); :func:`accept` answers, and only a device
recorded in this journal's devices table gets through (a revoked one too, only to be
told: see :meth:`comentor.sync.lan.session.LiveSession.tell_removed`). The session itself
is :mod:`comentor.sync.lan.session`.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import TYPE_CHECKING

from comentor.model.replication import PairedDevice, device_ids, device_record, paired_devices
from comentor.sync.errors import HandshakeError, SyncError, TransportError, network_reason
from comentor.sync.wire.channel import (
    SecureChannel,
    handshake_initiator,
    handshake_responder,
    key_hint,
)

if TYPE_CHECKING:
    from comentor.model import Journal

__all__ = ["connect", "accept", "PROLOGUE"]

PROLOGUE = b"comentor-lan/1"


async def connect(
    host: str, port: int, journal: Journal, candidates: list[PairedDevice], timeout: float = 10.0
) -> tuple[SecureChannel, PairedDevice]:
    """Open a channel to whichever paired device listens at host:port.

    Noise KK needs the responder's key up front and an address does not say which paired
    device is there, so each candidate is tried in turn (usually there is one).
    """
    if not candidates:
        raise HandshakeError("this journal is not paired with any device yet", hint="pair")
    last: SyncError | None = None
    for device in candidates:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"cannot reach {host}:{port}: {network_reason(exc)}") from None
        try:
            channel = await handshake_initiator(
                reader, writer, journal.keys.box_secret, device.box_pk, PROLOGUE, timeout
            )
            return channel, device
        except SyncError as exc:
            last = exc
            writer.close()
    assert last is not None
    if isinstance(last, HandshakeError):
        raise HandshakeError(
            f"the device at {host}:{port} is not one this journal is paired with"
        ) from None
    raise last


async def accept(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, journal: Journal,
    timeout: float = 10.0,
) -> tuple[SecureChannel, PairedDevice]:
    """Answer a connection: only a paired device completes the handshake (a revoked one
    only to be told, see :meth:`LiveSession.tell_removed`: check ``is_trusted``)."""
    paired = paired_devices(journal) + _revoked(journal)
    found: list[PairedDevice] = []

    def lookup(salt: bytes, hint: bytes) -> bytes | None:
        # a handful of paired devices: try each key under this connection's salt
        for device in paired:
            if hmac.compare_digest(key_hint(device.box_pk, salt), hint):
                found.append(device)
                return device.box_pk
        return None

    channel = await handshake_responder(
        reader, writer, journal.keys.box_secret, lookup, PROLOGUE, timeout
    )
    return channel, found[-1]


def _revoked(journal: Journal) -> list[PairedDevice]:
    """Revoked devices whose key this journal knows: they may connect, to be told."""
    out = []
    for device in device_ids(journal):
        rec = device_record(journal, device) or {}
        if device != journal.device_id and rec.get("revoked_at") and rec.get("box_pk"):
            out.append(PairedDevice(device, bytes(rec["box_pk"]), str(rec.get("name") or "")))
    return out
