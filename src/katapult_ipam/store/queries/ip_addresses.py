"""IP addresses: lookups by id or address, an organization's list, and the
conditional writes of their lifecycle (allocate, unallocate, change, release).

Each write names what it read (the holder, the organization), so a change made
by another transaction since then makes it change nothing and answer False.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from katapult_ipam.domain.addresses import address_as_int, canonical_address, reverse_dns
from katapult_ipam.domain.errors import IPAddressNotFound
from katapult_ipam.domain.ip_addresses import Details
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store.driver import DriverStatement, timestamp_parameter
from katapult_ipam.store.queries.common import storable
from katapult_ipam.store.records import (
    AllocatedTo,
    CountryRecord,
    DataCenterRecord,
    IPAddressListed,
    IPAddressRecord,
    NetworkRecord,
    SubnetRecord,
)

# The statements every allocation runs go straight to the driver (see driver.py).
# Every column is named (AS ...), and rows are read by those names.
_IP_SELECT = """
    SELECT ip.id AS id, ip.organization_id AS organization_id, ip.address AS address,
           ip.vip AS vip, ip.label AS label, ip.reverse_dns AS custom_reverse_dns,
           ip.allocation_type AS allocation_type,
           ip.allocation_id AS allocation_id, ip.network_interface_id AS network_interface_id,
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
_IP_BY_HOLDER = DriverStatement(
    _IP_SELECT + " WHERE ip.allocation_type = 'VirtualMachine' AND ip.allocation_id = :key"
)


def held_by(connection: Connection, vm_id: str) -> tuple[IPAddressRecord, ...]:
    """The addresses allocated to a VM, by subnet and then by address (as production
    lists them: its internal row order, lifecycle-facts §1.4; subnets by id here)."""
    records = [_ip_record(r) for r in _IP_BY_HOLDER.rows(connection, {"key": vm_id})]
    return tuple(sorted(records, key=lambda ip: (ip.subnet.id, address_as_int(ip.address))))


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
        organization_id=r["organization_id"],
        custom_reverse_dns=r["custom_reverse_dns"],
        network_interface_id=r["network_interface_id"],
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
    " network_interface_id = :interface_id, allocated_at = :now, reverse_dns = NULL"
    " WHERE id = :ip_id AND allocation_id IS NULL"
    # As read: an inventory load may have re-addressed it, or it may have been
    # released (and taken by another organization) since.
    " AND address = :address AND network_id = :network_id"
    " AND organization_id = :organization_id"
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
        "organization_id": ip.organization_id,
    }
    return _changed_one(_ALLOCATE_IF_FREE, connection, parameters)


_UNALLOCATE_IF_HELD = DriverStatement(
    "UPDATE ip_addresses SET allocation_type = NULL, allocation_id = NULL,"
    " network_interface_id = NULL, allocated_at = NULL, reverse_dns = NULL"
    " WHERE id = :ip_id AND allocation_id = :holder_id"
)


def unallocate_if_held(connection: Connection, ip_id: str, holder_id: str) -> bool:
    """Unallocate the address only if ``holder_id`` still holds it; False otherwise.
    Its reverse DNS name goes back to the default."""
    return _changed_one(_UNALLOCATE_IF_HELD, connection, {"ip_id": ip_id, "holder_id": holder_id})


_RELEASE_IF_FREE = DriverStatement(
    "UPDATE ip_addresses SET organization_id = NULL, vip = false, label = NULL,"
    " reverse_dns = NULL, taken_at = NULL"
    " WHERE id = :ip_id AND organization_id = :organization_id AND allocation_id IS NULL"
)


def release_if_unallocated(connection: Connection, ip_id: str, organization_id: str) -> bool:
    """Give the address back to the pool (vip, label, reverse DNS reset; its id kept),
    only if the organization still holds it unallocated; False otherwise."""
    return _changed_one(
        _RELEASE_IF_FREE, connection, {"ip_id": ip_id, "organization_id": organization_id}
    )


_SET_DETAILS = DriverStatement(
    "UPDATE ip_addresses SET vip = :vip, label = :label, reverse_dns = :reverse_dns"
    " WHERE id = :ip_id AND organization_id = :organization_id"
    # As read: another PATCH committed since must not be undone silently.
    " AND vip = :old_vip AND COALESCE(label, '') = COALESCE(:old_label, '')"
    " AND COALESCE(reverse_dns, '') = COALESCE(:old_reverse_dns, '')"
)


def set_details(
    connection: Connection, ip_id: str, organization_id: str, old: Details, details: Details
) -> bool:
    """Write an address's vip, label and reverse DNS name, if the organization still
    holds it and they are still ``old``; False otherwise."""
    parameters = {
        "old_vip": old.vip,
        "old_label": old.label,
        "old_reverse_dns": old.reverse_dns,
        "vip": details.vip,
        "label": details.label,
        "reverse_dns": details.reverse_dns,
        "ip_id": ip_id,
        "organization_id": organization_id,
    }
    return _changed_one(_SET_DETAILS, connection, parameters)


def _changed_one(
    statement: DriverStatement, connection: Connection, parameters: dict[str, Any]
) -> bool:
    cursor = statement.execute(connection, parameters)
    try:
        return bool(cursor.rowcount == 1)
    finally:
        cursor.close()


# An organization's addresses, in the order it took them (ties by id).
_LIST = """
    SELECT ip.id AS id, ip.address AS address, ip.vip AS vip,
           ip.reverse_dns AS custom_reverse_dns, ip.allocation_id AS allocation_id,
           ip.allocation_type AS allocation_type, vm.fqdn AS allocated_fqdn,
           s.rdns_zone AS rdns_zone
    FROM ip_addresses ip
    JOIN subnets s ON s.id = ip.subnet_id
    LEFT JOIN virtual_machines vm
           ON ip.allocation_type = 'VirtualMachine' AND vm.id = ip.allocation_id
    WHERE ip.organization_id = :organization_id{filter}
    ORDER BY ip.taken_at, ip.id
    LIMIT :limit OFFSET :offset
"""
_COUNT = """
    SELECT count(*) AS counted FROM (
        SELECT 1 FROM ip_addresses ip WHERE ip.organization_id = :organization_id{filter}
        LIMIT :limit
    ) AS counted_rows
"""
_FILTERS = {
    None: "",
    True: " AND ip.allocation_id IS NOT NULL",
    False: " AND ip.allocation_id IS NULL",
}
_LIST_STATEMENTS = {
    allocated: (
        DriverStatement(_LIST.format(filter=sql)),
        DriverStatement(_COUNT.format(filter=sql)),
    )
    for allocated, sql in _FILTERS.items()
}


def list_ip_addresses(
    connection: Connection,
    organization_id: str,
    *,
    allocated: bool | None,
    limit: int,
    offset: int,
    count_limit: int,
    default_rdns_zone: str,
) -> tuple[list[IPAddressListed], int]:
    """A page of the organization's addresses (all, allocated or unallocated ones),
    and how many there are, counting no further than ``count_limit``."""
    select_page, count = _LIST_STATEMENTS[allocated]
    parameters = {"organization_id": organization_id}
    rows = select_page.rows(connection, {**parameters, "limit": limit, "offset": offset})
    counted = count.rows(connection, {**parameters, "limit": count_limit})[0]["counted"]
    items = [
        IPAddressListed(
            id=r["id"],
            address=r["address"],
            reverse_dns=reverse_dns(
                r["address"],
                r["rdns_zone"] or default_rdns_zone,
                r["custom_reverse_dns"] or r["allocated_fqdn"],
            ),
            vip=bool(r["vip"]),
            allocation_id=r["allocation_id"],
            allocation_type=r["allocation_type"],
        )
        for r in rows
    ]
    return items, int(counted)
