"""Virtual machine network interfaces (lifecycle-facts §1.3)."""

from __future__ import annotations

from typing import Any

from katapult_ipam.store.records import InterfaceAddressRecord, NetworkInterfaceRecord


def network_interface(value: NetworkInterfaceRecord) -> dict[str, Any]:
    """An interface as its ``allocate_ip`` and by-network lookup render it."""
    return {
        "id": value.id,
        "virtual_machine": {"id": value.virtual_machine_id, "name": value.virtual_machine_name},
        "name": value.name,
        "network": {"id": value.network_id, "name": value.network_name},
        "virtual_network": None,
        "mac_address": value.mac_address,
        "state": value.state,
        "ip_addresses": [{"id": ip.id, "address": ip.address} for ip in value.ip_addresses],
    }


def network_interface_with_speed_profile(value: NetworkInterfaceRecord) -> dict[str, Any]:
    """An interface as ``GET /virtual_machine_network_interfaces/:vmni`` renders it: the
    shape of ``network_interface`` and then its speed profile."""
    profile = value.speed_profile
    return {
        **network_interface(value),
        "speed_profile": {"id": profile.id, "name": profile.name, "permalink": profile.permalink},
    }


def network_interface_listed(value: NetworkInterfaceRecord) -> dict[str, Any]:
    """An interface in a VM's list of interfaces."""
    return {
        "id": value.id,
        "name": value.name,
        "network": {"id": value.network_id, "name": value.network_name},
        "virtual_network": None,
        "ip_addresses": [_listed_address(ip) for ip in value.ip_addresses],
    }


def _listed_address(value: InterfaceAddressRecord) -> dict[str, Any]:
    return {
        "id": value.id,
        "address": value.address,
        "reverse_dns": value.reverse_dns,
        "address_with_mask": value.address_with_mask,
    }
