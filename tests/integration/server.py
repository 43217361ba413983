"""The real server as a subprocess: ``katapult-ipam serve`` on 127.0.0.1.

A ``ServerFactory`` (the ``start_server`` fixture) starts the server on one
database when called with ``workers=N``, waits until every worker is serving
and returns a ``RunningServer``. It may be called again, e.g. after
``server.kill()``, to restart on the same database; ``close()`` stops every
server it started.

The server runs in its own session, hence its own process group, so that
``kill()`` reaches the uvicorn supervisor, its workers and multiprocessing's
helper with one ``killpg``. The leader is never reaped before the group is
empty, so its pid (the group id) cannot be reused while we still signal it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from tests.support.api import bearer
from tests.support.world import ACME_TOKEN, RDNS_ZONE

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
KILL_TIMEOUT = 5.0
READY_LINE = "Application startup complete."


class PortTaken(Exception):
    """Another process took the port between our probe and the server's bind."""


class RunningServer:
    """One ``katapult-ipam serve`` process group."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, workers: int, log: Path):
        self.process = process
        self.port = port
        self.workers = workers
        self.url = f"http://{HOST}:{port}"
        self._log = log
        self._reaped = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr(self) -> str:
        return self._log.read_text(encoding="utf-8", errors="replace")

    def client(self, connections: int = 16, timeout: float = 15.0) -> httpx2.Client:
        """A client authenticated as Acme; one may share it between threads."""
        return httpx2.Client(
            base_url=self.url,
            headers=bearer(ACME_TOKEN),
            timeout=timeout,
            limits=httpx2.Limits(
                max_connections=connections,
                max_keepalive_connections=connections,
                keepalive_expiry=2.0,  # below uvicorn's 5 s keep-alive timeout
            ),
            trust_env=False,
        )

    def exit_status(self) -> int | None:
        """The leader's exit status once it has exited, without reaping it."""
        if self._reaped:
            return self.process.returncode
        result = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if result is None:
            return None
        if result.si_code == os.CLD_EXITED:
            return result.si_status
        return -result.si_status

    def wait_until_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Poll /livez, then the log until every worker has started; fail clearly."""
        deadline = time.monotonic() + timeout
        live = False
        with httpx2.Client(timeout=1.0, trust_env=False) as probe:
            while True:
                status = self.exit_status()
                if status is not None:
                    log = self.stderr()
                    if "address already in use" in log.lower():
                        raise PortTaken(log)
                    pytest.fail(
                        f"the server exited with status {status} before it was ready;"
                        f" stderr:\n{log}",
                        pytrace=False,
                    )
                if not live:
                    try:
                        live = probe.get(f"{self.url}/livez").status_code == 200
                    except httpx2.TransportError:
                        live = False
                # With several workers the supervisor binds the socket before they
                # start: wait until all of them are serving, not just the first.
                if live and self.stderr().count(READY_LINE) >= self.workers:
                    return
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"the server ({self.workers} workers) was not ready within"
                        f" {timeout:.0f} s (livez answered: {live}); stderr:\n{self.stderr()}",
                        pytrace=False,
                    )
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the whole process group and wait until none of it runs."""
        if self._reaped:
            return
        deadline = time.monotonic() + KILL_TIMEOUT
        while True:
            # The unreaped leader keeps the group id ours, so this signals no stranger.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            survivors = _live_members(self.pid)
            if not survivors:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"server processes {survivors} survived SIGKILL")
            time.sleep(0.01)
        self.process.wait(timeout=KILL_TIMEOUT)
        self._reaped = True

    def stop(self) -> None:
        """SIGTERM the leader (uvicorn stops its workers), then make sure with kill()."""
        if self._reaped:
            return
        if self.exit_status() is None:
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT
            while self.exit_status() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        self.kill()


def _live_members(group: int) -> list[int]:
    """Pids of the processes in ``group`` that are not yet dead (zombies count as dead)."""
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: the leader is all we can see
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return []
        return [group]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses.
        fields = stat[stat.rindex(b")") + 2 :].split()
        if int(fields[2]) == group and fields[0] not in (b"Z", b"X"):
            members.append(int(entry.name))
    return members


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def server_executable() -> Path:
    # Not resolved: .venv/bin/python is a symlink to the base interpreter.
    executable = Path(sys.executable).parent / "katapult-ipam"
    if not executable.exists():
        pytest.fail(f"{executable} does not exist: install the project into the virtualenv")
    return executable


class ServerFactory:
    """Starts servers on one database and stops all of them at the end."""

    def __init__(self, database_url: str, folder: Path) -> None:
        self._database_url = database_url
        self._folder = folder
        self._executable = server_executable()
        self._servers: list[RunningServer] = []

    def __call__(self, workers: int = 1, env: dict[str, str] | None = None) -> RunningServer:
        """A ready server; ``env`` adds settings (``KATAPULT_IPAM_*``) for it."""
        for _ in range(3):
            server = self._spawn(workers, env or {})
            try:
                server.wait_until_ready()
            except PortTaken:
                server.kill()
                continue
            except BaseException:
                server.kill()
                raise
            return server
        pytest.fail("three free ports in a row were taken before the server could bind one")

    def _spawn(self, workers: int, extra_env: dict[str, str]) -> RunningServer:
        port = free_port()
        number = len(self._servers)
        log = self._folder / f"server-{number}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KATAPULT_IPAM_")}
        env.update(
            KATAPULT_IPAM_DATABASE_URL=self._database_url,
            KATAPULT_IPAM_RDNS_ZONE=RDNS_ZONE,
            KATAPULT_IPAM_LOG_LEVEL="info",  # readiness is read from the log
            PYTHONUNBUFFERED="1",
        )
        env.update(extra_env)
        command = [
            str(self._executable),
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                cwd=self._folder,
                env=env,
                start_new_session=True,
            )
        server = RunningServer(process, port, workers, log)
        self._servers.append(server)
        return server

    def close(self) -> None:
        errors = []
        for server in self._servers:
            try:
                server.stop()
            except Exception as error:
                errors.append(error)
        if errors:
            raise errors[0]
