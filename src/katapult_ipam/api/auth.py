"""The authenticator: turns a request's credentials into an Identity.

It runs before arguments are parsed (argument rules may depend on who asks),
and every failure is one of the declared authenticator errors.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from katapult_ipam.api.context import Identity
from katapult_ipam.api.errors import INVALID_API_TOKEN, MISSING_API_TOKEN, SCOPE_NOT_GRANTED
from katapult_ipam.store import queries
from katapult_ipam.store.transactions import TransactionRunner
from katapult_ipam.tokens import hash_secret, same_hash

API_TOKEN = "APIToken"  # noqa: S105 (an identity kind, not a secret)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if authorization is None:
        raise MISSING_API_TOKEN()
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise MISSING_API_TOKEN()
    return token


class Authenticator:
    def __init__(self, transactions: TransactionRunner) -> None:
        self._transactions = transactions

    async def authenticate(self, authorization: str | None) -> Identity:
        """The identity behind the request's bearer token."""
        secret = bearer_token(authorization)
        digest = hash_secret(secret)
        record = await self._transactions.run(partial(queries.find_token, secret_hash=digest))
        now = datetime.now(UTC)
        if (
            record is None
            or not same_hash(record.secret_hash, digest)
            or record.revoked_at is not None
            or (record.expires_at is not None and record.expires_at <= now)
        ):
            raise INVALID_API_TOKEN()
        return Identity(
            organization_ids=frozenset({record.organization_id}),
            scopes=record.scopes,
            kind=API_TOKEN,
            id=record.id,
        )


def require_scope(identity: Identity, scope: str) -> None:
    """Refuse an identity that was not granted the endpoint's scope."""
    if scope not in identity.scopes:
        raise SCOPE_NOT_GRANTED({"scopes": [scope]})
