"""Capabilities tokens: short-lived JWTs this service signs with its Ed25519 key."""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from katapult_ipam.auth.jwt import (
    InvalidSignedToken,
    SignedTokenConfigError,
    actor_id,
    check_times,
    string_claim,
    timestamp,
    unverified_header,
    verified_payload,
)
from katapult_ipam.auth.keys import key_id, load_or_create_signing_key, load_public_key
from katapult_ipam.tokens import check_scopes

if TYPE_CHECKING:
    from katapult_ipam.config import Settings

CAPABILITIES_TOKEN_TYPE = "kipam-cap+jwt"  # noqa: S105 (a JOSE "typ", not a secret)
CAPABILITIES_ALGORITHM = "EdDSA"
# The longest lifetime of a capabilities token unless the settings say otherwise
# (KATAPULT_IPAM_CAPABILITIES_MAX_TTL): a longer one is neither issued nor believed.
DEFAULT_MAX_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class CapabilitiesClaims:
    """What a verified capabilities token grants."""

    organization_id: str
    scopes: frozenset[str]
    token_id: str
    # When it was issued (Unix seconds): tokens issued before the organization's
    # tokens_not_before are revoked.
    issued_at: float


class CapabilitiesKeys:
    """The key capabilities tokens are signed with, and every public key accepted on them."""

    def __init__(
        self, private_key: Ed25519PrivateKey, extra_public_keys: Iterable[Ed25519PublicKey] = ()
    ) -> None:
        self.private_key = private_key
        self.key_id = key_id(private_key.public_key())
        accepted = {self.key_id: private_key.public_key()}
        for public_key in extra_public_keys:
            accepted.setdefault(key_id(public_key), public_key)
        self._accepted = accepted

    @classmethod
    def from_settings(cls, settings: Settings) -> CapabilitiesKeys:
        """The signing key file (made if need be) and the extra public key files."""
        try:
            private_key = load_or_create_signing_key(Path(settings.signing_key_file))
        except OSError as error:
            raise SignedTokenConfigError(
                f"KATAPULT_IPAM_SIGNING_KEY_FILE {settings.signing_key_file}: "
                f"{error.strerror or error}"
            ) from None
        extra = [load_public_key(Path(p)) for p in settings.capabilities_public_key_files]
        return cls(private_key, extra)

    @property
    def public_keys(self) -> tuple[Ed25519PublicKey, ...]:
        """Every accepted public key, the signing key's own first."""
        return tuple(self._accepted.values())

    def candidates(self, kid: object) -> list[Ed25519PublicKey]:
        """The keys worth trying on a token with this ``kid``: its key, or all if unknown."""
        if isinstance(kid, str) and kid in self._accepted:
            return [self._accepted[kid]]
        return list(self._accepted.values())


def issue_capabilities_token(
    keys: CapabilitiesKeys,
    *,
    organization_id: str,
    scopes: Sequence[str],
    ttl: timedelta,
    issuer: str,
    now: datetime | None = None,
    max_ttl: timedelta = DEFAULT_MAX_TTL,
) -> str:
    """A capabilities token granting ``scopes`` on an organization for ``ttl``."""
    if not organization_id or not issuer:
        raise ValueError("an organization id and an issuer are needed")
    if ttl <= timedelta(0):
        raise ValueError("the lifetime must be positive")
    if ttl > max_ttl:
        raise ValueError(f"the lifetime is longer than the maximum, {_seconds(max_ttl)} s")
    check_scopes(scopes)
    issued_at = math.floor(timestamp(now))
    payload = {
        "iss": issuer,
        "sub": organization_id,
        "scope": " ".join(dict.fromkeys(scopes)),
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + math.ceil(ttl.total_seconds()),
        "jti": secrets.token_urlsafe(16),
    }
    headers = {"typ": CAPABILITIES_TOKEN_TYPE, "kid": keys.key_id}
    return jwt.encode(payload, keys.private_key, algorithm=CAPABILITIES_ALGORITHM, headers=headers)


def verify_capabilities_token(
    keys: CapabilitiesKeys,
    token: str,
    *,
    issuer: str,
    now: datetime | None = None,
    max_ttl: timedelta = DEFAULT_MAX_TTL,
) -> CapabilitiesClaims:
    """The claims of a capabilities token signed by one of ``keys`` and valid ``now``,
    whose lifetime (from its issue to its expiry) is at most ``max_ttl``."""
    header = unverified_header(token)
    # Checked before any key is touched, and the only algorithm passed to PyJWT: no alg confusion.
    if header.get("alg") != CAPABILITIES_ALGORITHM:
        raise InvalidSignedToken("the token's algorithm is not accepted")
    if header.get("typ") != CAPABILITIES_TOKEN_TYPE:
        raise InvalidSignedToken("the token is not a capabilities token")
    candidates = [(key, CAPABILITIES_ALGORITHM) for key in keys.candidates(header.get("kid"))]
    payload = verified_payload(token, candidates)
    check_times(payload, timestamp(now), required=("exp", "nbf", "iat"))
    if payload["exp"] - payload["iat"] > _seconds(max_ttl):
        raise InvalidSignedToken("the token's lifetime is longer than the maximum")
    if payload.get("iss") != issuer:
        raise InvalidSignedToken("the token's issuer is not accepted")
    organization_id = string_claim(payload, "sub", "the token names no organization")
    token_id = actor_id(string_claim(payload, "jti", "the token has no id"), "id")
    scope = payload.get("scope")
    if not isinstance(scope, str):
        raise InvalidSignedToken("the token's scope claim is missing or malformed")
    return CapabilitiesClaims(
        organization_id, frozenset(scope.split()), token_id, float(payload["iat"])
    )


def _seconds(lifetime: timedelta) -> int:
    return math.ceil(lifetime.total_seconds())
