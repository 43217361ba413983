"""Virtual machines, their zones, packages and organizations (lifecycle-facts §4).

Production's key order (v5 recordings, which were not re-encoded). No ``hypervisor``
key: production never sends one, though the document has it. What is not modelled
here renders as production renders an absent one: ``group``, ``attached_iso`` and
``gpu_type`` null, ``gpus``, ``tags`` and ``tag_names`` empty, ``annotations``
empty; ``initial_root_password`` is never kept, so it is null.
"""

from __future__ import annotations

from typing import Any

from katapult_ipam.api.context import RenderContext
from katapult_ipam.api.objects.ip_addresses import ip_address
from katapult_ipam.api.objects.locations import country, data_center_summary
from katapult_ipam.api.objects.organizations import organization, unix
from katapult_ipam.store.records import (
    PackageRecord,
    VirtualMachineListed,
    VirtualMachineRecord,
    ZoneRecord,
)


def zone(value: ZoneRecord) -> dict[str, Any]:
    """A zone inside a VM: its data center with the full country."""
    dc = value.data_center
    return {
        "id": value.id,
        "name": value.name,
        "permalink": value.permalink,
        "data_center": {
            "id": dc.id, "name": dc.name, "permalink": dc.permalink, "country": country(dc.country),
        },
    }  # fmt: skip


def zone_listed(value: ZoneRecord) -> dict[str, Any]:
    """A zone inside a VM of a list: its data center without the country."""
    return {
        "id": value.id,
        "name": value.name,
        "permalink": value.permalink,
        "data_center": data_center_summary(value.data_center),
    }


def package(value: PackageRecord | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "id": value.id,
        "name": value.name,
        "permalink": value.permalink,
        "cpu_cores": value.cpu_cores,
        "ipv4_addresses": value.ipv4_addresses,
        "memory_in_gb": value.memory_in_gb,
        "storage_in_gb": value.storage_in_gb,
        "monthly_bandwidth_allowance_in_gb": value.monthly_bandwidth_allowance_in_gb,
        "privacy": value.privacy,
        "icon": None,
        "use_dedicated_cpus": value.use_dedicated_cpus,
        "group": {"id": value.group_id, "name": value.group_name},
    }


def virtual_machine(value: VirtualMachineRecord, render: RenderContext) -> dict[str, Any]:
    """The full VM, as ``GET`` and ``DELETE /virtual_machines/:virtual_machine`` render it.

    Memory, CPU cores and dedicated CPUs are the package's (null without one);
    ``ip_addresses`` are the full addresses it holds.
    """
    pkg = value.package
    return {
        "id": value.id,
        "name": value.name,
        "hostname": value.hostname,
        "fqdn": value.fqdn,
        "description": value.description,
        "created_at": unix(value.created_at),
        "initial_root_password": None,
        "state": value.state,
        "suspended": False,
        "suspended_at": None,
        "zone": zone(value.zone),
        "organization": organization(value.organization, render),
        "group": None,
        "package": package(pkg),
        "attached_iso": None,
        "memory_in_gb": None if pkg is None else pkg.memory_in_gb,
        "cpu_cores": None if pkg is None else pkg.cpu_cores,
        "use_dedicated_cpus": None if pkg is None else pkg.use_dedicated_cpus,
        "gpu_type": None,
        "gpus": [],
        "tags": [],
        "tag_names": [],
        "ip_addresses": [ip_address(ip, render.rdns_zone) for ip in value.ip_addresses],
    }


def virtual_machine_listed(value: VirtualMachineListed) -> dict[str, Any]:
    """A VM in an organization's list (recorded 2026 shape)."""
    return {
        "id": value.id,
        "name": value.name,
        "hostname": value.hostname,
        "fqdn": value.fqdn,
        "created_at": unix(value.created_at),
        "zone": zone_listed(value.zone),
        "package": None if value.package_name is None else {"name": value.package_name},
        "gpu_type": None,
        "ip_addresses": [{"address": address} for address in value.addresses],
    }
