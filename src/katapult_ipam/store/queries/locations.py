"""Data centers and networks: shared by every organization, named by id or permalink."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.engine import Connection

from katapult_ipam.domain.errors import DataCenterNotFound, NetworkNotFound
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store import models as m
from katapult_ipam.store.queries.common import storable
from katapult_ipam.store.records import CountryRecord, DataCenterRecord, NetworkRecord

_country = m.Base.metadata.tables["countries"]
_dc = m.Base.metadata.tables["data_centers"]
_network = m.Base.metadata.tables["networks"]

_DATA_CENTERS = select(
    _dc.c.id.label("dc_id"),
    _dc.c.name.label("dc_name"),
    _dc.c.permalink.label("dc_permalink"),
    _country.c.id.label("country_id"),
    _country.c.name.label("country_name"),
    _country.c.iso_code2,
    _country.c.iso_code3,
    _country.c.time_zone,
    _country.c.eu,
).join_from(_dc, _country, _dc.c.country_id == _country.c.id)

_NETWORKS = _DATA_CENTERS.add_columns(
    _network.c.id.label("network_id"),
    _network.c.name.label("network_name"),
    _network.c.permalink.label("network_permalink"),
    _network.c.is_default,
).join(_network, _network.c.data_center_id == _dc.c.id)


def resolve_data_center(connection: Connection, lookup: Lookup) -> DataCenterRecord:
    """The data center with this id or permalink, or DataCenterNotFound."""
    column = _dc.c.id if lookup.key == "id" else _dc.c.permalink
    row = _first(connection, _DATA_CENTERS.where(column == lookup.value), lookup.value)
    if row is None:
        raise DataCenterNotFound(lookup.value)
    return _data_center(row)


def resolve_network(connection: Connection, lookup: Lookup) -> NetworkRecord:
    """The network with this id or permalink, or NetworkNotFound."""
    column = _network.c.id if lookup.key == "id" else _network.c.permalink
    row = _first(connection, _NETWORKS.where(column == lookup.value), lookup.value)
    if row is None:
        raise NetworkNotFound(lookup.value)
    return _network_record(row)


def _first(connection: Connection, query: Select[Any], value: str) -> Any:
    return connection.execute(query).first() if storable(value) else None


def _data_center(row: Any) -> DataCenterRecord:
    country = CountryRecord(
        row.country_id, row.country_name, row.iso_code2, row.iso_code3, row.time_zone, bool(row.eu)
    )
    return DataCenterRecord(row.dc_id, row.dc_name, row.dc_permalink, country)


def list_data_centers(connection: Connection) -> list[DataCenterRecord]:
    """Every data center, by permalink (*decision*: production's order is not recorded;
    the permalink is unique and stable)."""
    rows = connection.execute(_DATA_CENTERS.order_by(_dc.c.permalink)).all()
    return [_data_center(row) for row in rows]


def default_networks(
    connection: Connection, data_center_id: str | None = None
) -> list[NetworkRecord]:
    """The default networks of every data center (or of one), by data center permalink
    and then network id. Nothing stops an inventory from marking two networks of one
    data center default; both are listed, and the first is that data center's default."""
    query = _NETWORKS.where(_network.c.is_default.is_(True))
    if data_center_id is not None:
        query = query.where(_dc.c.id == data_center_id)
    rows = connection.execute(query.order_by(_dc.c.permalink, _network.c.id)).all()
    return [_network_record(row) for row in rows]


def _network_record(row: Any) -> NetworkRecord:
    return NetworkRecord(
        row.network_id,
        row.network_name,
        row.network_permalink,
        bool(row.is_default),
        _data_center(row),
    )
