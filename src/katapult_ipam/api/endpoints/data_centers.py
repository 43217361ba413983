"""Data centers: the list, one, and one's default network (lifecycle-facts §4).

Shared by every organization: authentication is enough (``NO_SCOPE_REQUIRED``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from katapult_ipam.actions import locations as actions
from katapult_ipam.api import errors, lookups
from katapult_ipam.api.arguments import Argument, ArgumentSet
from katapult_ipam.api.context import Call
from katapult_ipam.api.framework import Endpoint
from katapult_ipam.api.objects.locations import data_center, network_compact
from katapult_ipam.auth.identity import NO_SCOPE_REQUIRED
from katapult_ipam.domain import errors as domain

_SET = "CoreAPI/Endpoints/DataCenters"

# The document gives this argument no description.
DATA_CENTER = Argument("data_center", lookups.DATA_CENTER, required=True)


async def _list(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    found = await call.read(actions.list_data_centers)
    return {"data_centers": [data_center(item) for item in found]}


LIST = Endpoint(
    name="data_centers/list",
    method="GET",
    path="data_centers",
    scopes=NO_SCOPE_REQUIRED,
    description="Provides a full list of all data centers",
    arguments=ArgumentSet.for_endpoint(f"{_SET}/ListEndpoint"),
    action=_list,
    openapi_operation="get:data_centers",
)


async def _get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    found = await call.read(partial(actions.get_data_center, lookup=args["data_center"]))
    return {"data_center": data_center(found)}


GET = Endpoint(
    name="data_centers/get",
    method="GET",
    path="data_centers/:data_center",
    scopes=NO_SCOPE_REQUIRED,
    description="Provide details for a specific data center",
    arguments=ArgumentSet.for_endpoint(f"{_SET}/InfoEndpoint", DATA_CENTER),
    action=_get,
    openapi_operation="get:data_center",
)


async def _default_network(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    found = await call.read(partial(actions.default_network, lookup=args["data_center"]))
    return {"network": network_compact(found)}


DEFAULT_NETWORK = Endpoint(
    name="data_centers/default_network",
    method="GET",
    path="data_centers/:data_center/default_network",
    scopes=NO_SCOPE_REQUIRED,
    description="Provide details of default network for a data center",
    arguments=ArgumentSet.for_endpoint(f"{_SET}/DefaultNetworkEndpoint", DATA_CENTER),
    action=_default_network,
    openapi_operation="get:data_center_default_network",
    # A data center without a default network (actions.locations.default_network).
    errors={domain.NetworkNotFound: errors.NETWORK_NOT_FOUND},
)

ENDPOINTS = [LIST, GET, DEFAULT_NETWORK]
