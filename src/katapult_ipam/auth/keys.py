"""The Ed25519 key files capabilities tokens are signed with."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from katapult_ipam.auth.jwt import SignedTokenConfigError


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 key in ``path`` (PKCS8 PEM), made and saved with mode 0600 if absent.

    Only ``serve`` and ``capabilities issue`` make it; ``capabilities public-key``
    reads it (``load_signing_key``), so a mistyped path never prints a new key's half."""
    try:
        return load_signing_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    _create_exclusively(path, private_key_pem(Ed25519PrivateKey.generate()))
    # Another process may have created the file first: everyone uses the file's key.
    return load_signing_key(path)


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 key in ``path`` (PKCS8 PEM), never made: FileNotFoundError if absent."""
    data = path.read_bytes()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise SignedTokenConfigError(f"{path}: not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignedTokenConfigError(f"{path}: not an Ed25519 private key")
    return key


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
