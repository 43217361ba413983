"""An ``X-Request-Id`` on every response, not only on those of the API handler.

A pure ASGI middleware: a response that leaves the application without the header
(/livez, /readyz, the OpenAPI document, Starlette's own answers) gets the client's
id when it is fit to echo, or a new one (``handler.parse_request_id``). Responses
that already carry it (the API handler's, whose id is also in its log line and the
audit log) pass unchanged.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from katapult_ipam.api.handler import parse_request_id

HEADER = b"x-request-id"


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name.lower() == HEADER for name, _ in headers):
                    headers.append((HEADER, request_id(scope).encode("latin-1")))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


def request_id(scope: Scope) -> str:
    """The id for this request: the client's first X-Request-Id if fit, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            return parse_request_id(value.decode("latin-1"))
    return parse_request_id("")
