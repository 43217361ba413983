"""Bytes outside ASCII in the request target, on the real server.

uvicorn's HTTP parsers (httptools, and h11 alike) refuse a request line holding
bytes outside ASCII before the application runs: a 400 ``invalid_http_request``
(the envelope written by ``katapult_ipam.transport``, not by the application).
Production's Puma passes such bytes on, and Rack reads them as UTF-8; the
application here reads them the same way should a server hand them over
(tests/api/test_fidelity.py), but uvicorn does not. Clients percent-encode
(Go's net/url, Ruby's URI, httpx), and that works. If this test starts failing
because the server lets raw bytes through, the application is already ready:
assert the 404 of the percent-encoded case instead.
"""

from __future__ import annotations

import pytest

from tests.integration.helpers import envelope, exchange
from tests.integration.server import RunningServer, ServerFactory
from tests.support.api import PATH
from tests.support.world import ACME_TOKEN, World

pytestmark = pytest.mark.slow


def post(target: bytes) -> bytes:
    return (
        b"POST " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer " + ACME_TOKEN.encode() + b"\r\n"
        b"Content-Length: 0\r\nConnection: close\r\n\r\n"
    )


@pytest.fixture
def server(start_server: ServerFactory) -> RunningServer:
    return start_server()


def test_raw_utf_8_in_the_query_is_refused_by_the_server(
    server: RunningServer, world: World
) -> None:
    before = world.snapshot()
    target = PATH.encode() + b"?virtual_machine[fqdn]=caf\xc3\xa9.example&ip_address[id]=x"
    status, headers, body = exchange(server, post(target))
    assert status == 400, body[:300]
    # The transport's answer: the application never saw the request.
    assert envelope(status, headers, body)["code"] == "invalid_http_request"
    assert world.snapshot() == before


def test_percent_encoded_utf_8_in_the_query_reaches_the_application(
    server: RunningServer, world: World
) -> None:
    before = world.snapshot()
    target = PATH.encode() + b"?virtual_machine[fqdn]=caf%C3%A9.example&ip_address[id]=x"
    status, headers, body = exchange(server, post(target))
    assert (status, envelope(status, headers, body)["code"]) == (404, "virtual_machine_not_found")
    assert world.snapshot() == before
