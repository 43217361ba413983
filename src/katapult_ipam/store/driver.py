"""Fixed SQL run straight on the driver's cursor, for the statements on the hot path.

SQLAlchemy's compile, cache-key and result machinery costs more per statement
than SQLite takes to run it. The few statements every allocation runs are
written once, with ``:name`` parameters, and handed to the driver as they are
(SQLite) or as ``%(name)s`` (psycopg), inside the transaction the SQLAlchemy
Connection already holds. Timestamps keep the format SQLAlchemy uses, so rows
written either way read the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")


class DriverStatement:
    """One SQL statement with named parameters, for SQLite and PostgreSQL alike."""

    def __init__(self, sql: str) -> None:
        self._named = sql
        self._pyformat = _PARAMETER.sub(r"%(\1)s", sql)
        self._writes = not is_read(sql)
        self._names: tuple[str, ...] | None = None

    def execute(self, connection: Connection, parameters: Mapping[str, Any]) -> Any:
        """Run it; return the driver's cursor."""
        # The DB-API connection itself (the driver's, for these synchronous drivers),
        # which pooled and detached (read path) connections alike have.
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        sqlite = connection.dialect.name == "sqlite"
        cursor.execute(self._named if sqlite else self._pyformat, parameters)
        if self._writes and not sqlite:
            count_rows_written(connection.info, cursor.rowcount)
        return cursor

    def rows(self, connection: Connection, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run it and return every row as a dict keyed by the column names (give each an AS)."""
        cursor = self.execute(connection, parameters)
        try:
            if self._names is None:
                # A statement's columns never change: read them once (psycopg builds
                # its description afresh on every call).
                self._names = tuple(column[0] for column in cursor.description)
            return [dict(zip(self._names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            cursor.close()


def timestamp_parameter(connection: Connection, value: datetime) -> Any:
    """A timezone-aware timestamp as the dialect stores it.

    SQLite keeps what SQLAlchemy's DateTime writes: naive UTC text with microseconds.
    """
    value = value.astimezone(UTC)
    if connection.dialect.name == "sqlite":
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


def timestamp_result(value: Any) -> datetime:
    """A stored (NOT NULL) timestamp as a timezone-aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a timestamp: {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# -- what a transaction has written so far ----------------------------------------------

_READS = ("SELECT", "SHOW", "SET", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")
_ROWS_WRITTEN = "katapult_rows_written"


def is_read(sql: str) -> bool:
    """Whether a statement only reads; anything else counts as a write (when in doubt, a write)."""
    words = sql.lstrip(" \n\t(").split(None, 1)
    return bool(words) and words[0].upper() in _READS


def count_rows_written(info: dict[Any, Any], rowcount: int) -> None:
    """Add a write statement's rows to its connection's count (unknown counts as one)."""
    info[_ROWS_WRITTEN] = info.get(_ROWS_WRITTEN, 0) + (rowcount if rowcount >= 0 else 1)


def rows_written(connection: Connection) -> int:
    """Rows this connection has changed so far (a running count; compare two readings).

    SQLite keeps the count itself (``total_changes``). On PostgreSQL every write
    statement adds to it: those run here and, through the engine's
    ``after_cursor_execute`` event (``database.py``), those run by SQLAlchemy.
    """
    if connection.dialect.name == "sqlite":
        changes: int = connection.connection.dbapi_connection.total_changes  # type: ignore[union-attr]
        return changes
    count: int = connection.info.get(_ROWS_WRITTEN, 0)
    return count
