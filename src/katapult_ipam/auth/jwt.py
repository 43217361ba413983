"""Checks shared by every signed token, and which verifier a bearer token goes to.

Every failure is an ``InvalidSignedToken`` whose reason may be shown to the client,
so reasons are fixed phrases: never the token, a claim's value or key material.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt import PyJWK
from jwt.types import Options

from katapult_ipam.limits import ACTOR_ID_MAX_LENGTH

# Clocks of issuers and of this service drift a little.
LEEWAY = timedelta(seconds=30)
# Far above any real token; bounds the work an unauthenticated caller can cause.
MAX_TOKEN_LENGTH = 16 * 1024

# Claims are checked here (with an injectable clock), so PyJWT only checks the signature.
_SIGNATURE_ONLY: Options = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_iss": False,
    "verify_aud": False,
    "verify_sub": False,
    "verify_jti": False,
    "enforce_minimum_key_length": True,
}
_SEGMENT = re.compile(r"\A[A-Za-z0-9_-]*={0,2}\Z")

TokenKind = Literal["oauth2", "capabilities", "api_token", "unknown_issuer"]


class InvalidSignedToken(Exception):
    """A signed token that must not be believed; ``reason`` is safe to show the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeysUnavailable(InvalidSignedToken):
    """The issuer's keys cannot be had right now, so none of its tokens can be checked."""


class SignedTokenConfigError(ValueError):
    """The settings or key files for signed tokens cannot work."""


# -- routing ----------------------------------------------------------------------------


def looks_like_jwt(token: str) -> bool:
    """True for three base64url segments whose first is a JSON header with an ``alg``."""
    segments = _segments(token)
    if segments is None:
        return False
    header = _decode_segment(segments[0])
    return isinstance(header, dict) and isinstance(header.get("alg"), str)


def unverified_issuer(token: str) -> str | None:
    """The ``iss`` a JWT claims, NOT verified: only for choosing which verifier checks it."""
    segments = _segments(token)
    if segments is None:
        return None
    payload = _decode_segment(segments[1])
    issuer = payload.get("iss") if isinstance(payload, dict) else None
    return issuer if isinstance(issuer, str) else None


def token_kind(token: str, oauth2_issuer: str | None, capabilities_issuer: str) -> TokenKind:
    """Which verifier a bearer token goes to (it still has to pass that verifier).

    A JWT goes by its unverified issuer; one from an issuer we do not know is
    ``unknown_issuer``: an API token that is not valid.
    """
    if not looks_like_jwt(token):
        return "api_token"
    issuer = unverified_issuer(token)
    if oauth2_issuer and issuer == oauth2_issuer:
        return "oauth2"
    if issuer == capabilities_issuer:
        return "capabilities"
    return "unknown_issuer"


def _segments(token: str) -> list[str] | None:
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    segments = token.split(".")
    if len(segments) != 3 or not segments[0] or not segments[1]:
        return None
    if not all(_SEGMENT.match(segment) for segment in segments):
        return None
    return segments


def _decode_segment(segment: str) -> object:
    """The JSON in a base64url segment, or None."""
    stripped = segment.rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        return None


def unverified_header(token: str) -> dict[str, Any]:
    """The unverified JOSE header of a JWT-shaped token."""
    segments = _segments(token)
    header = None if segments is None else _decode_segment(segments[0])
    if not isinstance(header, dict):
        raise InvalidSignedToken("the token is malformed")
    return header


# -- checks shared by both kinds ----------------------------------------------------


def verified_payload(
    token: str, candidates: Sequence[tuple[Ed25519PublicKey | PyJWK, str]]
) -> dict[str, Any]:
    """The payload of ``token`` once one of the keys verifies its signature."""
    for key, algorithm in candidates:
        try:
            return jwt.decode(token, key, algorithms=[algorithm], options=_SIGNATURE_ONLY)
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidAlgorithmError:
            raise InvalidSignedToken("the token's algorithm is not accepted") from None
        except jwt.InvalidKeyError:
            raise InvalidSignedToken("the token's signing key is not accepted") from None
        except jwt.PyJWTError:
            raise InvalidSignedToken("the token is malformed") from None
    raise InvalidSignedToken("the token's signature does not verify")


def check_times(
    payload: dict[str, Any],
    now: float,
    *,
    required: tuple[str, ...],
    leeway: timedelta = LEEWAY,
) -> None:
    """Refuse a token that has expired or is not valid yet (or has ill-typed times)."""
    times: dict[str, float] = {}
    for name in ("exp", "nbf", "iat"):
        value = payload.get(name)
        if value is None:
            if name in required:
                raise InvalidSignedToken(f"the token has no {name} claim")
            continue
        # bool is an int, and Python's json accepts NaN and Infinity.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidSignedToken(f"the token's {name} claim is not a time")
        if not math.isfinite(value):
            raise InvalidSignedToken(f"the token's {name} claim is not a time")
        times[name] = float(value)
    margin = leeway.total_seconds()
    if "exp" in times and times["exp"] <= now - margin:
        raise InvalidSignedToken("the token has expired")
    if max(times.get("nbf", -math.inf), times.get("iat", -math.inf)) > now + margin:
        raise InvalidSignedToken("the token is not valid yet")


def string_claim(payload: dict[str, Any], name: str, reason: str) -> str:
    """The claim ``name`` if it is a non-empty string; else refused with ``reason``."""
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidSignedToken(reason)
    return value


def actor_id(value: str, claim: str) -> str:
    """A claim that names who acts, as the audit log can store it (limits.py)."""
    if len(value) > ACTOR_ID_MAX_LENGTH:
        raise InvalidSignedToken(f"the token's {claim} is too long")
    if "\x00" in value:  # PostgreSQL stores no NUL character
        raise InvalidSignedToken(f"the token's {claim} is malformed")
    return value


def timestamp(now: datetime | None) -> float:
    """``now`` (the clock's time when None) as Unix seconds."""
    if now is None:
        return time.time()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.timestamp()
