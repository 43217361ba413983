"""Schema migrations (Alembic), run from code so no alembic.ini is needed.

Migrations run one at a time: two ``katapult-ipam migrate`` at once (two replicas
starting together) wait for each other, and the second finds the schema current.
PostgreSQL: an advisory lock held for the migration's transaction. SQLite: an
exclusive lock on a file beside the database, then an IMMEDIATE transaction.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from katapult_ipam.store.database import SQLITE_BEGIN_OPTION

MIGRATIONS = Path(__file__).parent / "migrations"
# The key of the PostgreSQL advisory lock migrations take ("kipam" in ASCII).
ADVISORY_LOCK_KEY = 0x6B6970616D


class MigrationError(RuntimeError):
    """The migration would leave rows that break the schema's rules; nothing was changed."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> bool:
    """Bring the database to ``revision``; False when it was there already."""
    return _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> bool:
    """Take the database back to ``revision``; False when it was there already."""
    return _run(engine, command.downgrade, revision)


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest revision."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current == heads


def _run(engine: Engine, step: Callable[[Config, str], None], revision: str) -> bool:
    with (
        _sqlite_lock_file(engine),
        engine.connect() as connection,
        _sqlite_foreign_keys_off(connection),
        connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"}).begin(),
    ):
        _postgresql_lock(connection)
        before = _current(connection)
        config = alembic_config()
        config.attributes["connection"] = connection
        step(config, revision)
        _check_foreign_keys(connection)
        return _current(connection) != before


def _current(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


@contextmanager
def _sqlite_lock_file(engine: Engine) -> Iterator[None]:
    """On SQLite, hold an exclusive lock on ``<database>.migrate-lock`` (waiting for it as
    long as another migration takes): a write lock on the database itself is only waited
    for the busy timeout, and is not held between Alembic's first read and its first write."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _postgresql_lock(connection: Connection) -> None:
    """On PostgreSQL, wait (however long) for any other migration's transaction to end."""
    if connection.dialect.name != "postgresql":
        return
    lock_timeout = connection.execute(text("SELECT current_setting('lock_timeout')")).scalar()
    connection.execute(text("SET LOCAL lock_timeout = 0"))
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    # The migration's own statements wait for table locks no longer than before.
    connection.execute(
        text("SELECT set_config('lock_timeout', :value, true)"), {"value": lock_timeout}
    )


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite changes a table by rebuilding it (Alembic's batch mode) and dropping the old
    copy, which, with foreign keys enforced, deletes its rows first: that cascades to the
    rows referencing them, or is refused. The pragma is ignored inside a transaction, so
    it is set on the driver's connection before the migration's transaction begins.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        try:
            driver.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            connection.invalidate()  # never back into the pool without foreign keys
            raise


def _check_foreign_keys(connection: Connection) -> None:
    """On SQLite, what the rebuilt tables were not checked for; PostgreSQL checks as it goes."""
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise MigrationError(
            f"{len(broken)} rows break a foreign key (in {', '.join(tables)}); nothing was migrated"
        )
