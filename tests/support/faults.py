"""Database faults made to order, as each driver raises them."""

from __future__ import annotations

import sqlite3

import psycopg


def lost_reply(dialect: str) -> Exception:
    """The driver's error for a reply that never came (the work may have been done)."""
    if dialect == "sqlite":
        return sqlite3.OperationalError("disk I/O error")
    return psycopg.OperationalError("server closed the connection unexpectedly")
