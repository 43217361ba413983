"""Virtual machines with their interfaces and trash state."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.engine import Connection

from katapult_ipam.domain import allocation
from katapult_ipam.domain.errors import TrashObject, VirtualMachineNotFound
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.domain.names import normalise_fqdn
from katapult_ipam.store.driver import DriverStatement, timestamp_result
from katapult_ipam.store.queries.common import storable

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
