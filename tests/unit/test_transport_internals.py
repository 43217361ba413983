"""The uvicorn internals ``katapult_ipam.transport`` relies on, and its timers, without
a server.

``GuardedHttpToolsProtocol`` extends uvicorn's ``HttpToolsProtocol``: it overrides
its callbacks and reads its per-connection state. A uvicorn release that renames or
reshapes any of it must fail here, plainly, before the slow tests on a real server
(tests/adversarial/test_transport.py). The protocol is then driven on a fake
transport, with deadlines of a fraction of a second.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import uvicorn
from uvicorn.config import Config
from uvicorn.protocols.http import httptools_impl
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.server import ServerState

from katapult_ipam.auth.client_address import TrustedProxies
from katapult_ipam.transport import GuardedHttpToolsProtocol, TransportLimits

App = Callable[[Any, Any, Any], Awaitable[None]]


# -- the shape of what is extended --------------------------------------------------


def test_uvicorn_is_the_minor_version_the_transport_was_written_for() -> None:
    assert uvicorn.__version__.startswith("0.54."), (
        f"uvicorn {uvicorn.__version__}: katapult_ipam.transport extends 0.54's"
        " HttpToolsProtocol; review it against the new one, then this test"
    )


@pytest.mark.parametrize(
    ("method", "parameters"),
    [
        ("__init__", ["self", "config", "server_state", "app_state", "_loop"]),
        ("connection_made", ["self", "transport"]),
        ("connection_lost", ["self", "exc"]),
        ("data_received", ["self", "data"]),
        ("send_400_response", ["self", "msg"]),
        ("on_message_begin", ["self"]),
        ("on_url", ["self", "url"]),
        ("on_header", ["self", "name", "value"]),
        ("on_headers_complete", ["self"]),
        ("on_body", ["self", "body"]),
        ("on_message_complete", ["self"]),
        ("on_response_complete", ["self"]),
        ("_unset_keepalive_if_required", ["self"]),
        ("timeout_keep_alive_handler", ["self"]),
    ],
)
def test_the_overridden_and_called_methods_keep_their_signatures(
    method: str, parameters: list[str]
) -> None:
    found = getattr(HttpToolsProtocol, method, None)
    assert callable(found), f"uvicorn's HttpToolsProtocol has no {method}"
    assert list(inspect.signature(found).parameters) == parameters


def test_status_lines_are_there_for_the_refusals() -> None:
    for status, phrase in [
        (400, b"Bad Request"),
        (408, b"Request Timeout"),
        (414, b"Request-URI Too Long"),
        (431, b"Request Header Fields Too Large"),
        (503, b"Service Unavailable"),
    ]:
        assert STATUS_LINE[status] == b"HTTP/1.1 %d %s\r\n" % (status, phrase)


def test_the_per_connection_state_has_the_expected_shape() -> None:
    async def scenario() -> None:
        protocol, transport = connection(answer(200))
        assert isinstance(protocol.config, Config)
        assert protocol.loop is asyncio.get_running_loop()
        assert isinstance(protocol.logger, logging.Logger)
        assert protocol.server_state.default_headers == []
        assert protocol.connections is protocol.server_state.connections
        assert protocol.tasks is protocol.server_state.tasks
        assert protocol in protocol.connections
        assert isinstance(protocol.pipeline, deque)
        assert isinstance(protocol.flow, FlowControl)
        assert protocol.flow.read_paused is False
        assert callable(protocol.flow.pause_reading)
        assert callable(protocol.flow.resume_reading)
        assert protocol.client == ("192.0.2.7", 5000)
        assert protocol.timeout_keep_alive == 5
        assert protocol.timeout_keep_alive_task is None
        assert protocol.cycle is None
        # uvicorn's own connection cap is off: the transport answers it.
        assert protocol.limit_concurrency is None
        assert protocol.max_connections == 10

        protocol.data_received(b"POST /x?q=1 HTTP/1.1\r\nX-A: b\r\nContent-Length: 2\r\n\r\n")
        assert protocol.url == b"/x?q=1"
        assert protocol.headers == [(b"x-a", b"b"), (b"content-length", b"2")]
        assert protocol.parser.get_method() == b"POST"
        cycle = protocol.cycle
        assert isinstance(cycle, RequestResponseCycle)
        assert cycle.more_body is True
        assert cycle.response_complete is False
        assert cycle.response_started is False
        assert cycle.disconnected is False
        assert isinstance(cycle.message_event, asyncio.Event)
        assert cycle.keep_alive is True
        assert len(protocol.tasks) == 1
        protocol.data_received(b"ab")
        assert cycle.more_body is False
        await until(lambda: cycle.response_complete)
        assert transport.written.startswith(b"HTTP/1.1 200 OK\r\n")
        assert protocol.timeout_keep_alive_task is not None  # armed by on_response_complete

    asyncio.run(scenario())


def test_a_request_behind_one_in_progress_is_queued_and_reading_paused() -> None:
    async def scenario() -> None:
        protocol, transport = connection(answer(200, delay=0.05))
        protocol.data_received(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
        assert len(protocol.pipeline) == 1
        assert protocol.flow.read_paused
        assert not transport.reading
        await until(lambda: transport.written.count(b"HTTP/1.1 200") == 2)
        assert not protocol.flow.read_paused

    asyncio.run(scenario())


# -- the guard's timers ----------------------------------------------------------------

HEAD_TIMEOUT = 0.2
BODY_TIMEOUT = 0.3
POST_1000 = b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"


def test_an_early_answer_ends_the_connection_by_the_body_deadline() -> None:
    async def scenario() -> None:
        protocol, transport = connection(answer(404))
        protocol.data_received(POST_1000 + b"a")
        await until(lambda: transport.written.startswith(b"HTTP/1.1 404"))
        assert transport.eof  # the client is told at once: no further request here
        for _ in range(5):  # the rest of the body is dropped, and restarts no timer
            await asyncio.sleep(BODY_TIMEOUT / 10)
            protocol.data_received(b"a")
        assert protocol.timeout_keep_alive_task is None
        await until(lambda: transport.closing, within=BODY_TIMEOUT)
        assert transport.written.count(b"HTTP/1.1") == 1

    asyncio.run(scenario())


def test_a_body_still_read_at_the_deadline_ends_with_the_answer() -> None:
    async def reads_then_408(scope: Any, receive: Any, send: Any) -> None:
        try:
            async with asyncio.timeout(BODY_TIMEOUT * 1.5):
                while (await receive()).get("more_body"):
                    pass
        except TimeoutError:
            await send_answer(send, 408)

    async def scenario() -> None:
        protocol, transport = connection(reads_then_408)
        protocol.data_received(POST_1000 + b"a")
        await asyncio.sleep(BODY_TIMEOUT * 1.2)
        assert not transport.closing
        assert protocol.cycle.keep_alive is False
        await until(lambda: transport.closing, within=BODY_TIMEOUT)
        status, _, rest = transport.written.partition(b"\r\n")
        assert status == b"HTTP/1.1 408 Request Timeout"
        assert b"connection: close\r\n" in rest

    asyncio.run(scenario())


def test_an_application_that_neither_reads_nor_answers_loses_the_connection() -> None:
    async def never(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(60)

    async def scenario() -> None:
        protocol, transport = connection(never)
        protocol.data_received(POST_1000)
        await until(lambda: transport.closing, within=2 * BODY_TIMEOUT + 0.2)
        assert transport.written == b""
        for task in list(protocol.tasks):
            task.cancel()

    asyncio.run(scenario())


def test_a_whole_body_in_time_keeps_the_connection() -> None:
    async def scenario() -> None:
        protocol, transport = connection(answer(200, read_body=True))
        protocol.data_received(POST_1000)
        await asyncio.sleep(BODY_TIMEOUT / 2)
        protocol.data_received(b"a" * 1000)
        await until(lambda: transport.written.startswith(b"HTTP/1.1 200"))
        await asyncio.sleep(BODY_TIMEOUT)
        assert not transport.closing
        assert not transport.eof

    asyncio.run(scenario())


def test_a_pipelined_head_is_not_timed_while_uvicorn_does_not_read() -> None:
    slow = HEAD_TIMEOUT * 1.5  # each answer: the first two outlast the head deadline

    async def scenario() -> None:
        protocol, transport = connection(answer(200, delay=slow))
        third = b"GET /c HTTP/1.1\r\nHost: x\r\n\r\n"
        protocol.data_received(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n" + third[:10])
        assert not transport.reading  # the rest of the third head waits in the socket
        await until(lambda: transport.reading, within=2 * slow)
        protocol.data_received(third[10:])
        await until(lambda: transport.written.count(b"HTTP/1.1 ") == 3, within=4 * slow)
        assert transport.written.count(b"HTTP/1.1 200") == 3, transport.written

    asyncio.run(scenario())


def test_a_head_trickled_after_an_answer_still_has_its_deadline() -> None:
    async def scenario() -> None:
        protocol, transport = connection(answer(200))
        protocol.data_received(b"GET /a HTTP/1.1\r\n\r\n")
        await until(lambda: transport.written.startswith(b"HTTP/1.1 200"))
        protocol.data_received(b"GET /b HTTP/1.1\r\nX-Request-Id: t-1\r\nX-")
        await until(lambda: transport.closing, within=HEAD_TIMEOUT + 0.2)
        assert b"HTTP/1.1 408 Request Timeout\r\n" in transport.written
        assert b"x-request-id: t-1\r\n" in transport.written

    asyncio.run(scenario())


# -- trailers ----------------------------------------------------------------------------

CHUNKED = b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n"


def test_small_trailers_pass_and_are_not_added_to_the_headers() -> None:
    async def scenario() -> None:
        protocol, transport = connection(answer(200, read_body=True))
        protocol.data_received(CHUNKED + b"X-T: 1\r\n\r\n")
        await until(lambda: transport.written.startswith(b"HTTP/1.1 200"))
        assert protocol.headers == [(b"host", b"x"), (b"transfer-encoding", b"chunked")]
        assert not transport.closing

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "trailer",
    [b"X-T: " + b"a" * 100 + b"\r\n", b"a" * 100],  # whole fields; one line never ended
    ids=["fields", "unfinished-line"],
)
def test_trailers_over_the_cap_are_refused_431_before_the_answer(trailer: bytes) -> None:
    async def scenario() -> None:
        protocol, transport = connection(answer(200, read_body=True), max_header_bytes=256)
        protocol.data_received(CHUNKED + (b"X-T: " if trailer.startswith(b"a") else b""))
        head_headers = list(protocol.headers)
        for _ in range(1000):
            if transport.closing:
                break
            protocol.data_received(trailer)
        assert transport.closing
        assert transport.written.startswith(b"HTTP/1.1 431 Request Header Fields Too Large")
        assert protocol.headers == head_headers
        await asyncio.sleep(0.05)  # the application sees the connection gone; no 200
        assert transport.written.count(b"HTTP/1.1") == 1
        assert not protocol.tasks

    asyncio.run(scenario())


def test_trailers_over_the_cap_behind_an_answer_under_way_end_the_connection_after_it() -> None:
    async def scenario() -> None:
        protocol, transport = connection(answer(200, delay=0.05), max_header_bytes=256)
        trailers = b"X-T: " + b"a" * 300 + b"\r\n\r\n"
        protocol.data_received(b"GET /a HTTP/1.1\r\n\r\n" + CHUNKED + trailers)
        assert not protocol.pipeline  # the second request is dropped, not queued
        assert not transport.closing
        await until(lambda: transport.closing)
        assert transport.written.startswith(b"HTTP/1.1 200")
        assert transport.written.count(b"HTTP/1.1") == 1

    asyncio.run(scenario())


# -- the refusals' log -----------------------------------------------------------------


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize(
    ("raw", "method", "path", "status"),
    [
        (b"GET /li%76ez?secret=1 HTTP/1.1\r\nBad Header\r\n\r\n", "GET", "/livez", 400),
        (b"GET /livez?secret=1 HTTP/1.1\r\nX-A: 1\r\n", "GET", "/livez", 408),
        (b"PUT /x?q=1 HTTP/1.1\r\nX-Big: " + b"s" * 300 + b"\r\n\r\n", "PUT", "/x", 431),
        (b"\x16\x03\x01\x02\x00", None, None, 400),
    ],
)
def test_a_refusal_is_logged_as_a_request(
    raw: bytes, method: str | None, path: str | None, status: int
) -> None:
    handler = Records()
    logger = logging.getLogger("katapult_ipam.api")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    headers = b"X-Request-Id: r-1\r\nX-Forwarded-For: 198.51.100.1\r\n"
    raw = raw.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\n" + headers, 1)

    async def scenario() -> None:
        protocol, transport = connection(answer(200), max_header_bytes=256)
        protocol.data_received(raw)
        await until(lambda: transport.closing, within=HEAD_TIMEOUT + 0.2)
        assert transport.written.startswith(b"HTTP/1.1 %d" % status)

    try:
        asyncio.run(scenario())
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    [record] = handler.records
    assert record.getMessage() == "request"
    logged = vars(record)
    fields = {k: logged.get(k, "-") for k in ("method", "path", "status", "identity")}
    assert fields == {"method": method, "path": path, "status": status, "identity": None}
    assert isinstance(logged["request_id"], str)
    if method is not None:
        assert logged["request_id"] == "r-1"
    # The peer is a trusted proxy: the client is whom it names, once the head is whole.
    assert logged["client"] == ("198.51.100.1" if status == 431 else "192.0.2.7")
    assert not any("secret" in str(v) or "sss" in str(v) for v in logged.values())


# -- helpers -----------------------------------------------------------------------------


class FakeTransport(asyncio.Transport):
    """What the protocol writes, whether it reads, and whether it closed."""

    def __init__(self) -> None:
        super().__init__()
        self.protocol: asyncio.Protocol | None = None
        self.written = bytearray()
        self.reading = True
        self.closing = False
        self.eof = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        addresses = {"peername": ("192.0.2.7", 5000), "sockname": ("192.0.2.1", 8080)}
        return addresses.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closing, "written after the close"
        assert not self.eof, "written after the end of writing"
        self.written += data

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            assert self.protocol is not None
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_reading(self) -> bool:
        return self.reading


def connection(
    app: App, *, max_header_bytes: int = 16384
) -> tuple[GuardedHttpToolsProtocol, FakeTransport]:
    config = Config(app=app, lifespan="off", log_config=None, ws="none", limit_concurrency=10)
    limits = TransportLimits(
        head_timeout=HEAD_TIMEOUT,
        body_timeout=BODY_TIMEOUT,
        max_header_bytes=max_header_bytes,
        proxies=TrustedProxies(["192.0.2.0/24"]),
    )
    protocol = GuardedHttpToolsProtocol(config, ServerState(), {}, limits=limits)
    transport = FakeTransport()
    transport.protocol = protocol
    protocol.connection_made(transport)
    return protocol, transport


def answer(status: int, delay: float = 0.0, read_body: bool = False) -> App:
    """An application that answers ``status`` after ``delay`` (having read the body)."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while read_body and (await receive()).get("more_body"):
            pass
        await asyncio.sleep(delay)
        await send_answer(send, status)

    return app


async def send_answer(send: Any, status: int) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


async def until(condition: Callable[[], bool], within: float = 1.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not in time"
        await asyncio.sleep(0.005)


def test_the_module_under_test_is_uvicorns() -> None:
    assert GuardedHttpToolsProtocol.__mro__[1] is httptools_impl.HttpToolsProtocol
