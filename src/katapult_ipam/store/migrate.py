"""Schema migrations (Alembic), run from code so no alembic.ini is needed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"


class MigrationError(RuntimeError):
    """The migration would leave rows that break the schema's rules; nothing was changed."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``."""
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to ``revision``."""
    _run(engine, command.downgrade, revision)


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest revision."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current == heads


def _run(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    with (
        engine.connect() as connection,
        _sqlite_foreign_keys_off(connection),
        connection.begin(),
    ):
        config = alembic_config()
        config.attributes["connection"] = connection
        step(config, revision)
        _check_foreign_keys(connection)


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
