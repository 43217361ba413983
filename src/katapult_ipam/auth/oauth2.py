"""OAuth2 access tokens: JWTs from an external issuer, checked against its JWKS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jwt import PyJWK

from katapult_ipam.auth.jwks import JWKSURL, JWKSFile, JWKSSource
from katapult_ipam.auth.jwt import (
    LEEWAY,
    InvalidSignedToken,
    SignedTokenConfigError,
    actor_id,
    check_times,
    string_claim,
    timestamp,
    unverified_header,
    verified_payload,
)

if TYPE_CHECKING:
    from katapult_ipam.config import Settings

OAUTH2_SCOPE_PREFIX = "api.katapult.io/core/v1/"


@dataclass(frozen=True)
class OAuth2Claims:
    """What a verified OAuth2 access token says; scopes are without the API prefix."""

    subject: str
    scopes: frozenset[str]
    organizations: tuple[str, ...]


class OAuth2Verifier:
    """Checks access tokens of one external OAuth2 issuer for one audience."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks: JWKSSource,
        organizations_claim: str = "organizations",
        leeway: timedelta = LEEWAY,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._jwks = jwks
        self._organizations_claim = organizations_claim
        self._leeway = leeway

    @property
    def may_block(self) -> bool:
        """Whether verifying can wait on the network (keys fetched from a URL)."""
        return not isinstance(self._jwks, JWKSFile)

    @classmethod
    def from_settings(cls, settings: Settings) -> OAuth2Verifier | None:
        """The configured verifier, or None when no OAuth2 issuer is configured."""
        if not settings.oauth2_issuer:
            return None
        if not settings.oauth2_audience:
            raise SignedTokenConfigError("an OAuth2 issuer needs KATAPULT_IPAM_OAUTH2_AUDIENCE")
        jwks: JWKSSource
        if settings.oauth2_jwks_file and not settings.oauth2_jwks_url:
            jwks = JWKSFile(Path(settings.oauth2_jwks_file))
        elif settings.oauth2_jwks_url and not settings.oauth2_jwks_file:
            jwks = JWKSURL(settings.oauth2_jwks_url)
        else:
            raise SignedTokenConfigError(
                "an OAuth2 issuer needs one of KATAPULT_IPAM_OAUTH2_JWKS_FILE or _JWKS_URL"
            )
        return cls(
            issuer=settings.oauth2_issuer,
            audience=settings.oauth2_audience,
            jwks=jwks,
            organizations_claim=settings.oauth2_organizations_claim,
        )

    def verify(self, token: str, now: datetime | None = None) -> OAuth2Claims:
        """The claims of an access token of this issuer, for this audience, valid ``now``.

        With a JWKS URL this may block on the network (bounded by its timeout).
        """
        header = unverified_header(token)
        candidates = [(key, key.algorithm_name) for key in self._candidates(header)]
        payload = verified_payload(token, candidates)
        check_times(payload, timestamp(now), required=("exp",), leeway=self._leeway)
        if payload.get("iss") != self.issuer:
            raise InvalidSignedToken("the token's issuer is not accepted")
        if not _names_audience(payload.get("aud"), self.audience):
            raise InvalidSignedToken("the token is not meant for this API (audience)")
        subject = actor_id(string_claim(payload, "sub", "the token has no subject"), "subject")
        return OAuth2Claims(
            subject=subject,
            scopes=_oauth2_scopes(payload),
            organizations=_organizations(payload.get(self._organizations_claim)),
        )

    def _candidates(self, header: dict[str, Any]) -> list[PyJWK]:
        """The JWKS keys that may have signed a token with this header."""
        kid = header.get("kid")
        if kid is None:
            matching = list(self._jwks.signing_keys())
        elif not isinstance(kid, str):
            raise InvalidSignedToken("the token is malformed")
        else:
            matching = [key for key in self._jwks.signing_keys() if key.key_id == kid]
            if not matching:
                # The issuer may have rotated its keys since they were read.
                matching = [
                    key for key in self._jwks.signing_keys(refresh=True) if key.key_id == kid
                ]
            if not matching:
                raise InvalidSignedToken("the token's signing key is not known")
        # The header's alg only picks among keys; each key verifies with its own algorithm.
        usable = [key for key in matching if key.algorithm_name == header.get("alg")]
        if not usable:
            raise InvalidSignedToken("the token's algorithm is not accepted")
        return usable


def _names_audience(claim: object, audience: str) -> bool:
    if isinstance(claim, str):
        return claim == audience
    return isinstance(claim, list) and audience in claim


def _oauth2_scopes(payload: dict[str, Any]) -> frozenset[str]:
    """Scopes of this API from ``scope`` (space separated) or ``scp``, without the prefix."""
    granted = payload.get("scope", payload.get("scp"))
    if granted is None:
        granted = []
    elif isinstance(granted, str):
        granted = granted.split()
    elif not (isinstance(granted, list) and all(isinstance(s, str) for s in granted)):
        raise InvalidSignedToken("the token's scope claim is malformed")
    prefix = OAUTH2_SCOPE_PREFIX
    return frozenset(
        s.removeprefix(prefix) for s in granted if s.startswith(prefix) and s != prefix
    )


def _organizations(claim: object) -> tuple[str, ...]:
    """The organizations claim: a list of strings or a single string (absent: none)."""
    if claim is None:
        return ()
    values = [claim] if isinstance(claim, str) else claim
    if not (isinstance(values, list) and all(isinstance(v, str) for v in values)):
        raise InvalidSignedToken("the token's organizations claim is malformed")
    return tuple(dict.fromkeys(v for v in values if v))
