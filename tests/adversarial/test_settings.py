"""Settings out of range stop the service at start, one line per bad setting (F4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from katapult_ipam.auth.jwks import JWKSURL
from katapult_ipam.auth.jwt import SignedTokenConfigError
from katapult_ipam.cli import app
from katapult_ipam.config import Settings, dns_zone, setting_problems
from katapult_ipam.inventory import SubnetEntry

KATAPULT_IPAM = str(Path(sys.executable).parent / "katapult-ipam")
runner = CliRunner()
NOT_A_DNS_NAME = (
    "not a DNS name: dot-separated labels of letters, digits and hyphens"
    " (such as rdns.example.net), at most 253 characters"
)
IN_MEMORY = (
    "a SQLite URL needs a file path (such as sqlite:///var/katapult-ipam.db):"
    " an in-memory database keeps nothing"
)

BAD_SETTINGS = [
    ({"MAX_BATCH": "0"}, ["KATAPULT_IPAM_MAX_BATCH: must be ≥ 1"]),
    ({"DATABASE_THREADS": "-1"}, ["KATAPULT_IPAM_DATABASE_THREADS: must be ≥ 0"]),
    ({"READ_THREADS": "0"}, ["KATAPULT_IPAM_READ_THREADS: must be ≥ 1"]),
    ({"RATE_LIMIT_PER_MINUTE": "0"}, ["KATAPULT_IPAM_RATE_LIMIT_PER_MINUTE: must be ≥ 1"]),
    ({"MAX_BODY_BYTES": "0"}, ["KATAPULT_IPAM_MAX_BODY_BYTES: must be ≥ 1024"]),
    ({"MAX_HEADER_BYTES": "-5"}, ["KATAPULT_IPAM_MAX_HEADER_BYTES: must be ≥ 1024"]),
    # N12: below 1 KiB every request (or every body) would be refused.
    ({"MAX_HEADER_BYTES": "1"}, ["KATAPULT_IPAM_MAX_HEADER_BYTES: must be ≥ 1024"]),
    ({"MAX_BODY_BYTES": "1023"}, ["KATAPULT_IPAM_MAX_BODY_BYTES: must be ≥ 1024"]),
    ({"RDNS_ZONE": "<script>x y"}, [f"KATAPULT_IPAM_RDNS_ZONE: {NOT_A_DNS_NAME}"]),
    ({"RDNS_ZONE": "-rdns.example"}, [f"KATAPULT_IPAM_RDNS_ZONE: {NOT_A_DNS_NAME}"]),
    ({"RDNS_ZONE": "rdns..example"}, [f"KATAPULT_IPAM_RDNS_ZONE: {NOT_A_DNS_NAME}"]),
    ({"RDNS_ZONE": "."}, [f"KATAPULT_IPAM_RDNS_ZONE: {NOT_A_DNS_NAME}"]),
    ({"RDNS_ZONE": "a" * 64 + ".example"}, [f"KATAPULT_IPAM_RDNS_ZONE: {NOT_A_DNS_NAME}"]),
    ({"RDNS_ZONE": ".".join(["a" * 63] * 4)}, [f"KATAPULT_IPAM_RDNS_ZONE: {NOT_A_DNS_NAME}"]),
    ({"DATABASE_TIMEOUT": "0"}, ["KATAPULT_IPAM_DATABASE_TIMEOUT: must be > 0"]),
    ({"DATABASE_TIMEOUT": "1e12"}, ["KATAPULT_IPAM_DATABASE_TIMEOUT: must be ≤ 86400"]),
    ({"BODY_TIMEOUT": "-1"}, ["KATAPULT_IPAM_BODY_TIMEOUT: must be > 0"]),
    ({"REDIS_TIMEOUT": "inf"}, ["KATAPULT_IPAM_REDIS_TIMEOUT: must be a finite number"]),
    ({"TOKEN_CACHE_SECONDS": "-1"}, ["KATAPULT_IPAM_TOKEN_CACHE_SECONDS: must be ≥ 0"]),
    ({"CAPABILITIES_MAX_TTL": "0"}, ["KATAPULT_IPAM_CAPABILITIES_MAX_TTL: must be ≥ 1"]),
    # Upper bounds: nothing overflows where it is used (a timedelta, threads, C integers).
    ({"CAPABILITIES_MAX_TTL": "100000000000000000"},
     ["KATAPULT_IPAM_CAPABILITIES_MAX_TTL: must be ≤ 31622400"]),
    ({"CAPABILITIES_MAX_TTL": "31622401"},
     ["KATAPULT_IPAM_CAPABILITIES_MAX_TTL: must be ≤ 31622400"]),
    ({"DATABASE_THREADS": "1" + "0" * 18}, ["KATAPULT_IPAM_DATABASE_THREADS: must be ≤ 256"]),
    ({"READ_THREADS": "257"}, ["KATAPULT_IPAM_READ_THREADS: must be ≤ 256"]),
    ({"MAX_BATCH": "100001"}, ["KATAPULT_IPAM_MAX_BATCH: must be ≤ 100000"]),
    ({"MAX_BODY_BYTES": "9" * 30}, ["KATAPULT_IPAM_MAX_BODY_BYTES: must be ≤ 1073741824"]),
    ({"MAX_HEADER_BYTES": "9" * 30}, ["KATAPULT_IPAM_MAX_HEADER_BYTES: must be ≤ 1073741824"]),
    ({"RATE_LIMIT_PER_MINUTE": "9" * 30},
     ["KATAPULT_IPAM_RATE_LIMIT_PER_MINUTE: must be ≤ 1000000000"]),
    ({"RATE_LIMIT_FROZEN_AT": "1e300"},
     ["KATAPULT_IPAM_RATE_LIMIT_FROZEN_AT: must be ≤ 253402300799"]),
    ({"RATE_LIMIT_FROZEN_AT": "-1"}, ["KATAPULT_IPAM_RATE_LIMIT_FROZEN_AT: must be ≥ 0"]),
    ({"MAX_CONNECTIONS": "1000001"}, ["KATAPULT_IPAM_MAX_CONNECTIONS: must be ≤ 1000000"]),
    ({"TOKEN_CACHE_SECONDS": "1e20"}, ["KATAPULT_IPAM_TOKEN_CACHE_SECONDS: must be ≤ 86400"]),
    ({"IDLE_TIMEOUT": "1e20"}, ["KATAPULT_IPAM_IDLE_TIMEOUT: must be ≤ 86400"]),
    ({"FORWARDED_HEADER": "Via"},
     ["KATAPULT_IPAM_FORWARDED_HEADER: input should be 'x-forwarded-for' or 'forwarded'"]),
    ({"MAX_BATCH": "lots"}, ["KATAPULT_IPAM_MAX_BATCH: must be a whole number"]),
    ({"LOG_LEVEL": "loud"},
     ["KATAPULT_IPAM_LOG_LEVEL: must be one of critical, error, warning, info, debug, trace"]),
    ({"CAPABILITIES_ISSUER": " "}, ["KATAPULT_IPAM_CAPABILITIES_ISSUER: must not be empty"]),
    ({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"},
     ["KATAPULT_IPAM_TRUSTED_PROXIES: 'proxy.internal' is not a CIDR such as 10.0.0.0/8"]),
    # N9: host bits set would silently trust the whole network.
    ({"TRUSTED_PROXIES": "10.0.0.1/8"},
     ["KATAPULT_IPAM_TRUSTED_PROXIES: 10.0.0.1/8 has host bits set:"
      " did you mean 10.0.0.1/32 or 10.0.0.0/8?"]),
    ({"TRUSTED_PROXIES": "192.0.2.1, 2001:db8::1/32"},
     ["KATAPULT_IPAM_TRUSTED_PROXIES: 2001:db8::1/32 has host bits set:"
      " did you mean 2001:db8::1/128 or 2001:db8::/32?"]),
    ({"REDIS_URL": "localhost:6379"},
     ["KATAPULT_IPAM_REDIS_URL: the scheme must be redis or rediss or unix"
      " (such as redis://host:6379/0)"]),
    ({"REDIS_URL": "redis://cache:99999/0"},
     ["KATAPULT_IPAM_REDIS_URL: not a URL such as redis://host:6379/0"]),
    # N7: what the Redis client would refuse at start (a traceback), refused here.
    ({"REDIS_URL": "redis://:S3cr3t@127.0.0.1:6390/0?socket_timeout=abc"},
     ["KATAPULT_IPAM_REDIS_URL: its option socket_timeout has a value Redis cannot read"]),
    ({"REDIS_URL": "redis://:S3cr3t@127.0.0.1:6390/0?db=zero"},
     ["KATAPULT_IPAM_REDIS_URL: its option db has a value Redis cannot read"]),
    ({"REDIS_URL": "redis://:S3cr3t@127.0.0.1:6390/0?colour=blue"},
     ["KATAPULT_IPAM_REDIS_URL: Redis does not know its option colour"]),
    ({"REDIS_URL": "rediss://:S3cr3t@127.0.0.1:6390/0?ssl_cert_reqs=S3cr3t"},
     ["KATAPULT_IPAM_REDIS_URL: an option has a value Redis cannot read"]),
    ({"REDIS_URL": "redis://:S3cr3t@127.0.0.1:6390/0?socket_timeout=1"},
     ["KATAPULT_IPAM_REDIS_URL: its option socket_timeout would override"
      " KATAPULT_IPAM_REDIS_TIMEOUT: set that instead"]),
    ({"REDIS_URL": "unix://"},
     ["KATAPULT_IPAM_REDIS_URL: no socket path (such as unix:///run/redis/redis.sock)"]),
    ({"DATABASE_URL": "foo://"},
     ["KATAPULT_IPAM_DATABASE_URL: 'foo' is not sqlite or postgresql"]),
    ({"DATABASE_URL": "postgresql+nodriver://db/ipam"},
     ["KATAPULT_IPAM_DATABASE_URL: no database driver 'postgresql+nodriver'"]),
    ({"DATABASE_URL": "var/ipam.db"},
     ["KATAPULT_IPAM_DATABASE_URL: not a database URL (sqlite:///path or postgresql+psycopg://…)"]),
    # N11: an in-memory SQLite database keeps nothing (`migrate` would say migrated).
    ({"DATABASE_URL": "sqlite:///"}, [f"KATAPULT_IPAM_DATABASE_URL: {IN_MEMORY}"]),
    ({"DATABASE_URL": "sqlite://"}, [f"KATAPULT_IPAM_DATABASE_URL: {IN_MEMORY}"]),
    ({"DATABASE_URL": "sqlite:///:memory:"}, [f"KATAPULT_IPAM_DATABASE_URL: {IN_MEMORY}"]),
    ({"DATABASE_URL": "sqlite:///file:ipam?mode=memory&uri=true"},
     [f"KATAPULT_IPAM_DATABASE_URL: {IN_MEMORY}"]),
    ({"OAUTH2_ISSUER": "katapult-ipam", "OAUTH2_AUDIENCE": "core", "OAUTH2_JWKS_FILE": "j.json"},
     ["KATAPULT_IPAM_OAUTH2_ISSUER: must differ from KATAPULT_IPAM_CAPABILITIES_ISSUER"]),
    ({"OAUTH2_ISSUER": "https://login.example"},
     ["KATAPULT_IPAM_OAUTH2_AUDIENCE: needed with KATAPULT_IPAM_OAUTH2_ISSUER"]),
    ({"OAUTH2_ISSUER": "https://login.example", "OAUTH2_AUDIENCE": "core"},
     ["KATAPULT_IPAM_OAUTH2_JWKS_URL: set exactly one of it and KATAPULT_IPAM_OAUTH2_JWKS_FILE"
      " with an OAuth2 issuer"]),
    ({"OAUTH2_ISSUER": "https://login.example", "OAUTH2_AUDIENCE": "core",
      "OAUTH2_JWKS_FILE": "j.json", "OAUTH2_JWKS_URL": "https://login.example/jwks"},
     ["KATAPULT_IPAM_OAUTH2_JWKS_URL: set exactly one of it and KATAPULT_IPAM_OAUTH2_JWKS_FILE"
      " with an OAuth2 issuer"]),
    ({"OAUTH2_AUDIENCE": "core"},
     ["KATAPULT_IPAM_OAUTH2_AUDIENCE: needs KATAPULT_IPAM_OAUTH2_ISSUER"]),
    ({"OAUTH2_ISSUER": "https://login.example", "OAUTH2_AUDIENCE": "core",
      "OAUTH2_JWKS_URL": "https://"},
     ["KATAPULT_IPAM_OAUTH2_JWKS_URL: no host (such as https://issuer.example/jwks.json)"]),
    # N6: urllib would send "u:S3cr3t@idp.example" to DNS, and every OAuth2 request 503.
    ({"OAUTH2_ISSUER": "https://login.example", "OAUTH2_AUDIENCE": "core",
      "OAUTH2_JWKS_URL": "https://u:S3cr3t@idp.example/jwks"},
     ["KATAPULT_IPAM_OAUTH2_JWKS_URL: must not hold a user name or password"]),
    ({"OAUTH2_ISSUER": "https://login.example", "OAUTH2_AUDIENCE": "core",
      "OAUTH2_JWKS_URL": "https://S3cr3t@idp.example/jwks"},
     ["KATAPULT_IPAM_OAUTH2_JWKS_URL: must not hold a user name or password"]),
    ({"MAX_BATCH": "0", "RATE_LIMIT_PER_MINUTE": "0", "LOG_LEVEL": "loud"},
     ["KATAPULT_IPAM_MAX_BATCH: must be ≥ 1",
      "KATAPULT_IPAM_LOG_LEVEL: must be one of critical, error, warning, info, debug, trace",
      "KATAPULT_IPAM_RATE_LIMIT_PER_MINUTE: must be ≥ 1"]),
]  # fmt: skip


def environment(variables: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {
        "KATAPULT_IPAM_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        **{f"KATAPULT_IPAM_{name}": value for name, value in variables.items()},
    }


@pytest.mark.parametrize(("variables", "problems"), BAD_SETTINGS)
def test_f4_serve_refuses_to_start_with_a_bad_setting(
    tmp_path: Path, variables: dict[str, str], problems: list[str]
) -> None:
    result = runner.invoke(app, ["serve"], env=environment(variables, tmp_path))
    expected = "".join(f"invalid setting {problem}\n" for problem in problems)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", expected)
    assert not (tmp_path / "db.sqlite").exists()  # refused before anything was touched


@pytest.mark.parametrize(
    ("variables", "line"),
    [
        ({"MAX_BATCH": "0"}, "invalid setting KATAPULT_IPAM_MAX_BATCH: must be ≥ 1"),
        ({"OAUTH2_ISSUER": "katapult-ipam", "OAUTH2_AUDIENCE": "core",
          "OAUTH2_JWKS_FILE": "j.json"},
         "invalid setting KATAPULT_IPAM_OAUTH2_ISSUER: must differ from"
         " KATAPULT_IPAM_CAPABILITIES_ISSUER"),
        ({"CAPABILITIES_MAX_TTL": "100000000000000000"},
         "invalid setting KATAPULT_IPAM_CAPABILITIES_MAX_TTL: must be ≤ 31622400"),
        # N7: was a 188-line traceback from Redis.from_url as the service started.
        ({"REDIS_URL": "redis://:S3cr3t@127.0.0.1:6390/0?socket_timeout=abc"},
         "invalid setting KATAPULT_IPAM_REDIS_URL: its option socket_timeout has a value"
         " Redis cannot read"),
        ({"OAUTH2_ISSUER": "https://login.example", "OAUTH2_AUDIENCE": "core",
          "OAUTH2_JWKS_URL": "https://u:S3cr3t@idp.example/jwks"},
         "invalid setting KATAPULT_IPAM_OAUTH2_JWKS_URL: must not hold a user name or password"),
        ({"TRUSTED_PROXIES": "10.0.0.1/8"},
         "invalid setting KATAPULT_IPAM_TRUSTED_PROXIES: 10.0.0.1/8 has host bits set:"
         " did you mean 10.0.0.1/32 or 10.0.0.0/8?"),
        ({"DATABASE_URL": "sqlite:///"},
         f"invalid setting KATAPULT_IPAM_DATABASE_URL: {IN_MEMORY}"),
        ({"MAX_HEADER_BYTES": "1"},
         "invalid setting KATAPULT_IPAM_MAX_HEADER_BYTES: must be ≥ 1024"),
        ({"RDNS_ZONE": "<script>x y"},
         f"invalid setting KATAPULT_IPAM_RDNS_ZONE: {NOT_A_DNS_NAME}"),
    ],
)  # fmt: skip
@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--port", "1"],
        ["capabilities", "issue", "--organization", "acme", "--scope", "ip_addresses"],
    ],
)
def test_f4_the_real_command_says_one_line_not_a_pydantic_dump(
    tmp_path: Path, variables: dict[str, str], line: str, args: list[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KATAPULT_IPAM_")}
    env.update(environment(variables, tmp_path))
    result = subprocess.run(
        [KATAPULT_IPAM, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in result.stderr
    assert "S3cr3t" not in result.stderr
    assert (result.returncode, result.stdout, result.stderr) == (1, "", line + "\n")


def test_f4_settings_objects_are_checked_too() -> None:
    with pytest.raises(ValidationError) as error:
        Settings(max_batch=0, database_threads=-1)
    assert setting_problems(error.value) == [
        "invalid setting KATAPULT_IPAM_DATABASE_THREADS: must be ≥ 0",
        "invalid setting KATAPULT_IPAM_MAX_BATCH: must be ≥ 1",
    ]


def test_f4_good_values_are_read_as_meant(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "LOG_LEVEL": "DEBUG",
        "REDIS_URL": "",
        "OAUTH2_ISSUER": " ",
        "TRUSTED_PROXIES": "10.0.0.0/8, 2001:db8::/32,192.0.2.1",
        "DATABASE_URL": "postgresql+psycopg://u:p@db:5432/ipam",
        "DATABASE_THREADS": "0",
        "TOKEN_CACHE_SECONDS": "0",
        "FORWARDED_HEADER": "Forwarded",
        "CAPABILITIES_MAX_TTL": str(366 * 86400),
        "RDNS_ZONE": "RDNS.Example.NET.",
        "MAX_HEADER_BYTES": "1024",
        "MAX_BODY_BYTES": "1024",
    }.items():
        monkeypatch.setenv(f"KATAPULT_IPAM_{name}", value)
    settings = Settings()
    assert (settings.log_level, settings.redis_url, settings.oauth2_issuer) == ("debug", None, None)
    assert settings.capabilities_max_ttl == 366 * 86400
    assert settings.forwarded_header == "forwarded"
    assert settings.rdns_zone == "rdns.example.net"  # as the inventory normalises a zone
    assert (settings.max_header_bytes, settings.max_body_bytes) == (1024, 1024)
    monkeypatch.setenv("KATAPULT_IPAM_FORWARDED_HEADER", " X-Forwarded-For")
    assert Settings().forwarded_header == "x-forwarded-for"


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "rediss://user:p%40ss@cache.internal:6380/2?health_check_interval=30",
        "redis://:S3cr3t@cache/0?db=3&max_connections=50",
        "unix:///run/redis/redis.sock?db=1",
    ],
)
def test_n7_redis_urls_the_client_reads_are_accepted(url: str) -> None:
    assert Settings(redis_url=url).redis_url == url


@pytest.mark.parametrize(
    "url",
    ["sqlite:///var/ipam.db", "sqlite:////srv/ipam/ipam.db", "sqlite:///file:ipam.db?uri=true"],
)
def test_n11_sqlite_files_are_accepted(url: str) -> None:
    assert Settings(database_url=url).is_sqlite


def test_n6_the_jwks_source_refuses_a_password_too() -> None:
    """Settings made otherwise (or a future caller) cannot pass one to urllib either."""
    with pytest.raises(SignedTokenConfigError, match="must not hold a user name or password"):
        JWKSURL("https://u:S3cr3t@idp.example/jwks")


def test_n12_the_zone_rule_is_the_inventorys() -> None:
    """Settings and inventory subnets accept the same zones (one rule, config.dns_zone)."""
    for zone in ("rdns.example.net", "RDNS.Example.NET.", "0.2.192.in-addr.arpa", "x-1.y"):
        assert dns_zone(zone) == SubnetEntry(cidr="192.0.2.0/24", rdns_zone=zone).rdns_zone
    for zone in ("<script>x y", "a_b.example", "-a.example", "a..b", ""):
        with pytest.raises(ValueError, match="not a DNS name"):
            dns_zone(zone)
        with pytest.raises(ValidationError):
            SubnetEntry(cidr="192.0.2.0/24", rdns_zone=zone)
