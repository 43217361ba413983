"""Organizations, named by id or sub-domain."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from katapult_ipam.domain.errors import (
    OrganizationNotActivated,
    OrganizationNotFound,
    OrganizationSuspended,
)
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.ids import looks_like_id
from katapult_ipam.store import models as m
from katapult_ipam.store.queries.common import storable
from katapult_ipam.store.records import (
    CountryRecord,
    CurrencyRecord,
    OrganizationDetails,
    OrganizationRecord,
)

_org = m.Base.metadata.tables["organizations"]

_ORGANIZATION_IDS = select(_org.c.id).where(
    _org.c.id.in_(bindparam("ids", expanding=True))
    | _org.c.sub_domain.in_(bindparam("sub_domains", expanding=True))
)


def organization_ids(connection: Connection, references: Collection[str]) -> frozenset[str]:
    """The ids of the organizations named by id or sub-domain; unknown names are dropped.

    A reference shaped like an id is only ever an id, anything else only a
    sub-domain, so no organization can be named by another's id.
    """
    usable = [r for r in references if storable(r)]
    ids = [r for r in usable if looks_like_id(r)]
    sub_domains = [r for r in usable if not looks_like_id(r)]
    if not usable:
        return frozenset()
    rows = connection.execute(_ORGANIZATION_IDS, {"ids": ids, "sub_domains": sub_domains})
    return frozenset(rows.scalars())


def tokens_not_before(connection: Connection, organization_id: str) -> datetime | None:
    """When the organization's capabilities tokens were last revoked (issued before it:
    refused); None when never, or when there is no such organization."""
    if not storable(organization_id):
        return None
    value = connection.execute(
        select(_org.c.tokens_not_before).where(_org.c.id == organization_id)
    ).scalar()
    return value if isinstance(value, datetime) else None


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


_currency = m.Base.metadata.tables["currencies"]
_country = m.Base.metadata.tables["countries"]


def organization_details(connection: Connection, organization_id: str) -> OrganizationDetails:
    """Everything the full organization object renders (the organization exists)."""
    org = connection.execute(select(_org).where(_org.c.id == organization_id)).one()
    currency = connection.execute(select(_currency).where(_currency.c.id == org.currency_id)).one()
    country = None
    if org.country_id is not None:
        c = connection.execute(select(_country).where(_country.c.id == org.country_id)).one()
        country = CountryRecord(c.id, c.name, c.iso_code2, c.iso_code3, c.time_zone, bool(c.eu))
    return OrganizationDetails(
        id=org.id,
        uuid=org.uuid,
        name=org.name,
        sub_domain=org.sub_domain,
        infrastructure_domain=org.infrastructure_domain,
        created_at=org.created_at,
        activated_at=org.activated_at,
        suspended=bool(org.suspended),
        managed=bool(org.managed),
        currency=CurrencyRecord(currency.id, currency.name, currency.iso_code, currency.symbol),
        country=country,
    )
