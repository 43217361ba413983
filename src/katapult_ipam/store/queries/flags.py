"""Service flags every worker reads (maintenance mode), and the liveness ping."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from katapult_ipam.store import models as m

MAINTENANCE = "maintenance"


def ping(connection: Connection) -> None:
    """Fail unless the database answers."""
    connection.execute(select(1)).scalar_one()


_flag = m.Base.metadata.tables["service_flags"]


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
