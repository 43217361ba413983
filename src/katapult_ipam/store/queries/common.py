"""Helpers every query module shares."""

from __future__ import annotations


def storable(*values: str | None) -> bool:
    """False for text no row can hold: PostgreSQL refuses NUL characters outright."""
    return not any(value is not None and "\x00" in value for value in values)
