"""The trash (lifecycle-facts §5) and the tasks its purges leave (``GET /tasks/:task``)."""

from __future__ import annotations

from functools import partial
from typing import Any

from katapult_ipam.actions import trash as actions
from katapult_ipam.api import lookups
from katapult_ipam.api.arguments import Argument, ArgumentSet
from katapult_ipam.api.context import Call
from katapult_ipam.api.framework import Endpoint
from katapult_ipam.api.objects.tasks import task
from katapult_ipam.api.objects.trash_objects import trash_object
from katapult_ipam.api.pagination import Page, paginated, with_pagination
from katapult_ipam.auth.identity import Scope

_SET = "CoreAPI/Endpoints/TrashObjects"

TRASH_OBJECT = Argument(
    "trash_object", lookups.TRASH_OBJECT, required=True, description="The trash object to find"
)


async def _list(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    page = Page.of(args)
    found = await call.read(
        partial(
            actions.list_trash,
            actor=call.actor,
            organization=args["organization"],
            limit=page.limit,
            offset=page.offset,
        )
    )
    items = [trash_object(item) for item in found.items]
    return paginated("trash_objects", items, page, found.total)


LIST = Endpoint(
    name="organizations/trash_objects/list",
    method="GET",
    path="organizations/:organization/trash_objects",
    scopes=(Scope.TRASH_OBJECTS_READ,),
    description="List all trash objects for an organization, soonest purged first",
    arguments=with_pagination(
        ArgumentSet.for_endpoint(
            f"{_SET}/ListEndpoint",
            Argument(
                "organization",
                lookups.ORGANIZATION,
                required=True,
                description="The organization to find all trash objects for",
            ),
        )
    ),
    action=_list,
    openapi_operation="get:organization_trash_objects",
)


async def _get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    record = await call.read(
        partial(actions.get_trash_object, actor=call.actor, lookup=args["trash_object"])
    )
    return {"trash_object": trash_object(record)}


GET = Endpoint(
    name="trash_objects/get",
    method="GET",
    path="trash_objects/:trash_object",
    scopes=(Scope.TRASH_OBJECTS_READ,),
    description="Return information about a specific trash object",
    arguments=ArgumentSet.for_endpoint(f"{_SET}/InfoEndpoint", TRASH_OBJECT),
    action=_get,
    openapi_operation="get:trash_object",
)


async def _restore(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    record = await call.write(
        partial(actions.restore, actor=call.actor, lookup=args["trash_object"])
    )
    return {"trash_object": trash_object(record)}


RESTORE = Endpoint(
    name="trash_objects/restore",
    method="POST",
    path="trash_objects/:trash_object/restore",
    scopes=(Scope.TRASH_OBJECTS_RESTORE,),
    description="Restore a trash object: it can be used again",
    arguments=ArgumentSet.for_endpoint(f"{_SET}/RestoreEndpoint", TRASH_OBJECT),
    action=_restore,
    openapi_operation="post:trash_object_restore",
)


async def _purge(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    record = await call.write(partial(actions.purge, actor=call.actor, lookup=args["trash_object"]))
    return {"task": task(record)}


PURGE = Endpoint(
    name="trash_objects/purge",
    method="DELETE",
    path="trash_objects/:trash_object",
    scopes=(Scope.TRASH_OBJECTS_PURGE,),
    description="Purge a trash object for good (a VM's addresses are unallocated first)",
    arguments=ArgumentSet.for_endpoint(f"{_SET}/PurgeEndpoint", TRASH_OBJECT),
    action=_purge,
    openapi_operation="delete:trash_object",
)


async def _get_task(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    record = await call.read(partial(actions.get_task, actor=call.actor, lookup=args["task"]))
    return {"task": task(record)}


GET_TASK = Endpoint(
    name="tasks/get",
    method="GET",
    path="tasks/:task",
    scopes=(Scope.TASKS, Scope.TASKS_READ),
    description="Returns information about a specific task",
    arguments=ArgumentSet.for_endpoint(
        "CoreAPI/Endpoints/Tasks/InfoEndpoint",
        Argument("task", lookups.TASK, required=True, description="The task to find"),
    ),
    action=_get_task,
    openapi_operation="get:task",
)

ENDPOINTS = [LIST, GET, RESTORE, PURGE, GET_TASK]
