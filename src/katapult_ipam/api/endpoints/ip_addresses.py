"""Endpoints of the IP address lifecycle: create and list an organization's
addresses; get, update, unallocate and release one (lifecycle-facts §2)."""

from __future__ import annotations

from functools import partial
from typing import Any

from katapult_ipam.actions import ip_addresses as actions
from katapult_ipam.api import errors, lookups
from katapult_ipam.api.arguments import Argument, ArgumentSet, Boolean, Enum, String
from katapult_ipam.api.context import Call
from katapult_ipam.api.framework import Endpoint
from katapult_ipam.api.objects.ip_addresses import allocation, ip_address, ip_address_listed
from katapult_ipam.api.pagination import (
    LARGE_SET_COUNT_LIMIT,
    Page,
    paginated,
    total_or_large,
    with_pagination,
)
from katapult_ipam.auth.identity import Scope
from katapult_ipam.domain import errors as domain
from katapult_ipam.domain.ip_addresses import KEEP, AddressVersion

_SET = "CoreAPI/Endpoints/IPAddresses"

IP_ADDRESS = Argument(
    "ip_address", lookups.IP_ADDRESS, required=True, description="The IP address to find"
)
VIP = Argument("vip", Boolean(), description="Whether or not to set this address as a VIP")
LABEL = Argument(
    "label", String(), description="The label to give this address if setting it as a VIP"
)
REVERSE_DNS = Argument(
    "reverse_dns", String(), description="The reverse DNS to set for this IP address"
)
ALLOCATED = Argument(
    "allocated",
    Boolean(),
    description=(
        "If true, only return allocated IP addresss. "
        "If false, only return unallocated IP addresses."
    ),
)
UNALLOCATION_ERRORS = {
    domain.NoAllocation: errors.NO_ALLOCATION,
    domain.UnallocationNotSupported: errors.RESOURCE_DOES_NOT_SUPPORT_UNALLOCATION,
}


async def _create(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    record = await call.write(
        partial(
            actions.create_ip_address,
            actor=call.actor,
            organization=args["organization"],
            network=args["network"],
            version=args["version"],
            vip=VIP.get(args),
            label=LABEL.get(args),
        )
    )
    return {"ip_address": ip_address(record, call.render.rdns_zone)}


CREATE = Endpoint(
    name="organizations/ip_addresses/create",
    method="POST",
    path="organizations/:organization/ip_addresses",
    scopes=(Scope.IP_ADDRESSES,),
    description="Creates a new IP address on this organization",
    arguments=ArgumentSet.for_endpoint(
        f"{_SET}/CreateEndpoint",
        Argument(
            "organization",
            lookups.ORGANIZATION,
            required=True,
            description="The organization to create the IP address in",
        ),
        Argument(
            "network",
            lookups.NETWORK,
            required=True,
            description="The network to allocate the IP address from",
        ),
        Argument(
            "version",
            Enum(AddressVersion),
            required=True,
            description="The IP version to allocate an address for",
        ),
        VIP,
        LABEL,
    ),
    action=_create,
    openapi_operation="post:organization_ip_addresses",
    errors={
        domain.ValidationFailed: errors.VALIDATION_ERROR,
        domain.NoAvailableAddresses: errors.NO_AVAILABLE_ADDRESSES,
    },
)

_LIST_ARGUMENTS = with_pagination(
    ArgumentSet.for_endpoint(
        f"{_SET}/ListEndpoint",
        Argument(
            "organization",
            lookups.ORGANIZATION,
            required=True,
            description="The organization to use when looking up IP addresses",
        ),
        ALLOCATED,
    )
)


async def _list(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    page = Page.of(args)
    found = await call.read(
        partial(
            actions.list_ip_addresses,
            actor=call.actor,
            organization=args["organization"],
            allocated=ALLOCATED.get(args),
            limit=page.limit,
            offset=page.offset,
            count_limit=LARGE_SET_COUNT_LIMIT,
            default_rdns_zone=call.render.rdns_zone,
        )
    )
    items = [ip_address_listed(item) for item in found.items]
    return paginated("ip_addresses", items, page, total_or_large(found.counted))


LIST = Endpoint(
    name="organizations/ip_addresses/list",
    method="GET",
    path="organizations/:organization/ip_addresses",
    scopes=(Scope.IP_ADDRESSES, Scope.IP_ADDRESSES_READ),
    description="Returns a list of all IP addresses belonging to an organization",
    arguments=_LIST_ARGUMENTS,
    action=_list,
    openapi_operation="get:organization_ip_addresses",
)


async def _get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    record = await call.read(
        partial(actions.get_ip_address, actor=call.actor, lookup=args["ip_address"])
    )
    return {
        "ip_address": ip_address(record, call.render.rdns_zone),
        "allocation": allocation(record),
    }


GET = Endpoint(
    name="ip_addresses/get",
    method="GET",
    path="ip_addresses/:ip_address",
    scopes=(Scope.IP_ADDRESSES, Scope.IP_ADDRESSES_READ),
    description="Returns information about a specific IP address",
    arguments=ArgumentSet.for_endpoint(f"{_SET}/InfoEndpoint", IP_ADDRESS),
    action=_get,
    openapi_operation="get:ip_address",
)


async def _update(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    def given(argument: Argument[Any]) -> object:
        return argument.get(args) if argument.given(args) else KEEP

    record = await call.write(
        partial(
            actions.update_ip_address,
            actor=call.actor,
            lookup=args["ip_address"],
            vip=given(VIP),
            label=given(LABEL),
            reverse_dns=given(REVERSE_DNS),
        )
    )
    return {"ip_address": ip_address(record, call.render.rdns_zone)}


UPDATE = Endpoint(
    name="ip_addresses/update",
    method="PATCH",
    path="ip_addresses/:ip_address",
    scopes=(Scope.IP_ADDRESSES,),
    description="Updates the details on an IP address",
    arguments=ArgumentSet.for_endpoint(
        f"{_SET}/UpdateEndpoint", IP_ADDRESS, VIP, LABEL, REVERSE_DNS
    ),
    action=_update,
    openapi_operation="patch:ip_address",
    errors={domain.ValidationFailed: errors.VALIDATION_ERROR},
)


async def _unallocate(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    await call.write(
        partial(actions.unallocate_ip_address, actor=call.actor, lookup=args["ip_address"])
    )
    return {}


UNALLOCATE = Endpoint(
    name="ip_addresses/unallocate",
    method="POST",
    path="ip_addresses/:ip_address/unallocate",
    scopes=(Scope.IP_ADDRESSES,),
    description="Unallocate an IP address from its resource",
    arguments=ArgumentSet.for_endpoint(f"{_SET}/UnallocateEndpoint", IP_ADDRESS),
    action=_unallocate,
    openapi_operation="post:ip_address_unallocate",
    errors=UNALLOCATION_ERRORS,
)


async def _release(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    await call.write(
        partial(actions.release_ip_address, actor=call.actor, lookup=args["ip_address"])
    )
    return {}


RELEASE = Endpoint(
    name="ip_addresses/release",
    method="DELETE",
    path="ip_addresses/:ip_address",
    scopes=(Scope.IP_ADDRESSES,),
    description="Release an IP address from its organization",
    arguments=ArgumentSet.for_endpoint(f"{_SET}/DeleteEndpoint", IP_ADDRESS),
    action=_release,
    openapi_operation="delete:ip_address",
    errors={domain.UnallocationNotSupported: errors.RESOURCE_DOES_NOT_SUPPORT_UNALLOCATION},
)

ENDPOINTS = [CREATE, LIST, GET, UPDATE, UNALLOCATE, RELEASE]
