"""Organizations: read one the caller acts for."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from katapult_ipam.domain.actors import Actor
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store.queries.organizations import organization_details, resolve_organization
from katapult_ipam.store.records import OrganizationDetails


def get_organization(connection: Connection, actor: Actor, lookup: Lookup) -> OrganizationDetails:
    """The organization the lookup names among the caller's (403 if suspended or not
    activated, as every organization lookup)."""
    found = resolve_organization(connection, actor.organization_ids, lookup)
    return organization_details(connection, found.id)
