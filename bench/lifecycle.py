"""The IP address lifecycle's throughput and p99 as the pool grows, against ``/livez``.

Usage::

    .venv/bin/python bench/lifecycle.py [--database-url URL] [--pool N ...] [--vms N]
        [--seconds S] [--connections C] [--json PATH]

For each pool size (default 60,000 and 1,000,000 addresses), all on 127.0.0.1 and
cleaned up at the end:

1. An inventory with one network whose IPv4 subnet's pool holds at least N
   addresses (the loader makes a free row for each), ``--vms`` VMs with one
   interface each and one API token, loaded with the real CLI (timed).
2. ``katapult-ipam serve`` pinned to CPU 0 (``taskset``); wrk (Debian's package)
   pinned to CPU 1, one thread, ``--connections`` connections, so the load
   generator never competes with the server for a core.
3. Phases, each at most ``--seconds``: ``GET /livez``; create (``POST
   /organizations/_/ip_addresses``); allocate each created address to a VM
   (``POST /virtual_machines/_/allocate_ip``); unallocate each
   (``POST /ip_addresses/_/unallocate?ip_address[id]=``); release each
   (``DELETE /ip_addresses/_?ip_address[id]=``). A phase that runs out of
   addresses stops early; wrk then reports the time it ran.
4. Requests per second, p50 and p99 from wrk, the ratio of each to ``/livez``'s
   in the same run, and a check in the database: every address created was
   released, and the audit log holds exactly one event per successful change.

A flat cost means the create, allocate, unallocate and release rows read about
the same at 60,000 and at 1,000,000 addresses.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from allocate import (
    HOST,
    bench_database,
    bench_engine,
    cli_path,
    free_port,
    run_cli,
    server_env,
    server_problems,
    stop_server,
    wait_until_live,
)
from katapult_ipam.domain.pool import pool_size
from katapult_ipam.store import models as m

ORGANIZATION = "bench"
NETWORK = "bench-net"
SERVER_CPU = "0"
CLIENT_CPU = "1"

_ip = m.Base.metadata.tables["ip_addresses"]
_org = m.Base.metadata.tables["organizations"]
_vm = m.Base.metadata.tables["virtual_machines"]
_event = m.Base.metadata.tables["allocation_events"]

# wrk's script: requests from a file of lines (method, path, body), one each, in
# order; the thread stops when they run out. done() prints one JSON line.
WRK_SCRIPT = r"""
local lines = {}
local next_line = 1
local failures = 0
local token = os.getenv("BENCH_TOKEN")
local plan = os.getenv("BENCH_PLAN")

function init(args)
  for line in io.lines(plan) do
    local method, path, body = line:match("^(%S+) (%S+) ?(.*)$")
    local headers = {["Authorization"] = "Bearer " .. token}
    if body ~= "" then headers["Content-Type"] = "application/json" end
    lines[#lines + 1] = wrk.format(method, path, headers, body ~= "" and body or nil)
  end
end

function request()
  if next_line > #lines then
    if os.getenv("BENCH_REPEAT") == "1" then next_line = 1 else
      wrk.thread:stop()
      return lines[#lines]
    end
  end
  local r = lines[next_line]
  next_line = next_line + 1
  return r
end

function response(status, headers, body)
  if status ~= 200 then failures = failures + 1 end
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %.6f, "p50_ms": %.3f, "p99_ms": %.3f, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout))
end
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--pool", type=int, nargs="+", default=[60_000, 1_000_000])
    parser.add_argument("--vms", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


# -- the inventory ----------------------------------------------------------------------


def subnet_for(pool: int) -> IPv4Network:
    """The smallest subnet of 10.0.0.0/8 whose pool (gateway excluded) holds ``pool``."""
    for prefix in range(30, 7, -1):
        subnet = IPv4Network(f"10.0.0.0/{prefix}")
        if pool_size(str(subnet), str(subnet.network_address + 1)) >= pool:
            return subnet
    raise SystemExit(f"--pool {pool}: too large for 10.0.0.0/8")


def write_inventory(path: Path, subnet: IPv4Network, vms: int, secret: str) -> None:
    gateway = subnet.network_address + 1
    with path.open("w", encoding="utf-8") as out:
        out.write(
            "countries:\n  - {name: Benchland, iso_code2: BL, iso_code3: BLD}\n"
            "data_centers:\n  - {name: Bench DC, permalink: bench-dc, country: BL}\n"
            f"networks:\n  - name: Bench\n    permalink: {NETWORK}\n    data_center: bench-dc\n"
            f'    subnets: [{{cidr: "{subnet}", gateway: "{gateway}"}}]\n'
            f"organizations:\n  - name: Bench\n    sub_domain: {ORGANIZATION}\n"
            "    virtual_machines:\n"
        )
        for index in range(vms):
            name = f"vm-{index:06d}"
            out.write(
                f"      - {{name: {name}, fqdn: {name}.bench.example.net,"
                f" network_interfaces: [{{network: {NETWORK}}}]}}\n"
            )
        out.write(f'    api_tokens:\n      - {{name: bench, secret: "{secret}",'
                  " scopes: [ip_addresses]}\n")  # fmt: skip


# -- wrk --------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # connection errors and non-2xx/3xx answers, as wrk counts them

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(
    directory: Path, port: int, name: str, lines: list[str], secret: str, seconds: float,
    connections: int, repeat: bool = False,
) -> Phase:  # fmt: skip
    plan = directory / f"{name}.plan"
    plan.write_text("\n".join(lines) + "\n", encoding="utf-8")
    script = directory / "plan.lua"
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    env = {**os.environ, "BENCH_TOKEN": secret, "BENCH_PLAN": str(plan),
           "BENCH_REPEAT": "1" if repeat else "0"}  # fmt: skip
    command = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", f"-c{connections}",
               f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script),
               f"http://{HOST}:{port}"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    figures = next((ln for ln in done.stdout.splitlines() if ln.startswith("{")), None)
    if done.returncode != 0 or figures is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return Phase(name=name, **json.loads(figures))


# -- one pool size ----------------------------------------------------------------------


@dataclass
class Run:
    pool: int
    subnet: str
    load_seconds: float
    phases: list[Phase]


def ids(url: str, query: Any) -> list[str]:
    engine = bench_engine(url)
    try:
        with engine.connect() as c:
            return [str(v) for v in c.execute(query).scalars()]
    finally:
        engine.dispose()


def organization_id(url: str) -> str:
    return ids(url, select(_org.c.id).where(_org.c.sub_domain == ORGANIZATION))[0]


def serve_pinned(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen[bytes]:
    command = ["taskset", "-c", SERVER_CPU, cli_path(), "serve", "--host", HOST,
               "--port", str(port)]  # fmt: skip
    log = log_path.open("wb")
    process = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    wait_until_live(process, port, log_path)
    return process


def run_pool(args: argparse.Namespace, pool: int, directory: Path) -> Run:
    subnet = subnet_for(pool)
    secret = secrets.token_urlsafe(32)
    with bench_database(args.database_url, directory) as url:
        env = server_env(url, directory, rate_limit=10**9)
        path = directory / "inventory.yaml"
        write_inventory(path, subnet, args.vms, secret)
        run_cli(env, "migrate")
        load_seconds = run_cli(env, "load", str(path))
        org = organization_id(url)
        vm_ids = ids(url, select(_vm.c.id).where(_vm.c.organization_id == org).order_by(_vm.c.id))
        port = free_port()
        log_path = directory / "server.log"
        process = serve_pinned(env, port, log_path)
        try:
            phases = measure(args, directory, port, secret, url, org, vm_ids)
        finally:
            stop_server(process)
        problems = server_problems(log_path)
        if problems:
            raise SystemExit("the server logged errors:\n" + "\n".join(problems[:5]))
        check_store(url, org, phases, args.connections)
    return Run(pool, str(subnet), load_seconds, phases)


def measure(
    args: argparse.Namespace, directory: Path, port: int, secret: str, url: str, org: str,
    vm_ids: list[str],
) -> list[Phase]:  # fmt: skip
    def phase(name: str, lines: list[str], repeat: bool = False) -> Phase:
        result = run_wrk(directory, port, name, lines, secret, args.seconds, args.connections,
                         repeat)  # fmt: skip
        print(f"  {name:<11} {result.requests:>8} in {result.seconds:5.2f}s", flush=True)
        return result

    livez = phase("livez", ["GET /livez"], repeat=True)
    body = json.dumps({"organization": {"sub_domain": ORGANIZATION},
                       "network": {"permalink": NETWORK}, "version": "ipv4"})  # fmt: skip
    create = phase("create", [f"POST /core/v1/organizations/_/ip_addresses {body}"], repeat=True)
    created = ids(url, select(_ip.c.id).where(_ip.c.organization_id == org))
    allocate = phase("allocate", [
        "POST /core/v1/virtual_machines/_/allocate_ip "
        + json.dumps({"virtual_machine": {"id": vm_ids[i % len(vm_ids)]},
                      "ip_address": {"id": ip_id}})
        for i, ip_id in enumerate(created)
    ])  # fmt: skip
    allocated = ids(url, select(_ip.c.id).where(_ip.c.organization_id == org,
                                                _ip.c.allocation_id.is_not(None)))  # fmt: skip
    unallocate = phase("unallocate", [
        f"POST /core/v1/ip_addresses/_/unallocate?ip_address[id]={ip_id}" for ip_id in allocated
    ])  # fmt: skip
    held = ids(url, select(_ip.c.id).where(_ip.c.organization_id == org))
    release = phase("release", [f"DELETE /core/v1/ip_addresses/_?ip_address[id]={ip_id}"
                                for ip_id in held])  # fmt: skip
    return [livez, create, allocate, unallocate, release]


def check_store(url: str, org: str, phases: list[Phase], connections: int) -> None:
    """Whatever was created and not released is still there; the log counts each change."""
    engine = bench_engine(url)
    try:
        with engine.connect() as c:
            left = c.execute(
                select(func.count()).select_from(_ip).where(_ip.c.organization_id == org)
            ).scalar_one()
            events: dict[str, int] = {
                action: int(count)
                for action, count in c.execute(
                    select(_event.c.action, func.count()).group_by(_event.c.action)
                )
            }
    finally:
        engine.dispose()
    by_name = {p.name: p for p in phases}
    for phase in phases:
        if phase.name != "livez" and phase.errors:
            raise SystemExit(f"{phase.name}: {phase.errors} requests failed")
    expected = {
        name: by_name[name].requests for name in ("create", "allocate", "unallocate", "release")
    }
    # wrk counts the answers it read before its time was up: the requests then in flight
    # (one per connection at most) were served but not counted.
    for name, count in expected.items():
        if not 0 <= events.get(name, 0) - count <= connections:
            raise SystemExit(f"{name}: {count} answered, {events.get(name, 0)} in the audit log")
    if left != events.get("create", 0) - events.get("release", 0):
        raise SystemExit(f"{left} addresses held, which the audit log does not account for")


# -- the report -------------------------------------------------------------------------


def print_run(run: Run) -> None:
    livez = run.phases[0]
    print(f"\npool {run.pool:,} ({run.subnet}), loaded in {run.load_seconds:.1f}s")
    print(f"  {'phase':<11} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'rate/livez':>11}"
          f" {'p99/livez':>10}")  # fmt: skip
    for phase in run.phases:
        ratios = f"{phase.rate / livez.rate:>11.3f} {phase.p99_ms / livez.p99_ms:>10.1f}"
        print(f"  {phase.name:<11} {phase.rate:>9.0f} {phase.p50_ms:>8.2f} {phase.p99_ms:>8.2f}"
              f" {ratios}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (Debian: apt-get install wrk util-linux)")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("two CPUs are needed: the server and wrk each get one")
    runs = []
    for pool in args.pool:
        print(f"pool {pool:,}:", flush=True)
        with tempfile.TemporaryDirectory(prefix="kipam-lifecycle-") as folder:
            started = time.perf_counter()
            runs.append(run_pool(args, pool, Path(folder)))
            print(f"  (run took {time.perf_counter() - started:.0f}s)")
    for run in runs:
        print_run(run)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
