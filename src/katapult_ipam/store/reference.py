"""Reference rows the service makes when an inventory names none: a currency, a speed
profile, a zone per data center. Production renders these fields non-null, so every
organization, interface and VM has one; the loader and the migration that added them
make the same defaults here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from katapult_ipam.ids import new_id
from katapult_ipam.limits import PERMALINK_MAX_LENGTH
from katapult_ipam.store import models as m

DEFAULT_CURRENCY = {"name": "Pound Sterling", "iso_code": "GBP", "symbol": "£"}
DEFAULT_SPEED_PROFILE = {"name": "1Gbps", "permalink": "1gbps"}

_tables = m.Base.metadata.tables


def default_zone(data_center_name: str, data_center_permalink: str) -> dict[str, str]:
    """The zone a data center gets when an inventory lists none for it: named for it,
    its permalink ``<data center permalink>-zone`` (cut to fit the column)."""
    suffix = "-zone"
    stem = data_center_permalink[: PERMALINK_MAX_LENGTH - len(suffix)]
    return {"name": data_center_name, "permalink": f"{stem}{suffix}"}


def currency_id(connection: Connection, iso_code: str | None = None) -> str:
    """The currency with this ISO code; without one, the first, or the default (made)."""
    table = _tables["currencies"]
    query = select(table.c.id).order_by(table.c.iso_code)
    if iso_code is not None:
        query = query.where(table.c.iso_code == iso_code.upper())
    found = connection.execute(query.limit(1)).scalar()
    if found is not None:
        return str(found)
    if iso_code is not None and iso_code.upper() != DEFAULT_CURRENCY["iso_code"]:
        raise LookupError(iso_code)
    return _make(connection, "currency", table, DEFAULT_CURRENCY)


def speed_profile_id(connection: Connection) -> str:
    """The default speed profile, made if it is not there."""
    table = _tables["network_speed_profiles"]
    found = connection.execute(
        select(table.c.id).where(table.c.permalink == DEFAULT_SPEED_PROFILE["permalink"])
    ).scalar()
    return str(found) if found else _make(connection, "speed_profile", table, DEFAULT_SPEED_PROFILE)


def zone_id(connection: Connection, data_center_id: str) -> str:
    """The data center's first zone, or its default zone (made)."""
    zones, data_centers = _tables["zones"], _tables["data_centers"]
    found = connection.execute(
        select(zones.c.id)
        .where(zones.c.data_center_id == data_center_id)
        .order_by(zones.c.permalink)
        .limit(1)
    ).scalar()
    if found is not None:
        return str(found)
    dc = connection.execute(select(data_centers).where(data_centers.c.id == data_center_id)).one()
    values = default_zone(dc.name, dc.permalink) | {"data_center_id": data_center_id}
    return _make(connection, "zone", zones, values)


def _make(connection: Connection, kind: str, table: Any, values: dict[str, Any]) -> str:
    row_id = new_id(kind)
    connection.execute(insert(table).values(id=row_id, **values))
    return row_id
