"""Engines configured for durability: a 200 means the change survives a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import QueuePool

from katapult_ipam.config import Settings
from katapult_ipam.store.driver import count_rows_written, is_read

SQLITE_BEGIN_OPTION = "sqlite_begin"


def create_database_engine(settings: Settings, pool_size: int | None = None) -> Engine:
    """Return an engine for ``settings.database_url`` with the durable defaults."""
    if settings.is_sqlite:
        return _sqlite_engine(settings, pool_size)
    return _postgresql_engine(settings, pool_size)


def _sqlite_engine(settings: Settings, pool_size: int | None) -> Engine:
    url = make_url(settings.database_url)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=pool_size or 5,
        # Values (token hashes among them) stay out of exception messages and logs.
        hide_parameters=True,
        max_overflow=10,
        connect_args={"timeout": settings.database_timeout, "check_same_thread": False},
    )
    busy_ms = int(settings.database_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that BEGIN,
        # SAVEPOINT and COMMIT are exactly the statements SQLAlchemy emits.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: the WAL is synced at every commit, so a 200 survives power loss.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _postgresql_engine(settings: Settings, pool_size: int | None) -> Engine:
    timeout_ms = int(settings.database_timeout * 1000)
    engine = create_engine(
        settings.database_url,
        pool_size=pool_size or 5,
        hide_parameters=True,
        max_overflow=10,
        pool_timeout=settings.database_timeout,
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": max(1, int(settings.database_timeout)),
            # Bounded waits: a request never hangs on a lock; synchronous_commit
            # stays on so that a commit is on disk before we answer.
            "options": f"-c lock_timeout={timeout_ms} -c synchronous_commit=on",
        },
    )

    @event.listens_for(engine, "after_cursor_execute")
    def _count_writes(
        connection: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        # What a transaction job wrote decides whether its refusal needs undoing
        # (store.transactions); SQLite counts by itself.
        if not is_read(statement):
            count_rows_written(connection.info, cursor.rowcount)

    return engine
