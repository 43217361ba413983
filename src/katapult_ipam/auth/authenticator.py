"""The authenticator: turns a request's credentials into an Identity.

It runs before arguments are parsed (argument rules may depend on who asks)
and applies the rate limit: per identity once known, per client address for
requests that fail to authenticate, so guessing tokens is throttled too.
Every failure is one of the declared authenticator errors.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

from katapult_ipam.api.errors import (
    INVALID_API_TOKEN,
    INVALID_CAPABILITIES_TOKEN,
    MISSING_API_TOKEN,
    RATE_LIMIT_REACHED,
    SCOPE_NOT_GRANTED,
    SERVICE_UNAVAILABLE,
    UNAUTHORIZED_NETWORK_FOR_API_TOKEN,
    ApiError,
)
from katapult_ipam.auth.capabilities import (
    DEFAULT_MAX_TTL,
    CapabilitiesKeys,
    verify_capabilities_token,
)
from katapult_ipam.auth.client_address import in_networks, rate_limit_key
from katapult_ipam.auth.identity import NO_SCOPE_REQUIRED, Identity, Scopes
from katapult_ipam.auth.jwt import InvalidSignedToken, KeysUnavailable, token_kind
from katapult_ipam.auth.oauth2 import OAuth2Verifier
from katapult_ipam.auth.rate_limit import RateLimiter
from katapult_ipam.store.queries import organizations, tokens
from katapult_ipam.store.reads import ReadRunner
from katapult_ipam.store.records import TokenRecord
from katapult_ipam.tokens import hash_secret, same_hash

# Identity kinds, as the audit log and request logs name them (not secrets).
API_TOKEN = "APIToken"  # noqa: S105
CAPABILITIES_TOKEN = "CapabilitiesToken"  # noqa: S105
OAUTH2 = "OAuth2"


@dataclass(frozen=True)
class Credentials:
    """What a request offers to prove who it is."""

    authorization: str | None
    client_address: str


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if authorization is None:
        raise MISSING_API_TOKEN()
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise MISSING_API_TOKEN()
    return token


@dataclass(frozen=True)
class SignedTokenVerifiers:
    """How signed bearer tokens are checked: ours (capabilities) and an OAuth2 issuer's."""

    capabilities: CapabilitiesKeys
    capabilities_issuer: str
    oauth2: OAuth2Verifier | None = None
    # Capabilities tokens with a longer lifetime are refused.
    capabilities_max_ttl: timedelta = DEFAULT_MAX_TTL


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TimedCache(Generic[K, V]):
    """Values believed for ``seconds`` after they were put; bounded in size."""

    MAX_ENTRIES = 10_000

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None or self._clock() - entry[0] >= self.seconds:
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        if self.seconds <= 0:
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (self._clock(), value)


class TokenCache(TimedCache[str, TokenRecord]):
    """API tokens found recently, by secret hash, so most requests skip the lookup."""


class Authenticator:
    def __init__(
        self,
        reads: ReadRunner,
        limiter: RateLimiter,
        verifiers: SignedTokenVerifiers,
        token_cache: TokenCache,
    ) -> None:
        self._reads = reads
        self._limiter = limiter
        self._verifiers = verifiers
        self._token_cache = token_cache
        # Organization names in OAuth2 claims -> ids; as fresh as the token cache.
        self._organizations: TimedCache[tuple[str, ...], frozenset[str]] = TimedCache(
            token_cache.seconds
        )
        # Organization id -> when its capabilities tokens were revoked (Unix seconds,
        # -inf: never); as fresh as the token cache, so revoking takes as long to bite.
        self._tokens_not_before: TimedCache[str, float] = TimedCache(token_cache.seconds)

    async def authenticate(self, credentials: Credentials, headers: dict[str, str]) -> Identity:
        """The caller's identity; rate limit headers are added to ``headers``."""
        try:
            identity = await self._identify(credentials)
        except ApiError:
            await self.count_anonymous(credentials.client_address, headers)
            raise
        await self._count(f"identity:{identity.kind}:{identity.id}", headers)
        return identity

    async def count_anonymous(self, client_address: str, headers: dict[str, str]) -> None:
        """Count a request that has no identity against its client address."""
        await self._count(f"address:{rate_limit_key(client_address)}", headers)

    async def close(self) -> None:
        await self._limiter.close()

    async def _count(self, key: str, headers: dict[str, str]) -> None:
        result = await self._limiter.hit(key)
        headers.update(result.headers())
        if not result.allowed:
            raise RATE_LIMIT_REACHED(
                {"total_permitted": result.permitted},
                headers={"retry-after": str(result.retry_after())},
            )

    async def _identify(self, credentials: Credentials) -> Identity:
        token = bearer_token(credentials.authorization)
        oauth2 = self._verifiers.oauth2
        kind = token_kind(
            token, oauth2.issuer if oauth2 else None, self._verifiers.capabilities_issuer
        )
        if kind == "oauth2" and oauth2 is not None:
            return await self._oauth2(oauth2, token)
        if kind == "capabilities":
            return await self._capabilities(token)
        if kind == "unknown_issuer":
            raise INVALID_API_TOKEN({"details": "the token's issuer is not known"})
        return await self._api_token(token, credentials.client_address)

    async def _capabilities(self, token: str) -> Identity:
        verifiers = self._verifiers
        try:
            claims = verify_capabilities_token(
                verifiers.capabilities,
                token,
                issuer=verifiers.capabilities_issuer,
                max_ttl=verifiers.capabilities_max_ttl,
            )
        except InvalidSignedToken as error:
            raise INVALID_CAPABILITIES_TOKEN({"details": error.reason}) from None
        if claims.issued_at < await self._revoked_before(claims.organization_id):
            raise INVALID_CAPABILITIES_TOKEN({"details": "the token has been revoked"})
        return Identity(
            organization_ids=frozenset({claims.organization_id}),
            scopes=claims.scopes,
            kind=CAPABILITIES_TOKEN,
            id=claims.token_id,
        )

    async def _revoked_before(self, organization_id: str) -> float:
        """Capabilities tokens of the organization issued before this time are revoked."""
        revoked = self._tokens_not_before.get(organization_id)
        if revoked is None:
            not_before = await self._reads.run(
                partial(organizations.tokens_not_before, organization_id=organization_id)
            )
            revoked = -math.inf if not_before is None else not_before.timestamp()
            self._tokens_not_before.put(organization_id, revoked)
        return revoked

    async def _oauth2(self, verifier: OAuth2Verifier, token: str) -> Identity:
        try:
            if verifier.may_block:
                # Verifying may fetch the issuer's keys: keep that off the event loop.
                claims = await run_in_threadpool(verifier.verify, token)
            else:
                claims = verifier.verify(token)
        except KeysUnavailable:
            raise SERVICE_UNAVAILABLE(headers={"retry-after": "5"}) from None
        except InvalidSignedToken as error:
            raise INVALID_API_TOKEN({"details": error.reason}) from None
        organization_ids = self._organizations.get(claims.organizations)
        if organization_ids is None:
            organization_ids = await self._reads.run(
                partial(organizations.organization_ids, references=claims.organizations)
            )
            self._organizations.put(claims.organizations, organization_ids)
        return Identity(
            organization_ids=organization_ids,
            scopes=claims.scopes,
            kind=OAUTH2,
            id=claims.subject,
        )

    async def _api_token(self, secret: str, client_address: str) -> Identity:
        digest = hash_secret(secret)
        record = self._token_cache.get(digest)
        if record is None:
            record = await self._reads.run(partial(tokens.find_token, secret_hash=digest))
            if record is not None:
                self._token_cache.put(digest, record)
        if (
            record is None
            or not same_hash(record.secret_hash, digest)
            or record.revoked_at is not None
            or (record.expires_at is not None and record.expires_at <= datetime.now(UTC))
        ):
            raise INVALID_API_TOKEN()
        if record.allowed_networks and not in_networks(client_address, record.allowed_networks):
            raise UNAUTHORIZED_NETWORK_FOR_API_TOKEN({"ip_address": client_address})
        return Identity(
            organization_ids=frozenset({record.organization_id}),
            scopes=record.scopes,
            kind=API_TOKEN,
            id=record.id,
        )


def require_scope(identity: Identity, scopes: Scopes) -> None:
    """Refuse an identity granted none of the endpoint's scopes; any one is enough."""
    # As Apia: ``scopes.any?`` to pass, and the refusal lists every accepted scope
    # in declared order (``raise_error ScopeNotGrantedError, scopes: definition.scopes``).
    if scopes is NO_SCOPE_REQUIRED or not identity.scopes.isdisjoint(scopes):
        return
    raise SCOPE_NOT_GRANTED({"scopes": [scope.value for scope in scopes]})
