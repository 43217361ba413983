"""Fixtures of the API tests: the official OpenAPI document, an OAuth2 issuer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from katapult_ipam.config import Settings
from tests.support.api import AUDIENCE, ISSUER, KEY_ID

# The official Katapult Core document, the one ours must be a faithful subset of.
OFFICIAL = (
    Path(__file__).resolve().parents[3] / "shared/reference/katapult-core-openapi-2.68.0.json"
)


@pytest.fixture(scope="session")
def official() -> dict[str, Any]:
    if not OFFICIAL.exists():
        pytest.skip(f"the official document is not at {OFFICIAL}")
    return dict(json.loads(OFFICIAL.read_text()))


@pytest.fixture(scope="session")
def issuer_key() -> rsa.RSAPrivateKey:
    """The OAuth2 issuer's signing key (its public half is in ``oauth2_settings``' JWKS)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def oauth2_settings(settings: Settings, tmp_path: Path, issuer_key: rsa.RSAPrivateKey) -> Settings:
    """``settings`` trusting tokens from ``ISSUER`` for ``AUDIENCE`` signed by ``issuer_key``."""
    jwk = RSAAlgorithm.to_jwk(issuer_key.public_key(), as_dict=True)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]}))
    return settings.model_copy(
        update={"oauth2_issuer": ISSUER, "oauth2_audience": AUDIENCE,
                "oauth2_jwks_file": str(jwks)}
    )  # fmt: skip
