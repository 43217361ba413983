"""Countries, data centers and networks (lifecycle-facts §1.2)."""

from __future__ import annotations

from typing import Any

from katapult_ipam.store.records import CountryRecord, DataCenterRecord, NetworkRecord


def country(value: CountryRecord) -> dict[str, Any]:
    """The full country, as inside a full network."""
    return {
        "id": value.id,
        "name": value.name,
        "iso_code2": value.iso_code2,
        "iso_code3": value.iso_code3,
        "time_zone": value.time_zone,
        "eu": value.eu,
    }


def data_center(value: DataCenterRecord) -> dict[str, Any]:
    """A data center as ``/data_centers`` renders it: the country by id and name only."""
    return {
        "id": value.id,
        "name": value.name,
        "permalink": value.permalink,
        "country": {"id": value.country.id, "name": value.country.name},
    }


def data_center_summary(value: DataCenterRecord) -> dict[str, Any]:
    """A data center inside a compact network: no country."""
    return {"id": value.id, "name": value.name, "permalink": value.permalink}


def network(value: NetworkRecord) -> dict[str, Any]:
    """The full network, as ``GET /networks/:network`` and IP addresses render it."""
    data_center = value.data_center
    return {
        "id": value.id,
        "name": value.name,
        "permalink": value.permalink,
        "default": value.default,
        "data_center": {
            "id": data_center.id,
            "name": data_center.name,
            "permalink": data_center.permalink,
            "country": country(data_center.country),
        },
    }


def network_compact(value: NetworkRecord) -> dict[str, Any]:
    """A network as ``default_network`` and ``available_networks`` render it."""
    return {
        "id": value.id,
        "name": value.name,
        "permalink": value.permalink,
        "default": value.default,
        "data_center": data_center_summary(value.data_center),
    }
