"""The authenticator through HTTP: allowlists, proxies, rate limits, availability."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from katapult_ipam import container
from katapult_ipam.app import create_app
from katapult_ipam.auth.rate_limit import InProcessRateLimiter, RateLimiter
from katapult_ipam.config import Settings
from katapult_ipam.inventory import parse_inventory
from katapult_ipam.store.loader import load_inventory
from katapult_ipam.store.queries import flags
from tests.support.api import PATH, assert_error, bearer
from tests.support.clocks import FakeClock
from tests.support.world import ACME_TOKEN, GLOBEX_TOKEN, World, standard_inventory

LIMITED_TOKEN = "acme-limited-secret-0123456789abcd"


@pytest.fixture
def limited_world(engine: Engine, world: World) -> World:
    document = standard_inventory()
    document["organizations"][0]["api_tokens"].append(
        {"name": "limited", "secret": LIMITED_TOKEN, "scopes": ["ip_addresses"],
         "allowed_networks": ["10.0.0.0/8", "2001:db8:99::/48"]}
    )  # fmt: skip
    load_inventory(engine, parse_inventory(document))
    return world


def make_client(settings: Settings, address: str = "203.0.113.9", **changes: Any) -> TestClient:
    app = create_app(settings.model_copy(update=changes))
    return TestClient(app, raise_server_exceptions=False, client=(address, 40000))


def body(world: World) -> dict[str, Any]:
    return {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "192.0.2.10"}}


# -- network allowlists and the client's address ----------------------------------


@pytest.mark.parametrize("address", ["10.1.2.3", "2001:db8:99::5"])
def test_a_token_works_from_its_networks(
    settings: Settings, limited_world: World, address: str
) -> None:
    with make_client(settings, address) as client:
        response = client.post(PATH, json=body(limited_world), headers=bearer(LIMITED_TOKEN))
    assert response.status_code == 200, response.text


def test_a_token_is_refused_elsewhere(settings: Settings, limited_world: World) -> None:
    before = limited_world.snapshot()
    with make_client(settings, "203.0.113.9") as client:
        response = client.post(PATH, json=body(limited_world), headers=bearer(LIMITED_TOKEN))
    error = assert_error(response, 403, "unauthorized_network_for_api_token")
    assert error["detail"] == {"ip_address": "203.0.113.9"}
    assert error["description"] == "Network is not allowed to access the API with this API token"
    assert limited_world.snapshot() == before


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing(
    settings: Settings, limited_world: World
) -> None:
    with make_client(settings, "203.0.113.9") as client:
        response = client.post(
            PATH,
            json=body(limited_world),
            headers={**bearer(LIMITED_TOKEN), "X-Forwarded-For": "10.0.0.1"},
        )
    error = assert_error(response, 403, "unauthorized_network_for_api_token")
    assert error["detail"] == {"ip_address": "203.0.113.9"}


def test_a_trusted_proxy_is_believed_up_to_the_first_untrusted_hop(
    settings: Settings, limited_world: World
) -> None:
    with make_client(settings, "198.18.0.1", trusted_proxies="198.18.0.0/16") as client:
        allowed = client.post(
            PATH,
            json=body(limited_world),
            headers={**bearer(LIMITED_TOKEN), "X-Forwarded-For": "203.0.113.7, 10.9.9.9"},
        )
        refused = client.post(
            PATH,
            json=body(limited_world),
            headers={**bearer(LIMITED_TOKEN), "X-Forwarded-For": "10.9.9.9, 203.0.113.7"},
        )
    assert allowed.status_code == 200, allowed.text
    error = assert_error(refused, 403, "unauthorized_network_for_api_token")
    assert error["detail"] == {"ip_address": "203.0.113.7"}


# -- rate limits --------------------------------------------------------------------------

MINUTE_TURNS = 1_800_000_060.0  # a multiple of 60: the start of a window


@pytest.fixture
def rate_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The rate limit's clock for the apps the test creates: 15 s before a minute turns,
    until the test moves it. The window never turns during a test by accident."""
    clock = FakeClock(MINUTE_TURNS - 15)

    def in_process(
        redis_url: str | None, permitted: int, redis_timeout: float = 0.5, **_: Any
    ) -> RateLimiter:
        assert redis_url is None  # these tests count in the process
        return InProcessRateLimiter(permitted, clock)

    monkeypatch.setattr(container, "create_rate_limiter", in_process)
    return clock


def test_the_rate_limit_counts_every_request_of_an_identity(
    settings: Settings, world: World, rate_clock: FakeClock
) -> None:
    with make_client(settings, rate_limit_per_minute=3) as client:
        client.headers.update(bearer(ACME_TOKEN))
        responses = [
            client.post(PATH, json=body(world)),
            client.post(PATH, json={}),  # an error counts too
            client.post(PATH, json=body(world)),
            client.post(PATH, json=body(world)),
        ]
        other = client.post(PATH, json={}, headers=bearer(GLOBEX_TOKEN))
    assert [r.status_code for r in responses] == [200, 400, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert all(r.headers["x-ratelimit-permitted"] == "3" for r in responses)
    error = assert_error(responses[3], 429, "rate_limit_reached")
    assert error["detail"] == {"total_permitted": 3}
    assert error["description"] == "You have reached the rate limit for this type of request"
    assert responses[3].headers["retry-after"] == "15"  # the seconds left in the minute
    # Another identity has its own count.
    assert other.headers["x-ratelimit-remaining"] == "2"


def test_the_count_starts_again_when_the_minute_turns(
    settings: Settings, world: World, rate_clock: FakeClock
) -> None:
    with make_client(settings, rate_limit_per_minute=1) as client:
        client.headers.update(bearer(ACME_TOKEN))
        assert client.post(PATH, json={}).status_code == 400
        rate_clock.now = MINUTE_TURNS - 0.5
        limited = client.post(PATH, json={})
        rate_clock.now = MINUTE_TURNS
        again = client.post(PATH, json={})
    assert_error(limited, 429, "rate_limit_reached")
    assert limited.headers["retry-after"] == "1"
    assert again.status_code == 400
    assert again.headers["x-ratelimit-remaining"] == "0"


def test_failed_authentication_is_limited_per_address(
    settings: Settings, world: World, rate_clock: FakeClock
) -> None:
    with make_client(settings, rate_limit_per_minute=2) as client:
        guesses = [client.post(PATH, json={}, headers=bearer(f"guess-{n}")) for n in range(3)]
        missing = client.post(PATH, json={})
    assert [r.status_code for r in guesses] == [403, 403, 429]
    assert missing.status_code == 429
    with make_client(settings, "203.0.113.10", rate_limit_per_minute=2) as client:
        assert client.post(PATH, json={}, headers=bearer("guess")).status_code == 403


def test_the_default_limit_is_the_production_one(client: TestClient, world: World) -> None:
    response = client.post(PATH, json=body(world))
    assert response.headers["x-ratelimit-permitted"] == "1000"
    assert response.headers["x-ratelimit-remaining"] == "999"


# -- availability --------------------------------------------------------------------------


def test_maintenance_from_configuration(settings: Settings, world: World) -> None:
    before = world.snapshot()
    with make_client(settings, maintenance=True) as client:
        response = client.post(PATH, json=body(world), headers=bearer(ACME_TOKEN))
    error = assert_error(response, 503, "service_unavailable")
    assert error["description"] == "The service is currently unavailable, please try again later"
    assert response.headers["retry-after"]
    assert world.snapshot() == before


def test_maintenance_switched_in_the_database(
    settings: Settings, engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with make_client(settings) as client:
        client.headers.update(bearer(ACME_TOKEN))
        switch = client.app.state.services.maintenance  # type: ignore[attr-defined]
        monkeypatch.setattr(switch, "_ttl", 0.0)
        assert client.post(PATH, json={}).status_code == 400
        with engine.begin() as connection:
            flags.set_flag(connection, "maintenance", True, _now())
        assert_error(client.post(PATH, json=body(world)), 503, "service_unavailable")
        with engine.begin() as connection:
            flags.set_flag(connection, "maintenance", False, _now())
        assert client.post(PATH, json=body(world)).status_code == 200


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


@pytest.fixture
def sqlite_file(settings: Settings) -> str:
    if not settings.is_sqlite:
        pytest.skip("holds a SQLite file lock")
    return settings.database_url.removeprefix("sqlite:///")


def test_a_locked_database_answers_503_then_recovers(
    settings: Settings, world: World, sqlite_file: str
) -> None:
    before = world.snapshot()
    with make_client(settings, database_timeout=0.3) as client:
        client.headers.update(bearer(ACME_TOKEN))
        holder = sqlite3.connect(sqlite_file, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            response = client.post(PATH, json=body(world))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        error = assert_error(response, 503, "service_unavailable")
        assert error["detail"] == {}
        assert response.headers["retry-after"]
        assert world.snapshot() == before
        assert client.post(PATH, json=body(world)).status_code == 200


def test_an_unexpected_exception_is_a_500_without_a_trace(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    from katapult_ipam import actions

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(actions, "allocate_ip", explode)
    before = world.snapshot()
    with caplog.at_level(logging.ERROR, logger="katapult_ipam"):
        response = client.post(PATH, json=body(world), headers={"X-Request-Id": "trace-me"})
    error = assert_error(response, 500, "unhandled_exception")
    assert "kaboom" not in response.text
    assert "Traceback" not in response.text
    assert error["detail"] == {}
    assert world.snapshot() == before
    record = next(r for r in caplog.records if r.getMessage() == "unhandled exception")
    assert record.exc_info is not None


def test_request_logs_carry_the_request_and_no_secret(
    client: TestClient, world: World, caplog: Any
) -> None:
    from katapult_ipam.observability import JSONFormatter

    with caplog.at_level(logging.INFO, logger="katapult_ipam"):
        client.post(PATH, json=body(world), headers={"X-Request-Id": "log-me"})
    lines = [JSONFormatter().format(r) for r in caplog.records]
    request_line = next(line for line in lines if '"message":"request"' in line)
    assert '"request_id":"log-me"' in request_line
    assert '"status":200' in request_line
    assert '"method":"POST"' in request_line
    assert '"identity":"APIToken:tok_' in request_line
    assert all(ACME_TOKEN not in line for line in lines)
