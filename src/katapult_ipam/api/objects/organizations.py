"""Organizations (lifecycle-facts §4, last bullet): the full object, 2026 shape.

``uuid`` follows ``id`` as production sends it since 2026 (the document lacks it).
Billing details are not kept here, so they are null, as production renders an
organization without them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from katapult_ipam.api.context import RenderContext
from katapult_ipam.api.objects.locations import country
from katapult_ipam.store.records import OrganizationDetails


def unix(value: datetime | None) -> int | None:
    """A time as production renders it: whole seconds since the epoch."""
    return None if value is None else int(value.timestamp())


def organization(value: OrganizationDetails, render: RenderContext) -> dict[str, Any]:
    """The full organization (2026 shape: ``uuid`` after ``id``)."""
    currency = value.currency
    return {
        "id": value.id,
        "uuid": value.uuid,
        "name": value.name,
        "sub_domain": value.sub_domain,
        "infrastructure_domain": value.infrastructure_domain
        or f"{value.sub_domain}.{render.infrastructure_domain}",
        "created_at": unix(value.created_at),
        "activated_at": unix(value.activated_at),
        "suspended": value.suspended,
        "managed": value.managed,
        "billing_name": None,
        "address1": None,
        "address2": None,
        "address3": None,
        "address4": None,
        "postcode": None,
        "vat_number": None,
        "phone_number": None,
        "currency": {
            "id": currency.id,
            "name": currency.name,
            "iso_code": currency.iso_code,
            "symbol": currency.symbol,
        },
        "country": None if value.country is None else country(value.country),
        "country_state": None,
    }
