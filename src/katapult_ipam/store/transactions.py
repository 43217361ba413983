"""The one place writes happen: jobs run in transactions on dedicated threads.

Concurrent jobs are committed together (group commit): a worker thread takes
every job waiting, runs them one after the other in one transaction and
commits them with one COMMIT, so one fsync is shared by many allocations.

A job may refuse (raise a DomainError) only before it writes, so a refusal
leaves nothing behind even though it shares the transaction; on SQLite this is
checked. Any other failure rolls the whole batch back and each job is run again
in a transaction of its own, so a failing job leaves the store as it was and
the others are unaffected. Callers are answered only after COMMIT returned, so
a successful answer always describes a durable change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from katapult_ipam.domain.errors import DomainError
from katapult_ipam.store.database import SQLITE_BEGIN_OPTION

T = TypeVar("T")
Job = Callable[[Connection], T]

log = logging.getLogger(__name__)

_STOP = object()


class StoreUnavailable(Exception):
    """The database did not take the job in time; nothing of it was done."""


@dataclass
class _Pending:
    job: Job[Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    outcome: tuple[bool, Any] = field(default=(False, None))
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


class TransactionRunner:
    """Runs jobs ``fn(connection) -> value`` in committed transactions."""

    def __init__(
        self, engine: Engine, threads: int = 1, max_batch: int = 64, queue_timeout: float = 5.0
    ) -> None:
        self._engine = engine
        self._queue_timeout = queue_timeout
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
        """Run ``job`` in a transaction; return its value once committed.

        A job still waiting for a worker after ``queue_timeout`` is abandoned
        (it will never run) and StoreUnavailable is raised. A job a worker has
        taken is awaited to the end, so an error never hides a commit; the
        database's own timeouts (busy, lock, statement, connect) bound it.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        pending = _Pending(job, future, loop)
        self._queue.put(pending)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self._queue_timeout)
        except TimeoutError:
            if pending.claim("ABANDONED"):
                raise StoreUnavailable("the database did not take the job in time") from None
            return await future

    def run_sync(self, job: Job[T]) -> T:
        """Run ``job`` in its own transaction on the calling thread."""
        with self._connect() as connection, connection.begin():
            return job(connection)

    def _connect(self) -> Connection:
        connection = self._engine.connect()
        if self._engine.dialect.name == "sqlite":
            # Take the write lock at BEGIN: no lock upgrade, so no deadlock
            # between processes that write to the same file.
            connection = connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        return connection

    def _work(self) -> None:
        connection: Connection | None = None
        while True:
            first = self._queue.get()
            if first is _STOP:
                break
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
            if not batch:
                continue
            try:
                if connection is None or connection.closed or connection.invalidated:
                    connection = self._connect()
                self._run_batch(connection, batch)
            except Exception as error:  # connection could not be made or was lost
                log.warning("transaction batch failed: %s", type(error).__name__)
                for pending in batch:
                    pending.outcome = (False, error)
                if connection is not None:
                    connection.close()
                    connection = None
            self._answer(batch)
        if connection is not None:
            connection.close()

    def _run_batch(self, connection: Connection, batch: list[_Pending]) -> None:
        if len(batch) == 1:
            self._run_alone(connection, batch[0])
            return
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    # Two batches may lock the same rows in opposite orders. Rather
                    # than wait for PostgreSQL's deadlock detection (a second), give
                    # up quickly: the jobs are then run one by one, which cannot deadlock.
                    connection.exec_driver_sql("SET LOCAL lock_timeout = '50ms'")
                for pending in batch:
                    pending.outcome = _run_refusable(connection, pending.job)
        except Exception:
            # Anything but a refusal spoils the whole batch (nothing was committed):
            # run each job on its own, so one job's trouble is only its own.
            for pending in batch:
                self._run_alone(connection, pending)

    def _run_alone(self, connection: Connection, pending: _Pending) -> None:
        try:
            with connection.begin():
                pending.outcome = (True, pending.job(connection))
        except Exception as error:
            pending.outcome = (False, error)

    @staticmethod
    def _answer(batch: list[_Pending]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
        for pending in batch:
            by_loop.setdefault(pending.loop, []).append(pending)
        for loop, items in by_loop.items():
            # A closed loop has nobody waiting on it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, items)


def _run_refusable(connection: Connection, job: Job[Any]) -> tuple[bool, Any]:
    """Run one job of a batch. A refusal must come before any write: it shares
    the batch's transaction, so nothing it did is rolled back on its own."""
    before = _changes(connection)
    try:
        return True, job(connection)
    except DomainError as refusal:
        if _changes(connection) != before:
            raise RuntimeError("a job wrote before it refused") from refusal
        return False, refusal


def _changes(connection: Connection) -> int | None:
    """Rows changed so far on this connection, where the driver can tell (SQLite)."""
    total = getattr(connection.connection.dbapi_connection, "total_changes", None)
    return total if isinstance(total, int) else None


def _settle(items: list[_Pending]) -> None:
    for pending in items:
        if pending.future.done():
            continue
        ok, value = pending.outcome
        if ok:
            pending.future.set_result(value)
        else:
            pending.future.set_exception(value)
