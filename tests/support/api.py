"""Helpers for the tests that go through HTTP: paths, credentials, the error envelope.

Every API test module imports these from here, not from another test module, so a
test file holds tests only and a second endpoint's tests start from the same helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from httpx2 import Response
from starlette.testclient import TestClient

from tests.support.world import World

# allocate_ip with the placeholder segment: the body names the virtual machine.
PATH = "/core/v1/virtual_machines/_/allocate_ip"

# The OAuth2 issuer the API tests trust (tests/api/conftest.py ``oauth2_settings``).
ISSUER = "https://identity.test.invalid"
AUDIENCE = "katapult-ipam-test"
PREFIX = "api.katapult.io/core/v1/"  # the document's x-scope-prefix
KEY_ID = "k1"


def bearer(token: str) -> dict[str, str]:
    """The Authorization header carrying ``token``."""
    return {"Authorization": f"Bearer {token}"}


def allocate(client: TestClient, body: Any = None, path: str = PATH, **kwargs: Any) -> Response:
    """POST ``body`` as JSON to allocate_ip (``path``); ``kwargs`` go to the client."""
    return client.post(path, json=body, **kwargs)


def assert_error(response: Response, status: int, code: str) -> dict[str, Any]:
    """Assert an error answer in production's shape, and return its error object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    # The production envelope and the OpenAPI document's flat shape, both.
    assert {k: body[k] for k in ("code", "description", "detail")} == body["error"]
    assert response.headers["x-api-schema"] == "json-error"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"] == "application/json"
    assert "etag" not in response.headers
    return dict(body["error"])


def refused(
    client: TestClient, world: World, status: int, code: str, body: Any = None, **kw: Any
) -> dict[str, Any]:
    """Allocate (as ``allocate``), assert the refusal, and that no row of any table changed."""
    before = world.snapshot()
    error = assert_error(allocate(client, body, **kw), status, code)
    assert world.snapshot() == before
    return error


def access_token(
    key: RSAPrivateKey, organizations: Any, scope: str = f"{PREFIX}ip_addresses", **claims: Any
) -> str:
    """An OAuth2 access token from ``ISSUER``, valid for five minutes from now."""
    now = int(datetime.now(UTC).timestamp())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 300,
               "scope": scope, "organizations": organizations, **claims}  # fmt: skip
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": KEY_ID})


def refused_call(
    world: World, status: int, code: str, send: Callable[[], Response]
) -> dict[str, Any]:
    """Make any call (``send``), assert the refusal, and that no row of any table changed."""
    before = world.snapshot()
    error = assert_error(send(), status, code)
    assert world.snapshot() == before
    return error
