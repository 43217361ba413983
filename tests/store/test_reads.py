"""The read path: no write lock, not on the event loop, and it cannot write."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from katapult_ipam.store.driver import DriverStatement
from katapult_ipam.store.errors import is_outage
from katapult_ipam.store.reads import ReadRunner
from katapult_ipam.store.transactions import TransactionRunner, create_transaction_runner


@pytest.fixture
def reads(engine: Engine) -> Iterator[ReadRunner]:
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS probe"))
        connection.execute(text("CREATE TABLE probe (value INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO probe (value) VALUES (1)"))
    runner = ReadRunner(engine, threads=2)
    yield runner
    runner.stop()
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE probe"))


@pytest.fixture
def writes(engine: Engine, reads: ReadRunner) -> Iterator[TransactionRunner]:
    runner = create_transaction_runner(engine, 0, 64, 2.0)
    runner.start()
    yield runner
    runner.stop()


def count(connection: Connection) -> int:
    return int(connection.execute(text("SELECT count(*) FROM probe")).scalar_one())


def test_a_read_runs_off_the_event_loop(reads: ReadRunner) -> None:
    def where(connection: Connection) -> str:
        count(connection)
        return threading.current_thread().name

    async def scenario() -> str:
        return await reads.run(where)

    assert asyncio.run(scenario()).startswith("reads")


def test_a_read_runs_the_hot_path_statements(reads: ReadRunner) -> None:
    statement = DriverStatement("SELECT value FROM probe")

    def rows(connection: Connection) -> list[dict[str, Any]]:
        return statement.rows(connection, {})

    assert asyncio.run(reads.run(rows)) == [{"value": 1}]


def test_a_read_cannot_write(reads: ReadRunner, engine: Engine) -> None:
    def write(connection: Connection) -> None:
        connection.execute(text("INSERT INTO probe (value) VALUES (2)"))

    with pytest.raises(Exception) as caught:  # noqa: PT011  # the backend's own error class
        asyncio.run(reads.run(write))
    # The driver reports it as it reports a read-only database (a standby, a failover),
    # which is an outage; that the write failed and stored nothing is what matters here.
    assert is_outage(caught.value)
    with engine.connect() as connection:
        assert count(connection) == 1


def test_a_read_goes_on_while_another_process_holds_the_write_lock(
    reads: ReadRunner, engine: Engine
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's file lock")
    holder = sqlite3.connect(engine.url.database or "", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO probe (value) VALUES (2)")
    try:
        seen = asyncio.run(asyncio.wait_for(reads.run(count), 2))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert seen == 1  # the committed state, without waiting for the writer


def test_writes_commit_while_a_long_read_holds_its_transaction(
    reads: ReadRunner, writes: TransactionRunner, engine: Engine
) -> None:
    started = threading.Event()
    release = threading.Event()

    def long_read(connection: Connection) -> int:
        before = count(connection)
        started.set()
        release.wait(5)
        return before

    def insert(connection: Connection) -> None:
        connection.execute(text("INSERT INTO probe (value) VALUES (3)"))

    async def scenario() -> tuple[int, int]:
        read = asyncio.ensure_future(reads.run(long_read))
        for _ in range(2000):  # at most about two seconds
            if started.is_set() or read.done():
                break
            await asyncio.sleep(0.001)
        assert started.is_set(), read
        await asyncio.wait_for(asyncio.gather(*(writes.run(insert) for _ in range(10))), 3)
        release.set()
        seen_by_read = await read
        return seen_by_read, await reads.run(count)

    seen_by_read, after = asyncio.run(scenario())
    assert seen_by_read == 1
    assert after == 11


def test_read_connections_never_return_read_only_to_the_pool(
    reads: ReadRunner, engine: Engine
) -> None:
    asyncio.run(reads.run(count))
    reads.stop()
    # Every pooled connection the write path may get can still write.
    connections = [engine.connect() for _ in range(3)]
    try:
        for connection in connections:
            with connection.begin():
                connection.execute(text("INSERT INTO probe (value) VALUES (4)"))
    finally:
        for connection in connections:
            connection.close()


def test_a_read_not_answered_in_time_is_an_outage_not_a_hang(engine: Engine) -> None:
    from katapult_ipam.store.errors import StoreUnavailable

    runner = ReadRunner(engine, threads=1, wait=0.2)
    release = threading.Event()

    def stuck(connection: Connection) -> None:
        release.wait(5)

    async def scenario() -> list[object]:
        return list(
            await asyncio.gather(runner.run(stuck), runner.run(count), return_exceptions=True)
        )

    try:
        results = asyncio.run(scenario())
    finally:
        release.set()
        runner.stop()
    # Both waited beyond the limit: the running one and the one queued behind it.
    assert all(isinstance(result, StoreUnavailable) for result in results), results
