"""Canonical addresses and reverse DNS names."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from katapult_ipam.domain.addresses import canonical_address, default_reverse_dns, reverse_dns


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("185.199.221.195", "185-199-221-195.rdns.example.net"),
        ("2001:db8:10::10", "2001-db8-10--10.rdns.example.net"),
        ("2001:0DB8:0010:0000::0010", "2001-db8-10--10.rdns.example.net"),
    ],
)
def test_default_reverse_dns(address: str, expected: str) -> None:
    assert default_reverse_dns(address, "rdns.example.net") == expected


def test_an_allocated_address_answers_to_the_vm_fqdn_in_lower_case() -> None:
    assert reverse_dns("192.0.2.1", "z", "Web-1.Example.NET") == "web-1.example.net"
    assert reverse_dns("192.0.2.1", "z", None) == "192-0-2-1.z"


@pytest.mark.parametrize("text", ["", "x", "192.0.2.256", "1.2.3", "::g", "192.0.2.1/24"])
def test_not_addresses(text: str) -> None:
    assert canonical_address(text) is None


@given(st.ip_addresses())
def test_every_notation_has_one_canonical_form(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    assert canonical_address(address.exploded) == address.compressed
    assert canonical_address(address.compressed.upper()) == address.compressed
