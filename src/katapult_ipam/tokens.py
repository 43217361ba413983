"""API token secrets: made at random, kept only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh secret with 256 bits of entropy, URL-safe."""
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    """The stored form of a secret. A fast hash is right for random 256-bit secrets."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def same_hash(stored: str, computed: str) -> bool:
    """Compare two hashes in constant time."""
    return hmac.compare_digest(stored.encode(), computed.encode())
