"""The durability promise, checked where it is made: on the connections writes use.

A SIGKILL test (tests/integration/test_durability.py) cannot tell synchronous=FULL
from OFF, since the page cache survives the process; these settings are what make
a 200 survive a power loss.
"""

from __future__ import annotations

from sqlalchemy import Engine

from katapult_ipam.store.transactions import connect


def test_write_connections_sync_every_commit(engine: Engine) -> None:
    connection = connect(engine)
    try:
        if engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        else:
            assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
            assert connection.exec_driver_sql("SHOW fsync").scalar() == "on"
    finally:
        connection.close()
