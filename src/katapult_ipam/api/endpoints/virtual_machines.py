"""Virtual machines: allocate an address to one, read one or an organization's list,
and delete one (to the trash)."""

from __future__ import annotations

from functools import partial
from typing import Any

from katapult_ipam import actions
from katapult_ipam.actions import virtual_machines as vm_actions
from katapult_ipam.api import errors, lookups
from katapult_ipam.api.arguments import Argument, ArgumentSet, Array, String
from katapult_ipam.api.context import Call
from katapult_ipam.api.framework import Endpoint
from katapult_ipam.api.objects.ip_addresses import ip_address
from katapult_ipam.api.objects.trash_objects import trash_object
from katapult_ipam.api.objects.virtual_machines import virtual_machine, virtual_machine_listed
from katapult_ipam.api.pagination import Page, paginated, with_pagination
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


VIRTUAL_MACHINE = Argument(
    "virtual_machine", lookups.VIRTUAL_MACHINE, required=True,
    description="The virtual machine to find",
)  # fmt: skip
_ANNOTATION = ArgumentSet(
    (Argument("key", String()), Argument("value", String())),
    id="CoreAPI/ArgumentSets/KeyValue",
)
ANNOTATIONS = Argument(
    "annotations", Array(_ANNOTATION), description="An array of annotations to filter by."
)


async def _get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    record = await call.read(
        partial(vm_actions.get_virtual_machine, actor=call.actor, lookup=args["virtual_machine"])
    )
    # Annotations are not kept here: a VM has none.
    return {"virtual_machine": virtual_machine(record, call.render), "annotations": []}


GET = Endpoint(
    name="virtual_machines/get",
    method="GET",
    path="virtual_machines/:virtual_machine",
    scopes=(Scope.VIRTUAL_MACHINES, Scope.VIRTUAL_MACHINES_READ),
    description="Returns information about a specific virtual machine",
    arguments=ArgumentSet.for_endpoint(
        "CoreAPI/Endpoints/VirtualMachines/InfoEndpoint", VIRTUAL_MACHINE
    ),
    action=_get,
    openapi_operation="get:virtual_machine",
)


async def _delete(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    trash, record = await call.write(
        partial(vm_actions.trash_virtual_machine, actor=call.actor, lookup=args["virtual_machine"])
    )
    return {
        "trash_object": trash_object(trash),
        "virtual_machine": virtual_machine(record, call.render),
    }


DELETE = Endpoint(
    name="virtual_machines/delete",
    method="DELETE",
    path="virtual_machines/:virtual_machine",
    scopes=(Scope.VIRTUAL_MACHINES,),
    description="Deletes a virtual machine: it goes to the trash, its addresses stay with it",
    arguments=ArgumentSet.for_endpoint(
        "CoreAPI/Endpoints/VirtualMachines/DeleteEndpoint", VIRTUAL_MACHINE
    ),
    action=_delete,
    openapi_operation="delete:virtual_machine",
)


async def _list(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    page = Page.of(args)
    found = await call.read(
        partial(
            vm_actions.list_virtual_machines,
            actor=call.actor,
            organization=args["organization"],
            limit=page.limit,
            offset=page.offset,
            by_annotations=bool(ANNOTATIONS.get(args)),
        )
    )
    items = [virtual_machine_listed(item) for item in found.items]
    return paginated("virtual_machines", items, page, found.total)


LIST = Endpoint(
    name="organizations/virtual_machines/list",
    method="GET",
    path="organizations/:organization/virtual_machines",
    scopes=(Scope.VIRTUAL_MACHINES, Scope.VIRTUAL_MACHINES_READ),
    description="Returns a list of all virtual machines for an organization",
    arguments=with_pagination(
        ArgumentSet.for_endpoint(
            "CoreAPI/Endpoints/Organizations/VirtualMachinesEndpoint",
            Argument(
                "organization",
                lookups.ORGANIZATION,
                required=True,
                description="The organization to find virtual machines for",
            ),
            ANNOTATIONS,
        )
    ),
    action=_list,
    openapi_operation="get:organization_virtual_machines",
)

ENDPOINTS = [ALLOCATE_IP, GET, DELETE, LIST]
