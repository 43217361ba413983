"""The trash: list it, look into it, restore from it, purge from it.

Purging a virtual machine unallocates whatever it still holds (each recorded in
the audit log under the purge's operation), then deletes it and its interfaces,
all in the one transaction; the reply is a task, as production's, which has
already completed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Connection

from katapult_ipam.domain.actors import Actor
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.domain.trash import PURGE_TASK_NAME, VIRTUAL_MACHINE
from katapult_ipam.store.errors import StoreUnavailable
from katapult_ipam.store.queries import audit, ip_addresses, tasks, trash_objects, virtual_machines
from katapult_ipam.store.queries.organizations import resolve_organization
from katapult_ipam.store.records import TaskRecord, TrashObjectRecord


@dataclass(frozen=True)
class TrashPage:
    items: list[TrashObjectRecord]
    total: int


def list_trash(
    connection: Connection, actor: Actor, organization: Lookup, *, limit: int, offset: int
) -> TrashPage:
    """A page of the organization's trash, soonest purged first."""
    owner = resolve_organization(connection, actor.organization_ids, organization)
    items, total = trash_objects.list_trash_objects(
        connection, owner.id, limit=limit, offset=offset
    )
    return TrashPage(items, total)


def get_trash_object(connection: Connection, actor: Actor, lookup: Lookup) -> TrashObjectRecord:
    """The caller's trash object, by its id or by the trashed object's id."""
    return trash_objects.resolve_trash_object(connection, actor.organization_ids, lookup)


def restore(connection: Connection, actor: Actor, lookup: Lookup) -> TrashObjectRecord:
    """Take the object out of the trash: a VM can be used (and allocated to) again."""
    trash = trash_objects.resolve_trash_object(connection, actor.organization_ids, lookup)
    if not trash_objects.remove_trash_object(connection, trash):
        raise StoreUnavailable("the trash object changed while it was being restored")
    return trash


def purge(connection: Connection, actor: Actor, lookup: Lookup) -> TaskRecord:
    """Delete the object for good; a VM's addresses are unallocated first."""
    trash = trash_objects.resolve_trash_object(connection, actor.organization_ids, lookup)
    now = datetime.now(UTC)
    organization_id = trash_objects.organization_of(connection, trash.id)
    if trash.object_type == VIRTUAL_MACHINE:
        for ip in ip_addresses.held_by(connection, trash.object_id):
            if not ip_addresses.unallocate_if_held(connection, ip.id, trash.object_id):
                raise StoreUnavailable("an address changed while its VM was being purged")
            audit.record_event(
                connection,
                audit.AllocationAudit(
                    action="unallocate",
                    organization_id=ip.organization_id,
                    actor_type=actor.type,
                    actor_id=actor.id,
                    ip_address_id=ip.id,
                    address=ip.address,
                    virtual_machine_id=trash.object_id,
                    network_interface_id=ip.network_interface_id,
                    request_id=actor.request_id,
                    operation=actor.operation,
                ),
                now,
            )
        if not trash_objects.remove_trash_object(connection, trash):
            raise StoreUnavailable("the trash object changed while it was being purged")
        virtual_machines.delete_virtual_machine(connection, trash.object_id)
    elif not trash_objects.remove_trash_object(connection, trash):
        raise StoreUnavailable("the trash object changed while it was being purged")
    return tasks.record_finished_task(connection, organization_id, PURGE_TASK_NAME, now)


def get_task(connection: Connection, actor: Actor, lookup: Lookup) -> TaskRecord:
    """One of the caller's organizations' tasks."""
    return tasks.resolve_task(connection, actor.organization_ids, lookup)
