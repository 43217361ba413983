"""Tasks (lifecycle-facts §1.5)."""

from __future__ import annotations

from typing import Any

from katapult_ipam.api.objects.organizations import unix
from katapult_ipam.store.records import TaskRecord


def task(value: TaskRecord) -> dict[str, Any]:
    """The full task, as purging and ``GET /tasks/:task`` render it."""
    return {
        "id": value.id,
        "name": value.name,
        "status": value.status,
        "created_at": unix(value.created_at),
        "started_at": unix(value.started_at),
        "finished_at": unix(value.finished_at),
        "progress": value.progress,
    }
