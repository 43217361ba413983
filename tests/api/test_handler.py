"""What every endpoint shares, through HTTP: routing, CORS, the answers' envelope, health,
and the deployment settings an action renders with.

allocate_ip stands in for "an endpoint" where a real one is needed; a probe endpoint
where the served ones cannot show the behaviour.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from starlette.testclient import TestClient

from katapult_ipam.api.context import Call
from katapult_ipam.api.framework import Endpoint
from katapult_ipam.api.objects.ip_addresses import ip_address
from katapult_ipam.config import Settings
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store.queries.ip_addresses import resolve_ip_address
from katapult_ipam.store.records import IPAddressRecord
from tests.support.api import PATH, allocate, assert_error, bearer
from tests.support.endpoints import probe, serving
from tests.support.factories import Ids
from tests.support.world import ACME_TOKEN, RDNS_ZONE, World

# -- the envelope of a success -----------------------------------------------------------


def test_success_headers(client: TestClient, world: World) -> None:
    response = allocate(
        client,
        {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "192.0.2.10"}},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "max-age=0, private, must-revalidate"
    digest = hashlib.sha256(response.content).hexdigest()[:32]
    assert response.headers["etag"] == f'W/"{digest}"'
    assert len(response.headers["x-request-id"]) == 36
    assert response.headers["access-control-allow-origin"] == "*"
    assert "x-api-schema" not in response.headers


# -- routing ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "HEAD"])
def test_other_methods_are_not_routed(client: TestClient, world: World, method: str) -> None:
    response = client.request(method, PATH)
    assert response.status_code == 404
    if method != "HEAD":
        error = assert_error(response, 404, "route_not_found")
        assert error["description"] == (
            f"No route matches 'virtual_machines/_/allocate_ip' for {method}"
        )


@pytest.mark.parametrize(
    "path", ["/core/v1/nothing", "/core/v1/virtual_machines/_/allocate", "/core/v1/", "/elsewhere"]
)
def test_unknown_paths(client: TestClient, world: World, path: str) -> None:
    assert_error(client.post(path, json={}), 404, "route_not_found")


# -- CORS and the envelope of an error -----------------------------------------------------


def test_cors_preflight(client: TestClient, world: World) -> None:
    del client.headers["Authorization"]
    response = client.options(PATH, headers={"Access-Control-Request-Method": "POST"})
    assert response.status_code == 200
    assert response.content == b'""'
    assert response.headers["access-control-allow-origin"] == "*"
    assert "OPTIONS" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == "Authorization, Content-Type"


def test_cors_preflight_for_an_unknown_route(client: TestClient, world: World) -> None:
    response = client.options(PATH, headers={"Access-Control-Request-Method": "GET"})
    assert_error(response, 404, "route_not_found")


def test_errors_carry_cors_and_request_id(client: TestClient, world: World) -> None:
    del client.headers["Authorization"]
    response = allocate(client, {})
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-request-id"]


# -- health ----------------------------------------------------------------------------


def test_health_endpoints(client: TestClient, world: World) -> None:
    assert client.get("/livez").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}


# -- the settings an action renders with ---------------------------------------------------

FREE_IP = "192.0.2.10"  # in a subnet of the standard world that names no zone of its own


def rendering(record: IPAddressRecord) -> Endpoint:
    """An endpoint whose action renders ``record``, as a read endpoint would."""

    async def action(call: Call, args: dict[str, Any]) -> dict[str, Any]:
        return {"ip_address": ip_address(record, call.render.rdns_zone)}

    return probe("probe/ip", action=action)


@pytest.mark.parametrize("zone", [RDNS_ZONE, "other-zone.test.invalid"])
def test_a_free_address_answers_under_the_configured_zone(
    settings: Settings, world: World, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    # allocate_ip renders only allocated addresses, which answer to their VM's FQDN; a probe
    # shows that the setting reaches an action's renderer (tests/unit/test_objects.py has
    # the rendering itself).
    with world.engine.connect() as connection:
        record = resolve_ip_address(
            connection, frozenset({Ids(world.engine).org("acme")}), Lookup("address", FREE_IP)
        )
    configured = settings.model_copy(update={"rdns_zone": zone})
    with serving(configured, [rendering(record)], monkeypatch) as client:
        response = client.get("/core/v1/probe/ip", headers=bearer(ACME_TOKEN))
    assert response.status_code == 200, response.text
    ip = response.json()["ip_address"]
    assert (ip["address"], ip["allocation_id"]) == (FREE_IP, None)
    assert ip["reverse_dns"] == f"192-0-2-10.{zone}"
