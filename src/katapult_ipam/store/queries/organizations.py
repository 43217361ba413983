"""Organizations, named by id or sub-domain."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection

from katapult_ipam.domain.errors import (
    OrganizationNotActivated,
    OrganizationNotFound,
    OrganizationSuspended,
)
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store import models as m
from katapult_ipam.store.queries.common import storable
from katapult_ipam.store.records import OrganizationRecord

_org = m.Base.metadata.tables["organizations"]

_ORGANIZATION_IDS = text(
    "SELECT id FROM organizations WHERE id IN :references OR sub_domain IN :references"
).bindparams(bindparam("references", expanding=True))


def organization_ids(connection: Connection, references: Collection[str]) -> frozenset[str]:
    """The ids of the organizations named by id or sub-domain; unknown names are dropped."""
    references = [r for r in references if storable(r)]
    if not references:
        return frozenset()
    rows = connection.execute(_ORGANIZATION_IDS, {"references": references})
    return frozenset(rows.scalars())


def resolve_organization(
    connection: Connection, organization_ids: Collection[str], lookup: Lookup
) -> OrganizationRecord:
    """The organization the lookup names among the caller's, usable, or why not.

    Another organization's is not found, exactly like one that does not exist. A
    suspended organization is refused before a not-yet-activated one (production
    does not say which wins when both apply).
    """
    column = _org.c.id if lookup.key == "id" else _org.c.sub_domain
    row = None
    if storable(lookup.value):
        row = connection.execute(select(_org).where(column == lookup.value)).first()
    if row is None or row.id not in organization_ids:
        raise OrganizationNotFound(lookup.value)
    if row.suspended:
        raise OrganizationSuspended(row.id)
    if not row.activated:
        raise OrganizationNotActivated(row.id)
    return OrganizationRecord(
        row.id, row.name, row.sub_domain, bool(row.suspended), bool(row.activated)
    )
