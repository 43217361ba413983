"""The pure rules of the lifecycle: which addresses a pool holds, what an owner may change."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from katapult_ipam.domain.allocation import IPAddress
from katapult_ipam.domain.errors import NoAllocation, UnallocationNotSupported, ValidationFailed
from katapult_ipam.domain.ip_addresses import (
    KEEP,
    LABEL_BLANK,
    REVERSE_DNS_INVALID,
    Details,
    changed_details,
    ensure_can_unallocate,
    new_details,
)
from katapult_ipam.domain.pool import (
    MAX_HOST_NUMBER,
    host_address,
    last_host_number,
    pool_addresses,
    pool_size,
)

# -- the pool -------------------------------------------------------------------------------


@given(
    network=st.integers(0, 2**32 - 1),
    prefix=st.integers(20, 32),
    gateway_offset=st.one_of(st.none(), st.integers(0, 2**12)),
)
def test_an_ipv4_pool_is_every_host_but_network_broadcast_and_gateway(
    network: int, prefix: int, gateway_offset: int | None
) -> None:
    subnet = ipaddress.IPv4Network((network, prefix), strict=False)
    gateway = None
    if gateway_offset is not None and gateway_offset < subnet.num_addresses:
        gateway = str(subnet.network_address + gateway_offset)
    pool = list(pool_addresses(str(subnet), gateway))
    assert len(pool) == len(set(pool)) == pool_size(str(subnet), gateway)
    assert all(ipaddress.IPv4Address(a) in subnet for a in pool)
    assert gateway not in pool
    if prefix <= 30:
        assert str(subnet.network_address) not in pool
        assert str(subnet.broadcast_address) not in pool
        expected = subnet.num_addresses - 2
    else:  # RFC 3021: a /31 or /32 has no network or broadcast address
        expected = subnet.num_addresses
    gateway_inside = gateway is not None and gateway in {str(a) for a in subnet}
    if gateway_inside and (prefix > 30 or gateway not in {
        str(subnet.network_address), str(subnet.broadcast_address)
    }):  # fmt: skip
        expected -= 1
    assert len(pool) == expected
    assert pool == sorted(pool, key=lambda a: int(ipaddress.IPv4Address(a)))


def test_a_slash_24_with_its_gateway() -> None:
    pool = list(pool_addresses("192.0.2.0/24", "192.0.2.1"))
    assert pool[0] == "192.0.2.2"
    assert pool[-1] == "192.0.2.254"
    assert len(pool) == 253


@given(host=st.integers(-5, 2**70))
def test_ipv6_host_numbers(host: int) -> None:
    address = host_address("2001:db8::/64", host, "2001:db8::1")
    if host < 1 or host >= 2**64 or host == 1:
        assert address is None
    else:
        assert address is not None
        assert ipaddress.IPv6Address(address) == ipaddress.IPv6Address("2001:db8::") + host
        assert address == ipaddress.IPv6Address(address).compressed


def test_the_last_host_number_fits_64_bits() -> None:
    assert last_host_number("2001:db8::/48") == MAX_HOST_NUMBER
    assert last_host_number("2001:db8::/120") == 255


# -- what an owner may change ---------------------------------------------------------------


def test_a_new_address() -> None:
    assert new_details(None, None) == Details(False, None, None)
    assert new_details(False, "dropped") == Details(False, None, None)
    assert new_details(True, "front") == Details(True, "front", None)
    for label in (None, "", "  \t"):
        with pytest.raises(ValidationFailed) as caught:
            new_details(True, label)
        assert caught.value.messages == (LABEL_BLANK,)


def test_the_recorded_patches() -> None:
    current = Details()
    current = changed_details(current, vip=True, label="vip-yes")
    assert current == Details(True, "vip-yes")
    current = changed_details(current, label="vip-oh-yes")
    assert current == Details(True, "vip-oh-yes")
    assert changed_details(current, label="", vip=False) == Details(False, None)
    assert changed_details(current, vip=False) == Details(False, None)


def test_what_is_not_given_is_kept() -> None:
    current = Details(True, "x", "a.example.net")
    assert changed_details(current) == current
    assert changed_details(current, vip=None) == current  # a null vip changes nothing
    assert changed_details(current, reverse_dns=KEEP) == current


@pytest.mark.parametrize(
    ("given", "stored"),
    [("Mail.Example.NET.", "mail.example.net"), ("", None), (None, None),
     ("a-b.c0", "a-b.c0"), ("x" * 63 + ".example", "x" * 63 + ".example")],
)  # fmt: skip
def test_reverse_dns_names(given: str | None, stored: str | None) -> None:
    assert changed_details(Details(), reverse_dns=given).reverse_dns == stored


@pytest.mark.parametrize(
    "name",
    ["single", "a..b", "-a.b", "a-.b", "a b.c", "a_b.c", "x" * 64 + ".example",
     ".".join(["abcdefghi"] * 26), "ä.example", "a.b\n"],
)  # fmt: skip
def test_reverse_dns_names_refused(name: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        changed_details(Details(), reverse_dns=name)
    assert caught.value.messages == (REVERSE_DNS_INVALID,)


def test_a_label_is_checked_only_on_a_vip() -> None:
    with pytest.raises(ValidationFailed):
        changed_details(Details(True, "x"), label="a\x00b")
    with pytest.raises(ValidationFailed):
        changed_details(Details(True, "x"), label="a" * 256)
    assert changed_details(Details(), label="a\x00b") == Details()


# -- unallocation ---------------------------------------------------------------------------


def test_only_an_allocated_address_held_by_a_vm_can_be_unallocated() -> None:
    with pytest.raises(NoAllocation):
        ensure_can_unallocate(IPAddress("ip_1", "netw_1", None, None))
    with pytest.raises(UnallocationNotSupported):
        ensure_can_unallocate(IPAddress("ip_1", "netw_1", "LoadBalancer", "lb_1"))
    ensure_can_unallocate(IPAddress("ip_1", "netw_1", "VirtualMachine", "vm_1"))
