"""Fixtures: a fresh migrated database per test, the standard inventory, an HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine
from starlette.testclient import TestClient

from katapult_ipam.app import create_app
from katapult_ipam.config import Settings
from katapult_ipam.store.database import create_database_engine
from tests.support.api import bearer
from tests.support.databases import (
    DatabaseFactory,
    PostgresFactory,
    SQLiteFactory,
    backend_url,
)
from tests.support.world import ACME_TOKEN, RDNS_ZONE, World, load_standard

# Timing is the benchmarks' job; on a busy CI machine a deadline only adds flakiness.
hypothesis_settings.register_profile("katapult", deadline=None)
hypothesis_settings.load_profile("katapult")


@pytest.fixture(scope="session")
def database_factory(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Iterator[DatabaseFactory]:
    server = backend_url()
    factory: DatabaseFactory
    if server is None:
        factory = SQLiteFactory(tmp_path_factory.mktemp("databases"))
    else:
        factory = PostgresFactory(server, worker_id)
    yield factory
    factory.close()


@pytest.fixture
def database_url(database_factory: DatabaseFactory) -> Iterator[str]:
    url = database_factory.new()
    yield url
    database_factory.drop(url)


@pytest.fixture(scope="session")
def signing_key_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("keys") / "signing-key.pem")


@pytest.fixture
def settings(database_url: str, signing_key_file: str) -> Settings:
    return Settings(
        database_url=database_url, rdns_zone=RDNS_ZONE, signing_key_file=signing_key_file
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_database_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def world(engine: Engine) -> World:
    return load_standard(engine)


@pytest.fixture
def client(settings: Settings, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers.update(bearer(ACME_TOKEN))
        yield client


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
