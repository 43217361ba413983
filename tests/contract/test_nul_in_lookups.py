"""A lookup holding U+0000 names nothing: the documented 404, on every database.

PostgreSQL refuses NUL in text parameters (``psycopg.DataError``), which used to
come back as 500 ``unhandled_exception``; fixed in ``store/queries/``, with the
body cases in tests/api/test_allocate_ip.py. These are the other two places an
argument comes from (WIRE FACTS): the path segment and the query string.
"""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.support.api import PATH
from tests.support.world import World


def test_in_the_path_segment(client: TestClient, world: World) -> None:
    # The segment fills `virtual_machine[id]` when the body names no VM.
    before = world.snapshot()
    response = client.post(
        "/core/v1/virtual_machines/vm_%00/allocate_ip",
        json={"ip_address": {"address": "192.0.2.10"}},
    )
    assert (response.status_code, response.json()["error"]["code"]) == (
        404, "virtual_machine_not_found",
    ), response.text  # fmt: skip
    assert world.snapshot() == before


def test_in_the_query_string(client: TestClient, world: World) -> None:
    before = world.snapshot()
    response = client.post(
        PATH,
        params={"virtual_machine[id]": world.vm("web-1"), "ip_address[id]": "ip_\x00"},
    )
    assert (response.status_code, response.json()["error"]["code"]) == (
        404, "ip_address_not_found",
    ), response.text  # fmt: skip
    response = client.post(
        PATH,
        params={"virtual_machine[fqdn]": "a\x00b", "ip_address[address]": "192.0.2.10"},
    )
    assert (response.status_code, response.json()["error"]["code"]) == (
        404, "virtual_machine_not_found",
    ), response.text  # fmt: skip
    assert world.snapshot() == before
