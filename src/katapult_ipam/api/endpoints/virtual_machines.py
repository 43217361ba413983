"""Endpoints under /virtual_machines."""

from __future__ import annotations

from functools import partial
from typing import Any

from katapult_ipam import actions
from katapult_ipam.api import errors, objects
from katapult_ipam.api.arguments import Argument, ArgumentSet, LookupArgumentSet
from katapult_ipam.api.context import Call
from katapult_ipam.api.framework import Endpoint
from katapult_ipam.domain import errors as domain

VIRTUAL_MACHINE_LOOKUP = LookupArgumentSet("VirtualMachineLookup", ("id", "fqdn"))
IP_ADDRESS_LOOKUP = LookupArgumentSet("IPAddressLookup", ("id", "address"))


async def _allocate_ip(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    actor = actions.Actor(
        type=call.identity.kind,
        id=call.identity.id,
        organization_ids=call.identity.organization_ids,
        request_id=call.request_id,
    )
    record = await call.services.transactions.run(
        partial(
            actions.allocate_ip,
            actor=actor,
            vm_lookup=args["virtual_machine"],
            ip_lookup=args["ip_address"],
        )
    )
    return {"ip_address": objects.ip_address(record, call.services.settings.rdns_zone)}


ALLOCATE_IP = Endpoint(
    name="virtual_machines/allocate_ip",
    method="POST",
    path="virtual_machines/:virtual_machine/allocate_ip",
    scope="ip_addresses",
    description=(
        "Allocate an IP address to a virtual machine, "
        "automatically determining the network interface"
    ),
    arguments=ArgumentSet(
        (
            Argument(
                "virtual_machine",
                VIRTUAL_MACHINE_LOOKUP,
                required=True,
                description="The virtual machine to allocate the IP address to",
                owner="AllocateIPEndpoint",
            ),
            Argument(
                "ip_address",
                IP_ADDRESS_LOOKUP,
                required=True,
                description="The IP address to allocate",
                owner="AllocateIPEndpoint",
            ),
        )
    ),
    action=_allocate_ip,
    openapi_operation="post:virtual_machine_allocate_ip",
    errors={
        domain.VirtualMachineNotFound: errors.VIRTUAL_MACHINE_NOT_FOUND,
        domain.IPAddressNotFound: errors.IP_ADDRESS_NOT_FOUND,
        domain.ObjectInTrash: errors.OBJECT_IN_TRASH,
        domain.IPAlreadyAllocated: errors.IP_ALREADY_ALLOCATED,
        domain.NoInterfaceAvailable: errors.NO_INTERFACE_AVAILABLE,
    },
)

ENDPOINTS = [ALLOCATE_IP]
