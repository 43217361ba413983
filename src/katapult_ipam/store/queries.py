"""The queries the service runs, in one place. Each takes an open Connection."""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.engine import Connection

from katapult_ipam.domain import allocation
from katapult_ipam.domain.addresses import IPNetwork
from katapult_ipam.domain.errors import TrashObject
from katapult_ipam.store import models as m
from katapult_ipam.store.driver import DriverStatement, timestamp_parameter, timestamp_result


@dataclass(frozen=True)
class Country:
    id: str
    name: str
    iso_code2: str
    iso_code3: str
    time_zone: str | None
    eu: bool


@dataclass(frozen=True)
class DataCenter:
    id: str
    name: str
    permalink: str
    country: Country


@dataclass(frozen=True)
class Network:
    id: str
    name: str
    permalink: str
    default: bool
    data_center: DataCenter


@dataclass(frozen=True)
class Subnet:
    id: str
    address: str
    gateway: str | None
    mask: int
    billable: bool
    version: int


@dataclass(frozen=True)
class IPAddressRecord:
    """An IP address with everything needed to decide on it and to render it."""

    id: str
    address: str
    vip: bool
    label: str | None
    allocation_type: str | None
    allocation_id: str | None
    allocated_fqdn: str | None
    network: Network
    subnet: Subnet

    def as_domain(self) -> allocation.IPAddress:
        return allocation.IPAddress(
            id=self.id,
            network_id=self.network.id,
            allocation_type=self.allocation_type,
            allocation_id=self.allocation_id,
        )


@dataclass(frozen=True)
class TokenRecord:
    id: str
    organization_id: str
    secret_hash: str
    scopes: frozenset[str]
    allowed_networks: tuple[IPNetwork, ...]  # parsed once, checked on every request
    expires_at: datetime | None
    revoked_at: datetime | None


_tables = m.Base.metadata.tables


def _storable(*values: str | None) -> bool:
    """False for text no row can hold: PostgreSQL refuses NUL characters outright."""
    return not any(value is not None and "\x00" in value for value in values)


# The statements every allocation runs go straight to the driver (see driver.py).
_IP_NAMES = (
    "id", "organization_id", "address", "vip", "label", "allocation_type", "allocation_id",
    "allocated_fqdn", "network_id", "network_name", "network_permalink", "network_default",
    "dc_id", "dc_name", "dc_permalink", "country_id", "country_name", "iso_code2",
    "iso_code3", "time_zone", "eu", "subnet_id", "subnet_address", "subnet_gateway",
    "subnet_mask", "subnet_billable", "subnet_version",
)  # fmt: skip
_IP_SELECT = """
    SELECT ip.id, ip.organization_id, ip.address, ip.vip, ip.label,
           ip.allocation_type, ip.allocation_id, vm.fqdn,
           n.id, n.name, n.permalink, n.is_default,
           dc.id, dc.name, dc.permalink,
           c.id, c.name, c.iso_code2, c.iso_code3, c.time_zone, c.eu,
           s.id, s.address, s.gateway, s.mask, s.billable, s.version
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
    country = Country(
        r["country_id"],
        r["country_name"],
        r["iso_code2"],
        r["iso_code3"],
        r["time_zone"],
        bool(r["eu"]),
    )
    data_center = DataCenter(r["dc_id"], r["dc_name"], r["dc_permalink"], country)
    network = Network(
        r["network_id"],
        r["network_name"],
        r["network_permalink"],
        bool(r["network_default"]),
        data_center,
    )
    subnet = Subnet(
        r["subnet_id"],
        r["subnet_address"],
        r["subnet_gateway"],
        r["subnet_mask"],
        bool(r["subnet_billable"]),
        r["subnet_version"],
    )
    return IPAddressRecord(
        id=r["id"],
        address=r["address"],
        vip=bool(r["vip"]),
        label=r["label"],
        allocation_type=r["allocation_type"],
        allocation_id=r["allocation_id"],
        allocated_fqdn=r["allocated_fqdn"],
        network=network,
        subnet=subnet,
    )


def find_ip_address(
    connection: Connection,
    organization_id: str,
    *,
    id: str | None = None,
    address: str | None = None,
) -> IPAddressRecord | None:
    """The organization's IP address with this id or (canonical) address."""
    if not _storable(id, address):
        return None
    if id is not None:
        rows = _IP_BY_ID.rows(connection, {"key": id}, _IP_NAMES)
    elif address is not None:
        rows = _IP_BY_ADDRESS.rows(connection, {"key": address}, _IP_NAMES)
    else:
        return None
    if not rows or rows[0]["organization_id"] != organization_id:
        return None
    return _ip_record(rows[0])


_VM_NAMES = (
    "id", "organization_id", "name", "fqdn", "trash_id", "keep_until", "object_id",
    "object_type", "nic_id", "nic_network_id", "nic_created_at",
)  # fmt: skip
_VM_SELECT = """
    SELECT vm.id, vm.organization_id, vm.name, vm.fqdn,
           t.id, t.keep_until, t.object_id, t.object_type,
           nic.id, nic.network_id, nic.created_at
    FROM virtual_machines vm
    LEFT JOIN trash_objects t ON t.id = vm.trash_object_id
    LEFT JOIN network_interfaces nic ON nic.virtual_machine_id = vm.id
"""
_VM_BY_ID = DriverStatement(_VM_SELECT + " WHERE vm.id = :key")
_VM_BY_FQDN = DriverStatement(_VM_SELECT + " WHERE vm.fqdn = :key")


def find_virtual_machine(
    connection: Connection,
    organization_ids: Collection[str],
    *,
    id: str | None = None,
    fqdn: str | None = None,
) -> allocation.VirtualMachine | None:
    """A VM of these organizations, with its interfaces, by id or FQDN (any case)."""
    if not _storable(id, fqdn):
        return None
    if id is not None:
        rows = _VM_BY_ID.rows(connection, {"key": id}, _VM_NAMES)
    elif fqdn is not None:
        rows = _VM_BY_FQDN.rows(connection, {"key": fqdn.lower()}, _VM_NAMES)
    else:
        return None
    # An FQDN is unique within an organization only: keep the first one visible.
    rows = [r for r in rows if r["organization_id"] in organization_ids]
    if not rows:
        return None
    first = min(rows, key=lambda r: str(r["id"]))
    trash = None
    if first["trash_id"] is not None:
        trash = TrashObject(
            id=first["trash_id"],
            keep_until=int(timestamp_result(first["keep_until"]).timestamp()),
            object_id=first["object_id"],
            object_type=first["object_type"],
        )
    interfaces = tuple(
        allocation.NetworkInterface(
            r["nic_id"], r["nic_network_id"], timestamp_result(r["nic_created_at"])
        )
        for r in rows
        if r["id"] == first["id"] and r["nic_id"] is not None
    )
    return allocation.VirtualMachine(
        id=first["id"],
        organization_id=first["organization_id"],
        name=first["name"],
        fqdn=first["fqdn"],
        trash=trash,
        interfaces=interfaces,
    )


_ALLOCATE_IF_FREE = DriverStatement(
    "UPDATE ip_addresses SET allocation_type = 'VirtualMachine', allocation_id = :vm_id,"
    " network_interface_id = :interface_id, allocated_at = :now"
    " WHERE id = :ip_id AND allocation_id IS NULL"
)


def allocate_if_free(
    connection: Connection, ip_id: str, vm_id: str, interface_id: str, now: datetime
) -> bool:
    """Allocate the IP to the VM only if nothing holds it; False when something does."""
    parameters = {
        "vm_id": vm_id,
        "interface_id": interface_id,
        "now": timestamp_parameter(connection, now),
        "ip_id": ip_id,
    }
    cursor = _ALLOCATE_IF_FREE.execute(connection, parameters)
    try:
        return bool(cursor.rowcount == 1)
    finally:
        cursor.close()


@dataclass(frozen=True)
class AllocationAudit:
    action: str
    organization_id: str
    actor_type: str
    actor_id: str
    ip_address_id: str
    address: str
    virtual_machine_id: str
    network_interface_id: str
    request_id: str | None


_RECORD_EVENT = DriverStatement(
    "INSERT INTO allocation_events (occurred_at, action, organization_id, actor_type,"
    " actor_id, ip_address_id, address, virtual_machine_id, network_interface_id, request_id)"
    " VALUES (:occurred_at, :action, :organization_id, :actor_type, :actor_id,"
    " :ip_address_id, :address, :virtual_machine_id, :network_interface_id, :request_id)"
)


def record_event(connection: Connection, audit: AllocationAudit, now: datetime) -> None:
    """Append to the audit log, inside the caller's transaction."""
    parameters = {"occurred_at": timestamp_parameter(connection, now), **vars(audit)}
    _RECORD_EVENT.execute(connection, parameters).close()


_FIND_TOKEN = text(
    "SELECT id, organization_id, secret_hash, scopes, allowed_networks, expires_at, revoked_at"
    " FROM api_tokens WHERE secret_hash = :secret_hash"
).columns(expires_at=m.UTCDateTime(), revoked_at=m.UTCDateTime())


def find_token(connection: Connection, secret_hash: str) -> TokenRecord | None:
    """The API token whose secret hashes to ``secret_hash``."""
    row = connection.execute(_FIND_TOKEN, {"secret_hash": secret_hash}).first()
    if row is None:
        return None
    return TokenRecord(
        id=row.id,
        organization_id=row.organization_id,
        secret_hash=row.secret_hash,
        scopes=frozenset(row.scopes.split()),
        allowed_networks=tuple(ipaddress.ip_network(n) for n in row.allowed_networks.split()),
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def ping(connection: Connection) -> None:
    """Fail unless the database answers."""
    connection.execute(select(1)).scalar_one()


_flag = _tables["service_flags"]


def flag_enabled(connection: Connection, name: str) -> bool:
    """Whether the service flag ``name`` is on (absent means off)."""
    value = connection.execute(select(_flag.c.enabled).where(_flag.c.name == name)).scalar()
    return bool(value)


def set_flag(connection: Connection, name: str, enabled: bool, now: datetime) -> None:
    """Turn the service flag ``name`` on or off."""
    changed = connection.execute(
        update(_flag).where(_flag.c.name == name).values(enabled=enabled, changed_at=now)
    )
    if changed.rowcount == 0:
        connection.execute(insert(_flag).values(name=name, enabled=enabled, changed_at=now))


_ORGANIZATION_IDS = text(
    "SELECT id FROM organizations WHERE id IN :references OR sub_domain IN :references"
).bindparams(bindparam("references", expanding=True))


def organization_ids(connection: Connection, references: Collection[str]) -> frozenset[str]:
    """The ids of the organizations named by id or sub-domain; unknown names are dropped."""
    references = [r for r in references if _storable(r)]
    if not references:
        return frozenset()
    rows = connection.execute(_ORGANIZATION_IDS, {"references": references})
    return frozenset(rows.scalars())
