"""Capabilities and OAuth2 tokens through HTTP; no credential crosses organizations."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.testclient import TestClient

from katapult_ipam.app import create_app
from katapult_ipam.auth.capabilities import CapabilitiesKeys, issue_capabilities_token
from katapult_ipam.config import Settings
from tests.support.api import KEY_ID, PATH, PREFIX, access_token, assert_error, bearer
from tests.support.world import ACME_TOKEN, GLOBEX_TOKEN, World


@pytest.fixture
def api(oauth2_settings: Settings, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(oauth2_settings), raise_server_exceptions=False) as client:
        yield client


def capabilities_token(settings: Settings, organization_id: str, scopes: list[str],
                       ttl: timedelta = timedelta(minutes=5),
                       now: datetime | None = None) -> str:  # fmt: skip
    return issue_capabilities_token(
        CapabilitiesKeys.from_settings(settings),
        organization_id=organization_id, scopes=scopes, ttl=ttl,
        issuer=settings.capabilities_issuer, now=now,
    )  # fmt: skip


def org_id(world: World, sub_domain: str) -> str:
    from sqlalchemy import select

    from katapult_ipam.store import models as m

    with world.engine.connect() as c:
        table = m.Organization.__table__
        return str(
            c.execute(select(table.c.id).where(table.c.sub_domain == sub_domain)).scalar_one()
        )


def allocate(client: TestClient, token: str, world: World, vm: str, address: str) -> Any:
    return client.post(
        PATH,
        json={"virtual_machine": {"id": world.vm(vm)}, "ip_address": {"address": address}},
        headers=bearer(token),
    )


# -- capabilities tokens ------------------------------------------------------------------


def test_a_capabilities_token_allocates(
    api: TestClient, oauth2_settings: Settings, world: World
) -> None:
    token = capabilities_token(oauth2_settings, org_id(world, "acme"), ["ip_addresses"])
    response = allocate(api, token, world, "web-1", "192.0.2.10")
    assert response.status_code == 200, response.text
    from sqlalchemy import select

    from katapult_ipam.store import models as m

    with world.engine.connect() as c:
        event = c.execute(select(m.AllocationEvent.__table__)).one()
    assert event.actor_type == "CapabilitiesToken"


def forged(header: dict[str, str], claims: dict[str, str], signature: str = "") -> str:
    """A JWT-shaped token signed by nobody."""

    def segment(part: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    return f"{segment(header)}.{segment(claims)}.{signature}"


@pytest.mark.parametrize(
    "token",
    [
        forged({"alg": "EdDSA", "typ": "kipam-cap+jwt"}, {"iss": "katapult-ipam"}, "c2ln"),
        forged({"alg": "none"}, {"iss": "katapult-ipam", "sub": "x"}),
    ],
)
def test_a_bad_capabilities_token(api: TestClient, world: World, token: str) -> None:
    before = world.snapshot()
    response = allocate(api, token, world, "web-1", "192.0.2.10")
    error = assert_error(response, 403, "invalid_capabilities_token")
    assert error["description"] == (
        "The capabilities token provided was not valid "
        "(either not valid, expired or not signed by the correct key)"
    )
    assert world.snapshot() == before


@pytest.mark.parametrize(
    "token",
    [
        forged({"alg": "EdDSA", "typ": "kipam-cap+jwt"}, {"iss": "https://elsewhere.example"}),
        forged({"alg": "none"}, {"sub": "x"}),  # no issuer at all
    ],
)
def test_a_jwt_from_an_unknown_issuer_is_an_invalid_api_token(
    api: TestClient, world: World, token: str
) -> None:
    """K6: neither ours nor the configured OAuth2 issuer's: no verifier is tried."""
    before = world.snapshot()
    response = allocate(api, token, world, "web-1", "192.0.2.10")
    error = assert_error(response, 403, "invalid_api_token")
    assert error["detail"] == {"details": "the token's issuer is not known"}
    assert world.snapshot() == before


def test_an_expired_capabilities_token(
    api: TestClient, oauth2_settings: Settings, world: World
) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    token = capabilities_token(
        oauth2_settings, org_id(world, "acme"), ["ip_addresses"], now=an_hour_ago
    )
    assert_error(allocate(api, token, world, "web-1", "192.0.2.10"), 403,
                 "invalid_capabilities_token")  # fmt: skip


def test_a_capabilities_token_signed_by_another_key(
    api: TestClient, settings: Settings, world: World, tmp_path: Path
) -> None:
    other = settings.model_copy(update={"signing_key_file": str(tmp_path / "other.pem")})
    token = capabilities_token(other, org_id(world, "acme"), ["ip_addresses"])
    assert_error(allocate(api, token, world, "web-1", "192.0.2.10"), 403,
                 "invalid_capabilities_token")  # fmt: skip


def test_a_capabilities_token_without_the_scope(
    api: TestClient, oauth2_settings: Settings, world: World
) -> None:
    token = capabilities_token(oauth2_settings, org_id(world, "acme"), ["virtual_machines"])
    error = assert_error(allocate(api, token, world, "web-1", "192.0.2.10"), 403,
                         "scope_not_granted")  # fmt: skip
    assert error["detail"] == {"scopes": ["ip_addresses"]}


# -- OAuth2 access tokens --------------------------------------------------------------------


@pytest.mark.parametrize("organizations", [["acme"], "acme", ["nobody", "acme"]])
def test_an_oauth2_token_allocates(
    api: TestClient, issuer_key: Any, world: World, organizations: Any
) -> None:
    response = allocate(api, access_token(issuer_key, organizations), world, "web-1", "192.0.2.10")
    assert response.status_code == 200, response.text


def test_an_oauth2_token_may_name_organizations_by_id(
    api: TestClient, issuer_key: Any, world: World
) -> None:
    token = access_token(issuer_key, [org_id(world, "globex")])
    assert allocate(api, token, world, "app-1", "192.0.2.50").status_code == 200


def test_an_oauth2_token_needs_the_prefixed_scope(
    api: TestClient, issuer_key: Any, world: World
) -> None:
    for scope in ("ip_addresses", f"{PREFIX}ip_addresses:read", f"{PREFIX}virtual_machines"):
        response = allocate(api, access_token(issuer_key, ["acme"], scope=scope), world,
                            "web-1", "192.0.2.10")  # fmt: skip
        assert_error(response, 403, "scope_not_granted")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [({"exp": 1000}, "expired"), ({"aud": "someone-else"}, "audience"),
     ({"sub": None}, "subject")],
)  # fmt: skip
def test_a_bad_oauth2_token(
    api: TestClient, issuer_key: Any, world: World, claims: dict[str, Any], reason: str
) -> None:
    token = access_token(issuer_key, ["acme"], **claims)
    if claims.get("sub", "") is None:
        payload = jwt.decode(token, options={"verify_signature": False})
        del payload["sub"]
        token = jwt.encode(payload, issuer_key, algorithm="RS256", headers={"kid": KEY_ID})
    error = assert_error(allocate(api, token, world, "web-1", "192.0.2.10"), 403,
                         "invalid_api_token")  # fmt: skip
    assert reason in error["detail"]["details"]


def test_an_oauth2_token_signed_by_another_key(api: TestClient, world: World) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    error = assert_error(
        allocate(api, access_token(stranger, ["acme"]), world, "web-1", "192.0.2.10"),
        403, "invalid_api_token",
    )  # fmt: skip
    assert token_free(error["detail"]["details"])


def token_free(text: str) -> bool:
    return "eyJ" not in text


# -- no credential reaches another organization -------------------------------------------


def test_no_kind_of_credential_reaches_another_organization(
    api: TestClient, oauth2_settings: Settings, issuer_key: Any, world: World
) -> None:
    acme = {
        "api token": ACME_TOKEN,
        "capabilities": capabilities_token(
            oauth2_settings, org_id(world, "acme"), ["ip_addresses"]
        ),
        "oauth2": access_token(issuer_key, ["acme"]),
    }
    before = world.snapshot()
    for kind, token in acme.items():
        foreign_vm = allocate(api, token, world, "app-1", "192.0.2.10")
        assert foreign_vm.json()["code"] == "virtual_machine_not_found", kind
        assert_error(foreign_vm, 404, "virtual_machine_not_found")
        foreign_ip = allocate(api, token, world, "web-1", "192.0.2.50")
        assert foreign_ip.json()["code"] == "ip_address_not_found", kind
        assert_error(foreign_ip, 404, "ip_address_not_found")
    assert world.snapshot() == before
    # The same requests succeed for the organization that owns them.
    assert allocate(api, GLOBEX_TOKEN, world, "app-1", "192.0.2.50").status_code == 200


# -- S7: a longest lifetime, and revocation per organization -------------------------------


def test_s7_a_capabilities_token_living_longer_than_the_maximum_is_refused(
    oauth2_settings: Settings, world: World
) -> None:
    token = issue_capabilities_token(
        CapabilitiesKeys.from_settings(oauth2_settings),
        organization_id=org_id(world, "acme"), scopes=["ip_addresses"],
        ttl=timedelta(hours=25), issuer=oauth2_settings.capabilities_issuer,
        max_ttl=timedelta(days=2),
    )  # fmt: skip
    with TestClient(create_app(oauth2_settings), raise_server_exceptions=False) as client:
        error = assert_error(allocate(client, token, world, "web-1", "192.0.2.10"), 403,
                             "invalid_capabilities_token")  # fmt: skip
    assert error["detail"] == {"details": "the token's lifetime is longer than the maximum"}
    longer = oauth2_settings.model_copy(update={"capabilities_max_ttl": 2 * 24 * 3600})
    with TestClient(create_app(longer), raise_server_exceptions=False) as client:
        assert allocate(client, token, world, "web-1", "192.0.2.10").status_code == 200


def test_s7_a_revoked_capabilities_token_is_refused_and_a_new_one_works(
    oauth2_settings: Settings, world: World
) -> None:
    from typer.testing import CliRunner

    from katapult_ipam.cli import app

    env = {
        "KATAPULT_IPAM_DATABASE_URL": oauth2_settings.database_url,
        "KATAPULT_IPAM_SIGNING_KEY_FILE": oauth2_settings.signing_key_file,
    }
    issue = ["capabilities", "issue", "--organization", "acme", "--scope", "ip_addresses"]
    before = CliRunner().invoke(app, issue, env=env).stdout.strip()
    globex = capabilities_token(oauth2_settings, org_id(world, "globex"), ["ip_addresses"])
    uncached = oauth2_settings.model_copy(update={"token_cache_seconds": 0})
    with TestClient(create_app(uncached), raise_server_exceptions=False) as client:
        assert allocate(client, before, world, "web-1", "192.0.2.10").status_code == 200
        revoked = CliRunner().invoke(app, ["capabilities", "revoke", "--organization", "acme"],
                                     env=env)  # fmt: skip
        assert revoked.exit_code == 0, revoked.output
        error = assert_error(allocate(client, before, world, "web-1", "192.0.2.11"), 403,
                             "invalid_capabilities_token")  # fmt: skip
        assert error["detail"] == {"details": "the token has been revoked"}
        # Issued after the revocation, even within the same second: it works.
        after = CliRunner().invoke(app, issue, env=env).stdout.strip()
        assert allocate(client, after, world, "web-1", "192.0.2.11").status_code == 200
        # Another organization's tokens are not revoked.
        assert allocate(client, globex, world, "app-1", "192.0.2.50").status_code == 200
