"""IP addresses: lookups by id or address, and the conditional allocation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from katapult_ipam.domain.addresses import canonical_address
from katapult_ipam.domain.errors import IPAddressNotFound
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store.driver import DriverStatement, timestamp_parameter
from katapult_ipam.store.queries.common import storable
from katapult_ipam.store.records import (
    AllocatedTo,
    CountryRecord,
    DataCenterRecord,
    IPAddressRecord,
    NetworkRecord,
    SubnetRecord,
)

# The statements every allocation runs go straight to the driver (see driver.py).
# Every column is named (AS ...), and rows are read by those names.
_IP_SELECT = """
    SELECT ip.id AS id, ip.organization_id AS organization_id, ip.address AS address,
           ip.vip AS vip, ip.label AS label, ip.allocation_type AS allocation_type,
           ip.allocation_id AS allocation_id,
           vm.name AS allocated_name, vm.fqdn AS allocated_fqdn,
           n.id AS network_id, n.name AS network_name, n.permalink AS network_permalink,
           n.is_default AS network_default,
           dc.id AS dc_id, dc.name AS dc_name, dc.permalink AS dc_permalink,
           c.id AS country_id, c.name AS country_name, c.iso_code2 AS iso_code2,
           c.iso_code3 AS iso_code3, c.time_zone AS time_zone, c.eu AS eu,
           s.id AS subnet_id, s.address AS subnet_address, s.gateway AS subnet_gateway,
           s.mask AS subnet_mask, s.billable AS subnet_billable, s.version AS subnet_version,
           s.rdns_zone AS subnet_rdns_zone
    FROM ip_addresses ip
    JOIN networks n ON n.id = ip.network_id
    JOIN data_centers dc ON dc.id = n.data_center_id
    JOIN countries c ON c.id = dc.country_id
    JOIN subnets s ON s.id = ip.subnet_id
    LEFT JOIN virtual_machines vm
           ON ip.allocation_type = 'VirtualMachine' AND vm.id = ip.allocation_id
"""
_IP_BY_ID = DriverStatement(_IP_SELECT + " WHERE ip.id = :key")
_IP_BY_ADDRESS = DriverStatement(_IP_SELECT + " WHERE ip.address = :key")


def _ip_record(r: dict[str, Any]) -> IPAddressRecord:
    country = CountryRecord(
        r["country_id"],
        r["country_name"],
        r["iso_code2"],
        r["iso_code3"],
        r["time_zone"],
        bool(r["eu"]),
    )
    data_center = DataCenterRecord(r["dc_id"], r["dc_name"], r["dc_permalink"], country)
    network = NetworkRecord(
        r["network_id"],
        r["network_name"],
        r["network_permalink"],
        bool(r["network_default"]),
        data_center,
    )
    subnet = SubnetRecord(
        r["subnet_id"],
        r["subnet_address"],
        r["subnet_gateway"],
        r["subnet_mask"],
        bool(r["subnet_billable"]),
        r["subnet_version"],
        r["subnet_rdns_zone"],
    )
    allocated_to = None
    if r["allocation_type"] is not None:
        allocated_to = AllocatedTo(
            r["allocation_type"], r["allocation_id"], r["allocated_name"], r["allocated_fqdn"]
        )
    return IPAddressRecord(
        id=r["id"],
        address=r["address"],
        vip=bool(r["vip"]),
        label=r["label"],
        allocated_to=allocated_to,
        network=network,
        subnet=subnet,
    )


def find_ip_address(
    connection: Connection,
    organization_ids: frozenset[str],
    *,
    id: str | None = None,
    address: str | None = None,
) -> IPAddressRecord | None:
    """The IP address with this id or (canonical) address, if one of these organizations'."""
    if not storable(id, address):
        return None
    if id is not None:
        rows = _IP_BY_ID.rows(connection, {"key": id})
    elif address is not None:
        rows = _IP_BY_ADDRESS.rows(connection, {"key": address})
    else:
        return None
    if not rows or rows[0]["organization_id"] not in organization_ids:
        return None
    return _ip_record(rows[0])


def resolve_ip_address(
    connection: Connection, organization_ids: frozenset[str], lookup: Lookup
) -> IPAddressRecord:
    """The IP address the lookup names in these organizations, or IPAddressNotFound."""
    if lookup.key == "id":
        ip = find_ip_address(connection, organization_ids, id=lookup.value)
    else:
        address = canonical_address(lookup.value)
        ip = (
            None
            if address is None
            else find_ip_address(connection, organization_ids, address=address)
        )
    if ip is None:
        raise IPAddressNotFound(lookup.value)
    return ip


_ALLOCATE_IF_FREE = DriverStatement(
    "UPDATE ip_addresses SET allocation_type = 'VirtualMachine', allocation_id = :vm_id,"
    " network_interface_id = :interface_id, allocated_at = :now"
    " WHERE id = :ip_id AND allocation_id IS NULL"
    # As read: an inventory load may have re-addressed it since.
    " AND address = :address AND network_id = :network_id"
)


def allocate_if_free(
    connection: Connection, ip: IPAddressRecord, vm_id: str, interface_id: str, now: datetime
) -> bool:
    """Allocate the IP to the VM only if nothing holds it and it is still as read
    (same address, same network); False otherwise."""
    parameters = {
        "vm_id": vm_id,
        "interface_id": interface_id,
        "now": timestamp_parameter(connection, now),
        "ip_id": ip.id,
        "address": ip.address,
        "network_id": ip.network.id,
    }
    cursor = _ALLOCATE_IF_FREE.execute(connection, parameters)
    try:
        return bool(cursor.rowcount == 1)
    finally:
        cursor.close()
