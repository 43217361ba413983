"""The extra latency each authenticator path adds, measured against the real server.

Usage::

    .venv/bin/python bench/auth.py [--seconds S] [--rounds N] [--concurrency N]
        [--warmup S] [--redis-url URL | --no-redis] [--json PATH]

What it does, all on 127.0.0.1 and all cleaned up at the end (temporary
directory, the servers' process groups, the Redis keys it made):

1. Builds a small inventory (one organization ``bench`` with a few VMs and IPs
   and three API tokens: one plain, one whose allowlist holds 10.0.0.0/8,
   192.168.0.0/16 and 127.0.0.0/8, one without the endpoint's scope), loads
   it into a fresh SQLite file with the real CLI, issues a capabilities token
   with the service's own signing key, and makes an RSA key whose JWKS it
   writes to the temporary directory to sign an OAuth2 access token (scope
   ``api.katapult.io/core/v1/ip_addresses``, organizations ``[bench]``).
2. Starts ``katapult-ipam serve`` (one worker each) three times, all with a
   rate limit far above what is sent:
   ``main``    in-process limiter, API token cache 5 s (the default), OAuth2 on;
   ``nocache`` the same with ``KATAPULT_IPAM_TOKEN_CACHE_SECONDS=0``;
   ``redis``   the same as ``main`` but counting in Redis (``--redis-url``).
3. Every phase sends one fixed request over keep-alive connections, at
   concurrency 1 (latency) and at ``--concurrency`` (throughput), for
   ``--seconds`` each, in ``--rounds`` rounds (every other round in reverse
   order, so a drift of the machine's load touches every phase alike); the best
   round is shown (lowest mean latency, highest requests/s).

Every authenticated phase POSTs ``allocate_ip`` for a VM that does not exist:
the answer is 404 ``virtual_machine_not_found`` after authentication, the rate
limit, the scope check, argument parsing and one read transaction, and no
write. The phases differ only in the authenticator path, so the difference of
their mean latency is what that path adds. Baselines: the same request with no
Authorization header (400 ``missing_api_token``: routing, the per-address rate
limit and the error, no authentication and no transaction) and ``GET /livez``
on each server (a control for drift between servers). "api token, scope
refused" (403 ``scope_not_granted``) splits the cached API token path in two:
authentication alone, then the arguments and the 404's read transaction that
every authenticated phase shares.

Server CPU per request comes from /proc/<pid>/stat (utime + stime of the
server's process group) before and after each measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import secrets
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import redis
import yaml
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, generate_private_key
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select

from katapult_ipam.auth.capabilities import CapabilitiesKeys, issue_capabilities_token
from katapult_ipam.auth.oauth2 import OAUTH2_SCOPE_PREFIX
from katapult_ipam.config import Settings
from katapult_ipam.store import models as m

# bench/allocate.py holds the server, client and CPU accounting this bench reuses.
_BENCH = str(Path(__file__).resolve().parent)
if _BENCH not in sys.path:
    sys.path.insert(0, _BENCH)

import allocate  # noqa: E402

HOST = allocate.HOST
ORGANIZATION = allocate.ORGANIZATION
NETWORK = allocate.NETWORK
ENV_PREFIX = "KATAPULT_IPAM_"
SCOPE = "ip_addresses"
MISSING_VM = "vm_doesnotexist000"
OAUTH2_ISSUER = "https://auth.bench.invalid/"
OAUTH2_AUDIENCE = "https://api.bench.invalid/core/v1"
OAUTH2_KID = "bench-rsa-1"
JWKS_FILE = "jwks.json"
REDIS_KEY_PREFIX = "katapult-ipam:rate:"
ALLOWLIST = ["10.0.0.0/8", "192.168.0.0/16", "127.0.0.0/8"]

MAIN, NOCACHE, REDIS = "main", "nocache", "redis"
NO_AUTH, API_CACHED = "no-auth", "api token (cached)"


# -- options ----------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=_positive_float, default=1.5, help="each measurement (one concurrency)"
    )
    parser.add_argument("--rounds", type=_positive_int, default=4, help="best round is shown")
    parser.add_argument(
        "--concurrency", type=_positive_int, default=16, help="connections for throughput"
    )
    parser.add_argument(
        "--warmup", type=float, default=0.5, help="seconds of each request before measuring"
    )
    parser.add_argument(
        "--rate-limit-per-minute",
        type=_positive_int,
        default=1_000_000_000,
        help="the servers' rate limit (far above what is sent, so it never refuses)",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/14",
        help="Redis for the shared limiter phases",
    )
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis limiter phases")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser.parse_args(argv)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value


# -- credentials ------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """Every bearer token the bench sends, and the identities they stand for."""

    api_token: str
    allowlist_token: str
    unscoped_token: str
    capabilities_token: str
    oauth2_token: str
    identities: frozenset[str]  # "kind:id", as the rate limiter keys them


def write_inventory(path: Path, api_secret: str, allowlist_secret: str, unscoped: str) -> None:
    vms = [
        {
            "name": f"vm-{index}",
            "fqdn": f"vm-{index}.bench.example.net",
            "network_interfaces": [{"network": NETWORK}],
        }
        for index in range(4)
    ]
    inventory = {
        "countries": [
            {"name": "Benchland", "iso_code2": "BL", "iso_code3": "BLD", "time_zone": "UTC"}
        ],
        "data_centers": [{"name": "Bench DC", "permalink": "bench-dc", "country": "BL"}],
        "networks": [
            {
                "name": "Bench",
                "permalink": NETWORK,
                "data_center": "bench-dc",
                "default": True,
                "subnets": [{"cidr": "10.0.0.0/28", "gateway": "10.0.0.1"}],
            }
        ],
        "organizations": [
            {
                "name": "Bench",
                "sub_domain": ORGANIZATION,
                "virtual_machines": vms,
                "ip_addresses": [{"address": f"10.0.0.{host}"} for host in range(2, 10)],
                "api_tokens": [
                    {"name": "bench-api", "secret": api_secret, "scopes": [SCOPE]},
                    {
                        "name": "bench-allowlist",
                        "secret": allowlist_secret,
                        "scopes": [SCOPE],
                        "allowed_networks": ALLOWLIST,
                    },
                    {"name": "bench-unscoped", "secret": unscoped, "scopes": ["other"]},
                ],
            }
        ],
    }
    path.write_text(yaml.safe_dump(inventory, sort_keys=False), encoding="utf-8")


def token_ids(url: str) -> dict[str, str]:
    """API token name -> id, in the bench organization."""
    tokens = m.APIToken.__table__
    engine = allocate.bench_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(tokens.c.name, tokens.c.id)).all()
    finally:
        engine.dispose()
    return {str(name): str(id_) for name, id_ in rows}


def make_oauth2_issuer(directory: Path) -> tuple[RSAPrivateKey, Path]:
    """A fresh RSA key, and the JWKS file holding its public half."""
    key = generate_private_key(public_exponent=65537, key_size=2048)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": OAUTH2_KID, "use": "sig", "alg": "RS256"})
    path = directory / JWKS_FILE
    path.write_text(json.dumps({"keys": [jwk]}), encoding="utf-8")
    return key, path


def oauth2_token(key: RSAPrivateKey, subject: str) -> str:
    now = int(time.time())
    payload = {
        "iss": OAUTH2_ISSUER,
        "aud": OAUTH2_AUDIENCE,
        "sub": subject,
        "iat": now,
        "exp": now + 3600,
        "scope": f"openid {OAUTH2_SCOPE_PREFIX}{SCOPE}",
        "organizations": [ORGANIZATION],
    }
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": OAUTH2_KID})


def make_credentials(
    directory: Path, env: dict[str, str], url: str, signing_key_file: Path
) -> Credentials:
    """Load the inventory (with its API tokens) and issue the signed tokens."""
    api_secret = secrets.token_urlsafe(32)
    allowlist_secret = secrets.token_urlsafe(32)
    unscoped_secret = secrets.token_urlsafe(32)
    inventory = directory / "inventory.yaml"
    write_inventory(inventory, api_secret, allowlist_secret, unscoped_secret)
    allocate.run_cli(env, "migrate")
    allocate.run_cli(env, "load", str(inventory))
    ids = token_ids(url)
    organization_id = allocate.read_targets(url).organization_id

    settings = Settings(database_url=url, signing_key_file=str(signing_key_file))
    capabilities = issue_capabilities_token(
        CapabilitiesKeys.from_settings(settings),
        organization_id=organization_id,
        scopes=[SCOPE],
        ttl=timedelta(hours=1),
        issuer=settings.capabilities_issuer,
    )
    jti = jwt.decode(capabilities, options={"verify_signature": False})["jti"]

    key, _ = make_oauth2_issuer(directory)
    subject = f"bench-user-{secrets.token_hex(6)}"
    return Credentials(
        api_token=api_secret,
        allowlist_token=allowlist_secret,
        unscoped_token=unscoped_secret,
        capabilities_token=capabilities,
        oauth2_token=oauth2_token(key, subject),
        identities=frozenset(
            {
                f"APIToken:{ids['bench-api']}",
                f"APIToken:{ids['bench-allowlist']}",
                f"APIToken:{ids['bench-unscoped']}",
                f"CapabilitiesToken:{jti}",
                f"OAuth2:{subject}",
            }
        ),
    )


# -- servers ----------------------------------------------------------------------


def server_environments(
    url: str, directory: Path, rate_limit: int, redis_url: str | None
) -> dict[str, dict[str, str]]:
    """Each server's environment; inherited KATAPULT_IPAM_* settings are dropped."""
    own = {
        k: v
        for k, v in allocate.server_env(url, directory, rate_limit).items()
        if k.startswith(ENV_PREFIX)
    }
    common = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    common.update(own)
    common.update(
        {
            f"{ENV_PREFIX}OAUTH2_ISSUER": OAUTH2_ISSUER,
            f"{ENV_PREFIX}OAUTH2_AUDIENCE": OAUTH2_AUDIENCE,
            f"{ENV_PREFIX}OAUTH2_JWKS_FILE": str(directory / JWKS_FILE),
            f"{ENV_PREFIX}TOKEN_CACHE_SECONDS": str(
                Settings.model_fields["token_cache_seconds"].default
            ),
        }
    )
    environments = {
        MAIN: common,
        NOCACHE: {**common, f"{ENV_PREFIX}TOKEN_CACHE_SECONDS": "0"},
    }
    if redis_url:
        environments[REDIS] = {**common, f"{ENV_PREFIX}REDIS_URL": redis_url}
    return environments


@dataclass(frozen=True)
class Server:
    name: str
    port: int
    pid: int
    log_path: Path


def start_servers(
    stack: contextlib.ExitStack, environments: dict[str, dict[str, str]], directory: Path
) -> dict[str, Server]:
    servers = {}
    for name, env in environments.items():
        port = allocate.free_port()
        log_path = directory / f"server-{name}.log"
        process = stack.enter_context(allocate.running_server(env, port, 1, log_path))
        servers[name] = Server(name, port, process.pid, log_path)
    return servers


# -- Redis ------------------------------------------------------------------------


def redis_client(url: str) -> redis.Redis | None:
    """A client of ``url`` if it answers, else None."""
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as error:
        print(f"note: Redis at {url} does not answer ({type(error).__name__}): phases skipped")
        client.close()
        return None
    return client


def rate_keys(client: redis.Redis) -> set[bytes]:
    return set(client.scan_iter(match=f"{REDIS_KEY_PREFIX}*", count=1000))


def remove_bench_keys(client: redis.Redis, before: set[bytes], identities: frozenset[str]) -> int:
    """Delete the limiter's keys this bench made: new since ``before`` and for its callers."""
    ours = {f"identity:{identity}" for identity in identities} | {f"address:{HOST}"}
    doomed = []
    for key in rate_keys(client) - before:
        # katapult-ipam:rate:<window>:<counted key>
        counted = key.decode("utf-8", "replace")[len(REDIS_KEY_PREFIX) :].partition(":")[2]
        if counted in ours:
            doomed.append(key)
    return int(client.delete(*doomed)) if doomed else 0


# -- phases -----------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    name: str
    server: str
    request: bytes
    status: int
    code: str | None  # the error code every answer must carry


@dataclass
class Figures:
    phase: Phase
    latency: list[allocate.PhaseResult] = field(default_factory=list)  # concurrency 1
    throughput: list[allocate.PhaseResult] = field(default_factory=list)  # --concurrency

    def best_latency(self) -> allocate.PhaseResult | None:
        return min(self.latency, key=mean_us, default=None)

    def best_throughput(self) -> allocate.PhaseResult | None:
        return max(self.throughput, key=lambda result: result.rate, default=None)


def livez_request(port: int) -> bytes:
    return f"GET /livez HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode()


def allocate_request(port: int, token: str | None) -> bytes:
    """allocate_ip for a VM that does not exist: 404 once everything before it passed."""
    body = f'{{"virtual_machine":{{"id":"{MISSING_VM}"}},"ip_address":{{"id":"ip_x"}}}}'
    head = f"Host: {HOST}:{port}\r\n"
    if token is not None:
        head += f"Authorization: Bearer {token}\r\n"
    head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    path = f"/core/v1/virtual_machines/{MISSING_VM}/allocate_ip"
    return f"POST {path} HTTP/1.1\r\n{head}\r\n{body}".encode()


def make_phases(servers: dict[str, Server], credentials: Credentials) -> list[Phase]:
    def livez(server: str) -> Phase:
        return Phase(f"livez [{server}]", server, livez_request(servers[server].port), 200, None)

    def denied(name: str, server: str) -> Phase:
        request = allocate_request(servers[server].port, None)
        return Phase(name, server, request, 400, "missing_api_token")

    def authenticated(name: str, server: str, token: str) -> Phase:
        request = allocate_request(servers[server].port, token)
        return Phase(name, server, request, 404, "virtual_machine_not_found")

    phases = [
        livez(MAIN),
        denied(NO_AUTH, MAIN),
        Phase(
            "api token, scope refused",
            MAIN,
            allocate_request(servers[MAIN].port, credentials.unscoped_token),
            403,
            "scope_not_granted",
        ),
        authenticated(API_CACHED, MAIN, credentials.api_token),
        authenticated("api token + allowlist", MAIN, credentials.allowlist_token),
        authenticated("capabilities token", MAIN, credentials.capabilities_token),
        authenticated("oauth2 token", MAIN, credentials.oauth2_token),
        livez(NOCACHE),
        authenticated("api token (no cache)", NOCACHE, credentials.api_token),
    ]
    if REDIS in servers:
        phases += [
            livez(REDIS),
            denied("no-auth [redis limiter]", REDIS),
            authenticated("api token [redis limiter]", REDIS, credentials.api_token),
        ]
    return phases


def measure_once(
    loop: asyncio.AbstractEventLoop,
    server: Server,
    phase: Phase,
    concurrency: int,
    seconds: float,
) -> allocate.PhaseResult:
    requests = itertools.repeat(phase.request)
    busy_before = machine_busy_seconds()
    before = allocate.cpu_snapshot(server.pid, False)
    result = loop.run_until_complete(
        allocate.run_phase(phase.name, server.port, concurrency, requests, seconds)
    )
    result.cpu = allocate.cpu_used(before, allocate.cpu_snapshot(server.pid, False))
    busy_after = machine_busy_seconds()
    ours = [result.cpu.get("server"), result.cpu.get("client")]
    if busy_before is not None and busy_after is not None:
        busy = busy_after - busy_before - sum(seconds or 0.0 for seconds in ours)
        result.cpu["others"] = max(0.0, busy) if None not in ours else None
    return result


def machine_busy_seconds() -> float | None:
    """CPU seconds every CPU has spent busy since boot (Linux), to see other work."""
    try:
        first = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0]
    except OSError:
        return None
    # cpu user nice system idle iowait irq softirq steal ...: busy is all but idle and iowait.
    ticks = [int(value) for value in first.split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def others_cpus(result: allocate.PhaseResult | None) -> float | None:
    """CPUs that processes other than this bench kept busy during a measurement."""
    others = None if result is None else result.cpu.get("others")
    if result is None or others is None or not result.seconds:
        return None
    return others / result.seconds


def problems_of(phase: Phase, result: allocate.PhaseResult) -> list[str]:
    """What is wrong with the answers of a measurement (nothing, normally)."""
    problems = [
        f"{phase.name}: {failure}" for failure in result.failures if "connection" in failure
    ]
    wrong = {status: n for status, n in result.statuses.items() if status != phase.status}
    if wrong or not result.requests:
        problems.append(f"{phase.name}: expected only {phase.status}, got {dict(result.statuses)}")
        problems += [f"  {failure}" for failure in result.failures[:3]]
    elif phase.code is not None and not any(phase.code in f for f in result.failures):
        problems.append(f"{phase.name}: answers lack {phase.code}: {result.failures[:1]}")
    return problems


def mean_us(result: allocate.PhaseResult) -> float:
    return statistics.fmean(result.latencies) * 1e6 if result.latencies else 0.0


def percentile_us(result: allocate.PhaseResult, fraction: float) -> float:
    return result.percentile_ms(fraction) * 1000


def server_cpu_ms(result: allocate.PhaseResult | None) -> float | None:
    return None if result is None else result.cpu_ms_per_request("server")


# -- reporting --------------------------------------------------------------------


def _cell(value: float | None, width: int, decimals: int = 0, signed: bool = False) -> str:
    if value is None:
        return f"{'-':>{width}}"
    sign = "+" if signed else ""
    return f"{value:>{sign}{width},.{decimals}f}"


def print_latency_table(figures: list[Figures]) -> None:
    by_name = {f.phase.name: f.best_latency() for f in figures}
    base, api = by_name.get(NO_AUTH), by_name.get(API_CACHED)
    print("\nlatency, concurrency 1 (best round by mean; µs):")
    print(
        f"{'phase':<28}{'req/s':>8}{'mean':>8}{'p50':>8}{'p99':>8}"
        f"{'Δ no-auth':>11}{'Δ api':>9}{'CPU ms/req':>12}{'others':>8}"
    )
    for figure in figures:
        result = figure.best_latency()
        if result is None:
            continue
        mean = mean_us(result)
        print(
            f"{figure.phase.name:<28}{_cell(result.rate, 8)}{_cell(mean, 8)}"
            f"{_cell(percentile_us(result, 0.5), 8)}{_cell(percentile_us(result, 0.99), 8)}"
            f"{_cell(mean - mean_us(base) if base else None, 11, signed=True)}"
            f"{_cell(mean - mean_us(api) if api else None, 9, signed=True)}"
            f"{_cell(server_cpu_ms(result), 12, 3)}{_cell(others_cpus(result), 8, 2)}"
        )


def print_throughput_table(figures: list[Figures], concurrency: int) -> None:
    by_name = {f.phase.name: f.best_throughput() for f in figures}
    base_cpu = server_cpu_ms(by_name.get(NO_AUTH))
    api_cpu = server_cpu_ms(by_name.get(API_CACHED))
    print(f"\nthroughput, concurrency {concurrency} (best round by req/s; µs):")
    print(
        f"{'phase':<28}{'req/s':>8}{'p50':>8}{'p99':>8}{'CPU ms/req':>12}"
        f"{'ΔCPU no-auth':>14}{'ΔCPU api':>10}{'others':>8}"
    )
    for figure in figures:
        result = figure.best_throughput()
        if result is None:
            continue
        cpu = server_cpu_ms(result)
        print(
            f"{figure.phase.name:<28}{_cell(result.rate, 8)}"
            f"{_cell(percentile_us(result, 0.5), 8)}{_cell(percentile_us(result, 0.99), 8)}"
            f"{_cell(cpu, 12, 3)}"
            f"{_cell(_minus_us(cpu, base_cpu), 14, signed=True)}"
            f"{_cell(_minus_us(cpu, api_cpu), 10, signed=True)}"
            f"{_cell(others_cpus(result), 8, 2)}"
        )


def _minus_us(value_ms: float | None, reference_ms: float | None) -> float | None:
    if value_ms is None or reference_ms is None:
        return None
    return (value_ms - reference_ms) * 1000


def print_rounds(figures: list[Figures]) -> None:
    """Every round's figures: how far apart the rounds were."""
    print("\nper round: concurrency 1 mean µs | concurrency N req/s")
    for figure in figures:
        means = " ".join(f"{mean_us(r):>7,.0f}" for r in figure.latency)
        rates = " ".join(f"{r.rate:>7,.0f}" for r in figure.throughput)
        print(f"  {figure.phase.name:<28}{means} |{rates}")


def summary(figure: Figures) -> dict[str, Any]:
    def one(result: allocate.PhaseResult | None) -> dict[str, Any] | None:
        if result is None:
            return None
        return {
            **result.summary(),
            "mean_us": round(mean_us(result), 1),
            "p50_us": round(percentile_us(result, 0.5), 1),
            "p99_us": round(percentile_us(result, 0.99), 1),
        }

    return {
        "server": figure.phase.server,
        "expected_status": figure.phase.status,
        "latency": one(figure.best_latency()),
        "throughput": one(figure.best_throughput()),
        "rounds_mean_us": [round(mean_us(r), 1) for r in figure.latency],
        "rounds_per_second": [round(r.rate, 1) for r in figure.throughput],
    }


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


# -- the whole run ------------------------------------------------------------------


def measure(
    args: argparse.Namespace,
    servers: dict[str, Server],
    phases: list[Phase],
    loop: asyncio.AbstractEventLoop,
) -> tuple[list[Figures], list[str]]:
    figures = [Figures(phase) for phase in phases]
    problems: list[str] = []
    for phase in phases:  # warm up: caches, pools, JWKS file, compiled statements
        warm = measure_once(loop, servers[phase.server], phase, 1, max(args.warmup, 0.05))
        problems += problems_of(phase, warm)
    if problems:
        return figures, problems
    loads = []
    for round_number in range(args.rounds):
        order = figures if round_number % 2 == 0 else figures[::-1]
        for figure in order:
            server = servers[figure.phase.server]
            for concurrency, results in (
                (1, figure.latency),
                (args.concurrency, figure.throughput),
            ):
                result = measure_once(loop, server, figure.phase, concurrency, args.seconds)
                problems += problems_of(figure.phase, result)
                results.append(result)
        loads.append(load_average())
        print(f"round {round_number + 1}/{args.rounds} done; load average {loads[-1]}")
    return figures, problems


def run(args: argparse.Namespace, directory: Path) -> tuple[dict[str, Any], list[str]]:
    url = f"sqlite:///{directory / 'bench.db'}"
    signing_key_file = directory / "signing-key.pem"
    client = None if args.no_redis else redis_client(args.redis_url)
    try:
        return _run(args, directory, url, signing_key_file, client)
    finally:
        if client is not None:
            client.close()


def _run(
    args: argparse.Namespace,
    directory: Path,
    url: str,
    signing_key_file: Path,
    client: redis.Redis | None,
) -> tuple[dict[str, Any], list[str]]:
    environments = server_environments(
        url, directory, args.rate_limit_per_minute, args.redis_url if client else None
    )
    credentials = make_credentials(directory, environments[MAIN], url, signing_key_file)
    keys_before = rate_keys(client) if client else set()
    loop = allocate.new_event_loop()
    try:
        with contextlib.ExitStack() as stack:
            servers = start_servers(stack, environments, directory)
            phases = make_phases(servers, credentials)
            measurements = 2 * len(phases) * args.rounds
            print(
                f"servers: {', '.join(f'{s.name} :{s.port}' for s in servers.values())} "
                f"(1 worker each, SQLite, rate limit {args.rate_limit_per_minute}/min); "
                f"{len(phases)} phases x concurrency 1 and {args.concurrency} x "
                f"{args.rounds} rounds x {args.seconds:g}s = about "
                f"{measurements * args.seconds + len(phases) * args.warmup:.0f}s"
            )
            print(f"load average before: {load_average()} ({os.cpu_count()} CPUs)")
            figures, problems = measure(args, servers, phases, loop)
    finally:
        loop.close()
        if client is not None:
            removed = remove_bench_keys(client, keys_before, credentials.identities)
            print(f"redis: removed the {removed} rate limit keys this bench made")
    print(f"load average after: {load_average()}")
    for server in servers.values():
        lines = allocate.server_problems(server.log_path)
        if lines:
            problems.append(f"server {server.name} logged {len(lines)} problem lines:")
            problems.append(allocate.tail(server.log_path, 10))
    report = {
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "cpus": os.cpu_count(),
        "phases": {figure.phase.name: summary(figure) for figure in figures},
        "problems": problems,
    }
    print_latency_table(figures)
    print_throughput_table(figures, args.concurrency)
    print(
        f"Δ: against the mean latency (or server CPU) of {NO_AUTH!r} and {API_CACHED!r}; "
        f"CPU: the server's; others: CPUs (of {os.cpu_count()}) that other processes kept "
        "busy meanwhile"
    )
    if args.rounds > 1:
        print_rounds(figures)
    return report, problems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM becomes an exception so that every cleanup (servers, Redis, files) runs.
    signal.signal(signal.SIGTERM, allocate.terminate)
    try:
        with tempfile.TemporaryDirectory(prefix="kipam-bench-auth-") as directory:
            report, problems = run(args, Path(directory))
    except KeyboardInterrupt:
        print("interrupted: the servers were stopped and the files removed", file=sys.stderr)
        return 130
    for problem in problems:
        print(f"problem: {problem}")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
