"""Every endpoint's declaration against the official document, and scopes through HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from katapult_ipam.api.context import Call
from katapult_ipam.api.endpoints import ENDPOINTS
from katapult_ipam.api.framework import Endpoint, Router
from katapult_ipam.auth.identity import NO_SCOPE_REQUIRED, Scope
from katapult_ipam.config import Settings
from tests.support.api import assert_error, bearer
from tests.support.endpoints import probe, serving
from tests.support.world import ACME_NO_SCOPE_TOKEN, ACME_TOKEN, World


def operation(document: dict[str, Any], operation_id: str) -> tuple[str, str, dict[str, Any]]:
    """The method, path and operation object of ``operation_id`` in the document."""
    for path, operations in document["paths"].items():
        for method, found in operations.items():
            if isinstance(found, dict) and found.get("operationId") == operation_id:
                return method.upper(), path, found
    raise AssertionError(f"{operation_id} is not in the official document")


def test_the_served_endpoints_build_a_router() -> None:
    Router(ENDPOINTS)  # no duplicated name, operation id or route


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.operation_id)
def test_scopes_are_the_documents(endpoint: Endpoint, official: dict[str, Any]) -> None:
    method, path, found = operation(official, endpoint.operation_id)
    # The document writes slots as their literal names: /virtual_machines/virtual_machine/...
    assert (method, path) == (endpoint.method, "/" + endpoint.path.replace(":", ""))
    security = {kind: names for entry in found.get("security", official["security"])
                for kind, names in entry.items()}  # fmt: skip
    prefix = official["components"]["securitySchemes"]["OAuth2"]["x-scope-prefix"]
    if endpoint.scopes is NO_SCOPE_REQUIRED:
        # Only authentication: the document's default, with no scope listed.
        assert "security" not in found
        assert security == {"OAuth2": [], "Authenticator": []}
    else:
        # Same order too: a refusal lists the scopes as declared, as Apia does.
        assert security["Authenticator"] == list(endpoint.scopes)
        assert security["OAuth2"] == [prefix + scope for scope in endpoint.scopes]


def test_every_scope_is_one_the_document_defines(official: dict[str, Any]) -> None:
    oauth2 = official["components"]["securitySchemes"]["OAuth2"]
    defined = set(oauth2["flows"]["authorizationCode"]["scopes"])
    # The document's list misses a few its own operations require (``tasks``, of
    # ``get:task``): those count too.
    defined |= {
        scope
        for operations in official["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict)
        for requirement in operation.get("security", [])
        for scope in requirement.get("OAuth2", [])
    }
    assert {oauth2["x-scope-prefix"] + scope for scope in Scope} <= defined


# -- the scope check through HTTP, on probe endpoints ------------------------------------


async def _ok(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    return {"scopes": sorted(call.identity.scopes)}


EITHER = (Scope.IP_ADDRESSES_READ, Scope.VIRTUAL_MACHINES)
PROBES = [
    probe("probe/either", scopes=EITHER, action=_ok),
    probe("probe/open", scopes=NO_SCOPE_REQUIRED, action=_ok),
]


@pytest.fixture
def probes(
    settings: Settings, world: World, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    with serving(settings, PROBES, monkeypatch) as client:
        yield client


def test_the_second_of_two_scopes_is_enough(probes: TestClient) -> None:
    # The "no scope" token of the standard world holds only virtual_machines.
    response = probes.get("/core/v1/probe/either", headers=bearer(ACME_NO_SCOPE_TOKEN))
    assert response.status_code == 200, response.text
    assert response.json() == {"scopes": ["virtual_machines"]}


def test_neither_scope_is_refused_with_both(probes: TestClient) -> None:
    response = probes.get("/core/v1/probe/either", headers=bearer(ACME_TOKEN))
    error = assert_error(response, 403, "scope_not_granted")
    assert error["detail"] == {"scopes": ["ip_addresses:read", "virtual_machines"]}


def test_no_scope_required_still_requires_authentication(probes: TestClient) -> None:
    assert probes.get("/core/v1/probe/open", headers=bearer(ACME_TOKEN)).status_code == 200
    assert_error(probes.get("/core/v1/probe/open"), 400, "missing_api_token")
