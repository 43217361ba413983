"""Outage or bug, told by the driver's own error code, with real errors of each backend."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text
from sqlalchemy import exc as sa

from katapult_ipam.store.errors import (
    CommitUncertain,
    StoreUnavailable,
    describe,
    is_outage,
)


def raised(action: Callable[[], object]) -> BaseException:
    """The exception ``action`` raises, whatever its class (classifying it is the test)."""
    try:
        action()
    except Exception as error:
        return error
    raise AssertionError("nothing was raised")


def test_the_service_own_conditions() -> None:
    assert is_outage(StoreUnavailable("x"))
    assert is_outage(CommitUncertain("x"))
    assert is_outage(sa.TimeoutError("pool"))
    assert not is_outage(RuntimeError("bug"))
    assert not is_outage(ValueError("bug"))


def test_sql_mistakes_are_bugs(engine: Engine) -> None:
    with engine.connect() as connection:
        wrapped = raised(lambda: connection.execute(text("SELECT nope FROM no_such_table")))
    assert not is_outage(wrapped)
    assert "nope" not in describe(wrapped)  # only the class and the code are logged


def test_a_locked_sqlite_file_is_an_outage(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's file lock")
    path = engine.url.database or ""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        other = sqlite3.connect(path, isolation_level=None, timeout=0)
        error = raised(lambda: other.execute("BEGIN IMMEDIATE"))
        other.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert is_outage(error)
    assert "SQLITE_BUSY" in describe(error)
    no_table = raised(lambda: sqlite3.connect(path).execute("SELECT * FROM no_such_table"))
    assert not is_outage(no_table)  # the same OperationalError class, another code


def test_postgresql_conditions(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's SQLSTATEs")
    import psycopg

    with engine.connect() as connection:
        connection.execute(text("CREATE TEMP TABLE short (x varchar(2))"))
        too_long = raised(lambda: connection.execute(text("INSERT INTO short VALUES ('abc')")))
    assert not is_outage(too_long)  # a value the schema cannot hold is a bug, not an outage

    holder = engine.connect()
    holder.begin()
    holder.execute(text("SELECT pg_advisory_xact_lock(7007)"))
    try:
        with engine.connect() as connection:
            connection.execute(text("SET lock_timeout = '10ms'"))
            locked = raised(lambda: connection.execute(text("SELECT pg_advisory_xact_lock(7007)")))
    finally:
        holder.rollback()
        holder.close()
    assert is_outage(locked)
    assert "55P03" in describe(locked)

    victim = psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(False))
    pid = victim.info.backend_pid
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    terminated = raised(lambda: victim.execute("SELECT 1"))
    victim.close()
    assert is_outage(terminated)

    refused = raised(lambda: psycopg.connect("host=127.0.0.1 port=1 connect_timeout=1"))
    assert is_outage(refused)


def test_a_database_that_only_reads_is_an_outage(engine: Engine) -> None:
    # A PostgreSQL standby or failover, a read-only SQLite file: come back later.
    if engine.dialect.name == "sqlite":
        path = engine.url.database or ""
        read_only = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        error = raised(lambda: read_only.execute("DELETE FROM service_flags"))
        read_only.close()
    else:
        with engine.connect() as connection:
            connection.execute(text("SET default_transaction_read_only = on"))
            connection.commit()
            error = raised(lambda: connection.execute(text("DELETE FROM service_flags")))
            connection.rollback()
            connection.execute(text("SET default_transaction_read_only = off"))
            connection.commit()
    assert is_outage(error), describe(error)
