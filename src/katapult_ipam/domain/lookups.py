"""A lookup names one object by exactly one of its keys."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lookup:
    key: str  # e.g. "id", "fqdn", "address"
    value: str
