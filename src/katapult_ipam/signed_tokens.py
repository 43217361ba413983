"""Signed bearer tokens: our own capabilities tokens and external OAuth2 access tokens.

Capabilities tokens are short-lived JWTs this service signs with its Ed25519 key.
OAuth2 access tokens are JWTs from an external issuer, checked against its JWKS.
Every failure is an ``InvalidSignedToken`` whose reason may be shown to the client,
so reasons are fixed phrases: never the token, a claim's value or key material.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import http.client
import json
import logging
import math
import os
import re
import secrets
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt import PyJWK
from jwt.types import Options

if TYPE_CHECKING:
    from katapult_ipam.config import Settings

log = logging.getLogger(__name__)

CAPABILITIES_TOKEN_TYPE = "kipam-cap+jwt"  # noqa: S105 (a JOSE "typ", not a secret)
CAPABILITIES_ALGORITHM = "EdDSA"
OAUTH2_SCOPE_PREFIX = "api.katapult.io/core/v1/"
# Clocks of issuers and of this service drift a little.
LEEWAY = timedelta(seconds=30)
# Far above any real token; bounds the work an unauthenticated caller can cause.
MAX_TOKEN_LENGTH = 16 * 1024
MAX_JWKS_BYTES = 1024 * 1024

# The algorithm a JWK is used with follows from its key type and curve alone.
_ALGORITHMS_BY_KEY_TYPE: dict[tuple[str, str | None], str] = {
    ("RSA", None): "RS256",
    ("EC", "P-256"): "ES256",
    ("OKP", "Ed25519"): "EdDSA",
}
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

TokenKind = Literal["oauth2", "capabilities", "api_token"]


class InvalidSignedToken(Exception):
    """A signed token that must not be believed; ``reason`` is safe to show the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeysUnavailable(InvalidSignedToken):
    """The issuer's keys cannot be had right now, so none of its tokens can be checked."""


class SignedTokenConfigError(ValueError):
    """The settings or key files for signed tokens cannot work."""


@dataclass(frozen=True)
class CapabilitiesClaims:
    """What a verified capabilities token grants."""

    organization_id: str
    scopes: frozenset[str]
    token_id: str


@dataclass(frozen=True)
class OAuth2Claims:
    """What a verified OAuth2 access token says; scopes are without the API prefix."""

    subject: str
    scopes: frozenset[str]
    organizations: tuple[str, ...]


# -- keys ---------------------------------------------------------------------------


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 key in ``path`` (PKCS8 PEM), made and saved with mode 0600 if absent."""
    try:
        return _read_private_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    _create_exclusively(path, private_key_pem(Ed25519PrivateKey.generate()))
    # Another process may have created the file first: everyone uses the file's key.
    return _read_private_key(path)


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in a PEM file."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except ValueError:
        raise SignedTokenConfigError(f"{path}: not a PEM public key") from None
    except OSError as error:
        raise SignedTokenConfigError(f"{path}: {error.strerror or error}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SignedTokenConfigError(f"{path}: not an Ed25519 public key")
    return key


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    """``key`` as an unencrypted PKCS8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    """``key`` as a SubjectPublicKeyInfo PEM, the form listed for rotation."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: Ed25519PublicKey) -> str:
    """A short fingerprint of ``key``, used as the tokens' ``kid``."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _read_private_key(path: Path) -> Ed25519PrivateKey:
    data = path.read_bytes()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise SignedTokenConfigError(f"{path}: not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignedTokenConfigError(f"{path}: not an Ed25519 private key")
    return key


def _create_exclusively(path: Path, data: bytes) -> None:
    """Write ``path`` whole (mode 0600) unless it exists already, then leave it be."""
    # mkstemp makes the file 0600, so the key is never readable by others, not even briefly.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        # A hard link never replaces: of processes racing here, exactly one makes the file.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
        private_key = load_or_create_signing_key(Path(settings.signing_key_file))
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


# -- capabilities tokens ----------------------------------------------------------------


def issue_capabilities_token(
    keys: CapabilitiesKeys,
    *,
    organization_id: str,
    scopes: Sequence[str],
    ttl: timedelta,
    issuer: str,
    now: datetime | None = None,
) -> str:
    """A capabilities token granting ``scopes`` on an organization for ``ttl``."""
    if not organization_id or not issuer:
        raise ValueError("an organization id and an issuer are needed")
    if ttl <= timedelta(0):
        raise ValueError("the lifetime must be positive")
    if any(not scope or any(c.isspace() for c in scope) for scope in scopes):
        raise ValueError("a scope is empty or contains white space")
    issued_at = math.floor(_timestamp(now))
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
    keys: CapabilitiesKeys, token: str, *, issuer: str, now: datetime | None = None
) -> CapabilitiesClaims:
    """The claims of a capabilities token signed by one of ``keys`` and valid ``now``."""
    header = _header(token)
    # Checked before any key is touched, and the only algorithm passed to PyJWT: no alg confusion.
    if header.get("alg") != CAPABILITIES_ALGORITHM:
        raise InvalidSignedToken("the token's algorithm is not accepted")
    if header.get("typ") != CAPABILITIES_TOKEN_TYPE:
        raise InvalidSignedToken("the token is not a capabilities token")
    candidates = [(key, CAPABILITIES_ALGORITHM) for key in keys.candidates(header.get("kid"))]
    payload = _verified_payload(token, candidates)
    _check_times(payload, _timestamp(now), required=("exp", "nbf", "iat"))
    if payload.get("iss") != issuer:
        raise InvalidSignedToken("the token's issuer is not accepted")
    organization_id = _string_claim(payload, "sub", "the token names no organization")
    token_id = _string_claim(payload, "jti", "the token has no id")
    scope = payload.get("scope")
    if not isinstance(scope, str):
        raise InvalidSignedToken("the token's scope claim is missing or malformed")
    return CapabilitiesClaims(organization_id, frozenset(scope.split()), token_id)


# -- OAuth2 access tokens ---------------------------------------------------------------


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
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise SignedTokenConfigError("the OAuth2 JWKS URL must be http or https")
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
            log.warning("cannot fetch the OAuth2 JWKS from %s: %s", self._url, error)
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
        header = _header(token)
        candidates = [(key, key.algorithm_name) for key in self._candidates(header)]
        payload = _verified_payload(token, candidates)
        _check_times(payload, _timestamp(now), required=("exp",), leeway=self._leeway)
        if payload.get("iss") != self.issuer:
            raise InvalidSignedToken("the token's issuer is not accepted")
        if not _names_audience(payload.get("aud"), self.audience):
            raise InvalidSignedToken("the token is not meant for this API (audience)")
        subject = _string_claim(payload, "sub", "the token has no subject")
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


def token_kind(token: str, oauth2_issuer: str | None) -> TokenKind:
    """Which verifier a bearer token goes to (it still has to pass that verifier)."""
    if not looks_like_jwt(token):
        return "api_token"
    if oauth2_issuer and unverified_issuer(token) == oauth2_issuer:
        return "oauth2"
    return "capabilities"


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


def _header(token: str) -> dict[str, Any]:
    """The unverified JOSE header of a JWT-shaped token."""
    segments = _segments(token)
    header = None if segments is None else _decode_segment(segments[0])
    if not isinstance(header, dict):
        raise InvalidSignedToken("the token is malformed")
    return header


# -- checks shared by both kinds ----------------------------------------------------


def _verified_payload(
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


def _check_times(
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


def _string_claim(payload: dict[str, Any], name: str, reason: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidSignedToken(reason)
    return value


def _timestamp(now: datetime | None) -> float:
    if now is None:
        return time.time()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.timestamp()
