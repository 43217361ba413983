"""API tokens, found by the hash of their secret."""

from __future__ import annotations

import ipaddress

from sqlalchemy import text
from sqlalchemy.engine import Connection

from katapult_ipam.store import models as m
from katapult_ipam.store.records import TokenRecord

_FIND_TOKEN = text(
    "SELECT id, organization_id, secret_hash, scopes, allowed_networks, expires_at, revoked_at"
    " FROM api_tokens WHERE secret_hash = :secret_hash"
).columns(expires_at=m.UTCDateTime(), revoked_at=m.UTCDateTime())


def find_token(connection: Connection, secret_hash: str) -> TokenRecord | None:
    """The API token whose secret hashes to ``secret_hash``."""
    row = connection.execute(_FIND_TOKEN, {"secret_hash": secret_hash}).first()
    if row is None:
        return None
    return TokenRecord(
        id=row.id,
        organization_id=row.organization_id,
        secret_hash=row.secret_hash,
        scopes=frozenset(row.scopes.split()),
        allowed_networks=tuple(ipaddress.ip_network(n) for n in row.allowed_networks.split()),
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )
