"""Object identifiers in the production format: ``<prefix>_`` and 16 alphanumerics."""

from __future__ import annotations

import re
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
    "zone": "zone",
    "currency": "cur",
    "speed_profile": "nsp",
    "package": "vmpkg",
    "package_group": "vmpkgrp",
    "task": "task",
}


# What an id looks like: a lower-case prefix, "_", letters and digits. A sub-domain
# (a DNS label) never contains "_", so an organization reference is one or the other.
ID_PATTERN = re.compile(r"[a-z]+_[A-Za-z0-9]+")


def looks_like_id(value: str) -> bool:
    """Whether ``value`` has the shape of an object id (it may still name nothing)."""
    return ID_PATTERN.fullmatch(value) is not None


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
