"""Organizations: one (``organizations:read``) and its available networks
(lifecycle-facts §4, §6).

Authentication is enough (``NO_SCOPE_REQUIRED``); the organization must be one of
the caller's and usable (``lookups.ORGANIZATION``: 404, 403 suspended, 403 not
activated).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from katapult_ipam.actions import locations as actions
from katapult_ipam.actions import organizations as organization_actions
from katapult_ipam.api import lookups
from katapult_ipam.api.arguments import Argument, ArgumentSet
from katapult_ipam.api.context import Call
from katapult_ipam.api.framework import Endpoint
from katapult_ipam.api.objects.locations import network_compact
from katapult_ipam.api.objects.organizations import organization
from katapult_ipam.auth.identity import NO_SCOPE_REQUIRED, Scope


async def _available_networks(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    found = await call.read(
        partial(actions.available_networks, actor=call.actor, organization=args["organization"])
    )
    return {
        "networks": [network_compact(item) for item in found.networks],
        # Virtual networks are not modelled: there are none to list.
        "virtual_networks": [],
    }


AVAILABLE_NETWORKS = Endpoint(
    name="organizations/available_networks",
    method="GET",
    path="organizations/:organization/available_networks",
    scopes=NO_SCOPE_REQUIRED,
    description="Returns a list of all networks available for an organization",
    arguments=ArgumentSet.for_endpoint(
        "CoreAPI/Endpoints/Networks/ListEndpoint",
        # The document gives this argument no description.
        Argument("organization", lookups.ORGANIZATION, required=True),
    ),
    action=_available_networks,
    openapi_operation="get:organization_available_networks",
)


async def _get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    found = await call.read(
        partial(organization_actions.get_organization, actor=call.actor,
                lookup=args["organization"])
    )  # fmt: skip
    return {"organization": organization(found, call.render)}


GET = Endpoint(
    name="organizations/get",
    method="GET",
    path="organizations/:organization",
    scopes=(Scope.ORGANIZATIONS_READ,),
    description="Returns details of a specific organization",
    arguments=ArgumentSet.for_endpoint(
        "CoreAPI/Endpoints/Organizations/InfoEndpoint",
        Argument(
            "organization",
            lookups.ORGANIZATION,
            required=True,
            description="The organization to return",
        ),
    ),
    action=_get,
    openapi_operation="get:organization",
)

ENDPOINTS = [GET, AVAILABLE_NETWORKS]
