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

    def execute(self, connection: Connection, parameters: Mapping[str, Any]) -> Any:
        """Run it; return the driver's cursor."""
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        sqlite = connection.dialect.name == "sqlite"
        cursor.execute(self._named if sqlite else self._pyformat, parameters)
        return cursor

    def rows(self, connection: Connection, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run it and return every row as a dict keyed by the column names (give each an AS)."""
        cursor = self.execute(connection, parameters)
        try:
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
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
