"""create_app(settings): the ASGI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from katapult_ipam.api.endpoints import ENDPOINTS
from katapult_ipam.api.framework import Router
from katapult_ipam.api.handler import CORS_HEADERS, ApiHandler, route_not_found_response
from katapult_ipam.api.request_ids import RequestIdMiddleware
from katapult_ipam.config import Settings
from katapult_ipam.container import Services
from katapult_ipam.store.queries import flags

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the application; the database must already be migrated."""
    services = Services.create(settings or Settings())
    api = ApiHandler(
        Router(ENDPOINTS),
        authenticator=services.authenticator,
        proxies=services.proxies,
        maintenance=services.maintenance,
        settings=services.settings,
        writes=services.transactions,
        reads=services.reads,
    )

    async def livez(_: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def readyz(_: Request) -> Response:
        try:
            # Through the write runner on purpose: ready means writes get through
            # (the SQLite write lock, the PostgreSQL write threads), not only reads.
            await services.transactions.run(flags.ping_writable)
        except Exception:
            return Response(b'{"status":"unavailable"}', 503, media_type="application/json")
        return Response(b'{"status":"ok"}', media_type="application/json")

    schema = (resources.files("katapult_ipam.api") / "openapi.json").read_bytes()

    async def openapi(_: Request) -> Response:
        # The official document restricted to the operations served here.
        return Response(schema, media_type="application/json", headers=CORS_HEADERS)

    async def not_found(request: Request) -> Response:
        return route_not_found_response(request)

    async def method_not_routed(request: Request, _: Exception) -> Response:
        # A method outside the routes (TRACE, PROPFIND, POST /livez…): the same
        # route_not_found envelope as an unknown path, not Starlette's text 405.
        return route_not_found_response(request)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        services.start()
        try:
            yield
        finally:
            await services.stop()

    app = Starlette(
        routes=[
            Route("/livez", livez, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/core/v1/schema/openapi.json", openapi, methods=["GET"]),
            Route("/core/v1/{path:path}", api.handle, methods=ALL_METHODS),
            Route("/{path:path}", not_found, methods=ALL_METHODS),
        ],
        middleware=[Middleware(RequestIdMiddleware)],
        exception_handlers={405: method_not_routed},
        lifespan=lifespan,
    )
    app.state.services = services
    return app
