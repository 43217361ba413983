"""Endpoints as declarations, and the router that finds them.

An endpoint states its method, path, scopes, arguments and the domain errors it
may answer; its action only does the work. Nothing here knows any resource.
Declaration mistakes (no scope, a duplicated slot, route, name or operation)
raise ValueError when the endpoint or the router is built, not in production.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from katapult_ipam.api.arguments import ArgumentSet, LookupArgumentSet
from katapult_ipam.api.context import Call
from katapult_ipam.api.errors import ApiError, ErrorDefinition, declared_error, error_detail
from katapult_ipam.auth.identity import NO_SCOPE_REQUIRED, Scope, Scopes
from katapult_ipam.domain.errors import DomainError

Action = Callable[[Call, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # relative to /core/v1/, with ``:name`` slots
    scopes: Scopes  # any one of them is enough, or NO_SCOPE_REQUIRED
    description: str
    arguments: ArgumentSet
    action: Action
    errors: Mapping[type[DomainError], ErrorDefinition] = field(default_factory=dict)
    openapi_operation: str = ""

    def __post_init__(self) -> None:
        _check_scopes(self.name, self.scopes)
        _check_slots(self.path)

    @property
    def operation_id(self) -> str:
        """The operation's id in the OpenAPI document, e.g. ``post:virtual_machine_allocate_ip``."""
        return self.openapi_operation or f"{self.method.lower()}:{self.name}"

    def api_error_for(self, error: DomainError) -> ErrorDefinition | None:
        """The declared API error for a refusal: the endpoint's own, then its lookups'."""
        return declared_error(self.declared_errors(), error)

    def declared_errors(self) -> dict[type[DomainError], ErrorDefinition]:
        """Every refusal this endpoint may answer: its arguments' lookups' and its own."""
        declared: dict[type[DomainError], ErrorDefinition] = {}
        for argument in self.arguments.arguments:
            if isinstance(argument.type, LookupArgumentSet):
                declared.update(argument.type.errors)
        declared.update(self.errors)
        return declared


def _check_scopes(name: str, scopes: Scopes) -> None:
    """Refuse a forgotten scope: "no scope" must be said with NO_SCOPE_REQUIRED."""
    if scopes is NO_SCOPE_REQUIRED:
        return
    if not isinstance(scopes, tuple) or not scopes:
        raise ValueError(
            f"endpoint {name} declares no scope: give Scope members or NO_SCOPE_REQUIRED"
        )
    if not all(isinstance(scope, Scope) for scope in scopes) or len(set(scopes)) != len(scopes):
        raise ValueError(f"endpoint {name} scopes must be distinct Scope members: {scopes!r}")


def _check_slots(path: str) -> None:
    """Refuse a slot name used twice: its second value would overwrite the first."""
    slots = [s[1:] for s in _segments(path) if s.startswith(":")]
    duplicated = sorted({s for s in slots if slots.count(s) > 1})
    if duplicated:
        # Starlette's message (starlette/routing.py, compile_path).
        raise ValueError(f"Duplicated param name {', '.join(duplicated)} at path {path}")


def _segments(path: str) -> list[str]:
    return [s for s in path.strip("/").split("/") if s]


@dataclass(frozen=True)
class RouteMatch:
    endpoint: Endpoint
    path_values: dict[str, str]


class Router:
    """Finds an endpoint by method and path; literal segments win over slots."""

    def __init__(self, endpoints: list[Endpoint]) -> None:
        _refuse_duplicates(endpoints)
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


def _refuse_duplicates(endpoints: list[Endpoint]) -> None:
    """Two endpoints with one name, operation or route: a copy-paste that would shadow one."""
    keys: dict[str, Callable[[Endpoint], object]] = {
        "name": lambda e: e.name,
        "operation id": lambda e: e.operation_id,
        "route": _route_shape,
    }
    for what, key in keys.items():
        seen: dict[object, Endpoint] = {}
        for endpoint in endpoints:
            value = key(endpoint)
            if value in seen:
                first = seen[value]
                raise ValueError(
                    f"Duplicated {what}: {first.name} ({first.method} {first.path})"
                    f" and {endpoint.name} ({endpoint.method} {endpoint.path})"
                )
            seen[value] = endpoint


def _route_shape(endpoint: Endpoint) -> tuple[str, ...]:
    """The method and path with slot names erased: ``a/:x`` and ``a/:y`` are one route."""
    parts = [":" if s.startswith(":") else s for s in _segments(endpoint.path)]
    return (endpoint.method.upper(), *parts)


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
