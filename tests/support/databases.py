"""A fresh, migrated database per test, on SQLite or PostgreSQL.

The schema comes from the real Alembic migrations, run once per test worker
into a template; each test then gets its own copy (a file copy on SQLite,
``CREATE DATABASE ... TEMPLATE`` on PostgreSQL), so no test sees another's rows.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from katapult_ipam.config import Settings
from katapult_ipam.store import migrate
from katapult_ipam.store.database import create_database_engine

POSTGRES_URL_VARIABLE = "KATAPULT_IPAM_TEST_DATABASE_URL"


def backend_url() -> str | None:
    """The PostgreSQL server URL the suite runs against, or None for SQLite."""
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


class DatabaseFactory:
    def new(self) -> str:
        raise NotImplementedError

    def drop(self, url: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class SQLiteFactory(DatabaseFactory):
    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._template = folder / "template.db"
        self._counter = itertools.count()
        engine = create_database_engine(Settings(database_url=f"sqlite:///{self._template}"))
        migrate.upgrade(engine)
        engine.dispose()  # the last connection checkpoints the WAL into the file

    def new(self) -> str:
        target = self._folder / f"test-{next(self._counter)}.db"
        shutil.copyfile(self._template, target)
        return f"sqlite:///{target}"

    def drop(self, url: str) -> None:
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


class PostgresFactory(DatabaseFactory):
    def __init__(self, server_url: str, worker: str) -> None:
        self._server = make_url(server_url)
        self._prefix = f"kipam_{worker}_{os.getpid()}"
        self._template = f"{self._prefix}_template"
        self._counter = itertools.count()
        self._admin = create_engine(self._server, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{self._template}"'))
        engine = create_database_engine(Settings(database_url=self._url(self._template)))
        migrate.upgrade(engine)
        engine.dispose()

    def _url(self, name: str) -> str:
        return self._server.set(database=name).render_as_string(hide_password=False)

    def new(self) -> str:
        name = f"{self._prefix}_{next(self._counter)}"
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"'))
        return self._url(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)'))
        self._admin.dispose()
