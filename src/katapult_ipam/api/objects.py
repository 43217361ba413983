"""Store records and domain values -> the JSON shapes production sends."""

from __future__ import annotations

import dataclasses
from functools import singledispatch
from typing import Any

from katapult_ipam.domain.addresses import reverse_dns
from katapult_ipam.domain.errors import DomainError, ObjectInTrash
from katapult_ipam.store.queries import IPAddressRecord, Network


def network(value: Network) -> dict[str, Any]:
    data_center = value.data_center
    country = data_center.country
    return {
        "id": value.id,
        "name": value.name,
        "permalink": value.permalink,
        "default": value.default,
        "data_center": {
            "id": data_center.id,
            "name": data_center.name,
            "permalink": data_center.permalink,
            "country": {
                "id": country.id,
                "name": country.name,
                "iso_code2": country.iso_code2,
                "iso_code3": country.iso_code3,
                "time_zone": country.time_zone,
                "eu": country.eu,
            },
        },
    }


def ip_address(record: IPAddressRecord, rdns_zone: str) -> dict[str, Any]:
    """An IP address, keys in production's order."""
    subnet = record.subnet
    return {
        "id": record.id,
        "address": record.address,
        "reverse_dns": reverse_dns(record.address, rdns_zone, record.allocated_fqdn),
        "vip": record.vip,
        "label": record.label,
        "address_with_mask": f"{record.address}/{subnet.mask}",
        "network": network(record.network),
        "subnet": {
            "id": subnet.id,
            "address": subnet.address,
            "gateway": subnet.gateway,
            "mask": subnet.mask,
            "billable": subnet.billable,
            "version": subnet.version,
        },
        "allocation_id": record.allocation_id,
        "allocation_type": record.allocation_type,
    }


@singledispatch
def error_detail(error: DomainError) -> dict[str, Any]:
    """The ``detail`` of the API error a domain refusal becomes."""
    return {}


@error_detail.register
def _(error: ObjectInTrash) -> dict[str, Any]:
    return {"trash_object": dataclasses.asdict(error.trash_object)}
