"""Sealed change sets ("envelopes") for the relay and for shared folders.

An envelope carries operations (each still signed by its author) from one device to every
other device of the partnership through a party we do not trust: a relay or a file-sync
service. It is sealed with XChaCha20-Poly1305 under a key derived from the partnership key,
so the carrier learns only its (padded) size. The sender's replica id, the envelope's
sequence number and the channel's mailbox id are authenticated, so the carrier can neither
forge an envelope, re-address it to another mailbox or channel, nor replay it unnoticed.

The format, every field and every limit are in ``docs/protocol-relay.md``. Anything that
does not open and decode exactly raises :class:`ProtocolError`, nothing else.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.encoding import RawEncoder
from nacl.exceptions import CryptoError
from nacl.hash import blake2b
from nacl.utils import random as random_bytes

from comentor.model.errors import JournalError, MassDeletionError
from comentor.model.ops import MAX_OP_BYTES, Operation, decode_op, encode_op
from comentor.model.remote import apply_remote
from comentor.model.store import ops_since, version_vector

from .errors import ProtocolError, SyncError
from .framing import decode_message, encode_message
from .relay_client import derive_mailbox

if TYPE_CHECKING:
    from comentor.model.journal import Journal

__all__ = [
    "MAGIC",
    "MAX_ENVELOPE",
    "MAX_PLAINTEXT",
    "NONCE_SIZE",
    "CHANNELS",
    "Contents",
    "envelope_key",
    "device_tag",
    "folder_tag",
    "padme",
    "seal",
    "open_envelope",
    "body_budget",
    "Report",
    "Outgoing",
    "Exchange",
    "HEARTBEAT",
]

MAGIC = b"CME1"  # "comentor envelope", format version 1
NONCE_SIZE = 24
TAG_SIZE = 16
MAX_ENVELOPE = 1024 * 1024  # the relay's envelope limit; folders use the same
MAX_PLAINTEXT = MAX_ENVELOPE - len(MAGIC) - NONCE_SIZE - TAG_SIZE
MIN_PADDED = 512  # even an empty envelope looks like a small change set
_LEN = 4  # big-endian length of the msgpack body, before the padding
CHANNELS = ("relay", "folder")

MAX_VECTOR = 4096  # replicas in a version vector
MAX_DEVICES = 256  # entries in `seen` and `resend`
MAX_OPS = 100_000
_REPLICA = re.compile(r"^[a-z2-7]{16}\.[0-9]{1,6}$")
_DEVICE = re.compile(r"^[a-z2-7]{16}$")
_FIELDS = frozenset({"v", "from", "seq", "vec", "seen", "resend", "ops"})
_INT_MAX = 2**63 - 1


def _kdf(partnership_key: bytes, label: bytes, person: bytes, size: int = 32) -> bytes:
    if not isinstance(partnership_key, bytes) or not 16 <= len(partnership_key) <= 64:
        raise ProtocolError("partnership key must be 16 to 64 bytes")
    return bytes(blake2b(label, digest_size=size, key=partnership_key, person=person,
                         encoder=RawEncoder))


def envelope_key(partnership_key: bytes) -> bytes:
    """The 32-byte AEAD key of envelopes: keyed BLAKE2b with its own personalisation.

    Distinct from the mailbox id and secret (``relay_client.derive_mailbox``), so the relay,
    which learns a verifier derived from the mailbox secret, learns nothing about this key.
    """
    return _kdf(partnership_key, b"envelope-key", b"comentor-env-key")


def device_tag(partnership_key: bytes, device_id: str) -> bytes:
    """The 16-byte tag a device shows the relay: stable, unlinkable across partnerships."""
    return _kdf(partnership_key, device_id.encode("ascii"), b"comentor-dev-tag", 16)


def folder_tag(partnership_key: bytes, device_id: str) -> str:
    """The name of a device's subfolder in a shared folder (20 hex chars, reveals nobody)."""
    return _kdf(partnership_key, device_id.encode("ascii"), b"comentor-fold-tg", 10).hex()


def padme(length: int) -> int:
    """PADME padding (Nikitin et al., 2019): at most ~12% overhead, leaks O(log log n) bits."""
    if length < 2:
        return length
    e = length.bit_length() - 1
    s = e.bit_length()
    mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask


def _padded_size(body_len: int) -> int:
    return min(padme(max(body_len + _LEN, MIN_PADDED)), MAX_PLAINTEXT)


@dataclass(frozen=True)
class Contents:
    """What an envelope says, once opened.

    `sender` is the sending replica (device id and epoch); `seq` its envelope number on this
    channel (1, 2, 3, ... never reused); `vector` the sender's version vector when it sealed
    the envelope; `seen` the last envelope number it processed from each other device on
    this channel; `resend` the devices it asks to send again what it lacks; `ops` encoded
    operations (``model.ops.encode_op``).
    """

    sender: str
    seq: int
    vector: dict[str, int] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    resend: tuple[str, ...] = ()
    ops: tuple[bytes, ...] = ()

    @property
    def device(self) -> str:
        return self.sender.split(".", 1)[0]

    def body(self) -> bytes:
        return encode_message({
            "v": 1, "from": self.sender, "seq": self.seq, "vec": dict(self.vector),
            "seen": dict(self.seen), "resend": list(self.resend), "ops": list(self.ops),
        })


def body_budget(header: Contents) -> int:
    """Bytes left for operations in an envelope whose other fields are ``header``'s.

    Each operation costs its length plus at most 5 bytes of msgpack framing.
    """
    base = len(Contents(header.sender, header.seq, header.vector, header.seen,
                        header.resend).body())
    return MAX_PLAINTEXT - _LEN - base - 4  # the ops array header grows to at most 5 bytes


def _associated(mailbox_id: str, channel: str) -> bytes:
    if channel not in CHANNELS:
        raise ProtocolError(f"unknown envelope channel {channel!r}")
    try:
        mailbox = bytes.fromhex(mailbox_id)
    except ValueError:
        raise ProtocolError("mailbox id must be hex") from None
    if len(mailbox) != 32:
        raise ProtocolError("mailbox id must be 32 bytes")
    return MAGIC + bytes([len(channel)]) + channel.encode("ascii") + mailbox


def seal(key: bytes, mailbox_id: str, channel: str, contents: Contents,
         nonce: bytes | None = None) -> bytes:
    """Encrypt ``contents`` for ``mailbox_id`` on ``channel``; the result is ≤ MAX_ENVELOPE."""
    body = contents.body()
    size = _padded_size(len(body))
    if len(body) + _LEN > size:
        raise ProtocolError(f"change set of {len(body)} bytes does not fit in one envelope")
    plain = len(body).to_bytes(_LEN, "big") + body + bytes(size - _LEN - len(body))
    nonce = nonce if nonce is not None else random_bytes(NONCE_SIZE)
    if len(nonce) != NONCE_SIZE:
        raise ProtocolError("nonce must be 24 bytes")
    sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(
        plain, _associated(mailbox_id, channel), nonce, key
    )
    return MAGIC + nonce + sealed


def open_envelope(key: bytes, mailbox_id: str, channel: str, data: bytes) -> Contents:
    """Authenticate, decrypt and strictly decode an envelope; ProtocolError on any misfit."""
    if not isinstance(data, bytes | bytearray):
        raise ProtocolError("envelope is not bytes")
    data = bytes(data)
    head = len(MAGIC) + NONCE_SIZE
    if len(data) > MAX_ENVELOPE:
        raise ProtocolError(f"envelope of {len(data)} bytes exceeds the {MAX_ENVELOPE}-byte limit")
    if len(data) < head + TAG_SIZE + MIN_PADDED or data[:len(MAGIC)] != MAGIC:
        raise ProtocolError("not a comentor envelope, or truncated")
    nonce = data[len(MAGIC):head]
    try:
        plain = crypto_aead_xchacha20poly1305_ietf_decrypt(
            data[head:], _associated(mailbox_id, channel), nonce, key
        )
    except CryptoError:
        raise ProtocolError(
            "envelope does not authenticate (tampered, truncated, or for another mailbox)"
        ) from None
    length = int.from_bytes(plain[:_LEN], "big")
    if _LEN + length > len(plain) or len(plain) != _padded_size(length):
        raise ProtocolError("envelope padding is malformed")
    if any(plain[_LEN + length:]):
        raise ProtocolError("envelope padding is not zero")
    return _decode_body(plain[_LEN:_LEN + length])


def _int(value: Any, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= _INT_MAX:
        raise ProtocolError("envelope field out of range")
    return value


def _decode_body(raw: bytes) -> Contents:
    obj = decode_message(raw)
    if not isinstance(obj, dict) or set(obj) != _FIELDS:
        raise ProtocolError("envelope fields are missing or unexpected")
    if _int(obj["v"]) != 1:
        raise ProtocolError("envelope format version is not supported")
    sender = obj["from"]
    if not isinstance(sender, str) or not _REPLICA.match(sender):
        raise ProtocolError("envelope sender is malformed")
    seq = _int(obj["seq"], 1)
    vec, seen, resend, ops = obj["vec"], obj["seen"], obj["resend"], obj["ops"]
    if not isinstance(vec, dict) or len(vec) > MAX_VECTOR:
        raise ProtocolError("envelope version vector is malformed")
    vector = {}
    for replica, n in vec.items():
        if not isinstance(replica, str) or not _REPLICA.match(replica):
            raise ProtocolError("envelope version vector names a malformed replica")
        vector[replica] = _int(n)
    if not isinstance(seen, dict) or len(seen) > MAX_DEVICES:
        raise ProtocolError("envelope seen map is malformed")
    seen_map = {}
    for device, n in seen.items():
        if not isinstance(device, str) or not _DEVICE.match(device):
            raise ProtocolError("envelope seen map names a malformed device")
        seen_map[device] = _int(n)
    if not isinstance(resend, list) or len(resend) > MAX_DEVICES or not all(
        isinstance(d, str) and _DEVICE.match(d) for d in resend
    ):
        raise ProtocolError("envelope resend list is malformed")
    if not isinstance(ops, list) or len(ops) > MAX_OPS or not all(
        isinstance(op, bytes) and 0 < len(op) <= MAX_OP_BYTES for op in ops
    ):
        raise ProtocolError("envelope operations are malformed")
    return Contents(sender, seq, vector, seen_map, tuple(resend), tuple(ops))


# ---------------------------------------------------------------------------- the stream
# Per channel, each device keeps (all in the journal's local sync_cursors, never synced):
#   ("envelopes", "<ch>:out")     last envelope number it issued (reserved before sending)
#   ("envelopes", "<ch>:sent")    the version vector it has already shipped (optimistic)
#   ("envelopes", "<ch>:state")   its version vector when it last sent an envelope
#   ("envelopes", "<ch>:resend")  devices to ask, in the next envelope, to send again
#   (<device>, "env-<ch>:in")     last envelope number processed from that device
#   (<device>, "env-<ch>:peer")   that device's last vector and how many of ours it has seen
# Every cursor moved by a received envelope is written in the transaction that applies it.

_OWN = "envelopes"
HEARTBEAT = 3600.0  # seconds between envelopes with no news while a device lags behind
Cursor = tuple[str, str, str]


@dataclass
class Report:
    """What one sync over one channel did, in words a user can act on."""

    channel: str
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    quarantined: int = 0
    sent: int = 0
    sent_ops: int = 0
    replays: int = 0
    own: int = 0
    rejected: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: set[str] = field(default_factory=set)

    def lines(self) -> list[str]:
        head = (f"{self.channel}: received {self.received} envelope(s), applied {self.applied} "
                f"change(s); sent {self.sent} envelope(s) with {self.sent_ops} change(s)")
        extra = []
        if self.replays:
            extra.append(f"{self.channel}: ignored {self.replays} replayed envelope(s)")
        if self.quarantined:
            extra.append(f"{self.channel}: {self.quarantined} change(s) held in quarantine "
                         "(clock far ahead): see `comentor quarantine`")
        return [head, *extra, *self.gaps, *self.rejected, *self.notes]


@dataclass(frozen=True)
class Outgoing:
    """An envelope sealed and numbered, to be carried and then :meth:`Exchange.confirm`-ed."""

    seq: int
    data: bytes
    ops: int
    sent: dict[str, int]
    state: str
    resend: tuple[str, ...]


def _dominates(have: dict[str, int], want: dict[str, int]) -> bool:
    return all(have.get(r, 0) >= n for r, n in want.items())


class Exchange:
    """Envelope streams between this journal and every other device on one channel.

    Recovery: a receiver that sees a jump in a sender's envelope numbers reports it and asks
    that sender (``resend``) to ship again everything its vector lacks; a sender also ships
    again when a partner has processed all its envelopes yet its vector still lacks what
    was sent. Replays (a number already processed) are ignored. See docs/protocol-relay.md.
    """

    def __init__(self, journal: Journal, channel: str, *, allow_mass_delete: bool = False,
                 heartbeat: float = HEARTBEAT) -> None:
        if journal.is_demo:
            raise SyncError("this is a demo journal: it never syncs")
        key = journal.partnership_key()
        if key is None:
            raise SyncError("this journal is not paired yet: run `comentor invite` or `comentor join`")
        if channel not in CHANNELS:
            raise SyncError(f"unknown channel {channel!r}")
        self.j, self.channel = journal, channel
        self.partnership_key = key
        self.key = envelope_key(key)
        self.mailbox, self.secret = derive_mailbox(key)
        self.device_tag = device_tag(key, journal.device_id)
        self.allow_mass_delete = allow_mass_delete
        self.heartbeat = heartbeat
        self.report = Report(channel)

    # -- state ----------------------------------------------------------------
    def _get(self, peer: str, name: str, default: str) -> str:
        return self.j.cursor(peer, name) or default

    def _in_name(self) -> str:
        return f"env-{self.channel}:in"

    def _peer_name(self) -> str:
        return f"env-{self.channel}:peer"

    def _own(self, name: str) -> str:
        return f"{self.channel}:{name}"

    def last_in(self, device: str) -> int:
        return int(self._get(device, self._in_name(), "0"))

    def peer(self, device: str) -> tuple[dict[str, int], int]:
        """A device's last reported vector and the number of our envelopes it had processed."""
        raw = json.loads(self._get(device, self._peer_name(), '{"vec": {}, "seen": 0}'))
        return {str(k): int(v) for k, v in raw["vec"].items()}, int(raw["seen"])

    def out_seq(self) -> int:
        return int(self._get(_OWN, self._own("out"), "0"))

    def _sent(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in json.loads(self._get(_OWN, self._own("sent"), "{}")).items()}

    def _resend(self) -> list[str]:
        return [str(d) for d in json.loads(self._get(_OWN, self._own("resend"), "[]"))]

    def others(self) -> list[str]:
        """Every other paired, unrevoked device: the readers of this channel."""
        return sorted(
            str(d["id"]) for d in self.j.rows("devices")
            if d["id"] != self.j.device_id and d.get("sign_pk") and not d.get("revoked_at")
        )

    def device_count(self) -> int:
        return max(2, min(16, len(self.others()) + 1))

    def name(self, device: str) -> str:
        rec = self.j.get("devices", device, include_deleted=True)
        if rec is None:
            return f"device {device[:8]}"
        return f"{self.j.person_name(rec.get('person'))}'s {rec.get('name') or 'device'}"

    def confirmed_out(self) -> int:
        """Our envelopes every other device has reported processing (safe to delete)."""
        others = self.others()
        return min((self.peer(d)[1] for d in others), default=0)

    # -- receiving --------------------------------------------------------------
    def _only(self, cursors: list[Cursor]) -> None:
        if cursors:
            with self.j.transaction():
                for peer, name, value in cursors:
                    self.j.write_cursor(peer, name, value)

    def _reject(self, why: str, cursors: list[Cursor]) -> str:
        self.report.rejected.append(f"{self.channel}: ignored an envelope: {why}")
        self._only(cursors)
        return "rejected"

    def _trusted(self, device: str, ops: list[Operation]) -> bool:
        rec = self.j.get("devices", device, include_deleted=True)
        if rec is None:  # a new device may arrive with the record that introduces it
            return any(op.table == "devices" and op.row == device and "sign_pk" in op.fields
                       for op in ops)
        return bool(rec.get("sign_pk")) and not rec.get("revoked_at") and not rec.get("deleted")

    def receive(self, data: bytes, extra: list[Cursor] | None = None,
                keep_extra_if_unopened: bool = True) -> str:
        """Open, check and apply one envelope; returns what happened.

        One of ``applied``, ``own``, ``replay``, ``rejected``, ``unopened``. Bad envelopes are
        reported in :attr:`report` and change nothing but ``extra`` (the carrier's cursor).
        """
        extra = list(extra or [])
        try:
            c = open_envelope(self.key, self.mailbox, self.channel, data)
        except ProtocolError as exc:
            self.report.rejected.append(f"{self.channel}: ignored an envelope: {exc}")
            # it may have been one of ours: ask every device to send again what we lack
            ask = json.dumps(sorted(set(self._resend()) | set(self.others())))
            self._only([*(extra if keep_extra_if_unopened else []),
                        (_OWN, self._own("resend"), ask)])
            return "unopened"
        dev, j = c.device, self.j
        if dev == j.device_id:
            self.report.own += 1
            self._only(extra)
            return "own"
        try:
            ops = [decode_op(b) for b in c.ops]
        except JournalError as exc:
            return self._reject(f"from {self.name(dev)}: {exc}", extra)
        if not self._trusted(dev, ops):
            return self._reject(f"sent by {self.name(dev)}, which is not a paired device", extra)
        last = self.last_in(dev)
        if c.seq <= last:
            self.report.replays += 1
            self._only(extra)
            return "replay"
        cursors = [*extra, (dev, self._in_name(), str(c.seq))]
        resend = set(self._resend())
        if last and c.seq > last + 1:
            self.report.gaps.append(
                f"sync incomplete: {c.seq - last - 1} envelope(s) from {self.name(dev)} "
                "missing, asking again"
            )
            resend.add(dev)
        elif not last and c.seq > 1:
            resend.add(dev)  # first contact: ask for everything we lack, quietly
        seen_me = c.seen.get(j.device_id, 0)
        cursors.append((dev, self._peer_name(), json.dumps({"vec": c.vector, "seen": seen_me})))
        out = self.out_seq()
        if seen_me > out:  # a journal restored from a backup must not reuse numbers
            cursors.append((_OWN, self._own("out"), str(seen_me)))
        if j.device_id in c.resend or (seen_me >= out and not _dominates(c.vector, self._sent())):
            cursors.append((_OWN, self._own("sent"), "{}"))
        cursors.append((_OWN, self._own("resend"), json.dumps(sorted(resend))))
        try:
            res = apply_remote(j, ops, cursors=cursors, allow_mass_delete=self.allow_mass_delete)
        except MassDeletionError as exc:
            raise SyncError(f"{exc} (sync again with --allow-mass-delete)") from None
        except JournalError as exc:
            return self._reject(f"from {self.name(dev)}: {exc}",
                                [*extra, (dev, self._in_name(), str(c.seq))])
        r = self.report
        r.received += 1
        r.applied += res.applied
        r.duplicates += res.duplicates
        r.quarantined += res.quarantined
        r.tables |= res.tables
        return "applied"

    # -- sending ----------------------------------------------------------------
    def prepare(self, force: bool = False) -> Outgoing | None:
        """Seal the next envelope: ops the others lack, our vector, pending requests.

        Returns None when there is nothing new to say. The envelope number is committed
        before the envelope leaves, so a number is never issued twice.
        """
        others = self.others()
        if not others:
            return None
        conn = self.j.conn
        vec = version_vector(conn)
        vectors = [self.peer(d)[0] for d in others]
        sent = self._sent()
        base = {r: max(min(v.get(r, 0) for v in vectors), sent.get(r, 0)) for r in vec}
        seen = {d: self.last_in(d) for d in others}
        resend = tuple(self._resend())
        state = json.dumps(vec, sort_keys=True)
        budget = body_budget(Contents(self.j.replica, _INT_MAX, vec, seen, resend))
        ops: list[bytes] = []
        new_sent, used, full = dict(sent), 0, False
        while not full:
            batch = ops_since(conn, base, limit=500)
            if not batch:
                break
            for op in batch:
                blob = encode_op(op)
                if used + len(blob) + 5 > budget:
                    full = True
                    break
                ops.append(blob)
                used += len(blob) + 5
                new_sent[op.replica] = max(new_sent.get(op.replica, 0), op.seq)
                base[op.replica] = max(base.get(op.replica, 0), op.seq)
        if not (ops or resend or force or state != self._get(_OWN, self._own("state"), "")
                or self._heartbeat_due(others)):
            return None
        with self.j.transaction():
            seq = self.out_seq() + 1
            self.j.write_cursor(_OWN, self._own("out"), str(seq))
        data = seal(self.key, self.mailbox, self.channel,
                    Contents(self.j.replica, seq, vec, seen, resend, tuple(ops)))
        return Outgoing(seq, data, len(ops), new_sent, state, resend)

    def _heartbeat_due(self, others: list[str]) -> bool:
        """Whether to send an envelope with no news, so a lost last envelope is noticed.

        Only when a device has not confirmed our latest envelope, at most once per
        ``heartbeat`` seconds: the receiver then sees the jump in numbers and asks again.
        """
        out = self.out_seq()
        if not out or all(self.peer(d)[1] >= out for d in others):
            return False
        return time.time() - float(self._get(_OWN, self._own("sent_at"), "0")) >= self.heartbeat

    def confirm(self, out: Outgoing) -> None:
        """Record that ``out`` reached the carrier."""
        left = sorted(set(self._resend()) - set(out.resend))
        with self.j.transaction():
            self.j.write_cursor(_OWN, self._own("sent"), json.dumps(out.sent, sort_keys=True))
            self.j.write_cursor(_OWN, self._own("state"), out.state)
            self.j.write_cursor(_OWN, self._own("sent_at"), f"{time.time():.3f}")
            self.j.write_cursor(_OWN, self._own("resend"), json.dumps(left))
        self.report.sent += 1
        self.report.sent_ops += out.ops
