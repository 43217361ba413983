"""Any JSON body, any query string: a documented answer, never a 500, nothing changed."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.api.test_allocate_ip import PATH
from tests.support.world import World

DOCUMENTED = {
    200: {None},
    400: {"invalid_json_body", "missing_required_argument", "invalid_argument"},
    404: {"virtual_machine_not_found", "ip_address_not_found"},
    406: {"object_in_trash"},
    422: {"ip_already_allocated", "no_interface_available"},
}

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
keys = st.sampled_from(["id", "fqdn", "address", "other"]) | st.text(max_size=5)
lookups = st.dictionaries(keys, scalars, max_size=3) | scalars | st.lists(scalars, max_size=2)
known_values = st.sampled_from(
    ["web-1.acme.example.net", "trashed.acme.example.net", "192.0.2.10", "192.0.2.11",
     "2001:db8:1::10", "198.51.100.10", "192.0.2.50", "", " ", "\u00e9", "::", "0.0.0.0", "a\x00"]  # noqa: S104
)  # fmt: skip
known_lookups = st.fixed_dictionaries({}, optional={"id": known_values, "fqdn": known_values,
                                                    "address": known_values})  # fmt: skip
bodies = st.fixed_dictionaries(
    {},
    optional={
        "virtual_machine": known_lookups | lookups,
        "ip_address": known_lookups | lookups,
        "extra": scalars,
    },
)


def code_of(response: Any) -> str | None:
    if response.status_code == 200:
        return None
    return str(response.json()["error"]["code"])


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_any_json_body(client: TestClient, world: World, body: dict[str, Any]) -> None:
    # The standard library writes integers of any size, which clients may send.
    response = client.post(PATH, content=json.dumps(body),
                           headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code in DOCUMENTED, response.text
    assert code_of(response) in DOCUMENTED[response.status_code], response.text


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_any_bytes_as_a_body(client: TestClient, world: World, raw: bytes) -> None:
    before = world.snapshot()
    response = client.post(PATH, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 404), response.text
    assert code_of(response) in DOCUMENTED[response.status_code]
    assert world.snapshot() == before


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.lists(st.tuples(st.text(max_size=30), st.text(max_size=30)), max_size=4))
def test_any_query_string(client: TestClient, world: World, query: list[tuple[str, str]]) -> None:
    response = client.post(PATH, params=query)
    assert response.status_code in DOCUMENTED, response.text
    assert code_of(response) in DOCUMENTED[response.status_code]
