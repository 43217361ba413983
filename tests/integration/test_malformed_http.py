"""Malformed and oversized requests on a raw socket: always an answer, never a 500.

Each request ends in a documented 4xx with the error envelope, and the store
is left exactly as it was.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.helpers import envelope, exchange
from tests.integration.server import RunningServer, ServerFactory
from tests.support.api import PATH
from tests.support.world import ACME_TOKEN, World

pytestmark = pytest.mark.slow


def request(body: bytes, *, content_type: str = "application/json", extra: str = "",
            length: int | None = None) -> bytes:  # fmt: skip
    size = len(body) if length is None else length
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ACME_TOKEN}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {size}\r\n{extra}"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


@pytest.fixture
def server(start_server: ServerFactory) -> RunningServer:
    return start_server()


def test_a_huge_declared_body_is_refused_unread(server: RunningServer, world: World) -> None:
    before = world.snapshot()
    status, headers, body = exchange(server, request(b"", length=50_000_000))
    assert status == 413
    assert envelope(status, headers, body)["code"] == "payload_too_large"
    assert world.snapshot() == before


def test_a_chunked_body_over_the_limit_is_refused(server: RunningServer, world: World) -> None:
    before = world.snapshot()
    chunk = b"x" * 32768
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)) + b"0\r\n\r\n"
    raw = (
        f"POST {PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ACME_TOKEN}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode() + chunks
    status, headers, body = exchange(server, raw)
    assert status == 413
    assert envelope(status, headers, body)["detail"] == {"max_bytes": 65536}
    assert world.snapshot() == before


BAD_BODIES = [
        (b'{"virtual_machine": {"id": "\xff\xfe"}}', "invalid_json_body"),  # not UTF-8
        (b"[" * 5000 + b"]" * 5000, "invalid_json_body"),  # nested past any sane depth
        (b'{"virtual_machine": ', "invalid_json_body"),
        (b"\x00\x01\x02", "invalid_json_body"),
        (b'{"virtual_machine": {"id": "a"}, "virtual_machine": {"fqdn": "b"}, '
         b'"ip_address": {"address": "192.0.2.10"}}', "virtual_machine_not_found"),
        (b'{"virtual_machine": {"fqdn": "w\xc3\xa9b-1.acme.example.net"}, '
         b'"ip_address": {"address": "192.0.2.10"}}', "virtual_machine_not_found"),
        (b'{"virtual_machine": {"fqdn": "web-1.acme.example.net"}, '
         b'"ip_address": {"address": "\xd9\xa1\xd9\xa9\xd9\xa2.0.2.10"}}', "ip_address_not_found"),
        (b'{"virtual_machine": {"fqdn": "web-1.acme.example.net"}, '
         b'"ip_address": {"address": "::ffff:192.0.2.10"}}', "ip_address_not_found"),
]  # fmt: skip


def test_bad_bodies(server: RunningServer, world: World) -> None:
    before = world.snapshot()
    for payload, code in BAD_BODIES:
        status, headers, body = exchange(server, request(payload))
        assert 400 <= status < 500, (payload[:60], status, body[:300])
        assert envelope(status, headers, body)["code"] == code, payload[:60]
    assert world.snapshot() == before


def test_other_content_types_are_not_read(server: RunningServer, world: World) -> None:
    payload = b'{"virtual_machine": {"id": "x"}, "ip_address": {"id": "y"}}'
    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""]:
        status, headers, body = exchange(server, request(payload, content_type=content_type))
        assert status == 400
        assert envelope(status, headers, body)["code"] == "missing_required_argument"


def test_very_long_header_values(server: RunningServer, world: World) -> None:
    before = world.snapshot()
    status, headers, body = exchange(server, request(b"{}", extra=f"X-Padding: {'a' * 40000}\r\n"))
    assert status == 431
    assert envelope(status, headers, body)["code"] == "request_header_fields_too_large"
    assert world.snapshot() == before


def test_a_body_that_never_arrives_times_out(start_server: ServerFactory, world: World) -> None:
    server = start_server(env={"KATAPULT_IPAM_BODY_TIMEOUT": "0.5"})
    status, headers, body = exchange(server, request(b'{"virtual', length=100))
    assert status == 408
    assert envelope(status, headers, body)["code"] == "request_timeout"


def test_the_allocation_still_works_afterwards(server: RunningServer, world: World) -> None:
    exchange(server, request(b"[" * 5000))
    payload = json.dumps(
        {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "192.0.2.10"}}
    ).encode()
    status, _, body = exchange(server, request(payload))
    assert status == 200, body
