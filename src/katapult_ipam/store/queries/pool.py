"""The pool of free addresses: rows whose ``organization_id`` is NULL.

Taking one is a single conditional UPDATE of a row found through the partial
index ``ix_ip_addresses_free`` (network, version, where free), so its cost does
not grow with the pool. On PostgreSQL the row is read ``FOR UPDATE SKIP LOCKED``:
concurrent creators each get another row instead of queueing behind one; on
SQLite one writer at a time holds the database. Either way the UPDATE's own
``organization_id IS NULL`` makes handing one address out twice impossible.

IPv6 subnets number their addresses: ``subnets.next_host`` is the next host never
handed out, moved on by a conditional UPDATE, and the new row is inserted with
ON CONFLICT DO NOTHING (an inventory may already list that address).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from katapult_ipam.domain.pool import host_address, last_host_number, pool_addresses
from katapult_ipam.ids import new_id
from katapult_ipam.store import models as m
from katapult_ipam.store.driver import DriverStatement, timestamp_parameter

_ip = m.Base.metadata.tables["ip_addresses"]
_subnet = m.Base.metadata.tables["subnets"]

_TAKE = (
    "UPDATE ip_addresses SET organization_id = :organization_id, vip = :vip, label = :label,"
    " taken_at = :now"
    " WHERE id = (SELECT id FROM ip_addresses"
    " WHERE network_id = :network_id AND version = :version AND organization_id IS NULL"
    " LIMIT 1{lock}) AND organization_id IS NULL RETURNING id"
)
_TAKE_SQLITE = DriverStatement(_TAKE.format(lock=""))
_TAKE_POSTGRESQL = DriverStatement(_TAKE.format(lock=" FOR UPDATE SKIP LOCKED"))

_IPV6_SUBNETS = DriverStatement(
    "SELECT id AS id, cidr AS cidr, gateway AS gateway FROM subnets"
    " WHERE network_id = :network_id AND version = 6 ORDER BY id"
)
_NEXT_HOST = DriverStatement(
    "UPDATE subnets SET next_host = next_host + 1"
    " WHERE id = :subnet_id AND next_host <= :last RETURNING next_host - 1"
)
_INSERT_TAKEN = DriverStatement(
    "INSERT INTO ip_addresses (id, organization_id, network_id, subnet_id, address, version,"
    " vip, label, taken_at, created_at)"
    " VALUES (:id, :organization_id, :network_id, :subnet_id, :address, 6, :vip, :label,"
    " :now, :now) ON CONFLICT (address) DO NOTHING"
)
# Host numbers tried in one subnet before the next (addresses an inventory listed).
_IPV6_TRIES = 64
_CHUNK = 1000


def take_free_address(
    connection: Connection,
    *,
    network_id: str,
    version: int,
    organization_id: str,
    vip: bool,
    label: str | None,
    now: datetime,
) -> str | None:
    """Give a free address of the network to the organization; its id, or None when
    the network has none of that version left."""
    parameters = {
        "organization_id": organization_id,
        "vip": vip,
        "label": label,
        "now": timestamp_parameter(connection, now),
        "network_id": network_id,
        "version": version,
    }
    postgres = connection.dialect.name == "postgresql"
    rows = (_TAKE_POSTGRESQL if postgres else _TAKE_SQLITE).rows(connection, parameters)
    if rows:
        return str(rows[0]["id"])
    if version == 6:
        return _take_new_ipv6(connection, parameters)
    return None


def _take_new_ipv6(connection: Connection, parameters: dict[str, Any]) -> str | None:
    """A never handed out IPv6 address of the network, as a new row; None if none is left."""
    for subnet in _IPV6_SUBNETS.rows(connection, parameters):
        last = last_host_number(subnet["cidr"])
        for _ in range(_IPV6_TRIES):
            taken = _NEXT_HOST.execute(connection, {"subnet_id": subnet["id"], "last": last})
            try:
                row = taken.fetchone()
            finally:
                taken.close()
            if row is None:
                break  # this subnet is used up
            address = host_address(subnet["cidr"], int(row[0]), subnet["gateway"])
            if address is None:
                continue
            ip_id = new_id("ip_address")
            inserted = _INSERT_TAKEN.execute(
                connection,
                {**parameters, "id": ip_id, "subnet_id": subnet["id"], "address": address},
            )
            try:
                if inserted.rowcount == 1:
                    return ip_id
            finally:
                inserted.close()
    return None


def refresh_pool(
    connection: Connection, subnet_id: str, cidr: str, network_id: str,
    gateway: str | None, now: datetime,
) -> tuple[int, int]:  # fmt: skip
    """Make an IPv4 subnet's free rows exactly its pool: add a row for each address
    without one, and drop free rows that are no longer in it (the gateway, outside a
    new cidr). Addresses an organization holds are left alone. (added, removed)."""
    wanted = set(pool_addresses(cidr, gateway))
    stored = connection.execute(
        select(_ip.c.id, _ip.c.address, _ip.c.organization_id).where(_ip.c.subnet_id == subnet_id)
    ).all()
    have = {row.address for row in stored}
    stray = [row.id for row in stored if row.organization_id is None and row.address not in wanted]
    for chunk in _chunks(stray):
        connection.execute(delete(_ip).where(_ip.c.id.in_(chunk), _ip.c.organization_id.is_(None)))
    missing = sorted(wanted - have, key=_ipv4_key)
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    for chunk in _chunks(missing):
        rows = [
            {"id": new_id("ip_address"), "network_id": network_id, "subnet_id": subnet_id,
             "address": address, "version": 4, "vip": False, "created_at": now}
            for address in chunk
        ]  # fmt: skip
        # Another subnet's row may hold the address (overlapping subnets): it keeps it.
        connection.execute(dialect.insert(_ip).on_conflict_do_nothing(), rows)
    return len(missing), len(stray)


def drop_free_rows(connection: Connection, subnet_ids: Iterable[str]) -> None:
    """Delete the free rows of these subnets (before they move to another network)."""
    for chunk in _chunks(list(subnet_ids)):
        connection.execute(
            delete(_ip).where(_ip.c.subnet_id.in_(chunk), _ip.c.organization_id.is_(None))
        )


def _ipv4_key(address: str) -> tuple[int, ...]:
    return tuple(int(part) for part in address.split("."))


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]
