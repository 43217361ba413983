"""One network, in full (lifecycle-facts §1.2, §4); authentication is enough."""

from __future__ import annotations

from functools import partial
from typing import Any

from katapult_ipam.actions import locations as actions
from katapult_ipam.api import lookups
from katapult_ipam.api.arguments import Argument, ArgumentSet
from katapult_ipam.api.context import Call
from katapult_ipam.api.framework import Endpoint
from katapult_ipam.api.objects.locations import network
from katapult_ipam.auth.identity import NO_SCOPE_REQUIRED


async def _get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    found = await call.read(partial(actions.get_network, lookup=args["network"]))
    return {"network": network(found)}


GET = Endpoint(
    name="networks/get",
    method="GET",
    path="networks/:network",
    scopes=NO_SCOPE_REQUIRED,
    description="Returns details for a specific network",
    arguments=ArgumentSet.for_endpoint(
        "CoreAPI/Endpoints/Networks/InfoEndpoint",
        Argument("network", lookups.NETWORK, required=True, description="The network to return."),
    ),
    action=_get,
    openapi_operation="get:network",
)

ENDPOINTS = [GET]
