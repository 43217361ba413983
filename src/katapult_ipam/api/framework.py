"""Endpoints as declarations, and the router that finds them.

An endpoint states its method, path, scope, arguments and the domain errors it
may answer; its action only does the work. Nothing here knows any resource.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from katapult_ipam.api.arguments import ArgumentSet
from katapult_ipam.api.context import Call
from katapult_ipam.api.errors import ApiError, ErrorDefinition
from katapult_ipam.api.objects import error_detail
from katapult_ipam.domain.errors import DomainError

Action = Callable[[Call, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # relative to /core/v1/, with ``:name`` slots
    scope: str
    description: str
    arguments: ArgumentSet
    action: Action
    errors: Mapping[type[DomainError], ErrorDefinition] = field(default_factory=dict)
    openapi_operation: str = ""

    def __post_init__(self) -> None:
        # An endpoint without a scope is a security bug: refuse it at import.
        if not self.scope:
            raise ValueError(f"endpoint {self.name} declares no scope")

    @property
    def operation_id(self) -> str:
        """The operation's id in the OpenAPI document, e.g. ``post:virtual_machine_allocate_ip``."""
        return self.openapi_operation or f"{self.method.lower()}:{self.name}"

    def api_error_for(self, error: DomainError) -> ErrorDefinition | None:
        for kind in type(error).__mro__:
            if kind in self.errors:
                return self.errors[kind]
        return None


def _segments(path: str) -> list[str]:
    return [s for s in path.strip("/").split("/") if s]


@dataclass(frozen=True)
class RouteMatch:
    endpoint: Endpoint
    path_values: dict[str, str]


class Router:
    """Finds an endpoint by method and path; literal segments win over slots."""

    def __init__(self, endpoints: list[Endpoint]) -> None:
        self._routes: dict[str, list[tuple[list[str], Endpoint]]] = {}
        for endpoint in endpoints:
            routes = self._routes.setdefault(endpoint.method.upper(), [])
            routes.append((_segments(endpoint.path), endpoint))
        for routes in self._routes.values():
            # More literal segments first, so "a/b" is tried before "a/:x".
            routes.sort(key=lambda r: [s.startswith(":") for s in r[0]])

    @property
    def endpoints(self) -> list[Endpoint]:
        return [e for routes in self._routes.values() for _, e in routes]

    def match(self, method: str, path: str) -> RouteMatch | None:
        parts = _segments(path)
        for pattern, endpoint in self._routes.get(method.upper(), []):
            values = _match(pattern, parts)
            if values is not None:
                return RouteMatch(endpoint, values)
        return None


def _match(pattern: list[str], parts: list[str]) -> dict[str, str] | None:
    if len(pattern) != len(parts):
        return None
    values: dict[str, str] = {}
    for expected, actual in zip(pattern, parts, strict=True):
        if expected.startswith(":"):
            values[expected[1:]] = actual
        elif expected != actual:
            return None
    return values


def domain_error_to_api(endpoint: Endpoint, error: DomainError) -> ApiError | None:
    """The declared API error for a domain refusal, with its detail."""
    definition = endpoint.api_error_for(error)
    if definition is None:
        return None
    return definition(error_detail(error))
