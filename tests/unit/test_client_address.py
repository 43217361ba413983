"""Whom to believe about a request's origin."""

from __future__ import annotations

import ipaddress

import pytest

from katapult_ipam.auth.client_address import TrustedProxies, in_networks

PROXIES = TrustedProxies(["10.0.0.0/8", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.5", None, "203.0.113.5"),
        ("203.0.113.5", "10.0.0.1", "203.0.113.5"),  # untrusted peer: header ignored
        ("10.0.0.1", "203.0.113.5", "203.0.113.5"),
        ("10.0.0.1", "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # spoofed left part ignored
        ("10.0.0.1", "203.0.113.5, 10.0.0.2", "203.0.113.5"),  # chain of proxies
        ("10.0.0.1", "10.0.0.3, 10.0.0.2", "10.0.0.3"),  # all trusted: the furthest
        ("10.0.0.1", "garbage, 10.0.0.2", "10.0.0.2"),  # garbage: believe no further
        ("fd00::1", "2001:DB8::1", "2001:db8::1"),
        ("10.0.0.1", "", "10.0.0.1"),
        ("testclient", "1.2.3.4", "testclient"),
        (None, None, ""),
    ],
)
def test_client_address(peer: str | None, forwarded: str | None, client: str) -> None:
    assert PROXIES.client_address(peer, forwarded) == client


def test_no_trusted_proxies_means_the_peer() -> None:
    assert TrustedProxies([]).client_address("10.0.0.1", "1.2.3.4") == "10.0.0.1"


@pytest.mark.parametrize(
    ("address", "expected"),
    [("10.1.1.1", True), ("11.0.0.1", False), ("2001:db8::1", True), ("x", False)],
)
def test_in_networks(address: str, expected: bool) -> None:
    networks = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")]
    assert in_networks(address, networks) is expected
