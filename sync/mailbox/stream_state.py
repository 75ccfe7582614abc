"""The cursors of one envelope stream, kept in the journal's local ``sync_cursors``.

Split from stream.py so that module keeps the protocol (what is sent, what is accepted)
and this one the bookkeeping it rests on: our envelope counter, what each other device
reported, what we already shipped and what we ask for again. Every value is read from the
journal each time, never cached, so two programs syncing one journal never act on a stale
copy. The cursor names are in docs/protocol.md (Streams).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from comentor.model.replication import (
    device_ids,
    device_record,
    paired_devices,
    previous_key,
    version_vector,
)
from comentor.sync.keys import key_id

if TYPE_CHECKING:
    from comentor.model import Journal

__all__ = ["Cursor", "MAX_JUMP", "OWN", "SendingRecord", "StreamState"]

OWN = "envelopes"
# How far one envelope may move a stream counter: a sender's number past the last one we
# processed from it, or our own counter (a journal restored from a backup). Even a genuine
# device cannot park a counter near 2**63 and so make every later envelope a "replay".
MAX_JUMP = 1_000_000
Cursor = tuple[str, str, str]
# what confirming an envelope moves (see :meth:`StreamState.sending_record`), with the value
# that means "never written"
_SENDING = {"sent": "{}", "state": "", "sent_at": "0", "resend": "[]", "readers": "",
            "full": "{}"}
SendingRecord = tuple[tuple[str, str], ...]


class StreamState:
    """The stream cursors of one channel under one partnership key (``ns`` names them)."""

    def __init__(self, journal: Journal, channel: str, key: bytes,
                 tables: tuple[str, ...] | None) -> None:
        self.j, self.channel = journal, channel
        self.tables = tables
        self.partnership_key = key
        self.ns = self._namespace(key)

    def _namespace(self, key: bytes) -> str:
        """The cursor names of this key's streams: each key (mailbox, folder tags) has its
        own envelope numbering. The key in use before the first rotation keeps the plain
        channel name, so journals synced before rotations existed continue their streams."""
        legacy_name = f"{self.channel}:legacy-key"
        legacy = self.j.cursor(OWN, legacy_name)
        if legacy is None:
            legacy = key_id(previous_key(self.j) or self.j.partnership_key() or key)
            with self.j.transaction():
                self.j.write_cursor(OWN, legacy_name, legacy)
        kid = key_id(key)
        return self.channel if kid == legacy else f"{self.channel}~{kid}"

    def _get(self, peer: str, name: str, default: str) -> str:
        return self.j.cursor(peer, name) or default

    def _in_name(self) -> str:
        return f"env-{self.ns}:in"

    def _peer_name(self) -> str:
        return f"env-{self.ns}:peer"

    def _own(self, name: str) -> str:
        return f"{self.ns}:{name}"

    def stale(self) -> bool:
        """Whether the journal's key rotated since this exchange began (a full exchange
        then sends nothing: nothing new is ever sealed under a previous key)."""
        return self.tables is None and self.j.partnership_key() != self.partnership_key

    def switched(self) -> bool:
        """Whether every other device has sent us an envelope under this key: they all
        hold it, so the previous key's transition can end."""
        return all(self.last_in(d) > 0 for d in self.others())

    def last_in(self, device: str) -> int:
        return int(self._get(device, self._in_name(), "0"))

    def peer(self, device: str) -> tuple[dict[str, int], int]:
        """A device's last reported vector and the number of our envelopes it had processed."""
        got = self.j.cursor(device, self._peer_name())
        if got is None and self.ns != self.channel:
            # a new key's stream: what the device held on the previous one is still true
            # of its journal, so nothing it already has is sent again
            old = json.loads(self._get(device, f"env-{self.channel}:peer", '{"vec": {}}'))
            got = json.dumps({"vec": old["vec"], "seen": 0})
        raw = json.loads(got or '{"vec": {}, "seen": 0}')
        return {str(k): int(v) for k, v in raw["vec"].items()}, int(raw["seen"])

    def out_seq(self) -> int:
        return int(self._get(OWN, self._own("out"), "0"))

    def _sent(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in json.loads(self._get(OWN, self._own("sent"), "{}")).items()}

    def _resend(self) -> list[str]:
        return [str(d) for d in json.loads(self._get(OWN, self._own("resend"), "[]"))]

    def _readers(self) -> set[str] | None:
        """The devices our last envelope was sealed for (None before the first one)."""
        raw = self._get(OWN, self._own("readers"), "")
        return {str(d) for d in json.loads(raw)} if raw else None

    def _full(self) -> dict[str, int]:
        """Replicas to send whole, and from where: some device holds other versions of them
        (a fork), so every version goes, page by page."""
        raw = json.loads(self._get(OWN, self._own("full"), "{}"))
        return {str(r): int(at) for r, at in raw.items()} if isinstance(raw, dict) else {}

    def _full_cursor(self, replicas: dict[str, int]) -> Cursor:
        return (OWN, self._own("full"), json.dumps(replicas, sort_keys=True))

    def others(self) -> list[str]:
        """Every other paired, unrevoked device: the readers of this channel."""
        return sorted(d.device_id for d in paired_devices(self.j))

    def lacking(self) -> dict[str, int]:
        """Per other device that has sent us an envelope: how many of the operations its
        latest one said it held this journal lacks (0: caught up with it)."""
        held = version_vector(self.j)
        out = {}
        for device in self.others():
            vector = self.peer(device)[0]
            if vector:
                out[device] = sum(max(0, n - held.get(r, 0)) for r, n in vector.items())
        return out

    def readers(self) -> list[str]:
        """Who an envelope of ours is for: the other paired devices and, on a previous key's
        mailbox (devices and key grants only), the devices revoked since, which still hold
        that key: there they learn that they were removed, and nothing else."""
        others = self.others()
        if self.tables is None:
            return others
        revoked = [d for d in device_ids(self.j) if d != self.j.device_id
                   and (device_record(self.j, d) or {}).get("revoked_at")]
        return sorted({*others, *revoked})

    def device_count(self) -> int:
        return max(2, min(16, len(self.others()) + 1))

    def name(self, device: str) -> str:
        rec = device_record(self.j, device)
        if rec is None:
            return f"device {device[:8]}"
        return f"{self.j.person_name(rec.get('person'))}'s {rec.get('name') or 'device'}"

    def confirmed_out(self) -> int:
        """Our envelopes every other device has reported processing (safe to delete)."""
        others = self.others()
        return min((self.peer(d)[1] for d in others), default=0)

    # -- moved by a carrier ---------------------------------------------------------
    def skip_past(self, seq: int) -> bool:
        """Number our next envelope after ``seq``: the carrier holds an envelope of ours
        with that number already (a journal restored from a backup goes back to the
        backup's counter, and must never issue a number twice). A number more than
        MAX_JUMP ahead is not ours to follow (a file planted by a folder's host): ignored.
        Returns whether the counter moved."""
        out = self.out_seq()
        if not out < seq <= out + MAX_JUMP:
            return False
        with self.j.transaction():
            if self.out_seq() < seq:  # another program of this device may have moved it
                self.j.write_cursor(OWN, self._own("out"), str(seq))
        return True

    def give_back(self, seq: int) -> None:
        """``seq`` was issued but never reached any carrier (the write failed): the next
        envelope takes it, so no reader sees a gap where nothing was lost."""
        with self.j.transaction():
            if self.out_seq() == seq:  # else another program of this device went on
                self.j.write_cursor(OWN, self._own("out"), str(seq - 1))

    def ask_again(self, devices: Iterable[str]) -> None:
        """Ask ``devices`` in our next envelope to send again what our vector lacks."""
        want = sorted(set(self._resend()) | set(devices))
        if want != sorted(self._resend()):
            with self.j.transaction():
                self.j.write_cursor(OWN, self._own("resend"), json.dumps(want))

    def sending_record(self) -> SendingRecord:
        """What confirming our envelopes moves (what was shipped, to whom, which requests
        were made): a carrier that is not the usual one puts it back afterwards with
        :meth:`restore_sending`, so the usual carrier still ships all of it."""
        return tuple((name, self._get(OWN, self._own(name), default))
                     for name, default in _SENDING.items())

    def restore_sending(self, record: SendingRecord) -> None:
        with self.j.transaction():
            for name, value in record:
                self.j.write_cursor(OWN, self._own(name), value)
