"""Any JSON body, any query string: a documented answer, never a 500, nothing changed.

Hypothesis runs every example of a test against one database and one app (a
function-scoped fixture): a fresh database per example would cost more than the
examples. That is safe because every example starts from the loaded inventory and
ends in it: a refusal must leave the store as it was, and a 200 (an allocation) must
change nothing but the allocation, which ``undo_allocations`` then takes back; each
example checks both (``back_to_loaded``). So no example's outcome depends on an
earlier one, and a failure replays and shrinks alone. The rate limit is set out of
reach for the same reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update
from starlette.testclient import TestClient

from katapult_ipam.app import create_app
from katapult_ipam.config import Settings
from katapult_ipam.store import models as m
from tests.support.api import PATH, bearer
from tests.support.world import ACME_TOKEN, World

DOCUMENTED: dict[int, set[str | None]] = {
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
any_bodies = st.fixed_dictionaries(
    {},
    optional={
        "virtual_machine": known_lookups | lookups,
        "ip_address": known_lookups | lookups,
        "extra": scalars,
    },
)
# Well-formed bodies naming the standard world's objects (and others), so about half the
# examples get past the arguments to the store: 200s, 404s, 406s and 422s.
vm_names = st.sampled_from(
    ["web-1.acme.example.net", "WEB-2.acme.example.net", "multi.acme.example.net",
     "no-nic.acme.example.net", "trashed.acme.example.net", "app-1.globex.example.net"]
) | known_values  # fmt: skip
ip_names = st.sampled_from(
    ["192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13", "2001:DB8:1::10", "198.51.100.10",
     "203.0.113.5", "192.0.2.50", "192.0.2.200"]
) | known_values  # fmt: skip
named_bodies = st.fixed_dictionaries(
    {
        "virtual_machine": st.fixed_dictionaries({"fqdn": vm_names}),
        "ip_address": st.fixed_dictionaries({"address": ip_names}),
    },
    optional={"extra": scalars},
)
bodies = named_bodies | any_bodies


def code_of(response: Any) -> str | None:
    if response.status_code == 200:
        return None
    return str(response.json()["error"]["code"])


@dataclass(frozen=True)
class Loaded:
    """The store as loaded: where every example starts and ends."""

    snapshot: dict[str, list[tuple[Any, ...]]]
    allocated: frozenset[str]  # the ids of the addresses the inventory allocates


@pytest.fixture
def loaded(world: World) -> Loaded:
    ip = m.IPAddress.__table__
    with world.engine.connect() as c:
        allocated = c.execute(select(ip.c.id).where(ip.c.allocation_id.is_not(None))).scalars()
        return Loaded(world.snapshot(), frozenset(allocated))


@pytest.fixture
def fuzz_client(settings: Settings, world: World) -> Iterator[TestClient]:
    """The ``client``, with a rate limit no run of examples (shrinking included) reaches."""
    unlimited = settings.model_copy(update={"rate_limit_per_minute": 10**9})
    with TestClient(create_app(unlimited), raise_server_exceptions=False) as client:
        client.headers.update(bearer(ACME_TOKEN))
        yield client


def undo_allocations(world: World, loaded: Loaded) -> None:
    """Free the addresses the examples allocated, and forget their audit entries."""
    ip = m.IPAddress
    with world.engine.begin() as c:
        c.execute(delete(m.AllocationEvent))
        c.execute(
            update(ip)
            .where(ip.allocation_id.is_not(None), ip.id.not_in(loaded.allocated))
            .values(allocation_type=None, allocation_id=None, network_interface_id=None,
                    allocated_at=None)
        )  # fmt: skip


def back_to_loaded(world: World, loaded: Loaded, response: Any) -> None:
    """Return the store to the loaded inventory for the next example; assert that the
    example changed nothing, or (a 200) nothing but an allocation."""
    changed = world.snapshot() != loaded.snapshot
    undo_allocations(world, loaded)  # first, so a failure here leaves no later example dirty
    assert not changed or response.status_code == 200, (
        f"a refusal changed the store: {response.text}"
    )
    assert world.snapshot() == loaded.snapshot, "the example changed more than an allocation"


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_any_json_body(
    fuzz_client: TestClient, world: World, loaded: Loaded, body: dict[str, Any]
) -> None:
    # The standard library writes integers of any size, which clients may send.
    response = fuzz_client.post(PATH, content=json.dumps(body),
                                headers={"Content-Type": "application/json"})  # fmt: skip
    back_to_loaded(world, loaded, response)
    assert response.status_code in DOCUMENTED, response.text
    assert code_of(response) in DOCUMENTED[response.status_code], response.text


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_any_bytes_as_a_body(
    fuzz_client: TestClient, world: World, loaded: Loaded, raw: bytes
) -> None:
    response = fuzz_client.post(PATH, content=raw, headers={"Content-Type": "application/json"})
    back_to_loaded(world, loaded, response)
    assert response.status_code in (400, 404), response.text
    assert code_of(response) in DOCUMENTED[response.status_code]


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.lists(st.tuples(st.text(max_size=30), st.text(max_size=30)), max_size=4))
def test_any_query_string(
    fuzz_client: TestClient, world: World, loaded: Loaded, query: list[tuple[str, str]]
) -> None:
    response = fuzz_client.post(PATH, params=tuple(query))  # a tuple: typed covariantly
    back_to_loaded(world, loaded, response)
    assert response.status_code in DOCUMENTED, response.text
    assert code_of(response) in DOCUMENTED[response.status_code]
