"""Settings out of range stop the service at start, one line per bad setting (F4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from katapult_ipam.cli import app
from katapult_ipam.config import Settings, setting_problems

KATAPULT_IPAM = str(Path(sys.executable).parent / "katapult-ipam")
runner = CliRunner()

BAD_SETTINGS = [
    ({"MAX_BATCH": "0"}, ["KATAPULT_IPAM_MAX_BATCH: must be ≥ 1"]),
    ({"DATABASE_THREADS": "-1"}, ["KATAPULT_IPAM_DATABASE_THREADS: must be ≥ 0"]),
    ({"READ_THREADS": "0"}, ["KATAPULT_IPAM_READ_THREADS: must be ≥ 1"]),
    ({"RATE_LIMIT_PER_MINUTE": "0"}, ["KATAPULT_IPAM_RATE_LIMIT_PER_MINUTE: must be ≥ 1"]),
    ({"MAX_BODY_BYTES": "0"}, ["KATAPULT_IPAM_MAX_BODY_BYTES: must be ≥ 1"]),
    ({"MAX_HEADER_BYTES": "-5"}, ["KATAPULT_IPAM_MAX_HEADER_BYTES: must be ≥ 1"]),
    ({"DATABASE_TIMEOUT": "0"}, ["KATAPULT_IPAM_DATABASE_TIMEOUT: must be > 0"]),
    ({"DATABASE_TIMEOUT": "1e12"}, ["KATAPULT_IPAM_DATABASE_TIMEOUT: must be ≤ 86400"]),
    ({"BODY_TIMEOUT": "-1"}, ["KATAPULT_IPAM_BODY_TIMEOUT: must be > 0"]),
    ({"REDIS_TIMEOUT": "inf"}, ["KATAPULT_IPAM_REDIS_TIMEOUT: must be a finite number"]),
    ({"TOKEN_CACHE_SECONDS": "-1"}, ["KATAPULT_IPAM_TOKEN_CACHE_SECONDS: must be ≥ 0"]),
    ({"CAPABILITIES_MAX_TTL": "0"}, ["KATAPULT_IPAM_CAPABILITIES_MAX_TTL: must be ≥ 1"]),
    ({"MAX_BATCH": "lots"}, ["KATAPULT_IPAM_MAX_BATCH: must be a whole number"]),
    ({"LOG_LEVEL": "loud"},
     ["KATAPULT_IPAM_LOG_LEVEL: must be one of critical, error, warning, info, debug, trace"]),
    ({"CAPABILITIES_ISSUER": " "}, ["KATAPULT_IPAM_CAPABILITIES_ISSUER: must not be empty"]),
    ({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"},
     ["KATAPULT_IPAM_TRUSTED_PROXIES: 'proxy.internal' is not a CIDR such as 10.0.0.0/8"]),
    ({"REDIS_URL": "localhost:6379"},
     ["KATAPULT_IPAM_REDIS_URL: the scheme must be redis or rediss or unix"
      " (such as redis://host:6379/0)"]),
    ({"REDIS_URL": "redis://cache:99999/0"},
     ["KATAPULT_IPAM_REDIS_URL: not a URL such as redis://host:6379/0"]),
    ({"DATABASE_URL": "foo://"},
     ["KATAPULT_IPAM_DATABASE_URL: 'foo' is not sqlite or postgresql"]),
    ({"DATABASE_URL": "postgresql+nodriver://db/ipam"},
     ["KATAPULT_IPAM_DATABASE_URL: no database driver 'postgresql+nodriver'"]),
    ({"DATABASE_URL": "var/ipam.db"},
     ["KATAPULT_IPAM_DATABASE_URL: not a database URL (sqlite:///path or postgresql+psycopg://…)"]),
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
    ],
)  # fmt: skip
def test_f4_the_real_command_says_one_line_not_a_pydantic_dump(
    tmp_path: Path, variables: dict[str, str], line: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KATAPULT_IPAM_")}
    env.update(environment(variables, tmp_path))
    result = subprocess.run(
        [KATAPULT_IPAM, "serve", "--port", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in result.stderr
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
    }.items():
        monkeypatch.setenv(f"KATAPULT_IPAM_{name}", value)
    settings = Settings()
    assert (settings.log_level, settings.redis_url, settings.oauth2_issuer) == ("debug", None, None)
    assert settings.capabilities_max_ttl == 24 * 3600
