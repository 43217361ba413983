"""API token rules and secrets: what a token's name and scopes may be (for every way
a token is made: the command line, inventory files, capabilities tokens), and secrets
made at random, kept only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

from katapult_ipam.limits import NAME_MAX_LENGTH

SECRET_BYTES = 32

NO_NAME = "a token needs a name"
NAME_TOO_LONG = f"a token name is at most {NAME_MAX_LENGTH} characters, without NUL"
NO_SCOPE = "at least one scope is needed"
BAD_SCOPE = "a scope is empty or contains white space"


def check_token_name(name: str) -> None:
    """Refuse a name that is empty or only white space, too long, or holds a NUL."""
    if not name.strip():
        raise ValueError(NO_NAME)
    if len(name) > NAME_MAX_LENGTH or "\x00" in name:
        raise ValueError(NAME_TOO_LONG)


def check_scopes(scopes: Sequence[str], *, at_least_one: bool = True) -> None:
    """Refuse an empty scope or one with any white space (scopes are stored and sent
    space separated, so ``"a b"`` would grant two), and no scope at all unless
    ``at_least_one`` is false."""
    if at_least_one and not scopes:
        raise ValueError(NO_SCOPE)
    if any(not scope or any(c.isspace() for c in scope) for scope in scopes):
        raise ValueError(BAD_SCOPE)


def new_secret() -> str:
    """A fresh secret with 256 bits of entropy, URL-safe."""
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    """The stored form of a secret. A fast hash is right for random 256-bit secrets."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def same_hash(stored: str, computed: str) -> bool:
    """Compare two hashes in constant time."""
    return hmac.compare_digest(stored.encode(), computed.encode())
