"""The transaction runners: group commit, refusals, failures kept to their own job."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from katapult_ipam.config import Settings
from katapult_ipam.domain.errors import IPAlreadyAllocated
from katapult_ipam.store.transactions import TransactionRunner, create_transaction_runner


@pytest.fixture
def runner(engine: Engine, settings: Settings) -> Iterator[TransactionRunner]:
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS probe"))
        connection.execute(text("CREATE TABLE probe (value INTEGER NOT NULL)"))
    runner = create_transaction_runner(engine, 0, 64, 2.0)
    runner.start()
    yield runner
    runner.stop()
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE probe"))


def insert(value: int) -> Any:
    def job(connection: Connection) -> int:
        connection.execute(text("INSERT INTO probe (value) VALUES (:v)"), {"v": value})
        return value

    return job


def refuse(connection: Connection) -> None:
    raise IPAlreadyAllocated("ip_x")


def explode(connection: Connection) -> None:
    connection.execute(text("INSERT INTO probe (value) VALUES (-1)"))
    raise RuntimeError("bug")


def values(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return sorted(connection.execute(text("SELECT value FROM probe")).scalars())


async def gather(runner: TransactionRunner, jobs: list[Any]) -> list[Any]:
    return list(await asyncio.gather(*(runner.run(j) for j in jobs), return_exceptions=True))


def test_jobs_together_commit_and_refusals_and_failures_stay_their_own(
    runner: TransactionRunner, engine: Engine
) -> None:
    results = asyncio.run(gather(runner, [insert(1), refuse, insert(2), explode, insert(3)]))
    assert results[0::2] == [1, 2, 3]
    assert isinstance(results[1], IPAlreadyAllocated)
    assert isinstance(results[3], RuntimeError)
    assert values(engine) == [1, 2, 3]  # the failed job's own insert is gone


def test_a_job_that_writes_and_then_refuses_is_not_committed_with_its_batch(
    runner: TransactionRunner, engine: Engine
) -> None:
    def write_then_refuse(connection: Connection) -> None:
        connection.execute(text("INSERT INTO probe (value) VALUES (99)"))
        raise IPAlreadyAllocated("ip_x")

    results = asyncio.run(gather(runner, [insert(1), write_then_refuse, insert(2)]))
    assert results[0::2] == [1, 2]
    if engine.dialect.name == "sqlite":  # where the runner can see the write
        assert values(engine) == [1, 2]


def test_a_broken_flush_answers_its_callers_instead_of_leaving_them_waiting(
    runner: TransactionRunner, engine: Engine
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the inline runner is SQLite's")
    runner._committer.shutdown()  # type: ignore[attr-defined]  # commits can no longer start

    async def scenario() -> Any:
        return await asyncio.wait_for(runner.run(insert(1)), 3)

    with pytest.raises(RuntimeError):
        asyncio.run(scenario())
