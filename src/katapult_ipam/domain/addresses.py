"""IP address parsing and reverse DNS names."""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


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
