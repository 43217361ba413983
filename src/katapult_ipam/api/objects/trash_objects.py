"""Trash objects (lifecycle-facts §1.5)."""

from __future__ import annotations

from typing import Any

from katapult_ipam.store.records import TrashObjectRecord


def trash_object(value: TrashObjectRecord) -> dict[str, Any]:
    """A trash object; ``keep_until`` as a Unix time."""
    return {
        "id": value.id,
        "keep_until": int(value.keep_until.timestamp()),
        "object_id": value.object_id,
        "object_type": value.object_type,
    }
