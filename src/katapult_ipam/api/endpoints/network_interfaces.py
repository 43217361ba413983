"""Virtual machine network interfaces (lifecycle-facts §3): a VM's list, its
interface on a network, allocating an address through one, and the addresses one
could be given.

The single interface (``GET /virtual_machine_network_interfaces/:vmni``) is the only
shape with the speed profile; ``allocate_new_ip`` creates an address and allocates
it through the interface in one transaction.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from katapult_ipam.actions import allocation
from katapult_ipam.actions import network_interfaces as actions
from katapult_ipam.api import errors, lookups
from katapult_ipam.api.arguments import Argument, ArgumentSet, Enum
from katapult_ipam.api.context import Call
from katapult_ipam.api.framework import Endpoint
from katapult_ipam.api.objects.ip_addresses import ip_address
from katapult_ipam.api.objects.network_interfaces import (
    network_interface,
    network_interface_listed,
    network_interface_with_speed_profile,
)
from katapult_ipam.api.pagination import Page, paginated, with_pagination
from katapult_ipam.auth.identity import Scope
from katapult_ipam.domain import errors as domain
from katapult_ipam.domain.ip_addresses import AddressVersion

_SET = "CoreAPI/Endpoints/VirtualMachineNetworkInterfaces"
KEY = "virtual_machine_network_interface"
READ_VMS = (Scope.VIRTUAL_MACHINES, Scope.VIRTUAL_MACHINES_READ)


async def _list(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    page = Page.of(args)
    found = await call.read(
        partial(
            actions.list_network_interfaces,
            actor=call.actor,
            vm_lookup=args["virtual_machine"],
            limit=page.limit,
            offset=page.offset,
        )
    )
    items = [network_interface_listed(item) for item in found.items]
    return paginated("virtual_machine_network_interfaces", items, page, found.total)


LIST = Endpoint(
    name="virtual_machines/network_interfaces/list",
    method="GET",
    path="virtual_machines/:virtual_machine/network_interfaces",
    scopes=READ_VMS,
    description="Returns a list of virtual machine network interfaces",
    arguments=with_pagination(
        ArgumentSet.for_endpoint(
            f"{_SET}/ListEndpoint",
            Argument(
                "virtual_machine",
                lookups.VIRTUAL_MACHINE,
                required=True,
                description="The virtual machine to show network interfaces for.",
            ),
        )
    ),
    action=_list,
    openapi_operation="get:virtual_machine_network_interfaces",
)


async def _for_network(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    found = await call.read(
        partial(
            actions.interface_for_network,
            actor=call.actor,
            vm_lookup=args["virtual_machine"],
            network_lookup=args["network"],
        )
    )
    return {KEY: network_interface(found)}


FOR_NETWORK = Endpoint(
    name="virtual_machines/networks/interface",
    method="GET",
    path="virtual_machines/:virtual_machine/networks/:network/interface",
    scopes=READ_VMS,
    description=(
        "Return information about a virtual machine network interface for a specific network"
    ),
    arguments=ArgumentSet.for_endpoint(
        f"{_SET}/ForNetworkEndpoint",
        Argument(
            "virtual_machine",
            lookups.VIRTUAL_MACHINE,
            required=True,
            description="The virtual machine to find the network interface for.",
        ),
        Argument(
            "network",
            lookups.NETWORK,
            required=True,
            description="The network to find the network interface for.",
        ),
    ),
    action=_for_network,
    openapi_operation="get:virtual_machine_network_interface",
    errors={domain.InterfaceNotFound: errors.INTERFACE_NOT_FOUND},
)


async def _allocate_ip(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    found = await call.write(
        partial(
            allocation.allocate_ip_to_interface,
            actor=call.actor,
            interface_lookup=args[KEY],
            ip_lookup=args["ip_address"],
        )
    )
    return {KEY: network_interface(found)}


ALLOCATE_IP = Endpoint(
    name="virtual_machine_network_interfaces/allocate_ip",
    method="POST",
    path="virtual_machine_network_interfaces/:virtual_machine_network_interface/allocate_ip",
    scopes=(Scope.IP_ADDRESSES,),
    description="Allocate a specific IP address to a given network interface",
    arguments=ArgumentSet.for_endpoint(
        f"{_SET}/AllocateIPEndpoint",
        Argument(
            KEY,
            lookups.NETWORK_INTERFACE,
            required=True,
            description="The network interface to allocate the IP address to",
        ),
        Argument(
            "ip_address",
            lookups.IP_ADDRESS,
            required=True,
            description="The IP address to allocate",
        ),
    ),
    action=_allocate_ip,
    openapi_operation="post:virtual_machine_network_interface_allocate_ip",
    errors={
        domain.InvalidIP: errors.INVALID_IP,
        domain.IPAlreadyAllocated: errors.IP_ALREADY_ALLOCATED,
        # A trashed VM's interface: no address is valid for it until it is restored.
        # (The document lists no 406 here; 422 invalid_ip is the documented refusal.)
        domain.InterfaceInTrash: errors.INVALID_IP,
    },
)


async def _available_ips(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    found = await call.read(
        partial(
            actions.available_ips,
            actor=call.actor,
            interface_lookup=args[KEY],
            version=args["address_version"],
        )
    )
    return {"ip_addresses": [ip_address(item, call.render.rdns_zone) for item in found]}


AVAILABLE_IPS = Endpoint(
    name="virtual_machine_network_interfaces/available_ips",
    method="GET",
    path=(
        "virtual_machine_network_interfaces/:virtual_machine_network_interface"
        "/available_ips/:address_version"
    ),
    scopes=(Scope.IP_ADDRESSES, Scope.IP_ADDRESSES_READ),
    description=(
        "Returns a list of IP addresses that can be allocated to a specific network interface"
    ),
    arguments=ArgumentSet.for_endpoint(
        f"{_SET}/IpsAvailableForAllocationEndpoint",
        Argument(
            KEY,
            lookups.NETWORK_INTERFACE,
            required=True,
            description="The network interface to get IP addresses for.",
        ),
        Argument(
            "address_version",
            Enum(AddressVersion),
            required=True,
            description="The IP address version to return results for",
        ),
    ),
    action=_available_ips,
    openapi_operation="get:virtual_machine_network_interface_available_ips_address_version",
)

INTERFACE = Argument(
    KEY, lookups.NETWORK_INTERFACE, required=True, description="The network interface to find"
)


async def _get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    found = await call.read(partial(actions.get_network_interface, actor=call.actor,
                                    lookup=args[KEY]))  # fmt: skip
    return {KEY: network_interface_with_speed_profile(found)}


GET = Endpoint(
    name="virtual_machine_network_interfaces/get",
    method="GET",
    path="virtual_machine_network_interfaces/:virtual_machine_network_interface",
    scopes=READ_VMS,
    description="Returns details of a specific virtual machine network interface",
    arguments=ArgumentSet.for_endpoint(f"{_SET}/InfoEndpoint", INTERFACE),
    action=_get,
    openapi_operation="get:v_m_n_i__v_m_n_i",
)


async def _allocate_new_ip(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    found = await call.write(
        partial(
            allocation.allocate_new_ip,
            actor=call.actor,
            interface_lookup=args[KEY],
            version=args["address_version"],
        )
    )
    return {"ip_address": ip_address(found, call.render.rdns_zone)}


ALLOCATE_NEW_IP = Endpoint(
    name="virtual_machine_network_interfaces/allocate_new_ip",
    method="POST",
    path="virtual_machine_network_interfaces/:virtual_machine_network_interface/allocate_new_ip",
    scopes=(Scope.IP_ADDRESSES,),
    description="Allocates a new IP address to a given network interface",
    arguments=ArgumentSet.for_endpoint(
        f"{_SET}/AllocateNewIPEndpoint",
        Argument(
            KEY,
            lookups.NETWORK_INTERFACE,
            required=True,
            description="The network interface to allocate the IP address to",
        ),
        Argument(
            "address_version",
            Enum(AddressVersion),
            required=True,
            description="The version of IP address to allocate",
        ),
    ),
    action=_allocate_new_ip,
    openapi_operation="post:virtual_machine_network_interface_allocate_new_ip",
    errors={
        domain.NoAvailableAddresses: errors.NO_AVAILABLE_ADDRESSES,
        # A trashed VM's interface: the document's refusal for this operation.
        domain.InterfaceInTrash: errors.PERMISSION_DENIED,
    },
)

ENDPOINTS = [LIST, FOR_NETWORK, GET, ALLOCATE_IP, ALLOCATE_NEW_IP, AVAILABLE_IPS]
