"""A real PostgreSQL server stops and comes back: 503s meanwhile, then recovery.

The server is a private one, made for this test with initdb on a free port,
so stopping it disturbs nothing else.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from katapult_ipam.app import create_app
from katapult_ipam.config import Settings
from katapult_ipam.store import migrate
from katapult_ipam.store.database import create_database_engine
from tests.support.api import PATH, bearer
from tests.support.databases import backend_url
from tests.support.world import ACME_TOKEN, RDNS_ZONE, load_standard

pytestmark = pytest.mark.slow


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = _free_port()
        self.data = Path(tempfile.mkdtemp(prefix="kipam-pg-", dir="/tmp"))
        user = pwd.getpwnam("postgres")
        os.chown(self.data, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = ["runuser", "-u", "postgres", "--", str(self.bin_dir / tool), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.data / "server.log")  # not our pipe: pg_ctl would wait on it
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "-t", "30",
                  "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.data, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if backend_url() is None:
        pytest.skip("runs in the PostgreSQL pass of the suite")
    bin_dir = _binaries()
    if bin_dir is None or os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs PostgreSQL's server binaries and root to run them as postgres")
    server = PrivatePostgres(bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.remove()


def _allocate(client: TestClient, address: str) -> tuple[int, str, float]:
    started = time.monotonic()
    response = client.post(
        PATH,
        json={"virtual_machine": {"fqdn": "web-1.acme.example.net"},
              "ip_address": {"address": address}},
    )  # fmt: skip
    return response.status_code, response.json().get("code", ""), time.monotonic() - started


def test_the_service_answers_503_while_the_database_is_down_and_recovers(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=private_postgres.url,
        rdns_zone=RDNS_ZONE,
        database_timeout=3.0,
        signing_key_file=str(tmp_path / "key.pem"),
    )
    engine = create_database_engine(settings)
    migrate.upgrade(engine)
    load_standard(engine)
    engine.dispose()

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers.update(bearer(ACME_TOKEN))
        assert _allocate(client, "192.0.2.10")[0] == 200

        private_postgres.stop()
        for _ in range(3):
            status, code, took = _allocate(client, "192.0.2.12")
            assert (status, code) == (503, "service_unavailable")
            assert took < 10, "a request must not hang while the database is away"

        private_postgres.start()
        deadline = time.monotonic() + 20
        status = 0
        while time.monotonic() < deadline:
            status, _, _ = _allocate(client, "192.0.2.12")
            if status == 200:
                break
            time.sleep(0.2)
        assert status == 200, "the service did not recover by itself"
        # The allocation answered before the outage is still there.
        assert _allocate(client, "192.0.2.10")[0] == 200
