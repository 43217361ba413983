"""IP addresses and their subnet and allocation (lifecycle-facts §1.1)."""

from __future__ import annotations

from typing import Any

from katapult_ipam.api.objects.locations import network
from katapult_ipam.domain.addresses import reverse_dns
from katapult_ipam.store.records import IPAddressListed, IPAddressRecord, SubnetRecord


def subnet(value: SubnetRecord) -> dict[str, Any]:
    """The subnet inside an IP address."""
    return {
        "id": value.id,
        "address": value.address,
        "gateway": value.gateway,
        "mask": value.mask,
        "billable": value.billable,
        "version": value.version,
    }


def ip_address(record: IPAddressRecord, default_rdns_zone: str) -> dict[str, Any]:
    """The full IP address, keys in production's order.

    Its reverse DNS name is the one set through the API, else its VM's FQDN, else
    the default name under its subnet's zone (``default_rdns_zone`` when the subnet
    names none).
    """
    zone = record.subnet.rdns_zone or default_rdns_zone
    return {
        "id": record.id,
        "address": record.address,
        "reverse_dns": reverse_dns(record.address, zone, record.reverse_dns_name),
        "vip": record.vip,
        "label": record.label,
        "address_with_mask": f"{record.address}/{record.subnet.mask}",
        "network": network(record.network),
        "subnet": subnet(record.subnet),
        "allocation_id": record.allocation_id,
        "allocation_type": record.allocation_type,
    }


def allocation(record: IPAddressRecord) -> dict[str, Any] | None:
    """The ``allocation`` polymorph beside a fetched address: ``{type, value: {id, name}}``."""
    holder = record.allocated_to
    if holder is None:
        return None
    return {"type": holder.type, "value": {"id": holder.id, "name": holder.name}}


def ip_address_listed(value: IPAddressListed) -> dict[str, Any]:
    """An address in an organization's list: spec ``id,address,allocation_id,
    allocation_type,vip,reverse_dns``, rendered in the object's field order."""
    return {
        "id": value.id,
        "address": value.address,
        "reverse_dns": value.reverse_dns,
        "vip": value.vip,
        "allocation_id": value.allocation_id,
        "allocation_type": value.allocation_type,
    }
