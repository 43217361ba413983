"""The transaction runners: group commit, refusals, failures kept to their own job,
and a COMMIT whose outcome is unknown never run twice."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from katapult_ipam.config import Settings
from katapult_ipam.domain.errors import IPAlreadyAllocated
from katapult_ipam.store.errors import CommitUncertain, is_outage
from katapult_ipam.store.transactions import (
    TransactionRunner,
    connect,
    create_transaction_runner,
    run_batch,
)
from tests.support.faults import lost_reply

Job = Callable[[Connection], Any]


@pytest.fixture
def probe(engine: Engine) -> Iterator[None]:
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS probe"))
        connection.execute(text("CREATE TABLE probe (value INTEGER NOT NULL)"))
    yield
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE probe"))


@pytest.fixture
def runner(engine: Engine, settings: Settings, probe: None) -> Iterator[TransactionRunner]:
    runner = create_transaction_runner(engine, 0, 64, 2.0)
    runner.start()
    yield runner
    runner.stop()


@pytest.fixture
def connection(engine: Engine, probe: None) -> Iterator[Connection]:
    connection = connect(engine)
    yield connection
    connection.close()


class Calls:
    """Counts how often each job ran, to prove nothing is run twice."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}

    def insert(self, value: int) -> Job:
        def job(connection: Connection) -> int:
            self.count[f"insert {value}"] = self.count.get(f"insert {value}", 0) + 1
            connection.execute(text("INSERT INTO probe (value) VALUES (:v)"), {"v": value})
            return value

        return job


def insert(value: int) -> Job:
    return Calls().insert(value)


def refuse(connection: Connection) -> None:
    raise IPAlreadyAllocated("ip_x")


def write_then_refuse(connection: Connection) -> None:
    connection.execute(text("INSERT INTO probe (value) VALUES (99)"))
    raise IPAlreadyAllocated("ip_x")


def explode(connection: Connection) -> None:
    connection.execute(text("INSERT INTO probe (value) VALUES (-1)"))
    raise RuntimeError("bug")


def values(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return sorted(connection.execute(text("SELECT value FROM probe")).scalars())


async def gather(runner: TransactionRunner, jobs: list[Any]) -> list[Any]:
    return list(await asyncio.gather(*(runner.run(j) for j in jobs), return_exceptions=True))


def commit_then_fail(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every COMMIT reach the database and then raise, as a lost reply would.

    Returns the names of the threads the COMMITs ran on."""
    threads: list[str] = []
    real = engine.dialect.do_commit

    def do_commit(dbapi_connection: Any) -> None:
        real(dbapi_connection)
        threads.append(threading.current_thread().name)
        raise lost_reply(engine.dialect.name)

    monkeypatch.setattr(engine.dialect, "do_commit", do_commit)
    return threads


# -- run_batch, called directly so the batch does not depend on timing --------------------


def test_a_refusal_after_a_write_leaves_nothing_of_it_in_the_batch(
    connection: Connection, engine: Engine
) -> None:
    outcomes = run_batch(connection, [insert(1), write_then_refuse, insert(2)])
    assert [ok for ok, _ in outcomes] == [True, False, True]
    assert isinstance(outcomes[1][1], IPAlreadyAllocated)
    assert values(engine) == [1, 2]


def fail_before_writing(connection: Connection) -> None:
    connection.execute(text("SELECT value FROM probe"))
    raise RuntimeError("bug")


def test_a_failing_job_is_kept_to_itself_and_the_others_run_once(
    connection: Connection, engine: Engine
) -> None:
    calls = Calls()
    outcomes = run_batch(connection, [calls.insert(1), fail_before_writing, calls.insert(2)])
    assert outcomes[0] == (True, 1)
    assert outcomes[2] == (True, 2)
    assert isinstance(outcomes[1][1], RuntimeError)
    assert values(engine) == [1, 2]
    assert calls.count == {"insert 1": 1, "insert 2": 1}


def test_a_broken_batch_runs_each_job_alone_and_stores_each_once(
    connection: Connection, engine: Engine
) -> None:
    calls = Calls()
    outcomes = run_batch(connection, [calls.insert(1), explode, calls.insert(2)])
    assert outcomes[0] == (True, 1)
    assert outcomes[2] == (True, 2)
    assert isinstance(outcomes[1][1], RuntimeError)
    assert values(engine) == [1, 2]


@pytest.mark.parametrize("size", [1, 3])
def test_an_ambiguous_commit_is_never_run_again(
    connection: Connection, engine: Engine, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    calls = Calls()
    jobs: list[Job] = [calls.insert(value) for value in range(size)]
    threads = commit_then_fail(engine, monkeypatch)
    outcomes = run_batch(connection, [*jobs, refuse])
    assert len(threads) == 1  # one COMMIT, not one per job afterwards
    assert all(isinstance(error, CommitUncertain) for _, error in outcomes[:-1])
    assert all(is_outage(error) for _, error in outcomes[:-1])
    assert isinstance(outcomes[-1][1], IPAlreadyAllocated)  # it was rolled back: certain
    monkeypatch.undo()
    assert values(engine) == list(range(size))  # stored once, by the one COMMIT
    assert set(calls.count.values()) == {1}


def test_a_job_that_lost_a_lock_within_a_batch_runs_again_alone(
    connection: Connection, engine: Engine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks and lock_timeout are PostgreSQL's")
    with engine.begin() as setup:
        setup.execute(text("INSERT INTO probe (value) VALUES (7)"))
    holder = engine.connect()
    holder.begin()
    holder.execute(text("UPDATE probe SET value = 8 WHERE value = 7"))
    release = threading.Timer(0.3, holder.commit)
    release.start()
    calls = Calls()

    def bump(connection: Connection) -> int:
        calls.count["bump"] = calls.count.get("bump", 0) + 1
        return connection.execute(text("UPDATE probe SET value = value + 1")).rowcount

    try:
        outcomes = run_batch(connection, [calls.insert(1), bump, calls.insert(2)])
    finally:
        release.join()
        holder.close()
    # The batch's short lock_timeout aborted it; nothing was committed, and each
    # job then ran alone, bump waiting for the lock as long as it takes.
    assert outcomes == [(True, 1), (True, 2), (True, 2)]
    assert calls.count == {"insert 1": 2, "bump": 2, "insert 2": 1}
    assert values(engine) == [2, 2, 9]  # each job's change stored exactly once


def test_a_job_that_writes_and_refuses_inside_a_batch_leaves_the_others_stored_once(
    connection: Connection, engine: Engine
) -> None:
    calls = Calls()
    outcomes = run_batch(
        connection, [calls.insert(1), write_then_refuse, calls.insert(2), refuse, calls.insert(3)]
    )
    assert [ok for ok, _ in outcomes] == [True, False, True, False, True]
    assert values(engine) == [1, 2, 3]


# -- the runners -----------------------------------------------------------------------------


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
    results = asyncio.run(gather(runner, [insert(1), write_then_refuse, insert(2)]))
    assert results[0::2] == [1, 2]
    assert isinstance(results[1], IPAlreadyAllocated)
    assert values(engine) == [1, 2]


def test_the_runner_answers_an_ambiguous_commit_as_uncertain_and_runs_nothing_twice(
    runner: TransactionRunner, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = Calls()
    asyncio.run(gather(runner, [lambda connection: None]))  # connections are open
    commit_then_fail(engine, monkeypatch)
    results = asyncio.run(gather(runner, [calls.insert(1), calls.insert(2)]))
    assert all(isinstance(result, CommitUncertain) for result in results), results
    monkeypatch.undo()
    assert values(engine) == [1, 2]
    assert calls.count == {"insert 1": 1, "insert 2": 1}


def test_a_broken_sqlite_batch_is_rerun_one_job_per_flush_with_commits_off_the_loop(
    runner: TransactionRunner, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the inline runner is SQLite's")
    threads: list[str] = []
    real = engine.dialect.do_commit

    def do_commit(dbapi_connection: Any) -> None:
        threads.append(threading.current_thread().name)
        real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_commit", do_commit)
    jobs: list[Job] = [insert(value) for value in range(63)]
    results = asyncio.run(gather(runner, [*jobs, explode]))
    assert results[:-1] == list(range(63))
    assert isinstance(results[-1], RuntimeError)
    assert values(engine) == list(range(63))
    # Each COMMIT (one per job once the batch broke) ran on the commit thread,
    # never on the event loop's: the loop never waited for a disk.
    assert len(threads) >= 63
    assert all(name.startswith("sqlite-commit") for name in threads)


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


def test_the_connection_counts_rows_written_by_every_kind_of_statement(
    connection: Connection, engine: Engine
) -> None:
    from katapult_ipam.store.driver import DriverStatement, rows_written

    with connection.begin():
        start = rows_written(connection)
        connection.execute(text("SELECT value FROM probe")).all()
        DriverStatement("SELECT value FROM probe").rows(connection, {})
        assert rows_written(connection) == start
        connection.execute(text("INSERT INTO probe (value) VALUES (1), (2)"))
        assert rows_written(connection) == start + 2
        DriverStatement("UPDATE probe SET value = value + :n").execute(connection, {"n": 1}).close()
        assert rows_written(connection) == start + 4
        DriverStatement("DELETE FROM probe WHERE value < 0").execute(connection, {}).close()
        assert rows_written(connection) == start + 4  # nothing matched: nothing written


def test_a_lone_refusal_after_a_write_is_an_ordinary_answer(
    runner: TransactionRunner, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    with caplog.at_level(logging.WARNING, logger="katapult_ipam"):
        results = asyncio.run(gather(runner, [write_then_refuse]))
        after = asyncio.run(gather(runner, [insert(5)]))
    assert isinstance(results[0], IPAlreadyAllocated)
    assert after == [5]
    assert values(engine) == [5]
    assert not [r for r in caplog.records if "failed" in r.getMessage()]


def test_a_transaction_sqlite_rolled_back_by_itself_is_run_again_job_by_job(
    connection: Connection, engine: Engine
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's automatic rollback")

    def rollback_all(connection: Connection) -> None:
        # As a full disk or an I/O error does: the whole transaction is rolled back,
        # nothing is counted as changed, and the error is raised.
        connection.execute(text("INSERT OR ROLLBACK INTO probe (value) VALUES (NULL)"))

    calls = Calls()
    outcomes = run_batch(connection, [calls.insert(1), rollback_all, calls.insert(2)])
    assert outcomes[0] == (True, 1)
    assert outcomes[2] == (True, 2)
    assert not outcomes[1][0]
    assert values(engine) == [1, 2]  # every success answered is stored


def test_a_rerun_job_that_cannot_begin_fails_alone_and_the_committed_ones_keep_their_answer(
    connection: Connection, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_begin = Connection.begin
    begun: list[int] = []
    lost = lost_reply(engine.dialect.name)

    def begin(self: Connection) -> Any:
        begun.append(1)
        if len(begun) == 4:  # the batch, insert 1 alone, explode alone, then insert 2 alone
            raise lost
        return real_begin(self)

    monkeypatch.setattr(Connection, "begin", begin)
    outcomes = run_batch(connection, [insert(1), explode, insert(2)])
    monkeypatch.undo()
    assert outcomes[0] == (True, 1)  # committed alone: its 200 stands
    assert isinstance(outcomes[1][1], RuntimeError)
    assert outcomes[2] == (False, lost)  # never started: its own error, nothing stored
    assert values(engine) == [1]
