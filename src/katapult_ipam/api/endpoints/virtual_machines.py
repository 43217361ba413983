"""Endpoints under /virtual_machines."""

from __future__ import annotations

from functools import partial
from typing import Any

from katapult_ipam import actions
from katapult_ipam.api import errors, lookups
from katapult_ipam.api.arguments import Argument, ArgumentSet
from katapult_ipam.api.context import Call
from katapult_ipam.api.framework import Endpoint
from katapult_ipam.api.objects.ip_addresses import ip_address
from katapult_ipam.auth.identity import Scope
from katapult_ipam.domain import errors as domain


async def _allocate_ip(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    record = await call.write(
        partial(
            actions.allocate_ip,
            actor=call.actor,
            vm_lookup=args["virtual_machine"],
            ip_lookup=args["ip_address"],
        )
    )
    return {"ip_address": ip_address(record, call.render.rdns_zone)}


ALLOCATE_IP = Endpoint(
    name="virtual_machines/allocate_ip",
    method="POST",
    path="virtual_machines/:virtual_machine/allocate_ip",
    scopes=(Scope.IP_ADDRESSES,),
    description=(
        "Allocate an IP address to a virtual machine, "
        "automatically determining the network interface"
    ),
    arguments=ArgumentSet.for_endpoint(
        "CoreAPI/Endpoints/VirtualMachines/AllocateIPEndpoint",
        Argument(
            "virtual_machine",
            lookups.VIRTUAL_MACHINE,
            required=True,
            description="The virtual machine to allocate the IP address to",
        ),
        Argument(
            "ip_address",
            lookups.IP_ADDRESS,
            required=True,
            description="The IP address to allocate",
        ),
    ),
    action=_allocate_ip,
    openapi_operation="post:virtual_machine_allocate_ip",
    errors={
        domain.IPAlreadyAllocated: errors.IP_ALREADY_ALLOCATED,
        domain.NoInterfaceAvailable: errors.NO_INTERFACE_AVAILABLE,
    },
)

ENDPOINTS = [ALLOCATE_IP]
