"""Allocation throughput of the real server, measured against its cheapest endpoint.

Usage::

    .venv/bin/python bench/allocate.py [--database-url URL] [--ips N] [--vms N]
        [--concurrency N] [--seconds S] [--workers N] [--port P] [--json PATH]
    .venv/bin/python bench/allocate.py --load-only --ips 100000 --vms 5000

What it does, all on 127.0.0.1 and all cleaned up at the end:

1. Builds an inventory in code (one country, data centre and network with an
   IPv4 subnet holding ``--ips`` free addresses, ``--vms`` VMs with one
   interface each, one organization and one API token whose secret is made at
   random), writes it as YAML to a temporary directory and loads it with the
   real CLI (``katapult-ipam migrate`` then ``katapult-ipam load FILE``),
   timing the load. ``--load-only`` stops here.
2. Starts ``katapult-ipam serve`` as a subprocess and waits for ``/livez``.
3. Phase A: ``GET /livez`` for ``--seconds`` -> requests/s, p50, p99.
   Phase B: ``POST /core/v1/virtual_machines/:vm/allocate_ip``, each request
   allocating a fresh IP by id to the next VM (round robin) -> allocations/s,
   p50, p99 and non-200 answers; then checks in the database that exactly the
   answered allocations were made.

Without ``--database-url`` a fresh SQLite file in a temporary directory is
used. With a ``postgresql`` URL, a fresh database ``kipam_bench_<pid>`` is
created on that server and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import itertools
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine, make_url

from katapult_ipam.config import Settings
from katapult_ipam.store import models as m
from katapult_ipam.store.database import create_database_engine

HOST = "127.0.0.1"
ORGANIZATION = "bench"
NETWORK = "bench-net"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
SHOWN_FAILURES = 5
SQLITE_SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}

_tables = m.Base.metadata.tables
_ip = _tables["ip_addresses"]
_vm = _tables["virtual_machines"]
_org = _tables["organizations"]
_event = _tables["allocation_events"]


# -- options ----------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--ips", type=_positive, default=50_000, help="free IPv4 addresses")
    parser.add_argument("--vms", type=_positive, default=5_000, help="virtual machines")
    parser.add_argument("--concurrency", type=_positive, default=32, help="client connections")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--workers", type=_positive, default=1, help="server worker processes")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument(
        "--max-requests", type=_positive, default=1_000_000, help="cap on requests per phase"
    )
    parser.add_argument(
        "--rate-limit-per-minute",
        type=_positive,
        default=1_000_000_000,
        help="the server's per-identity rate limit (high: one token sends everything)",
    )
    parser.add_argument("--load-only", action="store_true", help="only time the load")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.ips > 2**24 - 3:
        parser.error("--ips: at most 16777213 (the subnet must fit in 10.0.0.0/8)")
    return args


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


# -- the database -------------------------------------------------------------------


@contextlib.contextmanager
def bench_database(url: str | None, directory: Path) -> Iterator[str]:
    """The URL of a fresh database, dropped afterwards when it is a PostgreSQL one."""
    if url is None:
        yield f"sqlite:///{directory / 'bench.db'}"
    elif url.startswith("sqlite"):
        yield url
    else:
        with fresh_postgresql_database(url) as fresh:
            yield fresh


@contextlib.contextmanager
def fresh_postgresql_database(url: str) -> Iterator[str]:
    name = f"kipam_bench_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        _admin_sql(admin, f'DROP DATABASE IF EXISTS "{name}"')
        _admin_sql(admin, f'CREATE DATABASE "{name}"')
        try:
            yield make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            _admin_sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def _admin_sql(engine: Engine, statement: str) -> None:
    with engine.connect() as connection:
        connection.exec_driver_sql(statement)


def bench_engine(url: str) -> Engine:
    return create_database_engine(Settings(database_url=url))


def durability(url: str) -> dict[str, Any]:
    """How the server's connections commit, read through a connection made the same way."""
    settings = Settings(database_url=url)
    engine = create_database_engine(settings)
    try:
        with engine.connect() as connection:
            if settings.is_sqlite:
                level = connection.exec_driver_sql("PRAGMA synchronous").scalar()
                journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
                sync = f"synchronous={SQLITE_SYNCHRONOUS.get(int(level or 0), level)}"
                sync += f", journal_mode={journal}"
            else:
                commit = connection.exec_driver_sql("SHOW synchronous_commit").scalar()
                fsync = connection.exec_driver_sql("SHOW fsync").scalar()
                sync = f"synchronous_commit={commit}, fsync={fsync}"
    finally:
        engine.dispose()
    return {
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "database": "sqlite" if settings.is_sqlite else "postgresql",
        "synchronous": sync,
        "transactions": (
            "on the event loop"
            if settings.is_sqlite and settings.database_threads == 0
            else f"{settings.database_threads or 4} threads"
        ),
        "max_batch": settings.max_batch,
    }


# -- the inventory ------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    ips: int
    vms: int
    subnet: IPv4Network

    @property
    def rows(self) -> int:
        # country, data centre, network, subnet, organization, token; VMs with one NIC each.
        return 6 + 2 * self.vms + self.ips


def subnet_for(ips: int) -> IPv4Network:
    """The smallest subnet of 10.0.0.0/8 with room for the network, gateway and broadcast."""
    host_bits = max(2, (ips + 3 - 1).bit_length())
    return IPv4Network(f"10.0.0.0/{32 - host_bits}")


def write_inventory(path: Path, shape: Shape, secret: str) -> None:
    """Block-style YAML, written line by line: quicker than yaml.safe_dump at this size."""
    with path.open("w", encoding="utf-8") as out:
        out.writelines(_header_lines(shape.subnet))
        out.writelines(_vm_lines(shape.vms))
        out.write("    ip_addresses:\n")
        out.writelines(_ip_lines(shape.subnet, shape.ips))
        out.write("    api_tokens:\n")
        out.write(f'      - {{name: bench, secret: "{secret}", scopes: [ip_addresses]}}\n')


def _header_lines(subnet: IPv4Network) -> Iterable[str]:
    gateway = subnet.network_address + 1
    return [
        "countries:\n",
        "  - {name: Benchland, iso_code2: BL, iso_code3: BLD, time_zone: UTC}\n",
        "data_centers:\n",
        "  - {name: Bench DC, permalink: bench-dc, country: BL}\n",
        "networks:\n",
        f"  - name: Bench\n    permalink: {NETWORK}\n    data_center: bench-dc\n",
        "    default: true\n",
        f'    subnets: [{{cidr: "{subnet}", gateway: "{gateway}"}}]\n',
        "organizations:\n",
        f"  - name: Bench\n    sub_domain: {ORGANIZATION}\n",
        "    virtual_machines:\n",
    ]


def _vm_lines(count: int) -> Iterator[str]:
    for index in range(count):
        name = f"vm-{index:07d}"
        yield (
            f"      - name: {name}\n"
            f"        fqdn: {name}.bench.example.net\n"
            f"        network_interfaces: [{{network: {NETWORK}}}]\n"
        )


def _ip_lines(subnet: IPv4Network, count: int) -> Iterator[str]:
    first = int(subnet.network_address) + 2  # after the network address and the gateway
    for offset in range(count):
        yield f'      - {{address: "{IPv4Address(first + offset)}"}}\n'


@dataclass
class LoadFigures:
    rows: int
    yaml_bytes: int
    generate_seconds: float
    migrate_seconds: float
    load_seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.load_seconds if self.load_seconds else 0.0


def cli_path() -> str:
    return str(Path(sys.executable).with_name("katapult-ipam"))


def server_env(url: str, directory: Path, rate_limit: int) -> dict[str, str]:
    """The environment of every ``katapult-ipam`` command the bench runs."""
    return {
        **os.environ,
        "KATAPULT_IPAM_DATABASE_URL": url,
        "KATAPULT_IPAM_LOG_LEVEL": "warning",
        # One token sends every request: the bench measures throughput, not the limiter.
        "KATAPULT_IPAM_RATE_LIMIT_PER_MINUTE": str(rate_limit),
        # Whatever the server makes on first use stays in the temporary directory.
        "KATAPULT_IPAM_SIGNING_KEY_FILE": str(directory / "signing-key.pem"),
    }


def run_cli(env: dict[str, str], *arguments: str) -> float:
    """Run ``katapult-ipam ARGUMENTS``; return its wall time, or exit with its output."""
    started = time.perf_counter()
    done = subprocess.run(
        [cli_path(), *arguments], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"katapult-ipam {arguments[0]} failed:\n{done.stdout}{done.stderr}")
    return elapsed


def build_and_load(directory: Path, env: dict[str, str], shape: Shape, secret: str) -> LoadFigures:
    path = directory / "inventory.yaml"
    started = time.perf_counter()
    write_inventory(path, shape, secret)
    generated = time.perf_counter() - started
    migrated = run_cli(env, "migrate")
    loaded = run_cli(env, "load", str(path))
    return LoadFigures(shape.rows, path.stat().st_size, generated, migrated, loaded)


@dataclass(frozen=True)
class Targets:
    organization_id: str
    ip_ids: list[str]
    vm_ids: list[str]


def read_targets(url: str) -> Targets:
    """The bench organization's free IPs and its VMs, by id."""
    engine = bench_engine(url)
    try:
        with engine.connect() as connection:
            org_id = connection.execute(
                select(_org.c.id).where(_org.c.sub_domain == ORGANIZATION)
            ).scalar_one()
            ips = connection.execute(
                select(_ip.c.id)
                .where(_ip.c.organization_id == org_id, _ip.c.allocation_id.is_(None))
                .order_by(_ip.c.address)
            ).scalars()
            vms = connection.execute(
                select(_vm.c.id)
                .where(_vm.c.organization_id == org_id, _vm.c.trash_object_id.is_(None))
                .order_by(_vm.c.name)
            ).scalars()
            return Targets(org_id, list(ips), list(vms))
    finally:
        engine.dispose()


def count_allocations(url: str, organization_id: str) -> tuple[int, int]:
    """(allocated IPs, allocation events) of the organization."""
    engine = bench_engine(url)
    try:
        with engine.connect() as connection:
            allocated = connection.execute(
                select(func.count())
                .select_from(_ip)
                .where(_ip.c.organization_id == organization_id, _ip.c.allocation_id.isnot(None))
            ).scalar_one()
            events = connection.execute(
                select(func.count())
                .select_from(_event)
                .where(_event.c.organization_id == organization_id)
            ).scalar_one()
            return int(allocated), int(events)
    finally:
        engine.dispose()


# -- the server ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running_server(
    env: dict[str, str], port: int, workers: int, log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``katapult-ipam serve`` in its own process group, killed on the way out."""
    command = [cli_path(), "serve", "--host", HOST, "--port", str(port)]
    command += ["--workers", str(workers)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_until_live(process, port, log_path)
            yield process
        finally:
            stop_server(process)


def wait_until_live(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}):\n{tail(log_path)}")
        if livez_status(port) == 200:
            return
        time.sleep(0.1)
    raise SystemExit(f"the server did not answer /livez in {STARTUP_TIMEOUT:.0f}s")


def livez_status(port: int) -> int | None:
    connection = http.client.HTTPConnection(HOST, port, timeout=1)
    try:
        connection.request("GET", "/livez")
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (its workers too), SIGKILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; make sure no worker of its group survived it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        return


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def server_problems(path: Path) -> list[str]:
    """Lines of the server's log that tell of an error."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    words = ("Traceback", "ERROR", "Exception", "WARNING")
    return [line for line in text.splitlines() if any(word in line for word in words)]


# -- CPU accounting -----------------------------------------------------------------


CpuSnapshot = dict[str, dict[int, float]]  # who -> process id -> CPU seconds so far


def _proc_stats() -> Iterator[tuple[int, str, int, float]]:
    """(pid, command name, process group, CPU seconds) of every process, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        yield int(entry.name), name, int(fields[2]), (int(fields[11]) + int(fields[12])) / ticks


def cpu_snapshot(server_group: int, postgresql: bool) -> CpuSnapshot:
    """CPU used so far by this client, the server's processes and PostgreSQL's (Linux)."""
    snapshot: CpuSnapshot = {"client": {0: time.process_time()}}
    if not Path("/proc/self/stat").exists():
        return snapshot
    snapshot["server"] = {}
    if postgresql:
        # Every backend of the local server, other users' too: an upper bound.
        snapshot["postgresql"] = {}
    for pid, name, group, seconds in _proc_stats():
        if group == server_group:
            snapshot["server"][pid] = seconds
        elif postgresql and name.startswith("postgres"):
            snapshot["postgresql"][pid] = seconds
    return snapshot


def cpu_used(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float | None]:
    """CPU seconds used between two snapshots (what processes that ended used is lost)."""
    used: dict[str, float | None] = {"client": None, "server": None}
    for who, processes in after.items():
        if who in before:
            earlier = before[who]
            used[who] = sum(max(0.0, s - earlier.get(pid, 0.0)) for pid, s in processes.items())
    return used


# -- the load generator -------------------------------------------------------------


class ProtocolError(Exception):
    """The server's answer is not one this small client understands."""


@dataclass
class PhaseResult:
    name: str
    requests: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list, repr=False)
    failures: list[str] = field(default_factory=list)
    connection_errors: int = 0
    # CPU seconds spent during the phase, by whom (None where it cannot be read).
    cpu: dict[str, float | None] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return self.statuses[200]

    @property
    def non_200(self) -> int:
        return self.requests - self.ok

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def ok_rate(self) -> float:
        """Requests answered 200 per second: for allocations, allocations made per second."""
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile_ms(self, fraction: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, int(fraction * len(ordered) + 0.5) - 1))
        return ordered[index] * 1000

    def cpu_ms_per_request(self, who: str) -> float | None:
        seconds = self.cpu.get(who)
        if seconds is None or not self.requests:
            return None
        return seconds * 1000 / self.requests

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.rate, 1),
            "ok_per_second": round(self.ok_rate, 1),
            "p50_ms": round(self.percentile_ms(0.50), 3),
            "p99_ms": round(self.percentile_ms(0.99), 3),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "non_200": self.non_200,
            "connection_errors": self.connection_errors,
            "failures": self.failures,
            "cpu_seconds": {k: None if v is None else round(v, 3) for k, v in self.cpu.items()},
            "cpu_ms_per_request": {
                who: None if (ms := self.cpu_ms_per_request(who)) is None else round(ms, 3)
                for who in self.cpu
            },
        }


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one HTTP/1.1 answer framed by Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 "):
        raise ProtocolError(head[:80].decode("latin-1"))
    status = int(head[9:12])
    lowered = head.lower()
    start = lowered.find(b"\r\ncontent-length:")
    if start < 0:
        raise ProtocolError(f"no Content-Length in: {head.decode('latin-1')!r}")
    end = lowered.index(b"\r\n", start + 2)
    length = int(head[start + 17 : end])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def drive(port: int, take: Callable[[], bytes | None], result: PhaseResult) -> None:
    """One keep-alive connection sending one request at a time until ``take`` runs dry."""
    reader, writer = await asyncio.open_connection(HOST, port)
    perf = time.perf_counter
    latencies = result.latencies
    statuses = result.statuses
    try:
        while (request := take()) is not None:
            started = perf()
            writer.write(request)
            try:
                status, body = await read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ProtocolError) as error:
                result.connection_errors += 1
                result.failures.append(f"connection: {type(error).__name__}: {error}")
                return
            latencies.append(perf() - started)
            result.requests += 1
            statuses[status] += 1
            if status != 200 and len(result.failures) < SHOWN_FAILURES:
                result.failures.append(f"{status}: {body.decode('utf-8', 'replace')}")
    finally:
        writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def run_phase(
    name: str, port: int, concurrency: int, requests: Iterator[bytes], seconds: float
) -> PhaseResult:
    """Send ``requests`` over ``concurrency`` connections until they or the time run out."""
    result = PhaseResult(name)
    deadline = time.perf_counter() + seconds

    def take() -> bytes | None:
        if time.perf_counter() >= deadline:
            return None
        return next(requests, None)

    started = time.perf_counter()
    connections = asyncio.gather(*(drive(port, take, result) for _ in range(concurrency)))
    with interruptible(connections):
        await connections
    result.seconds = time.perf_counter() - started
    return result


@contextlib.contextmanager
def interruptible(task: asyncio.Future[Any]) -> Iterator[None]:
    """SIGINT and SIGTERM cancel ``task`` (connections close) and then raise KeyboardInterrupt."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.getsignal(sig) for sig in signals}
    interrupted: list[int] = []

    def interrupt(signum: int) -> None:
        interrupted.append(signum)
        task.cancel()

    for sig in signals:
        loop.add_signal_handler(sig, interrupt, sig)
    try:
        yield
    except asyncio.CancelledError:
        if interrupted:
            raise KeyboardInterrupt(f"signal {interrupted[0]}") from None
        raise
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
            if previous[sig] is not None:
                signal.signal(sig, previous[sig])


def livez_requests(port: int, cap: int) -> Iterator[bytes]:
    request = f"GET /livez HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode()
    return itertools.repeat(request, cap)


def allocation_requests(port: int, secret: str, targets: Targets) -> list[bytes]:
    """One pre-encoded request per free IP, the VMs taken in turn."""
    head = f"Host: {HOST}:{port}\r\nAuthorization: Bearer {secret}\r\n"
    head += "Content-Type: application/json\r\n"
    vms = targets.vm_ids
    requests = []
    for index, ip_id in enumerate(targets.ip_ids):
        vm_id = vms[index % len(vms)]
        body = f'{{"virtual_machine":{{"id":"{vm_id}"}},"ip_address":{{"id":"{ip_id}"}}}}'
        requests.append(
            f"POST /core/v1/virtual_machines/{vm_id}/allocate_ip HTTP/1.1\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n{body}".encode()
        )
    return requests


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # optional: the client is quicker with it
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


# -- reporting ------------------------------------------------------------------------


def print_settings(settings: dict[str, Any], args: argparse.Namespace, port: int) -> None:
    print(
        f"database: {settings['database']} ({settings['synchronous']}); "
        f"transactions: {settings['transactions']}, "
        f"max batch: {settings['max_batch']}"
    )
    print(
        f"server: 127.0.0.1:{port}, workers: {args.workers}; client: "
        f"{args.concurrency} keep-alive connections, {args.seconds:g}s per phase; "
        f"inventory: {args.ips} IPs, {args.vms} VMs; "
        f"rate limit: {args.rate_limit_per_minute}/min"
    )
    load_average = ", ".join(f"{value:.2f}" for value in settings["load_average"])
    print(f"machine load average before the run: {load_average} ({os.cpu_count()} CPUs)")


def print_load(load: LoadFigures) -> None:
    print(
        f"load: {load.rows} rows ({load.yaml_bytes / 1e6:.1f} MB of YAML, generated in "
        f"{load.generate_seconds:.2f}s): migrate {load.migrate_seconds:.2f}s, "
        f"load {load.load_seconds:.2f}s = {load.rows_per_second:,.0f} rows/s"
    )


def print_table(phases: list[PhaseResult]) -> None:
    print(f"{'phase':<10}{'requests':>10}{'seconds':>9}{'req/s':>10}{'200/s':>10}", end="")
    print(f"{'p50 ms':>9}{'p99 ms':>9}{'non-200':>9}")
    for phase in phases:
        print(
            f"{phase.name:<10}{phase.requests:>10}{phase.seconds:>9.2f}{phase.rate:>10.1f}"
            f"{phase.ok_rate:>10.1f}{phase.percentile_ms(0.5):>9.2f}"
            f"{phase.percentile_ms(0.99):>9.2f}{phase.non_200:>9}"
        )
    for phase in phases:
        costs = [
            f"{who} {ms:.3f}"
            for who in phase.cpu
            if (ms := phase.cpu_ms_per_request(who)) is not None
        ]
        if costs:
            print(f"  {phase.name}: CPU ms per request: {', '.join(costs)}")
    for phase in phases:
        for failure in phase.failures:
            print(f"  {phase.name} failure: {failure}")


def write_json(path: Path | None, report: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {path}")


# -- the whole run ------------------------------------------------------------------


def measure(
    args: argparse.Namespace, url: str, targets: Targets, secret: str, directory: Path
) -> dict[str, Any]:
    port = args.port or free_port()
    settings = durability(url)
    print_settings(settings, args, port)
    before, events_before = count_allocations(url, targets.organization_id)
    requests = allocation_requests(port, secret, targets)
    log_path = directory / "server.log"
    loop = new_event_loop()
    postgresql = settings["database"] == "postgresql"
    try:
        env = server_env(url, directory, args.rate_limit_per_minute)
        with running_server(env, port, args.workers, log_path) as server:

            def phase(name: str, stream: Iterator[bytes]) -> PhaseResult:
                before = cpu_snapshot(server.pid, postgresql)
                result = loop.run_until_complete(
                    run_phase(name, port, args.concurrency, stream, args.seconds)
                )
                result.cpu = cpu_used(before, cpu_snapshot(server.pid, postgresql))
                return result

            livez = phase("livez", livez_requests(port, args.max_requests))
            allocate = phase("allocate", itertools.islice(iter(requests), args.max_requests))
    finally:
        loop.close()
    return report_phases(url, targets, settings, livez, allocate, (before, events_before), log_path)


def report_phases(
    url: str,
    targets: Targets,
    settings: dict[str, Any],
    livez: PhaseResult,
    allocate: PhaseResult,
    before: tuple[int, int],
    log_path: Path,
) -> dict[str, Any]:
    print_table([livez, allocate])
    ratio = allocate.ok_rate / livez.ok_rate if livez.ok_rate else 0.0
    print(f"ratio allocations/s / livez/s: {ratio:.3f}")
    if allocate.requests >= len(targets.ip_ids):
        print(f"note: all {len(targets.ip_ids)} free IPs were used: the phase ended early")
    allocated, events = count_allocations(url, targets.organization_id)
    made = allocated - before[0]
    logged = events - before[1]
    verdict = "OK" if made == allocate.ok and logged == allocate.ok else "MISMATCH"
    print(
        f"verify: {allocate.ok} allocations answered 200, {made} made in the database, "
        f"{logged} audit events: {verdict}"
    )
    problems = server_problems(log_path)
    if problems:
        print(f"server log: {len(problems)} error lines, the last ones:")
        print(tail(log_path))
    return {
        "settings": settings,
        "livez": livez.summary(),
        "allocate": allocate.summary(),
        "ratio": round(ratio, 4),
        "verify": {"answered": allocate.ok, "made": made, "events": logged, "verdict": verdict},
        "server_log_problems": problems[:SHOWN_FAILURES],
    }


def run(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    with bench_database(args.database_url, directory) as url:
        shape = Shape(args.ips, args.vms, subnet_for(args.ips))
        secret = secrets.token_urlsafe(32)
        env = server_env(url, directory, args.rate_limit_per_minute)
        load = build_and_load(directory, env, shape, secret)
        print_load(load)
        report: dict[str, Any] = {
            "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "load": {**asdict(load), "rows_per_second": round(load.rows_per_second, 1)},
        }
        if args.load_only:
            return report
        targets = read_targets(url)
        print(f"targets: {len(targets.ip_ids)} free IPs, {len(targets.vm_ids)} VMs")
        report.update(measure(args, url, targets, secret, directory))
        return report


def terminate(signum: int, _frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so that every cleanup (server, database) runs.
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, terminate)
    try:
        with tempfile.TemporaryDirectory(prefix="kipam-bench-") as directory:
            report = run(args, Path(directory))
    except KeyboardInterrupt:
        print("interrupted: the server was stopped and the bench database removed", file=sys.stderr)
        return 130
    write_json(args.json, report)
    verdict = report.get("verify", {}).get("verdict", "OK")
    failed = report.get("allocate", {}).get("non_200", 0)
    return 0 if verdict == "OK" and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
