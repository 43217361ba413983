"""Slow and greedy clients on raw sockets against the real server (S3, K1, K2).

A request head must arrive whole within HEAD_TIMEOUT, whether the connection is
new and silent, trickles a byte at a time, or comes back after a response; a head
is capped while it arrives, for every path, so huge unterminated headers cost the
server almost nothing; a body must arrive whole within BODY_TIMEOUT, and one still
trickling after its request was answered ends the connection by then; MAX_CONNECTIONS
is answered 503 with the error envelope; IDLE_TIMEOUT closes a kept-alive connection.
Refusals and malformed requests are answered with the error envelope and an
X-Request-Id.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

import pytest

from tests.integration.helpers import envelope, exchange
from tests.integration.server import HOST, RunningServer, ServerFactory
from tests.support.api import PATH
from tests.support.world import ACME_TOKEN, World

pytestmark = pytest.mark.slow

HEAD_TIMEOUT = 1.0
IDLE_TIMEOUT = 0.5
BODY_TIMEOUT = 2.0
# Generous for a busy machine, yet far below what an unguarded server allows (for ever).
SLACK = 1.5
MIB = 1024 * 1024


@pytest.fixture
def server(start_server: ServerFactory) -> RunningServer:
    return start_server(
        env={
            "KATAPULT_IPAM_HEAD_TIMEOUT": str(HEAD_TIMEOUT),
            "KATAPULT_IPAM_IDLE_TIMEOUT": str(IDLE_TIMEOUT),
            "KATAPULT_IPAM_BODY_TIMEOUT": str(BODY_TIMEOUT),
        }
    )


def connect(server: RunningServer, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection((HOST, server.port), timeout=timeout)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a reset counts as a close)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split(" ")[1]), headers, body


def refusal(raw: bytes, status: int, code: str) -> dict[str, str]:
    """Assert ``raw`` is one answer ``status``/``code`` in the envelope; its headers."""
    assert raw, "the connection closed without an answer"
    got, headers, body = parse(raw)
    assert got == status, raw[:300]
    assert envelope(got, headers, body)["code"] == code
    assert headers["connection"] == "close"
    assert headers["x-request-id"]
    return headers


def trickle(sock: socket.socket, head: bytes, deadline: float) -> bytes:
    """Send ``head`` a byte every 10 ms until the server answers or closes; its answer."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(0.01)
    received = b""
    for byte in head:
        if time.monotonic() > deadline:
            break
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            break
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    sock.settimeout(5.0)
    return received + read_until_closed(sock)


def vm_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


T = TypeVar("T")


def eventually(attempt: Callable[[], T], done: Callable[[T], bool], within: float = 5.0) -> T:
    """``attempt()`` again until ``done`` with its result or ``within`` seconds; the last."""
    deadline = time.monotonic() + within
    while True:
        result = attempt()
        if done(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.02)


def trickle_body(sock: socket.socket, head: bytes, limit: float) -> tuple[bytes, float]:
    """Send ``head``, then a body byte every 0.25 s, reading all the while, until the
    server has closed the connection or ``limit`` seconds; its answer and the seconds
    from the head to the close (a send fails the second time after it)."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(head)
    started = time.monotonic()
    sock.settimeout(0.25)
    answer = b""
    ended = False  # the server has ended its side: nothing more to read
    while time.monotonic() - started < limit:
        try:
            sock.sendall(b"a")
        except OSError:
            break
        if ended:
            time.sleep(0.25)
            continue
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            break
        answer += chunk
        ended = not chunk
    return answer, time.monotonic() - started


# -- the head deadline ---------------------------------------------------------------


def test_s3_a_new_connection_that_sends_nothing_is_closed(server: RunningServer) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        assert read_until_closed(sock) == b""  # closed without an answer: nothing was asked
        assert time.monotonic() - started < HEAD_TIMEOUT + SLACK


def test_s3_a_head_trickled_a_byte_at_a_time_is_refused_in_time(server: RunningServer) -> None:
    head = b"GET /livez HTTP/1.1\r\nX-Request-Id: slow-1\r\nX-Padding: " + b"a" * 500
    with connect(server) as sock:
        started = time.monotonic()
        answer = trickle(sock, head, deadline=started + HEAD_TIMEOUT + 3 * SLACK)
        assert time.monotonic() - started < HEAD_TIMEOUT + SLACK
    headers = refusal(answer, 408, "request_timeout")
    assert headers["x-request-id"] == "slow-1"


def test_s3_the_next_head_on_a_kept_alive_connection_has_the_same_deadline(
    server: RunningServer,
) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_responses(sock, 1)[0][0] == 200
        # The first byte of the next request stops the idle timer: the head deadline rules.
        started = time.monotonic()
        answer = trickle(
            sock, b"GET /livez HTTP/1.1\r\nX-A: " + b"a" * 500, started + HEAD_TIMEOUT + 3 * SLACK
        )
        assert time.monotonic() - started < HEAD_TIMEOUT + SLACK
    refusal(answer, 408, "request_timeout")


def test_s3_an_idle_kept_alive_connection_is_closed_after_idle_timeout(
    server: RunningServer,
) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_responses(sock, 1)[0][0] == 200
        started = time.monotonic()
        assert read_until_closed(sock) == b""
        assert time.monotonic() - started < IDLE_TIMEOUT + SLACK


def test_s3_many_silent_connections_all_go(server: RunningServer) -> None:
    with ExitStack() as stack:
        socks = [stack.enter_context(connect(server)) for _ in range(50)]
        started = time.monotonic()
        for sock in socks:
            assert read_until_closed(sock) == b""
        assert time.monotonic() - started < HEAD_TIMEOUT + SLACK
    with connect(server) as sock:  # and the server serves on
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_until_closed(sock).startswith(b"HTTP/1.1 200")


# -- the body deadline -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "authenticated"),
    [
        ("/livez", False),  # answered 404 at once, the body never read
        ("/nowhere", False),
        (PATH, False),  # refused before the body is read
        (PATH, True),  # read by the API handler, which answers 408 itself
    ],
)
def test_a_body_trickled_a_byte_at_a_time_ends_its_connection_in_time(
    server: RunningServer, world: World, path: str, authenticated: bool
) -> None:
    authorization = f"Authorization: Bearer {ACME_TOKEN}\r\n" if authenticated else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\n{authorization}"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
    ).encode()
    with connect(server) as sock:
        answer, held = trickle_body(sock, head, limit=BODY_TIMEOUT + 3 * SLACK)
    assert held < BODY_TIMEOUT + SLACK, f"held {held:.1f} s"
    status, headers, _ = parse(answer)
    if authenticated:
        refusal(answer, 408, "request_timeout")
    else:
        assert status in (400, 401, 403, 404), answer[:300]
    assert headers["x-request-id"]


# -- the head cap ----------------------------------------------------------------------


def send_until_answered(sock: socket.socket, data: bytes, chunk: int = 16384) -> bytes:
    """Send ``data`` in chunks, looking for an answer after each; the answer."""
    for start in range(0, len(data), chunk):
        try:
            sock.sendall(data[start : start + chunk])
        except OSError:
            break
        readable, _, _ = select.select([sock], [], [], 0.02)
        if readable:
            break
    return read_until_closed(sock)


def test_s3_a_2_mib_header_on_an_unknown_route_is_refused_while_it_arrives(
    server: RunningServer,
) -> None:
    head = b"GET /nowhere HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (2 * MIB) + b"\r\n\r\n"
    with connect(server) as sock:
        answer = send_until_answered(sock, head)
    headers = refusal(answer, 431, "request_header_fields_too_large")
    assert json.loads(parse(answer)[2])["detail"] == {"max_bytes": 16384}
    assert headers["content-type"] == "application/json"


@pytest.mark.parametrize("path", ["/livez", "/nowhere", PATH])
def test_s3_a_complete_head_over_the_cap_is_refused_for_every_path(
    server: RunningServer, path: str
) -> None:
    # 20 KB arrives in one read: the complete head is counted exactly, before any routing.
    raw = f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * 20000}\r\n\r\n".encode()
    status, headers, body = exchange(server, raw)
    assert status == 431
    assert envelope(status, headers, body)["code"] == "request_header_fields_too_large"


def test_s3_a_request_target_over_64_kib_is_refused(server: RunningServer) -> None:
    raw = b"GET /livez?" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    with connect(server) as sock:
        answer = send_until_answered(sock, raw)
    refusal(answer, 414, "uri_too_long")


def test_s3_heads_within_the_limits_still_pass(server: RunningServer, world: World) -> None:
    # A long target, headers just under the cap, and a body in the same packets as the
    # head: only the head is counted.
    long_target = exchange(server, b"GET /livez?" + b"a" * 60000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert long_target[0] == 200
    body = json.dumps(
        {
            "virtual_machine": {"id": world.vm("web-1")},
            "ip_address": {"address": "192.0.2.10"},
            "padding": "p" * 60000,
        }
    ).encode()
    raw = (
        f"POST {PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ACME_TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"X-Padding: {'a' * 15000}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    status, _, answer = exchange(server, raw)
    assert status == 200, answer[:300]


def test_s3_unterminated_huge_headers_do_not_grow_the_server(server: RunningServer) -> None:
    pid = server.pid  # one worker: uvicorn serves in the leader
    exchange(server, b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    before = vm_rss_kib(pid)
    chunk = b"a" * 65536
    sent = [0] * 4

    def flood(index: int, sock: socket.socket) -> None:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: ")
        try:
            while sent[index] < 30 * MIB:
                sock.sendall(chunk)
                sent[index] += len(chunk)
        except OSError:
            return  # refused and closed

    with ExitStack() as stack:
        socks = [stack.enter_context(connect(server, timeout=10.0)) for _ in range(4)]
        threads = [threading.Thread(target=flood, args=(i, s)) for i, s in enumerate(socks)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        grown = vm_rss_kib(pid) - before  # with the connections still open
    assert grown < 16 * 1024, f"the server grew by {grown} KiB"
    assert max(sent) < 16 * MIB, sent  # refused early: only socket buffers took the rest
    status, _, _ = exchange(server, b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200


def test_n1_endless_chunked_trailers_are_refused_and_do_not_grow_the_server(
    server: RunningServer,
) -> None:
    # A whole body, then trailer fields of 1 MB each without end: counted against the
    # head's cap, never kept (uvicorn alone added each to the request's headers).
    pid = server.pid
    exchange(server, b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    before = vm_rss_kib(pid)
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ACME_TOKEN}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n"
    ).encode()
    trailer = b"X-T: " + b"a" * 1_000_000 + b"\r\n"
    sent = 0
    with connect(server, timeout=10.0) as sock:
        sock.sendall(head)
        deadline = time.monotonic() + 5.0
        answered = False
        while not answered and sent < 200 * MIB and time.monotonic() < deadline:
            for start in range(0, len(trailer), 65536):
                try:
                    sock.sendall(trailer[start : start + 65536])
                except OSError:
                    answered = True  # closed by the server
                    break
                sent += 65536
                if select.select([sock], [], [], 0)[0]:
                    answered = True
                    break
        grown = vm_rss_kib(pid) - before  # with the connection still open
        answer = read_until_closed(sock)
    refusal(answer, 431, "request_header_fields_too_large")
    assert grown < 16 * 1024, f"the server grew by {grown} KiB"
    assert sent < 16 * MIB, sent  # refused early: only socket buffers took the rest
    status, _, _ = exchange(server, b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200


# -- the connection cap ----------------------------------------------------------------


def test_s3_connections_over_the_cap_are_refused_503(start_server: ServerFactory) -> None:
    server = start_server(env={"KATAPULT_IPAM_MAX_CONNECTIONS": "3"})
    request = b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Request-Id: over-1\r\nConnection: close\r\n\r\n"
    with ExitStack() as stack:
        for _ in range(3):
            stack.enter_context(connect(server))

        def ask() -> bytes:
            with connect(server) as sock:
                sock.sendall(request)
                return read_until_closed(sock)

        # Answered 200 until the server has accepted the three.
        answer = eventually(ask, lambda answer: answer.startswith(b"HTTP/1.1 503"))
        headers = refusal(answer, 503, "service_unavailable")
        assert headers["retry-after"] == "5"
        assert headers["x-request-id"] == "over-1"
    # Refused until the server has seen the three go.
    served = eventually(lambda: exchange(server, request)[0], lambda status: status == 200)
    assert served == 200


# -- malformed requests and odd methods (K1, K2) ---------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /livez HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"GET /livez HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # TLS on the plain port
    ],
)
def test_k1_k2_malformed_requests_get_the_envelope_and_a_request_id(
    server: RunningServer, raw: bytes
) -> None:
    with connect(server) as sock:
        sock.sendall(raw)
        answer = read_until_closed(sock)
    refusal(answer, 400, "invalid_http_request")


@pytest.mark.parametrize(
    "raw",
    [
        b"TRACE /livez HTTP/1.1\r\nHost: x\r\n\r\n",
        b"PROPFIND /core/v1/virtual_machines/_/allocate_ip HTTP/1.1\r\nHost: x\r\n\r\n",
        b"CONNECT /core/v1/x HTTP/1.1\r\nHost: x\r\n\r\n",
        b"DELETE /nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
)
def test_k2_methods_outside_the_routes_are_route_not_found(
    server: RunningServer, raw: bytes
) -> None:
    status, headers, body = exchange(
        server, raw.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
    )
    assert status == 404
    assert envelope(status, headers, body)["code"] == "route_not_found"
    assert headers["x-request-id"]


# -- what held before must hold through the guard (probes 13, 14, 16, 18) ---------------


def read_responses(sock: socket.socket, count: int) -> list[tuple[int, dict[str, str], bytes]]:
    """``count`` responses with a Content-Length, read from one connection."""
    data = b""
    answers: list[tuple[int, dict[str, str], bytes]] = []
    while len(answers) < count:
        head, found, rest = data.partition(b"\r\n\r\n")
        if found:
            status, headers, _ = parse(head + found)
            length = int(headers.get("content-length", "0"))
            if len(rest) >= length:
                answers.append((status, headers, rest[:length]))
                data = rest[length:]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"closed after {len(answers)} answers"
        data += chunk
    return answers


def test_pipelined_and_kept_alive_requests_are_all_answered(server: RunningServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
        answers = read_responses(sock, 3)
        assert [status for status, _, _ in answers] == [200, 200, 200]
        assert len({headers["x-request-id"] for _, headers, _ in answers}) == 3
        for _ in range(500):
            sock.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_responses(sock, 1)[0][0] == 200


def test_http_1_0_chunked_and_expect_continue_still_work(
    server: RunningServer, world: World
) -> None:
    assert exchange(server, b"GET /livez HTTP/1.0\r\n\r\n")[0] == 200
    body = json.dumps(
        {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "192.0.2.10"}}
    ).encode()
    chunks = b"".join(b"1\r\n%s\r\n" % body[i : i + 1] for i in range(len(body)))
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ACME_TOKEN}\r\n"
        "Content-Type: application/json\r\nConnection: close\r\n"
    )
    chunked = (
        (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunks + b"0\r\nX-T: 1\r\n\r\n"
    )
    status, _, answer = exchange(server, chunked)
    assert status == 200, answer[:300]
    with connect(server) as sock:
        sock.sendall(f"{head}Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 100")
        sock.sendall(body)
        assert read_until_closed(sock).startswith(b"HTTP/1.1 200")
