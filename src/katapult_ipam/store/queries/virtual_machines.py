"""Virtual machines with their interfaces and trash state."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection

from katapult_ipam.domain import allocation
from katapult_ipam.domain.errors import TrashObject, VirtualMachineNotFound
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.domain.names import normalise_fqdn
from katapult_ipam.store import models as m
from katapult_ipam.store.driver import DriverStatement, timestamp_result
from katapult_ipam.store.queries.common import storable
from katapult_ipam.store.queries.ip_addresses import held_by
from katapult_ipam.store.queries.organizations import organization_details
from katapult_ipam.store.records import (
    CountryRecord,
    DataCenterRecord,
    PackageRecord,
    TrashObjectRecord,
    VirtualMachineListed,
    VirtualMachineRecord,
    ZoneRecord,
)

_VM_SELECT = """
    SELECT vm.id AS id, vm.organization_id AS organization_id, vm.name AS name,
           vm.fqdn AS fqdn, t.id AS trash_id, t.keep_until AS keep_until,
           t.object_id AS object_id, t.object_type AS object_type,
           nic.id AS nic_id, nic.network_id AS nic_network_id, nic.created_at AS nic_created_at
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
    if not storable(id, fqdn):
        return None
    if id is not None:
        rows = _VM_BY_ID.rows(connection, {"key": id})
    elif fqdn is not None:
        rows = _VM_BY_FQDN.rows(connection, {"key": normalise_fqdn(fqdn)})
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


def resolve_virtual_machine(
    connection: Connection, organization_ids: Collection[str], lookup: Lookup
) -> allocation.VirtualMachine:
    """The VM the lookup names in these organizations, or VirtualMachineNotFound."""
    if lookup.key == "id":
        vm = find_virtual_machine(connection, organization_ids, id=lookup.value)
    else:
        vm = find_virtual_machine(connection, organization_ids, fqdn=lookup.value)
    if vm is None:
        raise VirtualMachineNotFound(lookup.value)
    return vm


_tables = m.Base.metadata.tables
_vm = _tables["virtual_machines"]
_zone = _tables["zones"]
_dc = _tables["data_centers"]
_country = _tables["countries"]
_package = _tables["virtual_machine_packages"]
_trash = _tables["trash_objects"]
_ip = _tables["ip_addresses"]

_ZONES = select(
    _zone.c.id.label("zone_id"),
    _zone.c.name.label("zone_name"),
    _zone.c.permalink.label("zone_permalink"),
    _dc.c.id.label("dc_id"),
    _dc.c.name.label("dc_name"),
    _dc.c.permalink.label("dc_permalink"),
    _country.c.id.label("country_id"),
    _country.c.name.label("country_name"),
    _country.c.iso_code2,
    _country.c.iso_code3,
    _country.c.time_zone,
    _country.c.eu,
).select_from(
    _zone.join(_dc, _dc.c.id == _zone.c.data_center_id).join(
        _country, _country.c.id == _dc.c.country_id
    )
)


def _zone_record(row: Any) -> ZoneRecord:
    country = CountryRecord(
        row.country_id, row.country_name, row.iso_code2, row.iso_code3, row.time_zone,
        bool(row.eu),
    )  # fmt: skip
    data_center = DataCenterRecord(row.dc_id, row.dc_name, row.dc_permalink, country)
    return ZoneRecord(row.zone_id, row.zone_name, row.zone_permalink, data_center)


def _zones(connection: Connection, ids: Collection[str]) -> dict[str, ZoneRecord]:
    rows = connection.execute(_ZONES.where(_zone.c.id.in_(sorted(set(ids))))).all()
    return {row.zone_id: _zone_record(row) for row in rows}


def virtual_machine_details(connection: Connection, vm_id: str) -> VirtualMachineRecord:
    """Everything ``GET /virtual_machines/:virtual_machine`` renders of a VM that exists."""
    vm = connection.execute(select(_vm).where(_vm.c.id == vm_id)).one()
    package = None
    if vm.package_id is not None:
        p = connection.execute(select(_package).where(_package.c.id == vm.package_id)).one()
        package = PackageRecord(
            p.id, p.name, p.permalink, p.cpu_cores, p.ipv4_addresses, p.memory_in_gb,
            p.storage_in_gb, p.monthly_bandwidth_allowance_in_gb, p.privacy,
            bool(p.use_dedicated_cpus), p.group_id, p.group_name,
        )  # fmt: skip
    trash = None
    if vm.trash_object_id is not None:
        t = connection.execute(select(_trash).where(_trash.c.id == vm.trash_object_id)).one()
        trash = TrashObjectRecord(t.id, t.keep_until, t.object_id, t.object_type)
    return VirtualMachineRecord(
        id=vm.id,
        name=vm.name,
        hostname=vm.hostname,
        fqdn=vm.fqdn,
        description=vm.description,
        created_at=vm.created_at,
        state=vm.state,
        zone=_zones(connection, [vm.zone_id])[vm.zone_id],
        organization=organization_details(connection, vm.organization_id),
        package=package,
        ip_addresses=held_by(connection, vm.id),
        trash=trash,
    )


def list_virtual_machines(
    connection: Connection, organization_id: str, *, limit: int, offset: int
) -> tuple[list[VirtualMachineListed], int]:
    """A page of the organization's VMs outside the trash, oldest first, and their count."""
    where = (_vm.c.organization_id == organization_id) & _vm.c.trash_object_id.is_(None)
    total = connection.execute(select(func.count()).select_from(_vm).where(where)).scalar_one()
    rows = connection.execute(
        select(_vm.c.id, _vm.c.name, _vm.c.hostname, _vm.c.fqdn, _vm.c.created_at,
               _vm.c.zone_id, _package.c.name.label("package_name"))
        .select_from(_vm.outerjoin(_package, _package.c.id == _vm.c.package_id))
        .where(where)
        .order_by(_vm.c.created_at, _vm.c.id)
        .limit(limit)
        .offset(offset)
    ).all()  # fmt: skip
    zones = _zones(connection, [row.zone_id for row in rows])
    held: dict[str, list[str]] = {row.id: [] for row in rows}
    if held:
        for ip in connection.execute(
            select(_ip.c.allocation_id, _ip.c.address, _ip.c.subnet_id)
            .where(_ip.c.allocation_id.in_(list(held)))
            .order_by(_ip.c.subnet_id)
        ).all():
            held[ip.allocation_id].append(ip.address)
    items = [
        VirtualMachineListed(
            id=row.id,
            name=row.name,
            hostname=row.hostname,
            fqdn=row.fqdn,
            created_at=row.created_at,
            zone=zones[row.zone_id],
            package_name=row.package_name,
            addresses=tuple(held[row.id]),
        )
        for row in rows
    ]
    return items, int(total)


def delete_virtual_machine(connection: Connection, vm_id: str) -> None:
    """Delete a VM holding no address; its interfaces go with it."""
    connection.execute(delete(_vm).where(_vm.c.id == vm_id))
