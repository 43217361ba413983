"""Virtual machines: read one or an organization's list, and move one to the trash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Connection

from katapult_ipam.domain import allocation
from katapult_ipam.domain.actors import Actor
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.domain.trash import TRASH_RETENTION
from katapult_ipam.store.errors import StoreUnavailable
from katapult_ipam.store.queries import trash_objects, virtual_machines
from katapult_ipam.store.queries.organizations import resolve_organization
from katapult_ipam.store.records import (
    TrashObjectRecord,
    VirtualMachineListed,
    VirtualMachineRecord,
)


def get_virtual_machine(
    connection: Connection, actor: Actor, lookup: Lookup
) -> VirtualMachineRecord:
    """A VM of the caller's organizations, outside the trash (else 406 object_in_trash)."""
    vm = virtual_machines.resolve_virtual_machine(connection, actor.organization_ids, lookup)
    allocation.ensure_usable(vm)
    return virtual_machines.virtual_machine_details(connection, vm.id)


@dataclass(frozen=True)
class VirtualMachinePage:
    items: list[VirtualMachineListed]
    total: int


def list_virtual_machines(
    connection: Connection,
    actor: Actor,
    organization: Lookup,
    *,
    limit: int,
    offset: int,
    by_annotations: bool = False,
) -> VirtualMachinePage:
    """A page of the organization's VMs outside the trash, oldest first. Filtered by
    annotations, none: no VM here has any (the organization is still looked up)."""
    owner = resolve_organization(connection, actor.organization_ids, organization)
    if by_annotations:
        return VirtualMachinePage([], 0)
    items, total = virtual_machines.list_virtual_machines(
        connection, owner.id, limit=limit, offset=offset
    )
    return VirtualMachinePage(items, total)


def trash_virtual_machine(
    connection: Connection, actor: Actor, lookup: Lookup
) -> tuple[TrashObjectRecord, VirtualMachineRecord]:
    """Move a VM to the trash for 48 hours; its addresses stay allocated to it."""
    vm = virtual_machines.resolve_virtual_machine(connection, actor.organization_ids, lookup)
    allocation.ensure_usable(vm)
    keep_until = datetime.now(UTC).replace(microsecond=0) + TRASH_RETENTION
    trash = trash_objects.trash_virtual_machine(connection, vm.organization_id, vm.id, keep_until)
    if trash is None:
        # Trashed by another transaction between our read and our write.
        raise StoreUnavailable("the virtual machine changed while it was being deleted")
    return trash, virtual_machines.virtual_machine_details(connection, vm.id)
