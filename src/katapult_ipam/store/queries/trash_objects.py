"""Objects in the trash, named by the trash object's id or by the trashed object's id."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.engine import Connection

from katapult_ipam.domain.errors import TrashObjectNotFound
from katapult_ipam.domain.lookups import Lookup
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
    return TrashObjectRecord(row.id, row.keep_until, row.object_id, row.object_type)
