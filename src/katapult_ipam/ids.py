"""Object identifiers in the production format: ``<prefix>_`` and 16 alphanumerics."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTH = 16

PREFIXES = {
    "country": "ctry",
    "data_center": "loc",
    "network": "netw",
    "subnet": "sbnt",
    "organization": "org",
    "virtual_machine": "vm",
    "network_interface": "vmnet",
    "ip_address": "ip",
    "trash_object": "trsh",
    "api_token": "tok",
}


# Bytes below this are used (mod 62); the rest are thrown away, so every
# character is equally likely.
_UNBIASED_BELOW = 256 - 256 % len(_ALPHABET)


def new_id(kind: str) -> str:
    """Return a fresh random id for an object of ``kind`` (a key of PREFIXES)."""
    suffix = ""
    while len(suffix) < _ID_LENGTH:
        suffix += "".join(
            _ALPHABET[b % len(_ALPHABET)]
            for b in secrets.token_bytes(_ID_LENGTH * 2)
            if b < _UNBIASED_BELOW
        )
    return f"{PREFIXES[kind]}_{suffix[:_ID_LENGTH]}"
