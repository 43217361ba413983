"""Tasks: the record of work the API did or queued for an organization."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from katapult_ipam.domain.errors import TaskNotFound
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.ids import new_id
from katapult_ipam.store import models as m
from katapult_ipam.store.queries.common import storable
from katapult_ipam.store.records import TaskRecord

_task = m.Base.metadata.tables["tasks"]


def record_finished_task(
    connection: Connection, organization_id: str, name: str, now: datetime
) -> TaskRecord:
    """A task for work done in this very transaction: completed, started and finished now."""
    task = TaskRecord(new_id("task"), name, "completed", now, now, now, 100)
    connection.execute(
        insert(_task).values(
            id=task.id,
            organization_id=organization_id,
            name=name,
            status=task.status,
            progress=task.progress,
            created_at=now,
            started_at=now,
            finished_at=now,
        )
    )
    return task


def resolve_task(
    connection: Connection, organization_ids: Collection[str], lookup: Lookup
) -> TaskRecord:
    """The caller's task with this id, or TaskNotFound."""
    row = None
    if storable(lookup.value):
        row = connection.execute(
            select(_task).where(
                _task.c.id == lookup.value, _task.c.organization_id.in_(list(organization_ids))
            )
        ).first()
    if row is None:
        raise TaskNotFound(lookup.value)
    return _record(row)


def _record(row: Any) -> TaskRecord:
    return TaskRecord(
        row.id, row.name, row.status, row.created_at, row.started_at, row.finished_at,
        row.progress,
    )  # fmt: skip
