"""Data centers and networks, shared by every organization: reads only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from katapult_ipam.domain.actors import Actor
from katapult_ipam.domain.errors import NetworkNotFound
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store.queries import locations
from katapult_ipam.store.queries.organizations import resolve_organization
from katapult_ipam.store.records import DataCenterRecord, NetworkRecord


def list_data_centers(connection: Connection) -> list[DataCenterRecord]:
    """Every data center."""
    return locations.list_data_centers(connection)


def get_data_center(connection: Connection, lookup: Lookup) -> DataCenterRecord:
    """The data center the lookup names, or DataCenterNotFound."""
    return locations.resolve_data_center(connection, lookup)


def default_network(connection: Connection, lookup: Lookup) -> NetworkRecord:
    """The data center's default network.

    *(decision)* A data center without one answers 404 ``network_not_found``: there
    is no network to show, and that is the error of a network that is not there
    (production always has one; the document declares only ``data_center_not_found``).
    Of several marked default, the first by id.
    """
    data_center = locations.resolve_data_center(connection, lookup)
    found = locations.default_networks(connection, data_center.id)
    if not found:
        raise NetworkNotFound(data_center.id)
    return found[0]


def get_network(connection: Connection, lookup: Lookup) -> NetworkRecord:
    """The network the lookup names, or NetworkNotFound."""
    return locations.resolve_network(connection, lookup)


@dataclass(frozen=True)
class AvailableNetworks:
    networks: list[NetworkRecord]
    # Virtual networks are not modelled: an organization has none.


def available_networks(
    connection: Connection, actor: Actor, organization: Lookup
) -> AvailableNetworks:
    """The networks the organization may use: the default network of every data
    center (as production lists them, lifecycle-facts §4), once the organization is
    found and usable (404, 403 suspended, 403 not activated)."""
    resolve_organization(connection, actor.organization_ids, organization)
    return AvailableNetworks(locations.default_networks(connection))
