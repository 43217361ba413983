"""IP address parsing and reverse DNS names."""

from __future__ import annotations

import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def address_as_int(canonical: str) -> tuple[int, int]:
    """(version, integer value) of an address already in canonical form; fast for bulk work."""
    if ":" in canonical:
        return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, canonical), "big")
    return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, canonical), "big")


def canonical_address(text: str) -> str | None:
    """Return the canonical (compressed) form of an address, or None if it is not one."""
    try:
        return ipaddress.ip_address(text.strip()).compressed
    except ValueError:
        return None


def default_reverse_dns(address: str, zone: str) -> str:
    """The name an unallocated address answers to: dots or colons become dashes."""
    compressed = ipaddress.ip_address(address).compressed
    return f"{compressed.replace('.', '-').replace(':', '-')}.{zone}"


def reverse_dns(address: str, zone: str, allocated_fqdn: str | None) -> str:
    """An address allocated to a VM answers to the VM's FQDN, otherwise to the default."""
    if allocated_fqdn:
        return allocated_fqdn.lower()
    return default_reverse_dns(address, zone)
