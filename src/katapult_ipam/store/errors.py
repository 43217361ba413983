"""Telling a database that is away or busy from a bug, by the driver's own condition.

An outage (the server is unreachable, shutting down, out of resources; a lock
or the pool not free within the bounded wait; a COMMIT whose outcome is
unknown) is worth trying again later: the API answers 503 with Retry-After.
Anything else (no such column, a constraint, a value too long) is a bug and
answers 500 with its trace logged. The class name alone cannot tell them apart:
SQLite reports "no such table" and "database is locked" as the same
OperationalError, so the driver's error code decides.
"""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy import exc as sa


class StoreUnavailable(Exception):
    """The database did not take the job in time; nothing of it was done."""


class CommitUncertain(Exception):
    """COMMIT was sent and failed: the job may or may not be stored, and is not run again."""


# PostgreSQL SQLSTATE classes and codes that mean "not now" rather than "wrong".
_OUTAGE_CLASSES = (
    "08",  # connection exception
    "53",  # insufficient resources (disk full, out of memory, too many connections)
    "57P",  # operator intervention: admin/crash shutdown, cannot connect now
    "58",  # system error (I/O)
)
_OUTAGE_CODES = frozenset(
    {
        "55P03",  # lock_not_available: lock_timeout ran out
        "57014",  # query_canceled: statement_timeout ran out
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "25006",  # read_only_sql_transaction: a standby, a failover, a read-only database
    }
)
# SQLite primary result codes that mean the file is busy or the disk is unwell.
_SQLITE_OUTAGE_CODES = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_READONLY,
    }
)


def driver_error(error: BaseException) -> BaseException:
    """The driver's own exception behind SQLAlchemy's wrapper, or ``error`` itself."""
    if isinstance(error, sa.DBAPIError) and error.orig is not None:
        return error.orig
    return error


def sqlstate(error: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE for ``error``, wrapped or not; None when there is none."""
    original = driver_error(error)
    if isinstance(original, psycopg.Error):
        return original.sqlstate
    return None


def is_outage(error: BaseException) -> bool:
    """True when ``error`` says the database is away or busy, False for a bug."""
    if isinstance(error, StoreUnavailable | CommitUncertain | sa.TimeoutError):
        return True
    if isinstance(error, sa.DBAPIError) and error.connection_invalidated:
        return True
    original = driver_error(error)
    if isinstance(original, sqlite3.Error):
        code = getattr(original, "sqlite_errorcode", None)
        return isinstance(code, int) and (code & 0xFF) in _SQLITE_OUTAGE_CODES
    if isinstance(original, psycopg.Error):
        state = original.sqlstate
        if state is None:
            # Raised by the client itself: the connection failed or was closed.
            return isinstance(original, psycopg.OperationalError | psycopg.InterfaceError)
        return state in _OUTAGE_CODES or state.startswith(_OUTAGE_CLASSES)
    return False


def describe(error: BaseException) -> str:
    """A log-safe name for ``error``: its class and driver code, never its message."""
    original = driver_error(error)
    code: object = getattr(original, "sqlite_errorname", None) or sqlstate(error)
    name = type(original).__name__
    return f"{name} ({code})" if code else name
