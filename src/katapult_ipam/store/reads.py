"""The read path: read-only jobs ``fn(connection) -> value`` on threads of their own.

Writes are group-committed by ``transactions`` (on SQLite, on the event loop and
under the file's write lock). A read needs neither: it runs on a small pool of
threads, each with its own connection, in a transaction that cannot write
(SQLite: a deferred transaction on a ``query_only`` connection, which in WAL mode
reads beside the writer without its lock; PostgreSQL: a READ ONLY transaction).
So a long read never holds the write lock and never stalls the event loop, and
a job that tries to write fails instead of writing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from katapult_ipam.store.errors import StoreUnavailable

T = TypeVar("T")
ReadJob = Callable[[Connection], T]


class ReadRunner:
    """Runs read-only jobs on ``threads`` worker threads, one connection each."""

    def __init__(self, engine: Engine, threads: int = 2, wait: float = 5.0) -> None:
        self._engine = engine
        self._wait = wait
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="reads")
        self._local = threading.local()
        self._connections: list[Connection] = []
        self._lock = threading.Lock()

    async def run(self, job: ReadJob[T]) -> T:
        """Run ``job`` in a read-only transaction and return its value.

        A job not answered within the wait fails with StoreUnavailable (one still
        queued is never run; one running finishes unheard, which a read may)."""
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._executor, self._run, job), self._wait
            )
        except TimeoutError:
            raise StoreUnavailable("the database did not answer the read in time") from None

    def stop(self) -> None:
        self._executor.shutdown(wait=True)
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    def _run(self, job: ReadJob[T]) -> T:
        connection = self._connection()
        try:
            with connection.begin():
                return job(connection)
        except Exception:
            if connection.invalidated or connection.closed:
                self._forget(connection)
            raise

    def _connection(self) -> Connection:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None or connection.closed or connection.invalidated:
            connection = read_only_connection(self._engine)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _forget(self, connection: Connection) -> None:
        self._local.connection = None
        with self._lock:
            if connection in self._connections:
                self._connections.remove(connection)
        connection.close()


def read_only_connection(engine: Engine) -> Connection:
    """A connection whose transactions can read and cannot write.

    It is detached from the pool, so the read-only setting never reaches a
    connection the write path is handed later."""
    connection = engine.connect()
    connection.detach()
    driver: Any = connection.connection.dbapi_connection
    if engine.dialect.name == "postgresql":
        driver.read_only = True  # every transaction BEGINs READ ONLY
    else:
        driver.execute("PRAGMA query_only = ON")
    return connection
