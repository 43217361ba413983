"""One request through the API, in Apia's order.

route -> maintenance -> authenticate (rate limit included) -> scope -> arguments
-> action (one transaction) -> render. Every failure on the way is an ApiError
rendered by ``_error_response``; anything else becomes 503 when the database
says it is away or busy (``store.errors.is_outage``, by driver error code) or
500 (a bug, logged with its trace under the request id), never a stack trace in
a body.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from starlette.requests import Request
from starlette.responses import Response

from katapult_ipam.api.arguments import (
    arguments_parameter,
    deep_merge,
    is_json_content_type,
    parse_json_arguments,
    parse_query_string,
)
from katapult_ipam.api.context import Call, JobRunner, RenderContext
from katapult_ipam.api.errors import (
    HEADERS_TOO_LARGE,
    PAYLOAD_TOO_LARGE,
    REQUEST_TIMEOUT,
    ROUTE_NOT_FOUND,
    SERVICE_UNAVAILABLE,
    UNHANDLED_EXCEPTION,
    ApiError,
)
from katapult_ipam.api.framework import Router, domain_error_to_api
from katapult_ipam.api.request_ids import request_id_from_headers
from katapult_ipam.auth.authenticator import Authenticator, Credentials, require_scope
from katapult_ipam.auth.client_address import TrustedProxies
from katapult_ipam.auth.identity import Identity
from katapult_ipam.config import Settings
from katapult_ipam.domain.errors import DomainError
from katapult_ipam.observability import request_id_var
from katapult_ipam.store.errors import describe, is_outage

API_PREFIX = "/core/v1/"
JSON = "application/json"
CORS_HEADERS = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    "access-control-allow-headers": "Authorization, Content-Type",
}
RETRY_AFTER_SECONDS = "5"

log = logging.getLogger("katapult_ipam.api")


@dataclass
class _Exchange:
    """What is known about one request as it goes through."""

    request_id: str
    client_address: str
    headers: dict[str, str]
    started: float = field(default_factory=time.perf_counter)
    identity: Identity | None = None


class MaintenanceMode(Protocol):
    """Whether to refuse every request with 503 for now (a flag operators switch)."""

    async def is_on(self) -> bool: ...


class ApiHandler:
    """The Starlette endpoint for everything under /core/v1/."""

    def __init__(
        self,
        router: Router,
        *,
        authenticator: Authenticator,
        proxies: TrustedProxies,
        maintenance: MaintenanceMode,
        settings: Settings,
        writes: JobRunner,
        reads: JobRunner,
    ) -> None:
        self._router = router
        self._authenticator = authenticator
        self._proxies = proxies
        self._maintenance = maintenance
        self._settings = settings
        self._writes = writes
        self._reads = reads
        self._render = RenderContext(
            rdns_zone=settings.rdns_zone, infrastructure_domain=settings.infrastructure_domain
        )

    async def handle(self, request: Request) -> Response:
        exchange = _Exchange(
            request_id=_request_id(request),
            client_address=self._proxies.client_address(
                request.client.host if request.client else None,
                request.headers.getlist(self._proxies.header),
            ),
            headers={},
        )
        exchange.headers.update({"x-request-id": exchange.request_id, **CORS_HEADERS})
        token = request_id_var.set(exchange.request_id)
        try:
            response = await self._respond(request, exchange)
            _log_request(request, exchange, response.status_code)
            return response
        finally:
            request_id_var.reset(token)

    async def _respond(self, request: Request, exchange: _Exchange) -> Response:
        try:
            return await self._handle(request, exchange)
        except ApiError as error:
            return _error_response(error, exchange.headers)
        except Exception as error:
            if is_outage(error):
                # The database is away or busy beyond its bounded wait: try again later.
                log.warning("database unavailable", extra={"error": describe(error)})
                unavailable = SERVICE_UNAVAILABLE(headers={"retry-after": RETRY_AFTER_SECONDS})
                return _error_response(unavailable, exchange.headers)
            log.exception(
                "unhandled exception",
                extra={"error": describe(error), "request_id": exchange.request_id},
            )
            return _error_response(UNHANDLED_EXCEPTION(), exchange.headers)

    async def _handle(self, request: Request, exchange: _Exchange) -> Response:
        method = request.method.upper()
        path = _api_path(request)
        route_method = method
        if method == "OPTIONS":
            route_method = request.headers.get("access-control-request-method", "").upper()
        match = self._router.match(route_method, path)
        if match is None or method == "OPTIONS":
            await self._authenticator.count_anonymous(exchange.client_address, exchange.headers)
            if match is None:
                raise ROUTE_NOT_FOUND(description=f"No route matches '{path}' for {method}")
            return Response(b'""', 200, headers=exchange.headers, media_type=JSON)
        _check_sizes(request, self._settings)
        if await self._maintenance.is_on():
            raise SERVICE_UNAVAILABLE(headers={"retry-after": RETRY_AFTER_SECONDS})

        endpoint = match.endpoint
        credentials = Credentials(request.headers.get("authorization"), exchange.client_address)
        identity = await self._authenticator.authenticate(credentials, exchange.headers)
        exchange.identity = identity
        require_scope(identity, endpoint.scopes)
        query = parse_query_string(request.scope["query_string"])
        body = await _json_body(request, self._settings)
        # Apia reads a `_arguments` parameter holding JSON only when the body is not JSON.
        raw = deep_merge(query, arguments_parameter(query) if body is None else body)
        args = endpoint.arguments.parse(raw, match.path_values)
        try:
            call = self._call(identity, exchange.request_id, endpoint.operation_id)
            result = await endpoint.action(call, args)
        except DomainError as refusal:
            error = domain_error_to_api(endpoint, refusal)
            if error is None:
                raise
            raise error from refusal
        return _success_response(result, exchange.headers)

    def _call(self, identity: Identity, request_id: str, operation: str) -> Call:
        return Call(
            identity,
            request_id,
            render=self._render,
            writes=self._writes,
            reads=self._reads,
            operation=operation,
        )


def _api_path(request: Request) -> str:
    path: str = request.scope["path"]
    return path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else path.lstrip("/")


def _request_id(request: Request) -> str:
    return request_id_from_headers(request.scope["headers"])


def _check_sizes(request: Request, settings: Settings) -> None:
    """Refuse oversized headers, and a body declared too large, before any work."""
    header_bytes = sum(len(name) + len(value) for name, value in request.scope["headers"])
    if header_bytes > settings.max_header_bytes:
        raise HEADERS_TOO_LARGE({"max_bytes": settings.max_header_bytes})
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_body_bytes:
        raise PAYLOAD_TOO_LARGE({"max_bytes": settings.max_body_bytes})


async def _read_body(request: Request, settings: Settings) -> bytes:
    """The body, refused once it passes the size limit or takes too long to arrive."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(settings.body_timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > settings.max_body_bytes:
                    raise PAYLOAD_TOO_LARGE({"max_bytes": settings.max_body_bytes})
                chunks.append(chunk)
    except TimeoutError:
        raise REQUEST_TIMEOUT({"seconds": settings.body_timeout}) from None
    return b"".join(chunks)


async def _json_body(request: Request, settings: Settings) -> dict[str, Any] | None:
    """The JSON body's arguments, or None when the Content-Type is not JSON."""
    if not is_json_content_type(request.headers.get("content-type", "")):
        return None
    return parse_json_arguments(await _read_body(request, settings))


def _success_response(result: dict[str, Any], headers: dict[str, str]) -> Response:
    body = orjson.dumps(result)
    etag = hashlib.sha256(body).hexdigest()[:32]
    return Response(
        body,
        200,
        headers={
            **headers,
            "cache-control": "max-age=0, private, must-revalidate",
            "etag": f'W/"{etag}"',
        },
        media_type=JSON,
    )


def _error_response(error: ApiError, headers: dict[str, str]) -> Response:
    return Response(
        error.body(),
        error.status,
        headers={
            **headers,
            **error.headers,
            "x-api-schema": "json-error",
            "cache-control": "no-cache",
        },
        media_type=JSON,
    )


def _log_request(request: Request, exchange: _Exchange, status: int) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    identity = exchange.identity
    log.info(
        "request",
        extra={
            "request_id": exchange.request_id,
            "method": request.method,
            "path": request.scope["path"],
            "status": status,
            "duration_ms": round((time.perf_counter() - exchange.started) * 1000, 3),
            "client": exchange.client_address,
            "identity": f"{identity.kind}:{identity.id}" if identity else None,
        },
    )


def route_not_found_response(request: Request) -> Response:
    """For paths outside /core/v1/: the same envelope as an unknown API route."""
    error = ROUTE_NOT_FOUND(
        description=f"No route matches '{_api_path(request)}' for {request.method.upper()}"
    )
    return _error_response(error, {"x-request-id": _request_id(request), **CORS_HEADERS})


def error_response(error: ApiError, request_id: str) -> Response:
    """The envelope of ``error`` for a request the API handler did not see."""
    return _error_response(error, {"x-request-id": request_id, **CORS_HEADERS})
