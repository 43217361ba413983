"""Service flags every worker reads (maintenance mode), and the readiness probe."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import false, insert, select, update
from sqlalchemy.engine import Connection

from katapult_ipam.store import models as m

MAINTENANCE = "maintenance"


def ping_writable(connection: Connection) -> None:
    """Fail unless the database would take a write: an UPDATE of no rows.

    It changes nothing, yet starts a write transaction: SQLite takes its write
    lock (a read-only file or ``query_only`` refuses it) and PostgreSQL refuses it
    in a read-only transaction (a standby, or a primary being failed over).
    """
    connection.execute(update(_flag).where(false()).values(enabled=_flag.c.enabled))


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
