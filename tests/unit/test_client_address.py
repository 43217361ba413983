"""Whom to believe about a request's origin."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from katapult_ipam.auth.client_address import (
    UNKNOWN_CLIENT,
    TrustedProxies,
    in_networks,
    parse_node,
    rate_limit_key,
)

PROXIES = TrustedProxies(["10.0.0.0/8", "fd00::/8"])
FORWARDED = TrustedProxies(["10.0.0.0/8", "fd00::/8"], "forwarded")


@pytest.mark.parametrize(
    ("peer", "lines", "client"),
    [
        ("203.0.113.5", [], "203.0.113.5"),
        ("203.0.113.5", ["10.0.0.1"], "203.0.113.5"),  # untrusted peer: header ignored
        ("10.0.0.1", ["203.0.113.5"], "203.0.113.5"),
        ("10.0.0.1", ["6.6.6.6, 203.0.113.5"], "203.0.113.5"),  # spoofed left part ignored
        ("10.0.0.1", ["203.0.113.5, 10.0.0.2"], "203.0.113.5"),  # chain of proxies
        ("10.0.0.1", ["10.0.0.3, 10.0.0.2"], "10.0.0.3"),  # all trusted: the furthest
        ("fd00::1", ["2001:DB8::1"], "2001:db8::1"),
        ("10.0.0.1", [""], "10.0.0.1"),
        ("testclient", ["1.2.3.4"], "testclient"),
        (None, [], ""),
        # S1: every line is one list; the proxy appended the last line.
        ("10.0.0.1", ["10.1.2.3", "203.0.113.9"], "203.0.113.9"),
        ("10.0.0.1", ["6.6.6.6", "203.0.113.9, 10.0.0.2"], "203.0.113.9"),
        # S2: hops with ports are read; unreadable hops fail closed.
        ("10.0.0.1", ["203.0.113.9:5555"], "203.0.113.9"),
        ("10.0.0.1", ["[2001:db8::9]:443"], "2001:db8::9"),
        ("10.0.0.1", ["[2001:db8::9]"], "2001:db8::9"),
        ("10.0.0.1", ["unknown"], UNKNOWN_CLIENT),
        ("10.0.0.1", ["_hidden"], UNKNOWN_CLIENT),
        ("10.0.0.1", ["garbage, 10.0.0.2"], UNKNOWN_CLIENT),
        ("10.0.0.1", ["[192.0.2.1]"], UNKNOWN_CLIENT),
        ("10.0.0.1", ["203.0.113.9:"], UNKNOWN_CLIENT),
        ("10.0.0.1", ["203.0.113.9, unknown"], UNKNOWN_CLIENT),
        # An unreadable hop beyond the first untrusted one is never reached.
        ("10.0.0.1", ["unknown, 203.0.113.9"], "203.0.113.9"),
        # W5: IPv4-mapped addresses are the IPv4 address they carry.
        ("10.0.0.1", ["::ffff:10.1.2.3"], "10.1.2.3"),
        ("::ffff:10.0.0.1", ["203.0.113.9"], "203.0.113.9"),
        ("::ffff:203.0.113.5", [], "203.0.113.5"),
    ],
)
def test_x_forwarded_for(peer: str | None, lines: list[str], client: str) -> None:
    assert PROXIES.client_address(peer, lines) == client


@pytest.mark.parametrize(
    ("lines", "client"),
    [
        (["for=203.0.113.9"], "203.0.113.9"),
        (["for=6.6.6.6, for=203.0.113.9;proto=https;by=10.0.0.1"], "203.0.113.9"),
        (["for=6.6.6.6", "For=203.0.113.9"], "203.0.113.9"),
        (['for="[2001:db8:cafe::17]:4711"'], "2001:db8:cafe::17"),
        (['for="203.0.113.9:80", for=10.0.0.2'], "203.0.113.9"),
        (['for="_gazonk"'], UNKNOWN_CLIENT),
        (["for=unknown"], UNKNOWN_CLIENT),
        (["proto=https"], UNKNOWN_CLIENT),  # an element without "for"
        (["for=203.0.113.9;for=6.6.6.6"], UNKNOWN_CLIENT),
        (['for="203.0.113.9'], UNKNOWN_CLIENT),  # unterminated quote
        (['for=203.0.113.9;by="a,b"'], "203.0.113.9"),  # comma inside quotes
    ],
)
def test_forwarded(lines: list[str], client: str) -> None:
    assert FORWARDED.client_address("10.0.0.1", lines) == client


def test_only_the_configured_header_is_read() -> None:
    # The handler passes the lines of ``header`` only; each parser reads its own syntax.
    assert PROXIES.header == "x-forwarded-for"
    assert FORWARDED.header == "forwarded"
    assert PROXIES.client_address("10.0.0.1", ["for=203.0.113.9"]) == UNKNOWN_CLIENT


def test_no_trusted_proxies_means_the_peer() -> None:
    assert TrustedProxies([]).client_address("10.0.0.1", ["1.2.3.4"]) == "10.0.0.1"


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("10.1.1.1", True),
        ("11.0.0.1", False),
        ("2001:db8::1", True),
        ("x", False),
        (UNKNOWN_CLIENT, False),
        ("::ffff:10.1.2.3", True),
    ],
)
def test_in_networks(address: str, expected: bool) -> None:
    networks = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")]
    assert in_networks(address, networks) is expected


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
        (UNKNOWN_CLIENT, UNKNOWN_CLIENT),
    ],
)
def test_rate_limit_key(address: str, key: str) -> None:
    assert rate_limit_key(address) == key


@given(st.ip_addresses(), st.integers(min_value=0, max_value=65535))
def test_every_address_reads_back_with_or_without_a_port(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int
) -> None:
    expected = address.ipv4_mapped if address.version == 6 and address.ipv4_mapped else address
    text = address.compressed
    with_port = f"[{text}]:{port}" if address.version == 6 else f"{text}:{port}"
    assert parse_node(text) == expected
    assert parse_node(with_port) == expected


@given(st.text(max_size=40))
def test_any_header_text_gives_an_address_or_unknown(text: str) -> None:
    client = PROXIES.client_address("10.0.0.1", [text])
    assert client == UNKNOWN_CLIENT or client == "10.0.0.1" or ipaddress.ip_address(client)
    FORWARDED.client_address("10.0.0.1", [text])  # never raises
