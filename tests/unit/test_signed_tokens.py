"""Capabilities tokens, OAuth2 access tokens and the routing between them, without a database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from pydantic import ValidationError

from katapult_ipam.auth.capabilities import (
    CAPABILITIES_TOKEN_TYPE,
    CapabilitiesKeys,
    issue_capabilities_token,
    verify_capabilities_token,
)
from katapult_ipam.auth.jwks import JWKSURL, JWKSFile, parse_jwks
from katapult_ipam.auth.jwt import (
    InvalidSignedToken,
    KeysUnavailable,
    SignedTokenConfigError,
    looks_like_jwt,
    token_kind,
    unverified_issuer,
)
from katapult_ipam.auth.keys import (
    key_id,
    load_or_create_signing_key,
    private_key_pem,
    public_key_pem,
)
from katapult_ipam.auth.oauth2 import OAuth2Verifier
from katapult_ipam.config import Settings
from katapult_ipam.tokens import new_secret
from tests.support.clocks import FakeClock

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CAP_ISSUER = "katapult-ipam"
ORG = "org_AAAAAAAAAAAAAAAA"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: object) -> str:
    return b64(json.dumps(value).encode())


def reason(error: pytest.ExceptionInfo[InvalidSignedToken]) -> str:
    return error.value.reason


# -- capabilities tokens ----------------------------------------------------------------


@pytest.fixture
def keys() -> CapabilitiesKeys:
    return CapabilitiesKeys(Ed25519PrivateKey.generate())


def issue(keys: CapabilitiesKeys, ttl: timedelta = timedelta(minutes=15)) -> str:
    return issue_capabilities_token(
        keys,
        organization_id=ORG,
        scopes=["ip_addresses", "virtual_machines", "ip_addresses"],
        ttl=ttl,
        issuer=CAP_ISSUER,
        now=NOW,
    )


def verify(keys: CapabilitiesKeys, token: str, now: datetime = NOW) -> Any:
    return verify_capabilities_token(keys, token, issuer=CAP_ISSUER, now=now)


def signed(keys: CapabilitiesKeys, payload: dict[str, Any], **headers: Any) -> str:
    """A token over an arbitrary payload, properly signed with ``keys``."""
    header = {"typ": CAPABILITIES_TOKEN_TYPE, "kid": keys.key_id, **headers}
    return jwt.encode(payload, keys.private_key, algorithm="EdDSA", headers=header)


def good_payload() -> dict[str, Any]:
    at = int(NOW.timestamp())
    return {
        "iss": CAP_ISSUER,
        "sub": ORG,
        "scope": "ip_addresses",
        "iat": at,
        "nbf": at,
        "exp": at + 900,
        "jti": "abc",
    }


def test_a_capabilities_token_round_trips(keys: CapabilitiesKeys) -> None:
    token = issue(keys)
    claims = verify(keys, token)
    assert claims.organization_id == ORG
    assert claims.scopes == frozenset({"ip_addresses", "virtual_machines"})
    assert len(claims.token_id) >= 16
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "typ": "kipam-cap+jwt", "kid": keys.key_id}
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["scope"] == "ip_addresses virtual_machines"
    assert payload["exp"] - payload["iat"] == 900
    assert payload["iat"] == payload["nbf"] == int(NOW.timestamp())
    assert verify(keys, issue(keys)).token_id != claims.token_id


def test_the_key_id_is_a_short_fingerprint(keys: CapabilitiesKeys) -> None:
    assert len(keys.key_id) == 16
    assert keys.key_id == key_id(keys.private_key.public_key())
    int(keys.key_id, 16)


def test_an_expired_token_is_refused_after_a_small_leeway(keys: CapabilitiesKeys) -> None:
    token = issue(keys, ttl=timedelta(minutes=15))
    verify(keys, token, now=NOW + timedelta(minutes=15, seconds=10))
    with pytest.raises(InvalidSignedToken) as error:
        verify(keys, token, now=NOW + timedelta(minutes=15, seconds=31))
    assert reason(error) == "the token has expired"


def test_a_token_from_the_future_is_refused(keys: CapabilitiesKeys) -> None:
    token = issue(keys)
    verify(keys, token, now=NOW - timedelta(seconds=10))
    with pytest.raises(InvalidSignedToken) as error:
        verify(keys, token, now=NOW - timedelta(minutes=1))
    assert reason(error) == "the token is not valid yet"


def test_a_tampered_payload_is_refused(keys: CapabilitiesKeys) -> None:
    header, payload, signature = issue(keys).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "org_BBBBBBBBBBBBBBBB"
    with pytest.raises(InvalidSignedToken) as error:
        verify(keys, f"{header}.{b64json(claims)}.{signature}")
    assert reason(error) == "the token's signature does not verify"


def test_a_tampered_signature_is_refused(keys: CapabilitiesKeys) -> None:
    header, payload, signature = issue(keys).split(".")
    flipped = b64(bytes(b ^ 1 for b in base64.urlsafe_b64decode(signature + "==")))
    with pytest.raises(InvalidSignedToken):
        verify(keys, f"{header}.{payload}.{flipped}")


def test_a_token_signed_by_another_key_is_refused(keys: CapabilitiesKeys) -> None:
    other = CapabilitiesKeys(Ed25519PrivateKey.generate())
    with pytest.raises(InvalidSignedToken) as error:
        verify(keys, issue(other))
    assert reason(error) == "the token's signature does not verify"
    # Claiming the right kid does not help either.
    forged = signed(other, good_payload(), kid=keys.key_id)
    with pytest.raises(InvalidSignedToken):
        verify(keys, forged)


def test_rotation_old_tokens_verify_while_the_old_public_key_is_listed(tmp_path: Path) -> None:
    old = load_or_create_signing_key(tmp_path / "old.pem")
    token = issue(CapabilitiesKeys(old))
    old_public = tmp_path / "old.pub.pem"
    old_public.write_bytes(public_key_pem(old.public_key()))
    new_key_file = str(tmp_path / "new.pem")

    rotated = CapabilitiesKeys.from_settings(
        Settings(signing_key_file=new_key_file, capabilities_public_keys=f" {old_public} ,")
    )
    assert rotated.key_id != key_id(old.public_key())
    assert len(rotated.public_keys) == 2
    assert verify(rotated, token).organization_id == ORG
    assert verify(rotated, issue(rotated)).organization_id == ORG

    dropped = CapabilitiesKeys.from_settings(Settings(signing_key_file=new_key_file))
    with pytest.raises(InvalidSignedToken) as error:
        verify(dropped, token)
    assert reason(error) == "the token's signature does not verify"


def test_an_unknown_or_missing_kid_falls_back_to_every_accepted_key(
    keys: CapabilitiesKeys,
) -> None:
    old = CapabilitiesKeys(Ed25519PrivateKey.generate())
    both = CapabilitiesKeys(keys.private_key, [old.private_key.public_key()])
    unknown_kid = signed(old, good_payload(), kid="0123456789abcdef")
    no_kid = jwt.encode(
        good_payload(), old.private_key, algorithm="EdDSA", headers={"typ": CAPABILITIES_TOKEN_TYPE}
    )
    assert verify(both, unknown_kid).organization_id == ORG
    assert verify(both, no_kid).organization_id == ORG


def test_alg_none_is_refused(keys: CapabilitiesKeys) -> None:
    header = {"alg": "none", "typ": CAPABILITIES_TOKEN_TYPE, "kid": keys.key_id}
    token = f"{b64json(header)}.{b64json(good_payload())}."
    with pytest.raises(InvalidSignedToken) as error:
        verify(keys, token)
    assert reason(error) == "the token's algorithm is not accepted"


def test_hs256_with_the_public_key_as_secret_is_refused(keys: CapabilitiesKeys) -> None:
    secret = public_key_pem(keys.private_key.public_key())
    for alg in ("HS256", "EdDSA"):
        # Also with a lying header: the HMAC never verifies as an Ed25519 signature.
        header = {"alg": alg, "typ": CAPABILITIES_TOKEN_TYPE, "kid": keys.key_id}
        signing_input = f"{b64json(header)}.{b64json(good_payload())}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        with pytest.raises(InvalidSignedToken):
            verify(keys, f"{signing_input}.{b64(mac)}")


def test_a_token_of_another_type_or_issuer_is_refused(keys: CapabilitiesKeys) -> None:
    with pytest.raises(InvalidSignedToken) as error:
        verify(keys, signed(keys, good_payload(), typ="JWT"))
    assert reason(error) == "the token is not a capabilities token"
    with pytest.raises(InvalidSignedToken) as error:
        verify(keys, signed(keys, {**good_payload(), "iss": "someone-else"}))
    assert reason(error) == "the token's issuer is not accepted"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"sub": None}, "the token names no organization"),
        ({"sub": 42}, "the token names no organization"),
        ({"sub": ""}, "the token names no organization"),
        ({"jti": None}, "the token has no id"),
        ({"scope": None}, "the token's scope claim is missing or malformed"),
        ({"scope": ["ip_addresses"]}, "the token's scope claim is missing or malformed"),
        ({"exp": None}, "the token has no exp claim"),
        ({"nbf": None}, "the token has no nbf claim"),
        ({"iat": None}, "the token has no iat claim"),
        ({"exp": "tomorrow"}, "the token's exp claim is not a time"),
        ({"exp": True}, "the token's exp claim is not a time"),
        ({"iss": None}, "the token's issuer is not accepted"),
    ],
)
def test_missing_or_ill_typed_claims_are_refused(
    keys: CapabilitiesKeys, change: dict[str, Any], expected: str
) -> None:
    payload = {k: v for k, v in {**good_payload(), **change}.items() if v is not None}
    with pytest.raises(InvalidSignedToken) as error:
        verify(keys, signed(keys, payload))
    assert reason(error) == expected


def test_non_finite_times_are_refused(keys: CapabilitiesKeys) -> None:
    # PyJWT's encoder refuses NaN, so the token is signed by hand.
    header = b64json({"alg": "EdDSA", "typ": CAPABILITIES_TOKEN_TYPE, "kid": keys.key_id})
    body = json.dumps(good_payload()).replace('"exp": ', '"exp": Infinity, "x": ')
    signing_input = f"{header}.{b64(body.encode())}"
    token = f"{signing_input}.{b64(keys.private_key.sign(signing_input.encode()))}"
    with pytest.raises(InvalidSignedToken) as error:
        verify(keys, token)
    assert reason(error) == "the token's exp claim is not a time"


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c", "a.b.c.d", "e30.e30.", "!!!.e30.e30", "x" * 20_000],
)
def test_malformed_tokens_are_refused(keys: CapabilitiesKeys, token: str) -> None:
    with pytest.raises(InvalidSignedToken):
        verify(keys, token)


def test_a_payload_that_is_not_json_is_malformed(keys: CapabilitiesKeys) -> None:
    header = b64json({"alg": "EdDSA", "typ": CAPABILITIES_TOKEN_TYPE, "kid": keys.key_id})
    signing_input = f"{header}.{b64(b'not json')}"
    token = f"{signing_input}.{b64(keys.private_key.sign(signing_input.encode()))}"
    with pytest.raises(InvalidSignedToken) as error:
        verify(keys, token)
    assert reason(error) == "the token is malformed"


def test_issuing_checks_its_arguments(keys: CapabilitiesKeys) -> None:
    def attempt(**kwargs: Any) -> None:
        arguments: dict[str, Any] = {
            "organization_id": ORG,
            "scopes": ["ip_addresses"],
            "ttl": timedelta(minutes=5),
            "issuer": CAP_ISSUER,
            "now": NOW,
            **kwargs,
        }
        issue_capabilities_token(keys, **arguments)

    attempt()
    for bad in (
        {"ttl": timedelta(0)},
        {"scopes": ["a b"]},
        {"scopes": [""]},
        {"organization_id": ""},
        {"now": datetime(2026, 1, 1)},
    ):
        with pytest.raises(ValueError, match=r"."):
            attempt(**bad)


# -- key files ------------------------------------------------------------------------


def test_the_signing_key_is_created_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "keys" / "signing-key.pem"
    first = load_or_create_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert [p.name for p in path.parent.iterdir()] == ["signing-key.pem"]
    second = load_or_create_signing_key(path)
    assert private_key_pem(second) == private_key_pem(first)


def test_an_existing_key_file_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "signing-key.pem"
    mine = Ed25519PrivateKey.generate()
    path.write_bytes(private_key_pem(mine))
    assert private_key_pem(load_or_create_signing_key(path)) == private_key_pem(mine)


def test_bad_key_files_are_configuration_errors(tmp_path: Path) -> None:
    not_a_key = tmp_path / "garbage.pem"
    not_a_key.write_text("hello")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_file = tmp_path / "rsa.pem"
    rsa_file.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(SignedTokenConfigError, match="not an unencrypted PEM private key"):
        load_or_create_signing_key(not_a_key)
    with pytest.raises(SignedTokenConfigError, match="not an Ed25519 private key"):
        load_or_create_signing_key(rsa_file)
    with pytest.raises(SignedTokenConfigError, match="not a PEM public key"):
        CapabilitiesKeys.from_settings(
            Settings(
                signing_key_file=str(tmp_path / "k.pem"), capabilities_public_keys=str(not_a_key)
            )
        )
    with pytest.raises(SignedTokenConfigError):
        CapabilitiesKeys.from_settings(
            Settings(
                signing_key_file=str(tmp_path / "k.pem"),
                capabilities_public_keys=str(tmp_path / "missing.pem"),
            )
        )


# -- OAuth2 access tokens -------------------------------------------------------------------

ISSUER = "https://login.example.test/"
AUDIENCE = "https://api.example.test/core"
PREFIX = "api.katapult.io/core/v1/"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def ed_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def jwks(
    rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey, ed_key: Ed25519PrivateKey
) -> dict[str, Any]:
    return {
        "keys": [
            {
                **RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True),
                "kid": "rsa-1",
                "use": "sig",
                "alg": "RS256",
            },
            {**ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True), "kid": "ec-1"},
            {**OKPAlgorithm.to_jwk(ed_key.public_key(), as_dict=True), "kid": "ed-1"},
        ]
    }


@pytest.fixture
def jwks_file(tmp_path: Path, jwks: dict[str, Any]) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks))
    return path


@pytest.fixture
def verifier(jwks_file: Path) -> OAuth2Verifier:
    return OAuth2Verifier(issuer=ISSUER, audience=AUDIENCE, jwks=JWKSFile(jwks_file))


def access_token(key: Any, kid: str | None = "rsa-1", alg: str = "RS256", **claims: Any) -> str:
    at = int(NOW.timestamp())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-42",
        "iat": at,
        "exp": at + 300,
        "scope": f"openid {PREFIX}ip_addresses",
        "organizations": ["acme"],
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


def test_an_rsa_access_token_verifies(verifier: OAuth2Verifier, rsa_key: Any) -> None:
    claims = verifier.verify(access_token(rsa_key), now=NOW)
    assert claims.subject == "user-42"
    assert claims.scopes == frozenset({"ip_addresses"})
    assert claims.organizations == ("acme",)


def test_ec_and_ed25519_access_tokens_verify(
    verifier: OAuth2Verifier, ec_key: Any, ed_key: Any
) -> None:
    assert verifier.verify(access_token(ec_key, "ec-1", "ES256"), now=NOW).subject == "user-42"
    assert verifier.verify(access_token(ed_key, "ed-1", "EdDSA"), now=NOW).subject == "user-42"


def test_a_token_without_kid_is_tried_on_the_keys_of_its_algorithm(
    verifier: OAuth2Verifier, ec_key: Any
) -> None:
    assert verifier.verify(access_token(ec_key, None, "ES256"), now=NOW).subject == "user-42"


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        (
            {"scope": f"{PREFIX}ip_addresses {PREFIX}virtual_machines openid"},
            {"ip_addresses", "virtual_machines"},
        ),
        ({"scope": f"openid api.katapult.io/core/v2/ip_addresses {PREFIX} ip_addresses"}, set()),
        ({"scope": None, "scp": [f"{PREFIX}ip_addresses", "email"]}, {"ip_addresses"}),
        ({"scope": None, "scp": f"{PREFIX}a {PREFIX}b"}, {"a", "b"}),
        ({"scope": None}, set()),
    ],
)
def test_only_prefixed_scopes_count_and_lose_their_prefix(
    verifier: OAuth2Verifier, rsa_key: Any, claims: dict[str, Any], expected: set[str]
) -> None:
    assert verifier.verify(access_token(rsa_key, **claims), now=NOW).scopes == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(["acme", "globex", "acme"], ("acme", "globex")), ("acme", ("acme",)), (None, ())],
)
def test_the_organizations_claim_is_a_list_or_a_string(
    verifier: OAuth2Verifier, rsa_key: Any, value: Any, expected: tuple[str, ...]
) -> None:
    claims = verifier.verify(access_token(rsa_key, organizations=value), now=NOW)
    assert claims.organizations == expected


def test_the_organizations_claim_name_is_configurable(jwks_file: Path, rsa_key: Any) -> None:
    verifier = OAuth2Verifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks=JWKSFile(jwks_file),
        organizations_claim="https://katapult.io/orgs",
    )
    token = access_token(rsa_key, **{"https://katapult.io/orgs": "globex"})
    assert verifier.verify(token, now=NOW).organizations == ("globex",)


def test_an_audience_list_naming_ours_is_accepted(verifier: OAuth2Verifier, rsa_key: Any) -> None:
    token = access_token(rsa_key, aud=["https://other.test", AUDIENCE])
    assert verifier.verify(token, now=NOW).subject == "user-42"


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"aud": "https://other.test"}, "the token is not meant for this API (audience)"),
        ({"aud": None}, "the token is not meant for this API (audience)"),
        ({"iss": "https://evil.test/"}, "the token's issuer is not accepted"),
        ({"exp": int(NOW.timestamp()) - 31}, "the token has expired"),
        ({"exp": None}, "the token has no exp claim"),
        ({"nbf": int(NOW.timestamp()) + 60}, "the token is not valid yet"),
        ({"sub": None}, "the token has no subject"),
        ({"sub": ""}, "the token has no subject"),
        ({"scope": 7}, "the token's scope claim is malformed"),
        ({"organizations": {"id": "acme"}}, "the token's organizations claim is malformed"),
        ({"organizations": ["acme", 3]}, "the token's organizations claim is malformed"),
    ],
)
def test_bad_access_tokens_are_refused_with_a_reason(
    verifier: OAuth2Verifier, rsa_key: Any, claims: dict[str, Any], expected: str
) -> None:
    token = access_token(rsa_key, **claims)
    with pytest.raises(InvalidSignedToken) as error:
        verifier.verify(token, now=NOW)
    assert reason(error) == expected
    assert token not in reason(error)


def test_an_unknown_kid_is_refused(verifier: OAuth2Verifier, rsa_key: Any) -> None:
    with pytest.raises(InvalidSignedToken) as error:
        verifier.verify(access_token(rsa_key, kid="rsa-2"), now=NOW)
    assert reason(error) == "the token's signing key is not known"


def test_a_key_signing_for_another_kid_is_refused(verifier: OAuth2Verifier) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidSignedToken) as error:
        verifier.verify(access_token(stranger, kid="rsa-1"), now=NOW)
    assert reason(error) == "the token's signature does not verify"


def test_the_algorithm_is_the_keys_not_the_headers(
    verifier: OAuth2Verifier, rsa_key: Any, ec_key: Any
) -> None:
    # An ES256 token naming the RSA key, and HS256 keyed with the RSA public key.
    with pytest.raises(InvalidSignedToken) as error:
        verifier.verify(access_token(ec_key, kid="rsa-1", alg="ES256"), now=NOW)
    assert reason(error) == "the token's algorithm is not accepted"
    header = b64json({"alg": "HS256", "kid": "rsa-1"})
    payload = jwt.decode(access_token(rsa_key), options={"verify_signature": False})
    signing_input = f"{header}.{b64json(payload)}"
    secret = RSAAlgorithm.to_jwk(rsa_key.public_key()).encode()
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidSignedToken) as error:
        verifier.verify(f"{signing_input}.{b64(mac)}", now=NOW)
    assert reason(error) == "the token's algorithm is not accepted"


def test_a_capabilities_token_is_not_an_access_token(
    verifier: OAuth2Verifier, keys: CapabilitiesKeys
) -> None:
    with pytest.raises(InvalidSignedToken):
        verifier.verify(issue(keys), now=NOW)


def test_the_jwks_file_is_read_again_for_an_unknown_kid(
    verifier: OAuth2Verifier, jwks_file: Path, jwks: dict[str, Any]
) -> None:
    new_key = ec.generate_private_key(ec.SECP256R1())
    token = access_token(new_key, kid="ec-2", alg="ES256")
    with pytest.raises(InvalidSignedToken):
        verifier.verify(token, now=NOW)
    new_jwk = {**ECAlgorithm.to_jwk(new_key.public_key(), as_dict=True), "kid": "ec-2"}
    jwks_file.write_text(json.dumps({"keys": [*jwks["keys"], new_jwk]}))
    assert verifier.verify(token, now=NOW).subject == "user-42"


def test_unusable_jwks_entries_are_skipped(rsa_key: Any) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (the point)
    public = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    document = {
        "keys": [
            "not a key",
            {"kty": "oct", "k": b64(b"s" * 32), "kid": "hmac"},
            {**RSAAlgorithm.to_jwk(rsa_key, as_dict=True), "kid": "private"},
            {**RSAAlgorithm.to_jwk(weak.public_key(), as_dict=True), "kid": "weak"},
            {**public, "kid": "ps", "alg": "PS256"},
            {**public, "kid": "enc", "use": "enc"},
            {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA", "kid": "p384"},
            {"kty": "RSA", "kid": "broken"},
            {**public, "kid": "good"},
        ]
    }
    assert [key.key_id for key in parse_jwks(document)] == ["good"]
    with pytest.raises(ValueError, match="no usable"):
        parse_jwks({"keys": document["keys"][:-1]})
    with pytest.raises(ValueError, match="not a JWKS"):
        parse_jwks([public])


def test_a_missing_jwks_file_makes_keys_unavailable(tmp_path: Path, rsa_key: Any) -> None:
    verifier = OAuth2Verifier(issuer=ISSUER, audience=AUDIENCE, jwks=JWKSFile(tmp_path / "none"))
    with pytest.raises(KeysUnavailable) as error:
        verifier.verify(access_token(rsa_key), now=NOW)
    assert reason(error) == "the token issuer's keys are not available"


def test_from_settings(jwks_file: Path, rsa_key: Any) -> None:
    assert OAuth2Verifier.from_settings(Settings()) is None
    verifier = OAuth2Verifier.from_settings(
        Settings(
            oauth2_issuer=ISSUER,
            oauth2_audience=AUDIENCE,
            oauth2_jwks_file=str(jwks_file),
            oauth2_organizations_claim="orgs",
        )
    )
    assert verifier is not None
    assert verifier.verify(access_token(rsa_key, orgs="acme"), now=NOW).organizations == ("acme",)
    url = Settings(
        oauth2_issuer=ISSUER,
        oauth2_audience=AUDIENCE,
        oauth2_jwks_url="http://127.0.0.1:9/jwks.json",
    )
    assert OAuth2Verifier.from_settings(url) is not None
    incomplete: list[dict[str, Any]] = [
        {"oauth2_jwks_file": str(jwks_file)},
        {"oauth2_audience": AUDIENCE},
        {
            "oauth2_audience": AUDIENCE,
            "oauth2_jwks_file": str(jwks_file),
            "oauth2_jwks_url": "https://login.example.test/jwks",
        },
        {"oauth2_audience": AUDIENCE, "oauth2_jwks_url": "file:///etc/passwd"},
    ]
    for broken in incomplete:
        # Settings refuse these when read (F4); settings made without checks still fail here.
        with pytest.raises(ValidationError):
            Settings(oauth2_issuer=ISSUER, **broken)
        with pytest.raises(SignedTokenConfigError):
            OAuth2Verifier.from_settings(Settings.model_construct(oauth2_issuer=ISSUER, **broken))


# -- a JWKS served over HTTP ----------------------------------------------------------------


class JWKSServer:
    """A JWKS on 127.0.0.1, counting fetches; ``status`` other than 200 simulates an outage."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.status = 200
        self.fetches = 0
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.fetches += 1
                body = json.dumps(served.document).encode()
                self.send_response(served.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def server(jwks: dict[str, Any]) -> Iterator[JWKSServer]:
    server = JWKSServer(jwks)
    yield server
    server.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def url_verifier(server: JWKSServer, clock: FakeClock) -> OAuth2Verifier:
    source = JWKSURL(server.url, timeout=2.0, clock=clock)
    return OAuth2Verifier(issuer=ISSUER, audience=AUDIENCE, jwks=source)


def test_the_jwks_url_is_fetched_once_and_cached(
    url_verifier: OAuth2Verifier, server: JWKSServer, clock: FakeClock, rsa_key: Any, ec_key: Any
) -> None:
    assert server.fetches == 0  # nothing is fetched before the first token
    url_verifier.verify(access_token(rsa_key), now=NOW)
    url_verifier.verify(access_token(ec_key, "ec-1", "ES256"), now=NOW)
    assert server.fetches == 1
    clock.now += 299
    url_verifier.verify(access_token(rsa_key), now=NOW)
    assert server.fetches == 1
    clock.now += 2  # five minutes after the fetch
    url_verifier.verify(access_token(rsa_key), now=NOW)
    assert server.fetches == 2


def test_an_unknown_kid_refreshes_the_jwks_but_not_every_time(
    url_verifier: OAuth2Verifier,
    server: JWKSServer,
    clock: FakeClock,
    rsa_key: Any,
    jwks: dict[str, Any],
) -> None:
    url_verifier.verify(access_token(rsa_key), now=NOW)
    clock.now += 60
    new_key = ec.generate_private_key(ec.SECP256R1())
    token = access_token(new_key, kid="ec-2", alg="ES256")
    with pytest.raises(InvalidSignedToken) as error:
        url_verifier.verify(token, now=NOW)
    assert reason(error) == "the token's signing key is not known"
    assert server.fetches == 2
    server.document = {
        "keys": [
            *jwks["keys"],
            {**ECAlgorithm.to_jwk(new_key.public_key(), as_dict=True), "kid": "ec-2"},
        ]
    }
    clock.now += 10
    with pytest.raises(InvalidSignedToken):
        url_verifier.verify(access_token(rsa_key, kid="random-kid"), now=NOW)
    with pytest.raises(InvalidSignedToken):
        url_verifier.verify(token, now=NOW)
    assert server.fetches == 2  # unknown kids cannot make us fetch on every request
    clock.now += 30
    assert url_verifier.verify(token, now=NOW).subject == "user-42"
    assert server.fetches == 3


def test_an_unreachable_jwks_keeps_the_keys_already_known(
    url_verifier: OAuth2Verifier, server: JWKSServer, clock: FakeClock, rsa_key: Any
) -> None:
    server.status = 500
    with pytest.raises(KeysUnavailable):
        url_verifier.verify(access_token(rsa_key), now=NOW)
    clock.now += 30
    server.status = 200
    url_verifier.verify(access_token(rsa_key), now=NOW)
    server.status = 503
    clock.now += 600
    url_verifier.verify(access_token(rsa_key), now=NOW)
    assert server.fetches == 3


def test_a_jwks_url_must_be_http() -> None:
    with pytest.raises(SignedTokenConfigError):
        JWKSURL("file:///etc/passwd")


# -- routing --------------------------------------------------------------------------------


def test_routing_between_verifiers(keys: CapabilitiesKeys, rsa_key: Any) -> None:
    capabilities = issue(keys)
    oauth2 = access_token(rsa_key)
    opaque = new_secret()
    assert looks_like_jwt(capabilities)
    assert looks_like_jwt(oauth2)
    assert not looks_like_jwt(opaque)
    assert unverified_issuer(capabilities) == CAP_ISSUER
    assert unverified_issuer(oauth2) == ISSUER
    assert unverified_issuer(opaque) is None
    assert token_kind(oauth2, ISSUER, CAP_ISSUER) == "oauth2"
    assert token_kind(oauth2, None, CAP_ISSUER) == "unknown_issuer"  # K6: no OAuth2 issuer
    assert token_kind(capabilities, ISSUER, CAP_ISSUER) == "capabilities"
    assert token_kind(capabilities, None, CAP_ISSUER) == "capabilities"
    assert token_kind(opaque, ISSUER, CAP_ISSUER) == "api_token"


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (f"{b64json({'alg': 'none'})}.{b64json({})}.", True),
        (f"{b64json({'alg': 'RS256'})}.{b64json({})}.c2ln", True),
        (f"{b64json({'typ': 'JWT'})}.{b64json({})}.c2ln", False),
        (f"{b64json({'alg': 5})}.{b64json({})}.c2ln", False),
        (f"{b64json(['alg'])}.{b64json({})}.c2ln", False),
        (f"{b64json({'alg': 'RS256'})}.{b64json({})}.c2ln.c2ln", False),
        (f"{b64json({'alg': 'RS256'})}..c2ln", False),
        (f"{b64json({'alg': 'RS256'})}.e30.c2l+", False),
        ("abc.def.ghi", False),
        ("", False),
        (f"{b64json({'alg': 'RS256'})}.{b64json({'x': 'y' * 20_000})}.c2ln", False),
    ],
)
def test_looks_like_jwt(token: str, expected: bool) -> None:
    assert looks_like_jwt(token) is expected


def test_unverified_issuer_ignores_odd_payloads() -> None:
    header = b64json({"alg": "RS256"})
    assert unverified_issuer(f"{header}.{b64json({'iss': 5})}.c2ln") is None
    assert unverified_issuer(f"{header}.{b64json(['iss'])}.c2ln") is None
    assert unverified_issuer(f"{header}.{b64(b'{')}.c2ln") is None
