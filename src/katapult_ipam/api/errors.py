"""Every error the API can answer, declared once as a value.

An ``ErrorDefinition`` is a code, an HTTP status and a description. Calling one
makes an ``ApiError`` carrying a detail, which may be raised from anywhere and is
rendered in exactly one place (``api.handler``) as the production envelope.
A domain refusal carries what its error's ``detail`` needs (``error_detail``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import singledispatch
from typing import Any

import orjson

from katapult_ipam.domain.errors import (
    DomainError,
    InterfaceInTrash,
    ObjectInTrash,
    ValidationFailed,
)


@dataclass(frozen=True)
class ErrorDefinition:
    code: str
    status: int
    description: str

    def __call__(
        self,
        detail: dict[str, Any] | None = None,
        *,
        description: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiError:
        return ApiError(self, detail or {}, description or self.description, headers or {})


class ApiError(Exception):
    """An ErrorDefinition with this occurrence's detail, ready to render."""

    def __init__(
        self,
        definition: ErrorDefinition,
        detail: dict[str, Any],
        description: str,
        headers: dict[str, str],
    ) -> None:
        super().__init__(definition.code)
        self.definition = definition
        self.detail = detail
        self.description = description
        self.headers = headers

    @property
    def status(self) -> int:
        return self.definition.status

    def body(self) -> bytes:
        # Production wraps the error in "error"; the OpenAPI document puts the
        # same fields at the top level. Both are sent so either kind of client
        # finds the code.
        fields = {
            "code": self.definition.code,
            "description": self.description,
            "detail": self.detail,
        }
        return orjson.dumps({"error": fields, **fields})


# Routing, arguments and the unexpected (Apia's built-in errors).
ROUTE_NOT_FOUND = ErrorDefinition("route_not_found", 404, "No route matches the request")
INVALID_JSON_BODY = ErrorDefinition(
    "invalid_json_body", 400, "The JSON body provided with this request is invalid"
)
MISSING_REQUIRED_ARGUMENT = ErrorDefinition(
    "missing_required_argument", 400, "A required argument has not been provided"
)
INVALID_ARGUMENT = ErrorDefinition("invalid_argument", 400, "An argument is invalid")
PAYLOAD_TOO_LARGE = ErrorDefinition(
    "payload_too_large", 413, "The request body is larger than this service accepts"
)
HEADERS_TOO_LARGE = ErrorDefinition(
    "request_header_fields_too_large",
    431,
    "The request headers are larger than this service accepts",
)
REQUEST_TIMEOUT = ErrorDefinition(
    "request_timeout", 408, "The request body was not received in time"
)
# Answered by the transport (``katapult_ipam.transport``) before any routing.
INVALID_HTTP_REQUEST = ErrorDefinition(
    "invalid_http_request", 400, "The request is not valid HTTP/1.1"
)
URI_TOO_LONG = ErrorDefinition(
    "uri_too_long", 414, "The request target is longer than this service accepts"
)
UNHANDLED_EXCEPTION = ErrorDefinition(
    "unhandled_exception", 500, "This is an exception that has occurred and not been handled."
)

# The authenticator.
MISSING_API_TOKEN = ErrorDefinition(
    "missing_api_token",
    400,
    "No API token was provided in the Authorization header. "
    "Ensure a token is provided prefixed with Bearer",
)
INVALID_API_TOKEN = ErrorDefinition(
    "invalid_api_token",
    403,
    "The API token provided was not valid (it may not exist or have expired)",
)
SCOPE_NOT_GRANTED = ErrorDefinition(
    "scope_not_granted",
    403,
    "The scope required for this endpoint has not been granted to the authenticating identity",
)
UNAUTHORIZED_NETWORK_FOR_API_TOKEN = ErrorDefinition(
    "unauthorized_network_for_api_token",
    403,
    "Network is not allowed to access the API with this API token",
)
INVALID_CAPABILITIES_TOKEN = ErrorDefinition(
    "invalid_capabilities_token",
    403,
    "The capabilities token provided was not valid "
    "(either not valid, expired or not signed by the correct key)",
)
RATE_LIMIT_REACHED = ErrorDefinition(
    "rate_limit_reached", 429, "You have reached the rate limit for this type of request"
)
SERVICE_UNAVAILABLE = ErrorDefinition(
    "service_unavailable", 503, "The service is currently unavailable, please try again later"
)

# Resources.
VIRTUAL_MACHINE_NOT_FOUND = ErrorDefinition(
    "virtual_machine_not_found",
    404,
    "No virtual machine was found matching any of the criteria provided in the arguments",
)
IP_ADDRESS_NOT_FOUND = ErrorDefinition(
    "ip_address_not_found",
    404,
    "No IP addresses were found matching any of the criteria provided in the arguments",
)
ORGANIZATION_NOT_FOUND = ErrorDefinition(
    "organization_not_found",
    404,
    "No organization was found matching any of the criteria provided in the arguments",
)
ORGANIZATION_SUSPENDED = ErrorDefinition(
    "organization_suspended",
    403,
    "An organization was found from the arguments provided but it was suspended",
)
ORGANIZATION_NOT_ACTIVATED = ErrorDefinition(
    "organization_not_activated",
    403,
    "An organization was found from the arguments provided but it wasn't activated yet",
)
DATA_CENTER_NOT_FOUND = ErrorDefinition(
    "data_center_not_found",
    404,
    "No data center was found matching any of the criteria provided in the arguments",
)
NETWORK_NOT_FOUND = ErrorDefinition(
    "network_not_found",
    404,
    "No network was found matching any of the criteria provided in the arguments",
)
VIRTUAL_MACHINE_NETWORK_INTERFACE_NOT_FOUND = ErrorDefinition(
    "virtual_machine_network_interface_not_found",
    404,
    "No network interface was found matching any of the criteria provided in the arguments",
)
INTERFACE_NOT_FOUND = ErrorDefinition(
    "interface_not_found", 404, "An interface could not be found for the specified network"
)
TRASH_OBJECT_NOT_FOUND = ErrorDefinition(
    "trash_object_not_found",
    404,
    "No trash object was found matching any of the criteria provided in the arguments",
)
TASK_NOT_FOUND = ErrorDefinition(
    "task_not_found",
    404,
    "No task was found matching any of the criteria provided in the arguments",
)
OBJECT_IN_TRASH = ErrorDefinition(
    "object_in_trash",
    406,
    "The object found is in the trash and therefore cannot be manipulated through the API. "
    "It should be restored in order to run this operation.",
)
IP_ALREADY_ALLOCATED = ErrorDefinition(
    "ip_already_allocated", 422, "This IP address has already been allocated to another resource"
)
NO_INTERFACE_AVAILABLE = ErrorDefinition(
    "no_interface_available",
    422,
    "This virtual machine does not have a network interface that is compatible "
    "with the provided IP address",
)
INVALID_IP = ErrorDefinition(
    "invalid_ip", 422, "This IP address is not valid for this network interface."
)

PERMISSION_DENIED = ErrorDefinition(
    "permission_denied",
    403,
    "The authenticated identity is not permitted to perform this action",
)
NO_AVAILABLE_ADDRESSES = ErrorDefinition(
    "no_available_addresses",
    503,
    "Our pool of addresses for that version seems to have run dry. "
    "If this issue continues, please contact support.",
)
NO_ALLOCATION = ErrorDefinition(
    "no_allocation",
    422,
    "This IP address is not currently allocated to any object, and cannot be unallocated.",
)
RESOURCE_DOES_NOT_SUPPORT_UNALLOCATION = ErrorDefinition(
    "resource_does_not_support_unallocation",
    409,
    "The resource this IP address belongs to does not allow you to unallocate it.",
)

# Object validation (the model refused the change), e.g. ["Label can't be blank"].
VALIDATION_ERROR = ErrorDefinition(
    "validation_error",
    422,
    "A validation error occurred with the object that was being created/updated/deleted",
)


def validation_error(*messages: str) -> ApiError:
    """422 ``validation_error`` with ``detail`` ``{"errors": [...messages]}``."""
    return VALIDATION_ERROR({"errors": list(messages)})


def declared_error(
    declared: Mapping[type[DomainError], ErrorDefinition], error: BaseException
) -> ErrorDefinition | None:
    """The API error declared for ``error``'s class or its nearest base (as Starlette's
    exception handlers are found, by MRO); None when nothing is declared."""
    for kind in type(error).__mro__:
        if kind in declared:
            return declared[kind]
    return None


@singledispatch
def error_detail(error: DomainError) -> dict[str, Any]:
    """The ``detail`` of the API error a domain refusal becomes."""
    return {}


@error_detail.register
def _(error: ObjectInTrash) -> dict[str, Any]:
    return {"trash_object": dataclasses.asdict(error.trash_object)}


@error_detail.register
def _(error: ValidationFailed) -> dict[str, Any]:
    return {"errors": list(error.messages)}


@error_detail.register
def _(error: InterfaceInTrash) -> dict[str, Any]:
    trash = error.trash_object
    return {
        "details": f"The virtual machine {trash.object_id} is in the trash ({trash.id}):"
        " restore it first"
    }
