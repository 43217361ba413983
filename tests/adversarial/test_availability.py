"""The database and the input at their limits: 503 for outages, 400 for nonsense (F2, F3, K5).

A database that cannot take writes (a PostgreSQL standby or failover in
progress, a read-only SQLite file) answers 503 with Retry-After, and
``/readyz`` says so before a client finds out. A PostgreSQL lock held past
``database_timeout`` is an outage too, not a bug. Arguments nested deeper than
any argument of ours answer 400, and FQDNs are looked up as they are stored.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from starlette.testclient import TestClient

from katapult_ipam.app import create_app
from katapult_ipam.config import Settings
from tests.support.api import PATH, assert_error, bearer
from tests.support.world import ACME_TOKEN, World


def client_for(settings: Settings, **changes: Any) -> TestClient:
    app = create_app(settings.model_copy(update=changes))
    return TestClient(app, raise_server_exceptions=False)


def allocation(world: World, address: str = "192.0.2.10") -> dict[str, Any]:
    return {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": address}}


@pytest.fixture
def read_only_database(engine: Engine, world: World) -> Iterator[None]:
    """New connections to the test's database can read but not write."""
    if engine.dialect.name == "sqlite":

        def query_only(dbapi_connection: Any, _: Any) -> None:
            dbapi_connection.execute("PRAGMA query_only = ON")

        event.listen(Engine, "connect", query_only)
        try:
            yield
        finally:
            event.remove(Engine, "connect", query_only)
        return
    name = engine.url.database
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    try:
        yield
    finally:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))


def test_f2_a_database_that_cannot_take_writes_is_not_ready_and_answers_503(
    settings: Settings, world: World, read_only_database: None
) -> None:
    before = world.snapshot()
    with client_for(settings) as client:
        ready = client.get("/readyz")
        live = client.get("/livez")
        response = client.post(PATH, json=allocation(world), headers=bearer(ACME_TOKEN))
    assert ready.status_code == 503, ready.text
    assert live.status_code == 200  # the process itself is fine
    assert_error(response, 503, "service_unavailable")
    assert int(response.headers["retry-after"]) > 0
    assert world.snapshot() == before


def test_f2_ready_when_writes_get_through(settings: Settings, world: World) -> None:
    with client_for(settings) as client:
        assert client.get("/readyz").status_code == 200


def test_f2_a_postgresql_lock_held_too_long_is_a_503(
    settings: Settings, engine: Engine, world: World
) -> None:
    """Another session (a long ``load``, an operator's psql) holds the address's row."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite's write lock is covered by the outage tests")
    before = world.snapshot()
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with engine.connect() as connection:
            connection.execute(
                text("SELECT id FROM ip_addresses WHERE address = '192.0.2.10' FOR UPDATE")
            )
            holding.set()
            release.wait(10)
            connection.rollback()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(5)
        with client_for(settings, database_timeout=0.5) as client:
            response = client.post(PATH, json=allocation(world), headers=bearer(ACME_TOKEN))
    finally:
        release.set()
        holder.join()
    assert_error(response, 503, "service_unavailable")
    assert "retry-after" in response.headers
    assert world.snapshot() == before


def nested_text(depth: int) -> str:
    """``{"a": {"a": ... 1}}``, built by hand: the standard encoder stops near 1000 levels."""
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [40, 1000])
def test_f3_deep_nesting_in_query_and_body_is_no_500(
    settings: Settings, world: World, depth: int
) -> None:
    """The same deep key in the query and the body: merging them must not recurse that deep.

    Under a key no argument reads, so a correct answer is the allocation itself.
    """
    query = "extra" + "[a]" * depth + "=1"
    lookups = (
        '"virtual_machine":{"fqdn":"web-1.acme.example.net"},"ip_address":{"address":"192.0.2.10"}'
    )
    body = "{" + lookups + ',"extra":' + nested_text(depth) + "}"
    with client_for(settings) as client:
        response = client.post(
            f"{PATH}?{query}",
            content=body,
            headers={**bearer(ACME_TOKEN), "Content-Type": "application/json"},
        )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("depth", [40, 1000])
def test_f3_deep_nesting_inside_a_lookup_answers_400(
    settings: Settings, world: World, depth: int
) -> None:
    before = world.snapshot()
    query = "virtual_machine" + "[a]" * depth + "=1"
    body = '{"virtual_machine":' + nested_text(depth) + "}"
    with client_for(settings) as client:
        response = client.post(
            f"{PATH}?{query}",
            content=body,
            headers={**bearer(ACME_TOKEN), "Content-Type": "application/json"},
        )
    assert_error(response, 400, "invalid_argument")
    assert world.snapshot() == before


def test_f3_the_deepest_json_body_answers_400(settings: Settings, world: World) -> None:
    body = '{"virtual_machine":' + "[" * 5000 + "]" * 5000 + "}"
    with client_for(settings) as client:
        response = client.post(
            PATH, content=body, headers={**bearer(ACME_TOKEN), "Content-Type": "application/json"}
        )
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "fqdn",
    [
        "web-1.acme.example.net",
        " web-1.acme.example.net ",
        "web-1.acme.example.net.",
        "WEB-1.Acme.Example.NET.",
    ],
)
def test_k5_fqdns_are_looked_up_as_they_are_stored(
    settings: Settings, world: World, fqdn: str
) -> None:
    body = {"virtual_machine": {"fqdn": fqdn}, "ip_address": {"address": "192.0.2.10"}}
    with client_for(settings) as client:
        response = client.post(PATH, json=body, headers=bearer(ACME_TOKEN))
    assert response.status_code == 200, response.text
    assert json.loads(response.text)["ip_address"]["address"] == "192.0.2.10"
