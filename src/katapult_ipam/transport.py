"""uvicorn's httptools protocol with limits on slow and greedy clients.

uvicorn (0.54, httptools) times out only a kept-alive connection that has gone idle
after a response: a new connection that sends nothing, a head trickled a byte at a
time, or a body trickled after the answer (each byte restarts the idle timer) is
held for ever, and httptools buffers a head without limit before the application
sees anything. ``GuardedHttpToolsProtocol`` adds, per connection:

- a head deadline (``HEAD_TIMEOUT``): from the opening of the connection, or from the
  first byte of its next request, the whole request head must arrive in time, else
  408 ``request_timeout`` and the connection is closed (a connection that has sent
  nothing at all is closed without an answer). Time spent while uvicorn does not read
  (it waits for the answers to earlier pipelined requests) does not count;
- a body deadline (``BODY_TIMEOUT``): from the end of the head, the whole body must
  arrive in time. An application still reading it answers for itself (the API
  handler: 408 ``request_timeout``), and the connection ends with that answer, or
  ``BODY_TIMEOUT`` later without one. A request answered before its body has arrived
  (404, 401, 413…) ends its connection: the answer is sent, then the rest of the body
  is dropped until the deadline, when the connection is closed;
- a head cap enforced while the head arrives, for every path: header fields beyond
  ``MAX_HEADER_BYTES`` answer 431 ``request_header_fields_too_large`` and a request
  target beyond ``MAX_TARGET_BYTES`` 414 ``uri_too_long``, before any routing, so a
  connection never holds more than about that much of a head;
- the same cap on what follows a head's end outside a body: the trailer fields of a
  chunked body (counted, never kept: the request's headers are its head's) and a line
  that the parser holds unfinished. Beyond it the request is refused 431 if it has no
  answer under way (the application's answer, if it comes, is not sent), else nothing
  more is read and the connection ends with that answer;
- a connection cap (uvicorn's ``limit_concurrency``, from ``MAX_CONNECTIONS``, per
  worker): a request beyond it is answered 503 ``service_unavailable`` with
  Retry-After, and the connection closed;
- malformed requests answered with the error envelope (400 ``invalid_http_request``)
  instead of uvicorn's plain text.

Every refusal carries an ``X-Request-Id`` and ``Connection: close``, and is logged like
the API handler's requests (``katapult_ipam.api``, message ``request``). The idle
keep-alive timeout is uvicorn's own (``timeout_keep_alive``, from ``IDLE_TIMEOUT``).

``serve`` selects this class with ``http="katapult_ipam.transport:GuardedHttpToolsProtocol"``
and passes ``timeout_keep_alive`` and ``limit_concurrency``; the rest comes from
``worker_limits`` (why there: see its docstring). ``tests/unit/test_transport_internals.py``
checks the uvicorn internals relied on here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import urllib.parse
from dataclasses import dataclass
from typing import Any

import httptools
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
from katapult_ipam.api.handler import RETRY_AFTER_SECONDS, error_response
from katapult_ipam.api.request_ids import request_id_from_headers
from katapult_ipam.auth.client_address import TrustedProxies
from katapult_ipam.config import Settings

# The longest request target httptools can parse (its URL offsets are 16 bits).
MAX_TARGET_BYTES = 65_535
# While a head is incomplete only its bytes on the wire are known: besides the request
# target they may pass MAX_HEADER_BYTES by this much (the method, the version, the
# separators and line ends) before the head is refused. Once the head is complete, its
# header fields are counted exactly as the API does (names and values).
HEAD_MARGIN_BYTES = 4096

# The API handler's request log: a refusal here is logged as the request it answers.
request_log = logging.getLogger("katapult_ipam.api")


@dataclass(frozen=True)
class TransportLimits:
    """What uvicorn's ``Config`` does not carry."""

    head_timeout: float
    body_timeout: float
    max_header_bytes: int
    proxies: TrustedProxies  # whom to believe about the client's address, for the log

    @classmethod
    def from_settings(cls, settings: Settings) -> TransportLimits:
        return cls(
            head_timeout=settings.head_timeout,
            body_timeout=settings.body_timeout,
            max_header_bytes=settings.max_header_bytes,
            proxies=TrustedProxies(settings.trusted_proxy_networks, settings.forwarded_header),
        )


@functools.cache
def worker_limits() -> TransportLimits:
    """This worker process's limits: its settings, read once, at its first connection.

    uvicorn makes a protocol per connection from its ``Config`` alone, and with several
    workers that ``Config`` is all of ``serve`` that reaches a worker. It carries the idle
    timeout and the connection cap; it has no room for the rest, so each worker reads
    them here from the environment, as the application factory in the same process
    reads its own ``Settings`` (``serve`` has checked them before starting any worker).
    """
    return TransportLimits.from_settings(Settings())


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` with deadlines on each request's head and body, a cap on
    its head and on the connections."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: TransportLimits | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits or worker_limits()
        # The connection cap is enforced here, answered with the envelope; uvicorn's own
        # check (a plain text 503) is switched off.
        self.max_connections: int | None = config.limit_concurrency
        self.limit_concurrency = None
        self.url = b""
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_started = self.loop.time()  # what the awaited head's deadline counts from
        self._body_timer: asyncio.TimerHandle | None = None
        # Between the end of one request (or the opening) and the end of the next head.
        self._awaiting_head = True
        self._message_started = False  # the parser has begun the request being read
        self._head_bytes = 0  # of the awaited head, received so far
        # Once the head is complete: the trailer fields' bytes (names and values), the
        # bytes read since the parser last had something to report (a line it holds
        # unfinished), and whether the read being parsed had any.
        self._trailer_bytes = 0
        self._unparsed_bytes = 0
        self._parsed = False
        # A request dropped behind answers under way: the connection ends after them.
        self._close_when_answered = False
        # The head deadline passed while uvicorn was not reading: it restarts when it reads.
        self._head_deadline_postponed = False
        # No further request is read: a refusal was sent or is due, or the connection
        # ends once the rest of a body answered early is dropped.
        self._finished = False

    # -- the connection ----------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self._cancel_body_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._finished:
            return
        if self._awaiting_head:
            self._arm_head_timer()
            self._head_bytes += len(data)
        self._parsed = False
        super().data_received(data)
        if self._finished or self.transport.is_closing():
            return
        if self._awaiting_head:
            if len(self.url) > MAX_TARGET_BYTES:
                self._refuse(URI_TOO_LONG({"max_bytes": MAX_TARGET_BYTES}))
            elif self._head_bytes - len(self.url) > self._max_wire_header_bytes:
                self._refuse(HEADERS_TOO_LARGE({"max_bytes": self.limits.max_header_bytes}))
            return
        self._arm_body_timer()  # the head is complete, its body is not
        # A read the parser reported nothing of is held unfinished (httptools keeps a
        # trailer field until its line ends). Counted from the parser's last report, to
        # within a read.
        self._unparsed_bytes = 0 if self._parsed else self._unparsed_bytes + len(data)
        if self._trailer_bytes + self._unparsed_bytes > self._max_wire_header_bytes:
            self._refuse_trailers()

    def send_400_response(self, msg: str) -> None:
        # Called by uvicorn when httptools cannot parse the request.
        self._refuse(INVALID_HTTP_REQUEST())

    # -- parser callbacks --------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._finished:
            return
        super().on_message_begin()
        self._awaiting_head = True
        self._message_started = True
        self._arm_head_timer()

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._finished:
            return
        self._parsed = True
        if self._awaiting_head:
            super().on_header(name, value)
            return
        # A trailer field (uvicorn would add it to the head's headers, which the
        # application holds): counted against the head's cap, not kept.
        self._trailer_bytes += len(name) + len(value)
        if self._trailer_bytes > self.limits.max_header_bytes:
            self._refuse_trailers()

    def on_headers_complete(self) -> None:
        if self._finished:
            return
        self._parsed = True
        self._cancel_head_timer()
        self._awaiting_head = False
        self._head_bytes = 0
        self._trailer_bytes = 0
        self._unparsed_bytes = 0
        limits = self.limits
        if len(self.url) > MAX_TARGET_BYTES:
            self._refuse(URI_TOO_LONG({"max_bytes": MAX_TARGET_BYTES}))
            return
        if sum(len(name) + len(value) for name, value in self.headers) > limits.max_header_bytes:
            self._refuse(HEADERS_TOO_LARGE({"max_bytes": limits.max_header_bytes}))
            return
        cap = self.max_connections
        if cap is not None and (len(self.connections) > cap or len(self.tasks) >= cap):
            self.logger.warning("more than %d connections: refused", cap)
            self._refuse(SERVICE_UNAVAILABLE(headers={"retry-after": RETRY_AFTER_SECONDS}))
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._finished:
            self._parsed = True
            super().on_body(body)

    def on_chunk_header(self) -> None:
        self._parsed = True

    def on_chunk_complete(self) -> None:
        self._parsed = True

    def on_message_complete(self) -> None:
        if self._finished:
            return
        self._parsed = True
        self._cancel_body_timer()
        super().on_message_complete()
        self._awaiting_head = True
        self._message_started = False
        self._head_bytes = 0
        self.url = b""  # so the next head's target is counted from nothing

    # -- responses ---------------------------------------------------------------

    def on_response_complete(self) -> None:
        answered_all = not self.pipeline
        super().on_response_complete()
        if self._close_when_answered and answered_all:
            self.transport.close()
        if self.transport.is_closing() or self._finished:
            return
        cycle = self.cycle
        if cycle is not None and cycle.response_complete and cycle.more_body:
            # Answered before its body arrived (uvicorn would keep the connection alive,
            # each byte of the body restarting the idle timer): this connection serves
            # no further request. The client sees its end at once; the rest of the body
            # is dropped until the body deadline, then the connection is closed
            # (closing now, with bytes unread, could reset it before the answer is read).
            self._finished = True
            self._unset_keepalive_if_required()
            self._cancel_head_timer()
            self._arm_body_timer()
            if self.transport.can_write_eof():
                self.transport.write_eof()
        elif self._head_deadline_postponed:
            # uvicorn reads again: the head it kept waiting has its whole deadline.
            self._head_deadline_postponed = False
            self._cancel_head_timer()
            self._arm_head_timer()

    # -- limits ------------------------------------------------------------------

    @property
    def _max_wire_header_bytes(self) -> int:
        return self.limits.max_header_bytes + HEAD_MARGIN_BYTES

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_started = self.loop.time()
            self._head_timer = self.loop.call_later(self.limits.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _arm_body_timer(self) -> None:
        """The body deadline: from the end of the head (the read that completed it)."""
        if self._body_timer is None:
            self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_timed_out)

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self._finished:
            return
        if self.flow.read_paused and self._response_in_progress():
            # uvicorn stopped reading until it has answered earlier pipelined requests:
            # the rest of this head may be waiting unread. Not the client's delay.
            self._head_deadline_postponed = True
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

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            self.transport.close()  # answered already: the rest of the body is not wanted
            return
        # The application is still to answer; one that reads the body answers for itself
        # (the API handler: 408). The connection ends with that answer, or without it
        # one BODY_TIMEOUT later.
        cycle.keep_alive = False
        self._body_timer = self.loop.call_later(self.limits.body_timeout, self.transport.close)

    def _response_in_progress(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    # -- refusals ----------------------------------------------------------------

    def _refuse(self, error: ApiError) -> None:
        """Answer ``error`` and close, or close once the response under way is sent."""
        self._finished = True
        self._cancel_head_timer()
        self._cancel_body_timer()
        if self._response_in_progress():
            # The previous request of a pipeline is still being answered: no answer may
            # cut into it. Read nothing more; uvicorn closes once it is sent.
            self.cycle.keep_alive = False
            self.flow.pause_reading()
            return
        self._answer_and_close(error)

    def _refuse_trailers(self) -> None:
        """Refuse the request whose head is complete for what followed it beyond the cap:
        431 if nothing is answered yet, else read nothing more and close after the answers."""
        self._finished = True
        self._cancel_head_timer()
        cycle = self.cycle
        if cycle is None:  # not answered by uvicorn (an upgrade): nothing to answer
            self.transport.close()
            return
        queued = [entry for entry in self.pipeline if entry[0] is cycle]
        if queued:
            # Behind answers under way, to earlier requests: no answer may cut into them.
            # This request is dropped; the connection ends after them.
            self._cancel_body_timer()
            self.pipeline.remove(queued[0])
            self._close_when_answered = True
            self.flow.pause_reading()
        elif cycle.response_started:
            # The application is answering: read nothing more (the body deadline still
            # runs); uvicorn closes once the answer is sent.
            cycle.keep_alive = False
            self.flow.pause_reading()
        else:
            self._cancel_body_timer()
            cycle.disconnected = True  # the application's answer is not to be sent
            cycle.message_event.set()
            self._answer_and_close(HEADERS_TOO_LARGE({"max_bytes": self.limits.max_header_bytes}))

    def _answer_and_close(self, error: ApiError) -> None:
        request_id = request_id_from_headers(self.headers if self._message_started else ())
        response = error_response(error, request_id)
        content = [STATUS_LINE[response.status_code]]
        headers = [*self.server_state.default_headers, *response.raw_headers]
        for name, value in headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"connection: close\r\n\r\n", bytes(response.body)])
        self.transport.write(b"".join(content))
        self.transport.close()
        self._log_refusal(request_id, response.status_code)

    def _log_refusal(self, request_id: str, status: int) -> None:
        """The request log line of a refusal: as the API handler's, with what is known
        of the request (never a header's value)."""
        if not request_log.isEnabledFor(logging.INFO):
            return
        head_complete = self._message_started and not self._awaiting_head
        forwarded: list[str] = []
        if head_complete:
            header = self.limits.proxies.header.encode("latin-1")
            forwarded = [value.decode("latin-1") for name, value in self.headers if name == header]
        request_log.info(
            "request",
            extra={
                "request_id": request_id,
                "method": self._method(),
                "path": self._path(head_complete),
                "status": status,
                "duration_ms": round((self.loop.time() - self._head_started) * 1000, 3),
                "client": self.limits.proxies.client_address(
                    self.client[0] if self.client else None, forwarded
                ),
                "identity": None,
            },
        )

    def _method(self) -> str | None:
        """The request's method, once the parser has read it (the target follows it)."""
        if not (self._message_started and self.url):
            return None
        method: bytes = self.parser.get_method()
        return method.decode("ascii", "replace")

    def _path(self, head_complete: bool) -> str | None:
        """The request's path as the application would see it, once its target is whole."""
        target_complete = head_complete or (self._message_started and bool(self.headers))
        if not target_complete or not self.url or len(self.url) > MAX_TARGET_BYTES:
            return None
        try:
            raw_path = httptools.parse_url(self.url).path
            path = raw_path.decode("ascii") if raw_path is not None else None
        except (httptools.HttpParserError, UnicodeDecodeError):
            return None
        if path is None:
            return None
        return urllib.parse.unquote(path) if "%" in path else path
