"""uvicorn's httptools protocol with limits on slow and greedy clients.

uvicorn (0.54, httptools) times out only a kept-alive connection that has gone idle
after a response: a new connection that sends nothing, or a head trickled a byte at a
time, is held for ever, and httptools buffers a head without limit before the
application sees anything. ``GuardedHttpToolsProtocol`` adds, per connection:

- a head deadline (``HEAD_TIMEOUT``): from the opening of the connection, or from the
  first byte of its next request, the whole request head must arrive in time, else
  408 ``request_timeout`` and the connection is closed (a connection that has sent
  nothing at all is closed without an answer);
- a head cap enforced while the head arrives, for every path: header fields beyond
  ``MAX_HEADER_BYTES`` answer 431 ``request_header_fields_too_large`` and a request
  target beyond ``MAX_TARGET_BYTES`` 414 ``uri_too_long``, before any routing, so a
  connection never holds more than about that much of a head;
- a connection cap (``MAX_CONNECTIONS`` per worker): a request beyond it is answered
  503 ``service_unavailable`` with Retry-After, and the connection closed;
- the idle keep-alive timeout from ``IDLE_TIMEOUT``;
- malformed requests answered with the error envelope (400 ``invalid_http_request``)
  instead of uvicorn's plain text.

Every refusal carries an ``X-Request-Id`` and ``Connection: close``. ``serve`` selects
this class with ``http="katapult_ipam.transport:GuardedHttpToolsProtocol"``; each
worker reads the limits from its settings once.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from katapult_ipam.api.errors import (
    HEADERS_TOO_LARGE,
    INVALID_HTTP_REQUEST,
    REQUEST_TIMEOUT,
    SERVICE_UNAVAILABLE,
    URI_TOO_LONG,
    ApiError,
)
from katapult_ipam.api.handler import RETRY_AFTER_SECONDS, error_response, parse_request_id
from katapult_ipam.config import Settings

# The longest request target httptools can parse (its URL offsets are 16 bits).
MAX_TARGET_BYTES = 65_535
# While a head is incomplete only its bytes on the wire are known: besides the request
# target they may pass MAX_HEADER_BYTES by this much (the method, the version, the
# separators and line ends) before the head is refused. Once the head is complete, its
# header fields are counted exactly as the API does (names and values).
HEAD_MARGIN_BYTES = 4096


@dataclass(frozen=True)
class ServerLimits:
    head_timeout: float
    idle_timeout: float
    max_header_bytes: int
    max_connections: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerLimits:
        return cls(
            head_timeout=settings.head_timeout,
            idle_timeout=settings.idle_timeout,
            max_header_bytes=settings.max_header_bytes,
            max_connections=settings.max_connections,
        )


@functools.cache
def server_limits() -> ServerLimits:
    """This process's limits, from its settings (read once)."""
    return ServerLimits.from_settings(Settings())


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` with a deadline and a size cap on each request head."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = server_limits()
        # uvicorn declares it an int; call_later takes any number of seconds.
        self.timeout_keep_alive = self.limits.idle_timeout  # type: ignore[assignment]
        self.url = b""
        self._head_timer: asyncio.TimerHandle | None = None
        # Between the end of one request (or the opening) and the end of the next head.
        self._awaiting_head = True
        self._head_bytes = 0  # of the awaited head, received so far
        self._refused = False  # a refusal was sent or is due: read no more

    # -- the connection ----------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._awaiting_head:
            self._arm_head_timer()
            self._head_bytes += len(data)
        super().data_received(data)
        if self._awaiting_head and not self._refused and not self.transport.is_closing():
            if len(self.url) > MAX_TARGET_BYTES:
                self._refuse(URI_TOO_LONG({"max_bytes": MAX_TARGET_BYTES}))
            elif self._head_bytes - len(self.url) > self._max_wire_header_bytes:
                self._refuse(HEADERS_TOO_LARGE({"max_bytes": self.limits.max_header_bytes}))

    def send_400_response(self, msg: str) -> None:
        # Called by uvicorn when httptools cannot parse the request.
        self._refuse(INVALID_HTTP_REQUEST())

    # -- parser callbacks --------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._refused:
            return
        super().on_message_begin()
        self._awaiting_head = True
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._cancel_head_timer()
        self._awaiting_head = False
        self._head_bytes = 0
        limits = self.limits
        if len(self.url) > MAX_TARGET_BYTES:
            self._refuse(URI_TOO_LONG({"max_bytes": MAX_TARGET_BYTES}))
            return
        if sum(len(name) + len(value) for name, value in self.headers) > limits.max_header_bytes:
            self._refuse(HEADERS_TOO_LARGE({"max_bytes": limits.max_header_bytes}))
            return
        if (
            len(self.connections) > limits.max_connections
            or len(self.tasks) >= limits.max_connections
        ):
            self.logger.warning("more than %d connections: refused", limits.max_connections)
            self._refuse(SERVICE_UNAVAILABLE(headers={"retry-after": RETRY_AFTER_SECONDS}))
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        self._awaiting_head = True
        self._head_bytes = 0

    # -- limits ------------------------------------------------------------------

    @property
    def _max_wire_header_bytes(self) -> int:
        return self.limits.max_header_bytes + HEAD_MARGIN_BYTES

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.limits.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self._refused:
            return
        if self._head_bytes == 0 and not self._response_in_progress():
            self.transport.close()  # nothing was asked: nothing to answer
            return
        seconds = self.limits.head_timeout
        self._refuse(
            REQUEST_TIMEOUT(
                {"seconds": seconds},
                description="The request head was not received in time",
            )
        )

    def _response_in_progress(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _refuse(self, error: ApiError) -> None:
        """Answer ``error`` and close, or close once the response under way is sent."""
        self._refused = True
        self._cancel_head_timer()
        if self._response_in_progress():
            # The previous request of a pipeline is still being answered: no answer may
            # cut into it. Read nothing more; uvicorn closes once it is sent.
            self.cycle.keep_alive = False
            self.flow.pause_reading()
            return
        response = error_response(error, self._request_id())
        content = [STATUS_LINE[response.status_code]]
        headers = [*self.server_state.default_headers, *response.raw_headers]
        for name, value in headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"connection: close\r\n\r\n", bytes(response.body)])
        self.transport.write(b"".join(content))
        self.transport.close()

    def _request_id(self) -> str:
        """The client's X-Request-Id if it came (and is fit), else a new one."""
        for name, value in self.headers or ():
            if name == b"x-request-id":
                return parse_request_id(value.decode("latin-1"))
        return parse_request_id("")
