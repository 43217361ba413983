"""Identities: credentials never logged (S6), unknown issuers refused plainly (K6)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError
from sqlalchemy import Engine
from starlette.testclient import TestClient

from katapult_ipam.app import create_app
from katapult_ipam.config import Settings
from katapult_ipam.observability import redact_url
from katapult_ipam.store import admin
from tests.support.api import AUDIENCE, ISSUER, PATH, access_token, assert_error, bearer
from tests.support.world import World

SECRETS = ("S3cr3t", "K3y", "fragment-secret")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:S3cr3t@127.0.0.1:1/jwks?api_key=K3y", "http://***@127.0.0.1:1/jwks?***"),
        ("https://idp.example/jwks#fragment-secret", "https://idp.example/jwks"),
        ("https://[2001:db8::1]:8443/keys", "https://[2001:db8::1]:8443/keys"),
        ("http://[::1/x", "<unreadable URL>"),
    ],
)
def test_s6_urls_are_redacted_for_logs(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_s6_a_jwks_url_with_a_password_is_refused_at_start() -> None:
    """urllib does not log in with userinfo: it would ask DNS for "u:S3cr3t@host"."""
    with pytest.raises(ValidationError) as raised:
        Settings(
            oauth2_issuer=ISSUER,
            oauth2_audience=AUDIENCE,
            oauth2_jwks_url="https://u:S3cr3t@idp.example/jwks",
        )
    assert "S3cr3t" not in str(raised.value)


def test_s6_an_unreachable_jwks_url_is_logged_without_its_credentials(
    settings: Settings, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    app = create_app(
        settings.model_copy(
            update={
                "oauth2_issuer": ISSUER,
                "oauth2_audience": AUDIENCE,
                "oauth2_jwks_url": "http://127.0.0.1:1/jwks?api_key=K3y",
            }
        )
    )
    token = access_token(key, ["acme"])
    body = {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "192.0.2.10"}}
    with caplog.at_level(logging.DEBUG), TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(PATH, json=body, headers=bearer(token))
    assert_error(response, 503, "service_unavailable")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "cannot fetch the OAuth2 JWKS" in logged
    for secret in SECRETS:
        assert secret not in logged


def test_n5_revocation_reads_the_database_clock_not_this_hosts(
    engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A revoking host whose clock runs a minute behind still revokes every token issued
    until now: revocations and issue times both come from the database server's clock."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite's clock is this host's: there is no other")
    real_now = datetime.now(UTC)

    class SlowClock(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> SlowClock:
            return cls.fromtimestamp(real_now.timestamp() - 60, tz)

    monkeypatch.setattr(admin, "datetime", SlowClock)
    revoked_at = admin.revoke_capabilities_tokens(engine, "acme")
    _, issued_at = admin.capabilities_issue_time(engine, "acme")
    assert abs((revoked_at - real_now).total_seconds()) < 5
    assert issued_at >= revoked_at
