"""Which addresses of a subnet may be handed out: the pool, as pure arithmetic.

Never handed out: the network address, the broadcast address (IPv4 subnets of
more than two addresses; a /31 or /32 has none, RFC 3021), the gateway, and in
IPv6 the subnet-router anycast address (host 0). An IPv4 subnet's pool is held
whole, a row per address; an IPv6 subnet is far too large, so its addresses are
numbered from host 1 up and a row appears when one is first handed out.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

# A host number is kept in a 64-bit column: an IPv6 subnet hands out at most this many.
MAX_HOST_NUMBER = 2**63 - 1


def pool_addresses(cidr: str, gateway: str | None) -> Iterator[str]:
    """Every address of an IPv4 subnet that may be handed out, canonical, in order."""
    first, last = _hosts(cidr)
    skip = int(ipaddress.IPv4Address(gateway)) if gateway else -1
    for value in range(first, last + 1):
        if value != skip:
            yield str(ipaddress.IPv4Address(value))


def pool_size(cidr: str, gateway: str | None) -> int:
    """How many addresses ``pool_addresses`` yields, without yielding them."""
    first, last = _hosts(cidr)
    skip = int(ipaddress.IPv4Address(gateway)) if gateway else -1
    return last - first + 1 - (1 if first <= skip <= last else 0)


def _hosts(cidr: str) -> tuple[int, int]:
    network = ipaddress.IPv4Network(cidr)
    first, last = int(network.network_address), int(network.broadcast_address)
    if network.prefixlen <= 30:
        return first + 1, last - 1
    return first, last


def last_host_number(cidr: str) -> int:
    """The highest host number an IPv6 subnet hands out (within 64 bits)."""
    network = ipaddress.IPv6Network(cidr)
    return min(network.num_addresses - 1, MAX_HOST_NUMBER)


def host_address(cidr: str, host: int, gateway: str | None) -> str | None:
    """The canonical IPv6 address of host number ``host`` (from 1), or None when it
    is not one to hand out (outside the subnet, host 0, or the gateway)."""
    network = ipaddress.IPv6Network(cidr)
    if not 1 <= host < network.num_addresses:
        return None
    address = network.network_address + host
    if gateway is not None and address == ipaddress.IPv6Address(gateway):
        return None
    return address.compressed
