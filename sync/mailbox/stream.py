"""The envelope stream: what a device sends and accepts over a relay or a folder.

Split from envelope.py (the sealed format) so that each module keeps one job: this one keeps
per-device envelope numbers, notices replays and gaps, asks for resends, and applies what
arrives through the journal's checked path, one envelope per transaction. The cursors it
keeps are read and written by stream_state.py.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from comentor.model.errors import JournalError, MassDeletionError
from comentor.model.replication import (
    apply_remote,
    bump_epoch_if_restored,
    decode_op,
    device_record,
    digests,
    diverged,
    encode_op,
    ensure_syncable,
    held_back,
    held_versions,
    ops_since,
    removal,
    version_vector,
)
from comentor.sync._report import HeldBy, TransportOutcome
from comentor.sync.errors import OutdatedPeerError, ProtocolError, SyncError
from comentor.sync.keys import derive_mailbox, device_tag, envelope_key
from comentor.sync.mailbox.envelope import (
    _INT_MAX,
    CHANNELS,
    Contents,
    body_budget,
    open_envelope,
    seal,
    verify_sender,
)
from comentor.sync.mailbox.stream_state import MAX_JUMP, Cursor, StreamState
from comentor.sync.mailbox.stream_state import OWN as _OWN

if TYPE_CHECKING:
    from comentor.model import Journal

__all__ = ["Outgoing", "Exchange", "HEARTBEAT", "MAX_JUMP"]

HEARTBEAT = 600.0  # seconds between envelopes with no news while a device lags behind


@dataclass(frozen=True)
class Outgoing:
    """An envelope sealed and numbered, to be carried and then :meth:`Exchange.confirm`-ed."""

    seq: int
    data: bytes
    ops: int
    sent: dict[str, int]
    state: str
    resend: tuple[str, ...]
    full: dict[str, int] | None = None  # replicas still to send whole, after this one
    readers: tuple[str, ...] = ()  # the devices it was sealed for


def _dominates(have: dict[str, int], want: dict[str, int]) -> bool:
    return all(have.get(r, 0) >= n for r, n in want.items())


class Exchange(StreamState):
    """Envelope streams between this journal and every other device on one channel.

    Recovery: a receiver that sees a jump in a sender's envelope numbers reports it and asks
    that sender (``resend``) to ship again everything its vector lacks; a sender also ships
    again when a partner has processed all its envelopes yet its vector still lacks what
    was sent. Replays (a number already processed) are ignored, but one carrying what this
    journal lacks is a number used twice (its sender was restored from a backup) and its
    sender is asked to send again. See docs/protocol.md (Envelopes).
    """

    def __init__(self, journal: Journal, channel: str, *, allow_mass_delete: bool = False,
                 heartbeat: float = HEARTBEAT, key: bytes | None = None,
                 tables: tuple[str, ...] | None = None) -> None:
        """``key``: the partnership key to use (default: the current one); ``tables``: send
        only operations of these tables (the previous key's mailbox during a rotation)."""
        ensure_syncable(journal, channel)
        current = journal.partnership_key()
        if current is None:
            raise SyncError("this journal is not paired yet", hint="pair")
        if channel not in CHANNELS:
            raise SyncError(f"unknown channel {channel!r}")
        key = key or current
        super().__init__(journal, channel, key, tables)
        self.key = envelope_key(key)
        self.mailbox, self.secret = derive_mailbox(key)
        self.device_tag = device_tag(key, journal.device_id)
        self.allow_mass_delete = allow_mass_delete
        self.heartbeat = heartbeat
        self.report = TransportOutcome(channel)

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

    def _refusal(self, dev: str, c: Contents) -> str | None:
        """Why an envelope's sender is refused, or None once its signature checks out.

        The AEAD only proves that some holder of the partnership key sealed the envelope,
        and a revoked or stolen device still holds it: the sender's own Ed25519 signature,
        checked against the key recorded for it in ``devices``, says which device spoke. A
        device we do not know yet is refused too; its envelopes are taken (and everything
        asked for again, as on first contact) once another device has brought its record:
        the usual way a partner's newly added device first shows, so it is said as such.
        """
        rec = device_record(self.j, dev)
        if rec is None:
            return (f"sent by {self.name(dev)}, not a paired device here yet (one added "
                    "recently?): its changes come once a device that knows it has synced")
        if not rec.get("sign_pk") or rec.get("deleted"):
            return f"sent by {self.name(dev)}, which is not a paired device"
        if rec.get("revoked_at"):
            return f"sent by {self.name(dev)}, which was revoked"
        if not verify_sender(c, bytes(rec["sign_pk"])):
            return f"claims to come from {self.name(dev)} but is not signed by that device"
        return None

    def receive(self, data: bytes, extra: list[Cursor] | None = None,
                keep_extra_if_unopened: bool = True, ask: list[str] | None = None) -> str:
        """Open, check and apply one envelope; returns what happened.

        One of ``applied``, ``own``, ``replay``, ``rejected``, ``unopened``. Bad envelopes are
        reported in :attr:`report` and change nothing but ``extra`` (the carrier's cursor):
        no stream counter moves on an envelope that is not applied. ``ask``: whom to ask
        to send again when it does not open (default: every device, as it may have been
        anyone's; a folder knows whose subfolder it came from).
        """
        extra = list(extra or [])
        try:
            c = open_envelope(self.key, self.mailbox, self.channel, data)
        except OutdatedPeerError as exc:
            # another comentor release: asking it to send again would not help
            self.report.notes.append(f"{self.channel}: ignored an envelope: {exc}")
            self._only(extra if keep_extra_if_unopened else [])
            return "unopened"
        except ProtocolError as exc:
            self.report.rejected.append(f"{self.channel}: ignored an envelope: {exc}")
            # it may have been one of ours: ask every device to send again what we lack
            again = json.dumps(sorted({*self._resend(), *(self.others() if ask is None else ask)}))
            self._only([*(extra if keep_extra_if_unopened else []),
                        (_OWN, self._own("resend"), again)])
            return "unopened"
        dev, j = c.device, self.j
        if dev == j.device_id:
            self.report.own += 1
            self._only(extra)
            return "own"
        why = self._refusal(dev, c)
        if why is not None:
            return self._reject(why, extra)
        last = self.last_in(dev)
        if c.seq <= last:
            self.report.replays += 1
            if not _dominates(version_vector(j), c.vector):
                # not a copy of an envelope we took (we would hold all it held): a number
                # used twice, by a journal restored from a backup; its next envelopes,
                # numbered after what our ``seen`` says, bring what it holds
                extra.append((_OWN, self._own("resend"), json.dumps(sorted({*self._resend(), dev}))))
            self._only(extra)
            return "replay"
        if c.seq > last + MAX_JUMP:
            return self._reject(f"from {self.name(dev)}: its number {c.seq} jumps more than "
                                f"{MAX_JUMP} past the last one processed ({last})", extra)
        try:
            ops = [decode_op(b) for b in c.ops]
        except JournalError as exc:
            return self._reject(f"from {self.name(dev)}: {exc}", extra)
        cursors = [*extra, (dev, self._in_name(), str(c.seq))]
        resend = set(self._resend())
        if last and c.seq > last + 1 or not last and c.seq > 1:
            resend.add(dev)  # on first contact too: ask for everything we lack, quietly
        cursors += self._stream_cursors(dev, c)
        cursors.append((_OWN, self._own("resend"), json.dumps(sorted(resend))))
        # what the sender holds of this journal's own replica, before anything is applied:
        # a restored or forked copy moves to a new epoch first (see model/replication.py)
        if bump_epoch_if_restored(j, c.vector, c.digests):
            self.report.epoch_bumped = True
        full = {**self._full(), **dict.fromkeys(diverged(j, c.vector, c.digests), 0)}
        cursors.append(self._full_cursor(full))
        self._note_held(dev, c)
        try:
            res = apply_remote(j, ops, cursors=cursors, allow_mass_delete=self.allow_mass_delete)
        except MassDeletionError as exc:
            raise MassDeletionError(str(exc), option="allow_mass_delete") from None
        except JournalError as exc:
            # the stream counter stays: the next envelope from that device shows a gap and
            # we ask it again for what we lack
            return self._reject(f"from {self.name(dev)}: {exc}", extra)
        r = self.report
        if last and c.seq > last + 1 and not _dominates(version_vector(j), c.vector):
            # (when we hold all the sender held, nothing is missing: the number went to
            # another carrier, a folder used once; asked again all the same, quietly)
            r.gaps.append(f"sync incomplete: {c.seq - last - 1} envelope(s) from "
                          f"{self.name(dev)} missing, asking again")
        r.received += 1
        r.note_applied(res)
        if res.forked - set(full):  # the others lack our versions of those replicas
            self._only([self._full_cursor({**full, **dict.fromkeys(res.forked, 0)})])
        if res.key_changed:
            r.notes.append(f"{self.channel}: the partnership key changed (a device was revoked)")
        if res.bad_grants:
            r.notes.append(f"{self.channel}: ignored {res.bad_grants} key grant(s) for this "
                           "device that did not open")
        return "applied"

    def is_ours(self, data: bytes) -> bool:
        """Whether ``data`` is an envelope this device sealed and signed: a carrier holding
        one numbered above our counter shows that the counter went back (a restore)."""
        try:
            c = open_envelope(self.key, self.mailbox, self.channel, data)
        except ProtocolError:
            return False
        return c.device == self.j.device_id and verify_sender(c, self.j.keys.sign_public)

    def _note_held(self, dev: str, c: Contents) -> None:
        count, ahead = c.held.get(self.j.device_id, (0, 0))
        rec = device_record(self.j, dev) or {}
        self.report.note_held(HeldBy(f"{self.j.person_name(rec.get('person'))}'s device",
                                     count, ahead))

    def _stream_cursors(self, dev: str, c: Contents) -> list[Cursor]:
        """The cursors an accepted envelope moves besides its own number.

        ``seen`` for us may not exceed what we have sent: above our counter by at most
        MAX_JUMP it means this journal was restored from a backup and the counter jumps past
        it (so numbers are never reused); further above, it is ignored. The stored value never
        exceeds our counter, so a wild claim cannot make us prune envelopes nobody read.
        """
        out = self.out_seq()
        seen_me = c.seen.get(self.j.device_id, 0)
        cursors: list[Cursor] = []
        if seen_me > out + MAX_JUMP:
            self.report.notes.append(
                f"{self.channel}: ignored what {self.name(dev)} reports having seen from us "
                "(more than we ever sent)")
            seen_me = min(self.peer(dev)[1], out)
        elif seen_me > out:  # a journal restored from a backup must not reuse numbers
            cursors.append((_OWN, self._own("out"), str(seen_me)))
            out = seen_me
        cursors.append((dev, self._peer_name(), json.dumps({"vec": c.vector, "seen": seen_me})))
        if self.j.device_id in c.resend or (seen_me >= out and not _dominates(c.vector, self._sent())):
            cursors.append((_OWN, self._own("sent"), "{}"))
        return cursors

    # -- sending ----------------------------------------------------------------
    def prepare(self, force: bool = False) -> Outgoing | None:
        """Seal the next envelope: ops the others lack, our vector, pending requests.

        Returns None when there is nothing new to say. The envelope number is committed
        before the envelope leaves, so a number is never issued twice.
        """
        others = self.readers()
        if not others or self.stale():
            return None
        if removal(self.j) is not None:  # told in this very round: this device says no more
            return None
        vec = version_vector(self.j)
        vectors = [self.peer(d)[0] for d in others]
        sent = self._sent()
        before = self._readers()
        if before is not None and set(others) - before:
            # a device joined since the last envelope (it was just paired, or another device
            # brought its record): what was shipped before never reached it, so everything it
            # lacks goes now, without waiting for it to ask (a first sync through a relay
            # would otherwise bring it only what is written from now on)
            sent = {}
        whole = self._full()
        base = {r: max(min(v.get(r, 0) for v in vectors), sent.get(r, 0)) for r in vec}
        base.update(whole)  # a fork: every version, from the start (or where the last left)
        seen = {d: self.last_in(d) for d in others}
        resend = tuple(self._resend())
        state = json.dumps(vec, sort_keys=True)
        held = {h.device: (h.count, h.ahead_ms) for h in held_back(self.j)}
        header = Contents(self.j.replica, _INT_MAX, vec, seen, resend,
                          digests=digests(self.j, vec), held=held)
        budget = body_budget(header)
        ops: list[bytes] = []
        new_sent, used, full = dict(sent), 0, False
        for op in held_versions(self.j, {r for r, at in whole.items() if at == 0}):
            blob = encode_op(op)
            if used + len(blob) + 5 > budget:
                break  # the digests still differ: the rest goes in a later envelope
            ops.append(blob)
            used += len(blob) + 5
        while not full:
            batch = ops_since(self.j, base, limit=500)
            if not batch:
                break
            for op in batch:
                if self.tables is not None and op.table not in self.tables:
                    # not for this mailbox: passed over, never sealed under this key
                    new_sent[op.replica] = max(new_sent.get(op.replica, 0), op.seq)
                    base[op.replica] = max(base.get(op.replica, 0), op.seq)
                    continue
                blob = encode_op(op)
                if used + len(blob) + 5 > budget:
                    full = True
                    break
                ops.append(blob)
                used += len(blob) + 5
                new_sent[op.replica] = max(new_sent.get(op.replica, 0), op.seq)
                base[op.replica] = max(base.get(op.replica, 0), op.seq)
        left = {r: base[r] for r in whole if full and base[r] < vec.get(r, 0)}
        if not (ops or resend or whole or force
                or state != self._get(_OWN, self._own("state"), "")
                or self._heartbeat_due(others)):
            return None
        with self.j.transaction():
            seq = self.out_seq() + 1
            self.j.write_cursor(_OWN, self._own("out"), str(seq))
        contents = Contents(header.sender, seq, vec, seen, resend, tuple(ops), header.digests,
                            header.held)
        data = seal(self.key, self.mailbox, self.channel, contents, self.j.keys.sign)
        return Outgoing(seq, data, len(ops), new_sent, state, resend, left, tuple(others))

    def _heartbeat_due(self, others: list[str]) -> bool:
        """Whether to send an envelope with no news, so a lost last envelope is noticed.

        Only when a device has not confirmed our latest envelope, at most once per
        ``heartbeat`` seconds: the receiver then sees the jump in numbers and asks again.
        (A folder sets ``heartbeat`` to infinity while our latest file is still there.)
        """
        out = self.out_seq()
        if not out or all(self.peer(d)[1] >= out for d in others):
            return False
        return time.time() - float(self._get(_OWN, self._own("sent_at"), "0")) >= self.heartbeat

    def confirm(self, out: Outgoing) -> None:
        """Record that ``out`` reached the carrier."""
        left = sorted(set(self._resend()) - set(out.resend))
        with self.j.transaction():
            if out.full is not None:
                self.j.write_cursor(*self._full_cursor(out.full))
            self.j.write_cursor(_OWN, self._own("sent"), json.dumps(out.sent, sort_keys=True))
            self.j.write_cursor(_OWN, self._own("state"), out.state)
            self.j.write_cursor(_OWN, self._own("sent_at"), f"{time.time():.3f}")
            self.j.write_cursor(_OWN, self._own("resend"), json.dumps(left))
            self.j.write_cursor(_OWN, self._own("readers"), json.dumps(sorted(out.readers)))
        self.report.sent += 1
        self.report.sent_ops += out.ops
