"""The ``start_server`` fixture: the real server on this test's database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.server import ServerFactory
from tests.support.world import World


@pytest.fixture
def start_server(database_url: str, world: World, tmp_path: Path) -> Iterator[ServerFactory]:
    """``start_server(workers=N)`` -> a ready RunningServer on this test's database."""
    factory = ServerFactory(database_url, tmp_path)
    try:
        yield factory
    finally:
        factory.close()
