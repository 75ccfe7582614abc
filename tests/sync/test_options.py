"""SyncOptions: peers, LAN interfaces and ports are parsed once, the same for every caller."""

from __future__ import annotations

import pytest

from comentor.sync import DEFAULT_PORT, SyncOptions, check_relay_url, parse_peer
from comentor.sync.errors import OptionError, RelayError


def test_peers_are_parsed_once_from_any_form() -> None:
    assert parse_peer(" 192.168.1.20:47001 ") == ("192.168.1.20", 47001)
    assert parse_peer("[fe80::1]:9") == ("fe80::1", 9)
    opts = SyncOptions.parse(peers=["a:1,b:2", "c:3"], env={})
    assert opts.peers == (("a", 1), ("b", 2), ("c", 3))
    assert SyncOptions.parse(peers="", env={}).peers == ()
    for bad in ("nonsense", "h:0", "h:65536", ":80", "h:x"):
        with pytest.raises(OptionError, match="HOST:PORT") as info:
            SyncOptions.parse(peers=bad, env={})
        assert info.value.field("option") == "peer" and "--" not in str(info.value)


def test_interfaces_come_from_the_arguments_else_the_environment() -> None:
    env = {"COMENTOR_LAN_INTERFACES": " 10.0.0.2 , 10.0.0.3"}
    assert SyncOptions.parse(env=env).interfaces == ("10.0.0.2", "10.0.0.3")
    assert SyncOptions.parse(interfaces=["127.0.0.1"], env=env).interfaces == ("127.0.0.1",)
    assert SyncOptions.parse(env={}).interfaces == ()
    with pytest.raises(OptionError, match="not an IPv4 address") as info:
        SyncOptions.parse(interfaces=["eth0"], env={})
    assert info.value.field("option") == "interfaces"
    with pytest.raises(OptionError):
        SyncOptions.parse(env={"COMENTOR_LAN_INTERFACES": "wlan0"})


def test_ports_and_time_limits_are_checked() -> None:
    assert SyncOptions.parse(env={}).listen_port == DEFAULT_PORT
    assert SyncOptions.parse(listen_port=0, env={}).listen_port == 0
    for port in (-1, 65536, "x"):
        with pytest.raises(OptionError) as info:
            SyncOptions.parse(listen_port=port, env={})
        assert info.value.field("option") == "port"
    for timeout in (0, -1, 86401):
        with pytest.raises(OptionError) as info:
            SyncOptions.parse(timeout=timeout, env={})
        assert info.value.field("option") == "timeout"


def test_the_apps_options_come_from_the_environment() -> None:
    env = {"COMENTOR_SYNC_HOST": "127.0.0.1", "COMENTOR_SYNC_PORT": "0",
           "COMENTOR_SYNC_PEERS": "127.0.0.1:5000,127.0.0.1:5001",
           "COMENTOR_NO_DISCOVERY": "1", "COMENTOR_LAN_INTERFACES": "127.0.0.1"}
    opts = SyncOptions.from_env(env)
    assert (opts.listen_host, opts.listen_port, opts.discover) == ("127.0.0.1", 0, False)
    assert opts.peers == (("127.0.0.1", 5000), ("127.0.0.1", 5001))
    assert opts.interfaces == ("127.0.0.1",) and opts.listen
    default = SyncOptions.from_env({})
    assert (default.listen_host, default.listen_port, default.discover) == (
        "0.0.0.0", DEFAULT_PORT, True)
    with pytest.raises(OptionError):
        SyncOptions.from_env({"COMENTOR_SYNC_PEERS": "nowhere"})


def test_relay_addresses_are_checked() -> None:
    assert check_relay_url(" wss://relay.example ") == "wss://relay.example"
    for bad in ("http://x", "ws://", "relay.example"):
        with pytest.raises(RelayError) as info:
            check_relay_url(bad)
        assert info.value.field("option") == "relay_url"
