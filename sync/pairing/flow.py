"""Pairing with a journal: the inviter's and the joiner's whole flow, over the LAN or a relay.

:mod:`comentor.sync.pairing.protocol` speaks the protocol; this module decides what may be paired
(never a demo journal, never a third person, one's own device only for the same person),
finds the other device (TCP + zeroconf, a given address, or the relay's rendezvous), and
writes the result (trusted device records, the partnership key) only after the other side
proved it knows the code.

A code is single use: the inviter handles exactly one attempt (one TCP connection, or one
relay joiner), successful or not, and then stops listening and withdraws its advertisement.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from comentor.model import Journal
from comentor.model.replication import (
    DeviceKeys,
    PeerDevice,
    ensure_syncable,
    my_device_info,
    safety_number,
    set_partnership_key,
    trust_device,
)
from comentor.sync._options import Peer, parse_interfaces
from comentor.sync.errors import (
    OutdatedPeerError,
    PairingError,
    RelayError,
    SyncError,
    TransportError,
    network_reason,
)
from comentor.sync.keys import nameplate_tag
from comentor.sync.lan import discovery
from comentor.sync.pairing.codes import PairingCode, make_code
from comentor.sync.pairing.messages import PairingInfo
from comentor.sync.pairing.protocol import Channel, StreamChannel, run_inviter, run_joiner

__all__ = ["InviteOptions", "JoinOptions", "PairResult", "invite", "join"]

# how long a LAN connection may take to send its first pairing message (a joiner sends it at
# once) before it is dropped as a stray one, and the code waits for the next
_STRAY_SECONDS = 10.0
# ...but never for long past the invitation's own timeout: a joiner that connects in its last
# moment still sends at once, and a stray one no longer holds the command open after it
_LAST_WORD_SECONDS = 2.0
_STRAY_QUEUE = 8  # connections waiting their turn; more are closed at once


@dataclass(frozen=True)
class InviteOptions:
    """``device``: invite one of my own devices instead of a partner; ``relay``: meet
    through the relay at this URL; ``interfaces``: where zeroconf runs (None: from the
    environment); ``step_timeout``: per message once the other device connected."""

    timeout: float = 600.0  # how long the code stays open
    device: bool = False
    relay: str | None = None
    host: str = "0.0.0.0"
    port: int = 0
    interfaces: Sequence[str] | None = None
    step_timeout: float = 30.0


@dataclass(frozen=True)
class JoinOptions:
    """``peer``: the inviting device's address (else found with zeroconf or the relay)."""

    device: bool = False
    relay: str | None = None
    peer: Peer | None = None
    interfaces: Sequence[str] | None = None
    timeout: float = 60.0


@dataclass(frozen=True)
class PairResult:
    """Whom this device paired with (``mode``: ``partner`` or ``device``, one's own)."""

    peer: PeerDevice
    mode: str
    safety_number: str
    created: bool  # the joiner created its journal while pairing

    @property
    def own_device(self) -> bool:
        return self.mode == "device"


def _mode(device: bool) -> str:
    return "device" if device else "partner"


def _info(j: Journal, mode: str, with_key: bool) -> PairingInfo:
    me = my_device_info(j)
    record = replace(me, person_name=me.person_name[:80] or "?", device_name=me.device_name[:60])
    return PairingInfo(mode, record, j.partnership_key() if with_key else None)


_PARTNER_WANTED = ("the other side is pairing a partner, not one of your own devices: both "
                   "sides must choose the same")
_DEVICE_WANTED = ("the other side is adding one of its own devices, not pairing a partner: "
                  "both sides must choose the same")


def _mismatch(mine: str) -> PairingError:
    """Each side's sentence from its own side (`told`: what the other side is told; a
    refusal's text is never sent as this side words it, see protocol._reason)."""
    if mine == "device":
        return PairingError(_PARTNER_WANTED, option="device", told=_DEVICE_WANTED)
    return PairingError(_DEVICE_WANTED, option="device", told=_PARTNER_WANTED)


def _check_peer(j: Journal, mine: str, info: PairingInfo) -> None:
    """The rules both sides apply to the other's record before writing anything."""
    peer = info.device
    if info.mode != mine:
        raise _mismatch(mine)
    if peer.device_id == j.device_id:
        same = "this is the same device: pair with another one"
        raise PairingError(same, told=same)
    if mine == "device":
        if peer.person != j.me:
            raise PairingError("adding your own device pairs two devices of the same person, "
                               f"but this journal belongs to {j.person_name(j.me)}, "
                               f"not {peer.person_name}", option="device",
                               told="the other device belongs to someone else: adding your "
                               "own device pairs two devices of the same person")
        return
    if peer.person == j.me:
        yours = "that device is already yours: add it as your own device instead"
        raise PairingError(yours, option="device", told=yours)
    partner = j.partner()
    if partner is not None and partner != peer.person:
        # the other side is told that much, never whose partnership it is
        raise PairingError(f"this journal already has a partner ({j.person_name(partner)}): "
                           "a partnership is for two people",
                           told="the other journal already has a partner: a partnership is "
                           "for two people")


def _result(j: Journal, peer: PairingInfo, created: bool) -> PairResult:
    return PairResult(peer.device, peer.mode,
                      safety_number(j.keys.sign_public, peer.device.sign_pk), created)


# ---------------------------------------------------------------- inviter
async def invite(
    j: Journal,
    opts: InviteOptions,
    on_code: Callable[[PairingCode, str], None],
    code: PairingCode | None = None,
    on_status: Callable[[str], None] = lambda _msg: None,
) -> PairResult:
    """Show a code (``on_code(code, where)``), wait for one attempt, pair or fail."""
    ensure_syncable(j, "pair")
    if j.partnership_key() is None:
        raise PairingError("this journal has not joined a partnership yet: "
                           "join your partner's invitation first (comentor join)")
    mode = _mode(opts.device)
    code = code or make_code()
    info = _info(j, mode, with_key=True)

    def accept(peer: PairingInfo) -> None:
        _check_peer(j, mode, peer)
        trust_device(j, peer.device)

    if opts.relay:
        peer = await _invite_relay(code, info, accept, opts, on_code)
    else:
        peer = await _invite_lan(code, info, accept, opts, on_code, on_status)
    return _result(j, peer, False)


async def _invite_relay(
    code: PairingCode, info: PairingInfo, accept: Callable[[PairingInfo], None],
    opts: InviteOptions, on_code: Callable[[PairingCode, str], None],
) -> PairingInfo:
    from comentor.sync.mailbox.relay_client import RelayClient

    # the relay allocates the code's number (so that nobody can squat them all); it
    # grants this code's own number when that is free. The code is not shown yet.
    channel = await RelayClient().pair_open(opts.relay, code.nameplate)
    if channel.nameplate != code.nameplate:
        code = PairingCode(channel.nameplate, code.words)
    try:
        on_code(code, f"through the relay {opts.relay}")
        return await run_inviter(channel, code, info, accept, opts.step_timeout,
                                 first_timeout=opts.timeout)
    except PairingError as exc:
        if exc.field("reason") == "timeout" and not channel.peer_joined.is_set():
            raise _expired(opts.timeout) from None
        raise
    finally:
        await channel.close()


def _expired(timeout: float) -> PairingError:
    minutes = f"{timeout / 60:g} minutes" if timeout >= 60 else f"{timeout:g} s"
    return PairingError(f"the code expired after {minutes} without anyone joining: "
                        "run `comentor invite` again for a fresh code")


async def _invite_lan(
    code: PairingCode, info: PairingInfo, accept: Callable[[PairingInfo], None],
    opts: InviteOptions, on_code: Callable[[PairingCode, str], None],
    on_status: Callable[[str], None],
) -> PairingInfo:
    waiting: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    spent = False  # a connection has tested a guess of the code: one attempt only

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if spent or waiting.qsize() >= _STRAY_QUEUE:  # spent, or a flood of connections
            writer.close()
            return
        waiting.put_nowait((reader, writer))

    def attempted() -> None:
        nonlocal spent
        spent = True
        server.close()  # stop listening at once: the single attempt has begun

    try:
        server = await asyncio.start_server(on_connect, opts.host, opts.port)
    except (OSError, ValueError) as exc:
        raise TransportError(f"cannot listen on {opts.host}:{opts.port}: {exc}") from None
    port = int(server.sockets[0].getsockname()[1])
    advert: discovery.Advertisement | None = None
    deadline = asyncio.get_running_loop().time() + opts.timeout
    try:
        on_code(code, f"on port {port}")
        interfaces = parse_interfaces(opts.interfaces)
        addresses = [opts.host] if opts.host not in ("0.0.0.0", "", "::") else None
        try:
            advert = await discovery.advertise(
                discovery.PAIR_SERVICE, nameplate_tag(code.nameplate, "lan"), port,
                interfaces=interfaces, addresses=addresses,
            )
        except TransportError as exc:
            on_status(f"Not announced on the network ({exc}): your partner can connect "
                      f"to this device's address, port {port}")
        while True:
            left = deadline - asyncio.get_running_loop().time()
            try:
                reader, writer = await asyncio.wait_for(waiting.get(), max(left, 0))
            except TimeoutError:
                raise _expired(opts.timeout) from None
            left = deadline - asyncio.get_running_loop().time()  # as it arrived, not before
            channel = StreamChannel(reader, writer)
            try:
                return await run_inviter(channel, code, info, accept, opts.step_timeout,
                                         first_timeout=min(opts.step_timeout, _STRAY_SECONDS,
                                                           max(left, _LAST_WORD_SECONDS)),
                                         on_attempt=attempted)
            except SyncError as exc:
                if spent:
                    raise
                # it never sent the message that tests the code (a port scan, a browser,
                # another program): nothing was guessed, so the code stays good
                host = (writer.get_extra_info("peername") or ("another device",))[0]
                if isinstance(exc, OutdatedPeerError):  # a joiner, on another release
                    on_status(f"A device at {host} tried to join with another version of "
                              f"comentor ({exc}); the code is still good")
                else:
                    on_status(f"Ignored a connection from {host} that was not a pairing "
                              "attempt; the code is still good")
            finally:
                await channel.close()
    finally:
        server.close()
        while not waiting.empty():  # connections that came while an attempt ran
            waiting.get_nowait()[1].close()
        if advert is not None:
            await advert.close()


# ---------------------------------------------------------------- joiner
async def join(
    path: Path,
    existing: Journal | None,
    code: PairingCode,
    name: str | None,
    opts: JoinOptions,
    on_status: Callable[[str], None] = lambda _msg: None,
) -> tuple[Journal, PairResult]:
    """Join an invitation; returns the (possibly new) journal and the result.

    With ``existing`` None a journal is created at ``path`` once the code is confirmed, and
    deleted again if pairing fails after that.
    """
    if existing is not None:
        ensure_syncable(existing, "pair")
    if existing is None and not (name and name.strip()) and not opts.device:
        raise PairingError("a name is needed: it is how your partner will see you",
                           option="name")
    mode = _mode(opts.device)
    keys = DeviceKeys.generate()
    state: dict[str, Journal] = {}

    def prepare(peer: PairingInfo) -> PairingInfo:
        if existing is not None:
            _check_peer(existing, mode, peer)
            return _info(existing, mode, with_key=False)
        if peer.mode != mode:
            raise _mismatch(mode)
        person = peer.device.person if opts.device else None
        j = Journal.create(path, (name or peer.device.person_name).strip(), joining=True,
                           keys=keys, person=person)
        state["new"] = j
        return _info(j, mode, with_key=False)

    def commit(peer: PairingInfo) -> None:
        j = existing or state["new"]
        trust_device(j, peer.device)
        assert peer.partnership_key is not None
        set_partnership_key(j, peer.partnership_key)

    channel, closer = await _connect(code, opts, on_status)
    try:
        peer = await run_joiner(channel, code, prepare, commit, min(30.0, opts.timeout))
    except BaseException:
        created = state.pop("new", None)
        if created is not None:
            created.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(OSError):
                    os.unlink(f"{path}{suffix}")
        raise
    finally:
        await closer()
    j = existing or state["new"]
    return j, _result(j, peer, existing is None)


async def _connect(
    code: PairingCode, opts: JoinOptions, on_status: Callable[[str], None]
) -> tuple[Channel, Callable[[], Awaitable[None]]]:
    if opts.relay:
        from comentor.sync.mailbox.relay_client import RelayClient

        try:
            relay = await RelayClient().pair_join(code.nameplate, opts.relay)
        except RelayError as exc:
            if exc.field("unreachable"):  # no code is at fault: a fresh one would not help
                raise PairingError(str(exc), option="relay") from None
            raise PairingError(f"{exc} (ask your partner for a fresh code if it persists)") from None
        return relay, relay.close
    if opts.peer:
        host, port = opts.peer
    else:
        on_status(f"Looking for invitation {code.nameplate} on the local network...")
        found = await discovery.find_instance(
            discovery.PAIR_SERVICE, nameplate_tag(code.nameplate, "lan"), timeout=opts.timeout,
            interfaces=parse_interfaces(opts.interfaces),
        )
        if found is None:
            raise PairingError(
                f"no invitation number {code.nameplate} found on this network within "
                f"{opts.timeout:g} s: check the number", hint="peer_or_relay",
            )
        host, port = found
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), opts.timeout)
    except (OSError, TimeoutError) as exc:
        raise PairingError(f"cannot reach the inviting device at {host}:{port} "
                           f"({network_reason(exc)}): is `comentor invite` still waiting?"
                           ) from None
    ch = StreamChannel(reader, writer)
    return ch, ch.close
