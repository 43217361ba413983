"""Objects in the trash, named by the trash object's id or by the trashed object's id."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from katapult_ipam.domain.errors import TrashObjectNotFound
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.ids import new_id
from katapult_ipam.store import models as m
from katapult_ipam.store.queries.common import storable
from katapult_ipam.store.records import TrashObjectRecord

_trash = m.Base.metadata.tables["trash_objects"]


def resolve_trash_object(
    connection: Connection, organization_ids: Collection[str], lookup: Lookup
) -> TrashObjectRecord:
    """The caller's trash object by ``id`` or ``object_id``, or TrashObjectNotFound."""
    column = _trash.c.id if lookup.key == "id" else _trash.c.object_id
    row = None
    if storable(lookup.value):
        query = select(_trash).where(column == lookup.value)
        row = connection.execute(
            query.where(_trash.c.organization_id.in_(list(organization_ids)))
        ).first()
    if row is None:
        raise TrashObjectNotFound(lookup.value)
    return _record(row)


_vm = m.Base.metadata.tables["virtual_machines"]


def list_trash_objects(
    connection: Connection, organization_id: str, *, limit: int, offset: int
) -> tuple[list[TrashObjectRecord], int]:
    """A page of the organization's trash, soonest purged first, and how many there are."""
    where = _trash.c.organization_id == organization_id
    total = connection.execute(select(func.count()).select_from(_trash).where(where)).scalar_one()
    rows = connection.execute(
        select(_trash)
        .where(where)
        .order_by(_trash.c.keep_until, _trash.c.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [_record(row) for row in rows], int(total)


def trash_virtual_machine(
    connection: Connection, organization_id: str, vm_id: str, keep_until: datetime
) -> TrashObjectRecord | None:
    """Move a VM to the trash unless it is there already (then None)."""
    trash_id = new_id("trash_object")
    connection.execute(
        insert(_trash).values(
            id=trash_id,
            organization_id=organization_id,
            object_type="VirtualMachine",
            object_id=vm_id,
            keep_until=keep_until,
        )
    )
    moved = connection.execute(
        update(_vm)
        .where(_vm.c.id == vm_id, _vm.c.trash_object_id.is_(None))
        .values(trash_object_id=trash_id)
    )
    if moved.rowcount != 1:
        return None
    return TrashObjectRecord(trash_id, keep_until, vm_id, "VirtualMachine")


def remove_trash_object(connection: Connection, trash: TrashObjectRecord) -> bool:
    """Take an object out of the trash (its VM is usable again); False if it was not there."""
    connection.execute(
        update(_vm).where(_vm.c.trash_object_id == trash.id).values(trash_object_id=None)
    )
    removed = connection.execute(delete(_trash).where(_trash.c.id == trash.id))
    return bool(removed.rowcount == 1)


def _record(row: Any) -> TrashObjectRecord:
    return TrashObjectRecord(row.id, row.keep_until, row.object_id, row.object_type)


def organization_of(connection: Connection, trash_id: str) -> str:
    """The organization a (stored) trash object belongs to."""
    value = connection.execute(
        select(_trash.c.organization_id).where(_trash.c.id == trash_id)
    ).scalar_one()
    return str(value)
