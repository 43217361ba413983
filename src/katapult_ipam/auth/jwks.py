"""Where an OAuth2 issuer's public keys come from: a JWKS file or URL."""

from __future__ import annotations

import http.client
import json
import logging
import math
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import jwt
from jwt import PyJWK

from katapult_ipam.auth.jwt import KeysUnavailable, SignedTokenConfigError
from katapult_ipam.observability import redact_url, scrub_url_secrets

log = logging.getLogger(__name__)

MAX_JWKS_BYTES = 1024 * 1024

# The algorithm a JWK is used with follows from its key type and curve alone.
_ALGORITHMS_BY_KEY_TYPE: dict[tuple[str, str | None], str] = {
    ("RSA", None): "RS256",
    ("EC", "P-256"): "ES256",
    ("OKP", "Ed25519"): "EdDSA",
}


class JWKSSource(Protocol):
    """Where an issuer's public keys come from."""

    def signing_keys(self, *, refresh: bool = False) -> Sequence[PyJWK]:
        """The usable keys; ``refresh`` asks for a fresh copy (a token names an unknown kid)."""
        ...


class JWKSFile:
    """A JWKS kept in a local JSON file, re-read when a token names an unknown key."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._keys: list[PyJWK] | None = None
        self._lock = threading.Lock()

    def signing_keys(self, *, refresh: bool = False) -> Sequence[PyJWK]:
        """The file's usable keys."""
        with self._lock:
            if self._keys is None or refresh:
                try:
                    self._keys = parse_jwks(json.loads(self._path.read_bytes()))
                except (OSError, ValueError) as error:
                    log.warning("cannot read the OAuth2 JWKS file %s: %s", self._path, error)
            if self._keys is None:
                raise KeysUnavailable("the token issuer's keys are not available")
            return self._keys


class JWKSURL:
    """A JWKS fetched over HTTP(S), cached, and fetched again at most every so often."""

    def __init__(
        self,
        url: str,
        *,
        cache_for: timedelta = timedelta(minutes=5),
        min_interval: timedelta = timedelta(seconds=30),
        timeout: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise SignedTokenConfigError("the OAuth2 JWKS URL must be http or https")
        if "@" in parts.netloc:
            # urllib does not log in with it: it would ask DNS for "user:password@host".
            raise SignedTokenConfigError(
                "the OAuth2 JWKS URL must not hold a user name or password"
            )
        self._url = url
        self._cache_for = cache_for.total_seconds()
        self._min_interval = min_interval.total_seconds()
        self._timeout = timeout
        self._clock = clock
        self._keys: list[PyJWK] | None = None
        self._fetched_at = -math.inf
        self._attempted_at = -math.inf
        self._lock = threading.Lock()

    def signing_keys(self, *, refresh: bool = False) -> Sequence[PyJWK]:
        """The cached keys, fetched first when they are old or a refresh is asked for."""
        with self._lock:
            now = self._clock()
            wanted = refresh or now - self._fetched_at >= self._cache_for
            # Unknown kids are the caller's to choose: never let them cause a fetch per request.
            if wanted and now - self._attempted_at >= self._min_interval:
                self._fetch(now)
            if self._keys is None:
                raise KeysUnavailable("the token issuer's keys are not available")
            return self._keys

    def _fetch(self, now: float) -> None:
        self._attempted_at = now
        try:
            keys = fetch_jwks(self._url, timeout=self._timeout)
        except (OSError, ValueError, http.client.HTTPException) as error:
            # Keys change rarely: keep verifying with the ones we have.
            log.warning(
                "cannot fetch the OAuth2 JWKS from %s: %s",
                redact_url(self._url),
                scrub_url_secrets(str(error), self._url),
            )
            return
        self._keys = keys
        self._fetched_at = now


def fetch_jwks(url: str, *, timeout: float) -> list[PyJWK]:
    """The usable keys of the JWKS at ``url``."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 (scheme checked by JWKSURL)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (likewise)
        body = response.read(MAX_JWKS_BYTES + 1)
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError("the JWKS is too large")
    return parse_jwks(json.loads(body))


def parse_jwks(document: object) -> list[PyJWK]:
    """The usable signing keys of a JWKS document; the others are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys = [key for key in map(_usable_jwk, document["keys"]) if key is not None]
    if not keys:
        raise ValueError("the JWKS has no usable signing key")
    return keys


def _usable_jwk(data: object) -> PyJWK | None:
    """A public RSA, P-256 or Ed25519 signing key, fixed to its one algorithm, else None."""
    if not isinstance(data, dict):
        return None
    kty, crv = str(data.get("kty")), data.get("crv")
    algorithm = _ALGORITHMS_BY_KEY_TYPE.get((kty, None if kty == "RSA" else str(crv)))
    # A private part ("d") would make PyJWT build a private key, which cannot verify.
    if algorithm is None or "d" in data or data.get("use", "sig") != "sig":
        return None
    if data.get("alg", algorithm) != algorithm:
        return None
    try:
        key = PyJWK(data, algorithm)
    except jwt.PyJWTError:
        return None
    if key.Algorithm.check_key_length(key.key) is not None:
        return None  # too weak (short RSA)
    return key
