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


def test_ids_have_the_production_shape_and_do_not_repeat() -> None:
    import re

    from katapult_ipam.ids import new_id

    ids = {new_id("ip_address") for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"ip_[A-Za-z0-9]{16}", i) for i in ids)
    # Every character of the alphabet turns up: nothing is cut from it.
    assert len({c for i in ids for c in i[3:]}) == 62


@given(st.ip_addresses())
def test_address_as_int_agrees_with_ipaddress(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    from katapult_ipam.domain.addresses import address_as_int

    assert address_as_int(address.compressed) == (address.version, int(address))
