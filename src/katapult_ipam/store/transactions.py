"""The one place writes happen: jobs ``fn(connection) -> value`` in committed transactions.

Concurrent jobs are committed together (group commit): every job waiting is run,
one after the other, in one transaction with one COMMIT, so one fsync is shared
by many allocations. Two runners do this:

* ``InlineTransactionRunner`` (SQLite): on the event loop's own thread. SQLite
  answers from memory in microseconds, and a second thread would spend more on
  handing work and the GIL back and forth than the queries take. Only COMMIT,
  which waits for the disk, runs on a thread, while the loop gathers the next
  batch. Waiting for another process's write lock never blocks the loop: it is
  retried on a timer.
* ``ThreadedTransactionRunner`` (PostgreSQL): worker threads, each with its own
  connection, so network round trips never block the loop.

A job that refuses (DomainError) or fails leaves nothing behind, whenever it
wrote. The connection counts the rows written (``driver.rows_written``): a job
that fails before writing simply fails and its batch goes on; one that fails
after writing (or whose statement aborted a PostgreSQL transaction, such as a
lock not had within a batch's short lock_timeout) breaks the batch, and as
nothing of it was committed, each job is then run again in a transaction of its
own, where a refusal rolls back all it did (on SQLite one job per turn of the
event loop, each COMMIT on the commit thread). This costs nothing while jobs
succeed, where a savepoint per job would cost a round trip each. A COMMIT that
fails has an unknown outcome: its jobs are never run again (a create would
happen twice) and fail with CommitUncertain. Callers are answered only after
COMMIT returned, so a successful answer always describes a durable change. A
job that could not start within the configured wait is never run and fails
with StoreUnavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import Connection, RootTransaction
from sqlalchemy.exc import OperationalError

from katapult_ipam.domain.errors import DomainError
from katapult_ipam.store.database import SQLITE_BEGIN_OPTION
from katapult_ipam.store.driver import rows_written
from katapult_ipam.store.errors import (
    CommitUncertain,
    StoreUnavailable,
    describe,
    driver_error,
)

T = TypeVar("T")
Job = Callable[[Connection], T]
Outcome = tuple[bool, Any]  # (True, value) or (False, exception)

__all__ = [
    "CommitUncertain",
    "InlineTransactionRunner",
    "StoreUnavailable",
    "ThreadedTransactionRunner",
    "TransactionRunner",
    "create_transaction_runner",
]

log = logging.getLogger(__name__)


class TransactionRunner(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    async def run(self, job: Job[T]) -> T:
        """Run ``job`` in a transaction; return its value once committed."""
        ...


def create_transaction_runner(
    engine: Engine, threads: int, max_batch: int, wait: float
) -> TransactionRunner:
    """Inline for SQLite unless threads are asked for; threads for PostgreSQL."""
    if engine.dialect.name == "sqlite" and threads == 0:
        return InlineTransactionRunner(engine, max_batch, wait)
    return ThreadedTransactionRunner(engine, threads or 4, max_batch, wait)


# -- the batch, shared by both runners ------------------------------------------------


def connect(engine: Engine) -> Connection:
    connection = engine.connect()
    if engine.dialect.name == "sqlite":
        # Take the write lock at BEGIN: no lock upgrade, so no deadlock between
        # processes that write to the same file.
        connection = connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
    return connection


def run_batch(connection: Connection, jobs: list[Job[Any]]) -> list[Outcome]:
    """Run ``jobs`` in one transaction; if a failure spoiled it, each job alone."""
    if len(jobs) == 1:
        return [run_alone(connection, jobs[0])]
    transaction = connection.begin()
    try:
        outcomes = run_in_transaction(connection, jobs)
    except Exception:
        # The batch broke before COMMIT was sent, so nothing of it is stored:
        # each job gets a transaction of its own.
        _rollback(transaction)
        return [run_alone(connection, job) for job in jobs]
    try:
        transaction.commit()
    except Exception as error:
        return [_uncertain(outcome, error) for outcome in outcomes]
    return outcomes


def run_in_transaction(connection: Connection, jobs: list[Job[Any]]) -> list[Outcome]:
    """Run ``jobs`` inside the transaction the caller has begun and will end.

    Raises TransactionBroken when a job's failure spoiled the transaction; the
    caller must then roll it back and run the jobs again, each alone.
    """
    if len(jobs) > 1 and connection.dialect.name == "postgresql":
        # Two batches may lock the same rows in opposite orders. Rather than wait
        # for PostgreSQL's deadlock detection (a second), give up quickly: the
        # jobs are then run one by one, which cannot deadlock.
        connection.exec_driver_sql("SET LOCAL lock_timeout = '50ms'")
    return [_run_kept_apart(connection, job) for job in jobs]


class TransactionBroken(Exception):
    """A job's failure left the batch's transaction unusable; ``failure`` is that error."""

    def __init__(self, failure: Exception) -> None:
        super().__init__(str(failure))
        self.failure = failure


def _run_kept_apart(connection: Connection, job: Job[Any]) -> Outcome:
    """One job of a batch: a refusal or failure must leave nothing of it behind.

    A job that fails before writing anything simply fails, and the batch goes on.
    One that fails after writing, or whose statement failed and so aborted a
    PostgreSQL transaction, breaks the batch: nothing of the batch has been
    committed, so each of its jobs is run again in a transaction of its own, where
    a refusal rolls back everything the job did. Writes are counted by the
    connection (``driver.rows_written``), so this costs nothing when jobs succeed.
    """
    before = rows_written(connection)
    try:
        outcome: Outcome = (True, job(connection))
    except Exception as error:
        if rows_written(connection) != before or _aborted(connection):
            raise TransactionBroken(error) from error
        outcome = (False, error)
    if _ended(connection):
        # SQLite rolls a whole transaction back by itself on some errors (a full
        # disk, an I/O error, no memory); the statements after it would commit one
        # by one. Nothing of the batch is stored: it must be run again, job by job.
        failure = outcome[1] if not outcome[0] else RuntimeError("the transaction ended")
        raise TransactionBroken(failure)
    return outcome


def _ended(connection: Connection) -> bool:
    """The transaction is gone from under the batch (SQLite's automatic rollback)."""
    if connection.dialect.name != "sqlite":
        return False
    return not connection.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]


def _aborted(connection: Connection) -> bool:
    """PostgreSQL refuses every statement after a failed one until the transaction ends."""
    if connection.dialect.name != "postgresql":
        return False
    info = connection.connection.dbapi_connection.info  # type: ignore[union-attr]
    return bool(info.transaction_status == psycopg.pq.TransactionStatus.INERROR)


def run_alone(connection: Connection, job: Job[Any]) -> Outcome:
    """Run ``job`` in a transaction of its own; every failure is its outcome."""
    try:
        transaction = connection.begin()
    except Exception as error:
        return False, error  # never started: nothing of it was done
    try:
        value = job(connection)
    except Exception as error:
        _rollback(transaction)
        return False, error
    try:
        transaction.commit()
    except Exception as error:
        return _uncertain((True, value), error)
    return True, value


def _rollback(transaction: RootTransaction) -> None:
    with contextlib.suppress(Exception):
        transaction.rollback()


def _uncertain(outcome: Outcome, error: Exception) -> Outcome:
    """A job's outcome after its COMMIT failed: a failure stays itself (it wrote
    nothing); a success may or may not have been stored."""
    if not outcome[0]:
        return outcome
    log.warning("commit failed; outcome unknown", extra={"error": describe(error)})
    failure = CommitUncertain("the commit failed; the change may or may not be stored")
    failure.__cause__ = error
    return False, failure


def _settle(future: asyncio.Future[Any], outcome: Outcome) -> None:
    if future.done():
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _unavailable() -> StoreUnavailable:
    return StoreUnavailable("the database did not take the job in time")


# -- SQLite: on the event loop ------------------------------------------------------------


@dataclass
class _Waiting:
    job: Job[Any]
    future: asyncio.Future[Any]
    deadline: float
    alone: bool = False  # its batch broke: run it in a transaction of its own


class InlineTransactionRunner:
    """Group commit on the event loop's thread, for SQLite."""

    RETRY_SECONDS = 0.002

    def __init__(self, engine: Engine, max_batch: int = 64, wait: float = 5.0) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._wait = wait
        self._waiting: deque[_Waiting] = deque()
        self._scheduled = False
        self._committing = False
        self._current: list[_Waiting] = []  # the batch taken and not yet answered
        self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-commit")
        self._connection: Connection | None = None

    def start(self) -> None:
        return None

    def stop(self) -> None:
        self._committer.shutdown(wait=True)
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def run(self, job: Job[T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._waiting.append(_Waiting(job, future, time.monotonic() + self._wait))
        if not self._scheduled:
            # Everything that arrives before the loop comes round joins this batch.
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        try:
            self._flush_batch()
        except Exception as error:  # a bug here must not leave callers waiting forever
            log.exception("transaction flush failed")
            self._fail([*self._current, *self._waiting], error)
            self._waiting.clear()

    def _flush_batch(self) -> None:
        if self._committing:
            return  # the commit under way flushes again when it is done
        self._expire()
        if not self._waiting:
            return
        batch = self._take()
        self._current = batch
        try:
            connection = self._open()
            transaction = connection.begin()
        except OperationalError as error:
            # Locked by another process (busy_timeout is 0 here): try again soon,
            # without blocking the loop, until the jobs' wait runs out.
            if not _is_locked(error):
                self._fail(batch, error)
            else:
                self._requeue(batch, alone=False)
                self._reschedule(self.RETRY_SECONDS)
            return
        except Exception as error:
            self._fail(batch, error)
            return
        try:
            outcomes = run_in_transaction(connection, [w.job for w in batch])
        except Exception as error:
            # Nothing was committed. Each job is run again alone on the coming
            # flushes, one COMMIT at a time on the commit thread: the loop never
            # does a batch's worth of fsyncs in a row.
            _rollback(transaction)
            failure = error.failure if isinstance(error, TransactionBroken) else error
            if len(batch) == 1 and isinstance(failure, DomainError):
                # A refusal after writing, alone: rolled back, an ordinary answer.
                self._finish(batch, [(False, failure)])
            elif len(batch) == 1:
                self._fail(batch, failure)
            else:
                self._requeue(batch, alone=True)
                self._reschedule(0)
            return
        # COMMIT waits for the disk; it does so on another thread while the loop
        # serves requests and gathers the next batch.
        self._committing = True
        commit = asyncio.get_running_loop().run_in_executor(self._committer, transaction.commit)
        commit.add_done_callback(functools.partial(self._committed, transaction, batch, outcomes))

    def _take(self) -> list[_Waiting]:
        """The next batch: a job marked alone by itself, else up to max_batch others."""
        first = self._waiting.popleft()
        batch = [first]
        while (
            not first.alone
            and self._waiting
            and len(batch) < self._max_batch
            and not self._waiting[0].alone
        ):
            batch.append(self._waiting.popleft())
        return batch

    def _committed(
        self,
        transaction: RootTransaction,
        batch: list[_Waiting],
        outcomes: list[Outcome],
        commit: asyncio.Future[None],
    ) -> None:
        self._committing = False
        try:
            commit.result()
        except Exception as error:
            # The outcome is unknown: answer, never run again.
            _rollback(transaction)
            outcomes = [_uncertain(outcome, error) for outcome in outcomes]
            self._close()
        self._finish(batch, outcomes)

    def _finish(self, batch: list[_Waiting], outcomes: list[Outcome]) -> None:
        self._current = []
        for waiting, outcome in zip(batch, outcomes, strict=True):
            _settle(waiting.future, outcome)
        if self._waiting:
            self._reschedule(0)

    def _requeue(self, batch: list[_Waiting], *, alone: bool) -> None:
        self._current = []
        for waiting in reversed(batch):
            waiting.alone = waiting.alone or alone
            self._waiting.appendleft(waiting)

    def _open(self) -> Connection:
        if self._connection is None or self._connection.invalidated:
            connection = connect(self._engine)
            # Never wait for a lock on the loop's thread: _flush retries instead.
            connection.connection.driver_connection.execute(  # type: ignore[union-attr]
                "PRAGMA busy_timeout = 0"
            )
            self._connection = connection
        return self._connection

    def _close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def _expire(self) -> None:
        """Fail the jobs whose wait ran out before they could start; drop cancelled ones."""
        now = time.monotonic()
        kept: deque[_Waiting] = deque()
        for waiting in self._waiting:
            if waiting.future.done():
                continue
            if waiting.deadline <= now:
                waiting.future.set_exception(_unavailable())
                continue
            kept.append(waiting)
        self._waiting = kept

    def _fail(self, batch: list[_Waiting], error: Exception) -> None:
        log.warning("transaction batch failed", extra={"error": describe(error)})
        self._current = []
        for waiting in batch:
            _settle(waiting.future, (False, error))
        self._close()
        if self._waiting:
            self._reschedule(0)  # the others still waiting get their turn

    def _reschedule(self, delay: float) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_later(delay, self._flush)


def _is_locked(error: OperationalError) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED: another connection holds the write lock."""
    code = getattr(driver_error(error), "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


# -- PostgreSQL: on worker threads ------------------------------------------------------------

_STOP = object()


@dataclass
class _Pending:
    job: Job[Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    outcome: Outcome = field(default=(False, None))
    # QUEUED -> RUNNING (taken by a worker) or ABANDONED (its caller gave up first).
    state: str = "QUEUED"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def claim(self, state: str) -> bool:
        """Move from QUEUED to ``state``; False when someone else moved it first."""
        with self.lock:
            if self.state != "QUEUED":
                return False
            self.state = state
            return True


class ThreadedTransactionRunner:
    """Group commit on worker threads, each owning one connection."""

    def __init__(
        self, engine: Engine, threads: int = 4, max_batch: int = 64, wait: float = 5.0
    ) -> None:
        self._engine = engine
        self._wait = wait
        self._threads = threads
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(self._threads):
            worker = threading.Thread(target=self._work, name=f"transactions-{index}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self) -> None:
        for _ in self._workers:
            self._queue.put(_STOP)
        for worker in self._workers:
            worker.join(timeout=10)
        self._workers.clear()

    async def run(self, job: Job[T]) -> T:
        """A job still queued after the wait is abandoned (it will never run). One a
        worker has taken is awaited to the end, so an error never hides a commit;
        the database's own timeouts (lock, statement, connect) bound it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        pending = _Pending(job, future, loop)
        self._queue.put(pending)
        # A timer rather than wait_for(): no extra task per job on the hot path.
        timer = loop.call_later(self._wait, _abandon, pending)
        try:
            return await future
        finally:
            timer.cancel()

    def _work(self) -> None:
        connection: Connection | None = None
        while True:
            batch = self._take()
            if batch is None:
                break
            if not batch:
                continue
            try:
                if connection is None or connection.closed or connection.invalidated:
                    connection = connect(self._engine)
                outcomes = run_batch(connection, [p.job for p in batch])
            except Exception as error:  # the connection could not be made or was lost
                log.warning("transaction batch failed", extra={"error": describe(error)})
                outcomes = [(False, error)] * len(batch)
                if connection is not None:
                    connection.close()
                    connection = None
            for pending, outcome in zip(batch, outcomes, strict=True):
                pending.outcome = outcome
            self._answer(batch)
        if connection is not None:
            connection.close()

    def _take(self) -> list[_Pending] | None:
        """The next batch (empty when every job in it was abandoned); None to stop."""
        first = self._queue.get()
        if first is _STOP:
            return None
        batch = [first] if first.claim("RUNNING") else []
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                self._queue.put(_STOP)
                break
            if item.claim("RUNNING"):
                batch.append(item)
        return batch

    @staticmethod
    def _answer(batch: list[_Pending]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
        for pending in batch:
            by_loop.setdefault(pending.loop, []).append(pending)
        for loop, items in by_loop.items():
            # A closed loop has nobody waiting on it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle_all, items)


def _abandon(pending: _Pending) -> None:
    """Give up on a job no worker has taken yet; one already running is waited for."""
    if pending.claim("ABANDONED") and not pending.future.done():
        pending.future.set_exception(_unavailable())


def _settle_all(items: list[_Pending]) -> None:
    for pending in items:
        _settle(pending.future, pending.outcome)
