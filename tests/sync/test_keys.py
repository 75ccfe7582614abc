"""Every partnership-key derivation gives the bytes it always gave: they are wire format.

Both partners compute these alone; a changed byte would split a partnership (another
mailbox, another LAN tag, envelopes that no longer open). The values below were taken from
the derivations before they moved into comentor.sync.keys.
"""

from __future__ import annotations

import datetime as dt

import pytest

from comentor.sync.errors import PairingError, ProtocolError
from comentor.sync.keys import (
    derive_mailbox,
    device_tag,
    envelope_key,
    folder_tag,
    key_id,
    lan_tag,
    mailbox_verify_key,
    nameplate_tag,
    relay_cursor,
)

PK = bytes(range(32))
DEVICE = "abcdefghijklmnop"


def test_derivations_are_pinned() -> None:
    assert envelope_key(PK).hex() == (
        "c7423cc635b74a38c7c9390379ac9a48d0bbc966facfd212b430d53fb93f386a")
    assert device_tag(PK, DEVICE).hex() == "9c4ed9d0224ae47d9c4064451ff0b274"
    assert folder_tag(PK, DEVICE) == "f531907d91310b7c573c"
    mailbox, secret = derive_mailbox(PK)
    assert mailbox == "7f032ed38a9bc27ba0c0e39c549dd3ef0cdd0ebd69df20082b16665d31a05d74"
    assert secret.hex() == "87f36d8f3e2d05692fadf0a280e4ced11011303b40e7c98450c636308d3bb94b"
    assert mailbox_verify_key(secret).hex() == (
        "7323d5337bdfebd2218a9f4144ed6eef93acb2f05193c48347d7981a596ba495")
    assert lan_tag(PK, DEVICE, dt.date(2026, 3, 2)) == "472088083180b1b3f804"
    assert key_id(PK) == "f89b02673181"
    assert nameplate_tag(7, "lan") == "4f107c24ce9414dfd62719a9"
    assert nameplate_tag(7, "relay") == "61676b239264295b1504bde9"
    assert relay_cursor("ws://127.0.0.1:8765", mailbox) == "seq:98b4d05ad5ad0ddc"


def test_values_of_one_key_reveal_nothing_of_each_other() -> None:
    mailbox, secret = derive_mailbox(PK)
    values = {envelope_key(PK), secret, bytes.fromhex(mailbox), mailbox_verify_key(secret)}
    assert len(values) == 4 and PK not in values
    assert derive_mailbox(bytes(32))[0] != mailbox


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ProtocolError):
        envelope_key(b"short")
    with pytest.raises(ProtocolError):
        mailbox_verify_key(b"short")
    with pytest.raises(PairingError):
        nameplate_tag(1000, "lan")
