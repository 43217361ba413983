"""The command line: a bad environment answered in one line (C4), durations and token
arguments in range (C2, K4), migrations that wait for each other (W8).

The real ``katapult-ipam`` runs in a subprocess wherever a traceback could be the
answer, and its output is compared whole: exactly the expected line, no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from katapult_ipam.cli import app
from katapult_ipam.cli.errors import NOT_MIGRATED
from katapult_ipam.config import Settings
from katapult_ipam.store import migrate
from katapult_ipam.store import models as m
from katapult_ipam.store.database import create_database_engine
from tests.support.databases import backend_url
from tests.support.world import World

KATAPULT_IPAM = str(Path(sys.executable).parent / "katapult-ipam")
INVENTORY = "countries:\n  - {name: France, iso_code2: FR, iso_code3: FRA}\n"
runner = CliRunner()


def run(args: list[str], cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """``katapult-ipam ARGS`` with only the given KATAPULT_IPAM_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KATAPULT_IPAM_")}
    env.update({f"KATAPULT_IPAM_{name.upper()}": value for name, value in variables.items()})
    env.setdefault("KATAPULT_IPAM_SIGNING_KEY_FILE", str(cwd / "signing-key.pem"))
    return subprocess.run(
        [KATAPULT_IPAM, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def assert_one_line(result: subprocess.CompletedProcess[str], line: str, code: int = 1) -> None:
    """The command failed with ``code`` and said exactly ``line``, nothing else."""
    assert "Traceback" not in result.stdout + result.stderr
    assert (result.returncode, result.stdout, result.stderr) == (code, "", line + "\n")


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated database on the suite's backend."""
    server = backend_url()
    if server is None:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"kipam_fresh_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def every_command(tmp_path: Path) -> list[list[str]]:
    """A call of every command that touches the database."""
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY)
    return [
        ["serve", "--port", "1"],  # never reached: the database is checked first
        ["load", str(inventory)],
        ["maintenance", "on"],
        ["tokens", "create", "--organization", "acme", "--name", "ci", "--scope", "ip_addresses"],
        ["tokens", "revoke", "--organization", "acme", "--name", "ci"],
        ["capabilities", "issue", "--organization", "acme", "--scope", "ip_addresses"],
        ["capabilities", "revoke", "--organization", "acme"],
    ]


# -- C4: the environment is wrong --------------------------------------------------------


def test_c4_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres:S3cr3t@127.0.0.1:1/nowhere"
    for args in [["migrate"], *every_command(tmp_path)]:
        result = run(args, tmp_path, database_url=url)
        assert "S3cr3t" not in result.stdout + result.stderr
        assert_one_line(
            result,
            "cannot connect to the database: connection failed: connection to server at "
            '"127.0.0.1", port 1 failed: Connection refused',
        )


def test_c4_a_postgresql_database_that_does_not_exist(tmp_path: Path) -> None:
    server = backend_url()
    if server is None:
        pytest.skip("needs PostgreSQL (KATAPULT_IPAM_TEST_DATABASE_URL)")
    url = make_url(server).set(database="kipam_no_such_database")
    for args in (["migrate"], ["maintenance", "on"]):
        result = run(args, tmp_path, database_url=url.render_as_string(hide_password=False))
        assert result.stderr.startswith("cannot connect to the database: connection failed:")
        assert_one_line(result, result.stderr.rstrip("\n"))
        assert 'database "kipam_no_such_database" does not exist' in result.stderr


def test_c4_an_unmigrated_database_says_to_migrate(fresh_database_url: str, tmp_path: Path) -> None:
    for args in every_command(tmp_path):
        assert_one_line(run(args, tmp_path, database_url=fresh_database_url), NOT_MIGRATED)


def test_c4_a_database_one_migration_behind_says_to_migrate(
    fresh_database_url: str, tmp_path: Path
) -> None:
    engine = create_database_engine(Settings(database_url=fresh_database_url))
    migrate.upgrade(engine, "0004")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO organizations (id, name, sub_domain) VALUES ('org_a', 'A', 'acme')")
        )
    engine.dispose()
    for args in (
        ["capabilities", "issue", "--organization", "acme", "--scope", "ip_addresses"],
        ["capabilities", "revoke", "--organization", "acme"],
        ["serve"],
    ):
        assert_one_line(run(args, tmp_path, database_url=fresh_database_url), NOT_MIGRATED)


def test_c4_migrate_on_a_revision_this_version_does_not_know(
    fresh_database_url: str, tmp_path: Path
) -> None:
    engine = create_database_engine(Settings(database_url=fresh_database_url))
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    engine.dispose()
    assert_one_line(
        run(["migrate"], tmp_path, database_url=fresh_database_url),
        "cannot migrate: Can't locate revision identified by 'f00d'"
        " (the database was migrated by a newer version?)",
    )


@pytest.mark.parametrize(
    ("variables", "line"),
    [
        ({"database_url": "foo://"},
         "invalid setting KATAPULT_IPAM_DATABASE_URL: 'foo' is not sqlite or postgresql"),
        ({"trusted_proxies": "foo"},
         "invalid setting KATAPULT_IPAM_TRUSTED_PROXIES: 'foo' is not a CIDR such as 10.0.0.0/8"),
        ({"redis_url": "foo"},
         "invalid setting KATAPULT_IPAM_REDIS_URL: the scheme must be redis or rediss or unix"
         " (such as redis://host:6379/0)"),
        ({"oauth2_issuer": "https://login.example"},
         "invalid setting KATAPULT_IPAM_OAUTH2_AUDIENCE: needed with KATAPULT_IPAM_OAUTH2_ISSUER"),
        ({"oauth2_issuer": "https://login.example", "oauth2_audience": "core",
          "oauth2_jwks_url": "file:///etc/passwd"},
         "invalid setting KATAPULT_IPAM_OAUTH2_JWKS_URL: the scheme must be http or https"
         " (such as https://issuer.example/jwks.json)"),
    ],
)  # fmt: skip
def test_c4_bad_settings_stop_every_command_in_one_line(
    tmp_path: Path, variables: dict[str, str], line: str
) -> None:
    variables = {"database_url": f"sqlite:///{tmp_path / 'db.sqlite'}", **variables}
    for args in (["serve"], ["migrate"], ["maintenance", "on"]):
        assert_one_line(run(args, tmp_path, **variables), line)


def test_c4_unreadable_key_files(database_url: str, world: World, tmp_path: Path) -> None:
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    cases = [
        ({"signing_key_file": str(tmp_path)},
         f"KATAPULT_IPAM_SIGNING_KEY_FILE {tmp_path}: Is a directory"),
        ({"signing_key_file": str(a_file / "key.pem")},
         f"KATAPULT_IPAM_SIGNING_KEY_FILE {a_file / 'key.pem'}: Not a directory"),
        ({"signing_key_file": str(not_pem)},
         f"{not_pem}: not an unencrypted PEM private key"),
        ({"capabilities_public_keys": str(not_pem)}, f"{not_pem}: not a PEM public key"),
        ({"capabilities_public_keys": str(tmp_path / "missing.pem")},
         f"{tmp_path / 'missing.pem'}: No such file or directory"),
    ]  # fmt: skip
    issue = ["capabilities", "issue", "--organization", "acme", "--scope", "ip_addresses"]
    for variables, line in cases:
        for args in (["capabilities", "public-key"], ["serve", "--workers", "2"], issue):
            result = run(args, tmp_path, database_url=database_url, **variables)
            assert_one_line(result, line)


def test_c4_a_bug_still_shows_its_traceback(
    env: dict[str, str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from katapult_ipam.store import admin

    def broken(*_: object, **__: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(admin, "revoke_token", broken)
    result = runner.invoke(app, ["tokens", "revoke", "--organization", "acme", "--name", "x"],
                           env=env)  # fmt: skip
    assert isinstance(result.exception, KeyError)


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "KATAPULT_IPAM_DATABASE_URL": database_url,
        "KATAPULT_IPAM_SIGNING_KEY_FILE": str(tmp_path / "signing-key.pem"),
    }


# -- C2, K4: durations and token arguments ------------------------------------------------


@pytest.mark.parametrize(
    ("expires_in", "line"),
    [
        ("3000000d", "3000000d is longer than the maximum, 36500d"),
        ("99999999999d", "99999999999d is longer than the maximum, 36500d"),
        ("9" * 5000 + "s", f"{'9' * 5000}s is longer than the maximum, 36500d"),
        ("0s", "0s is not a lifetime (at least 1s)"),
    ],
)
def test_c2_k4_an_api_token_lifetime_out_of_range(
    database_url: str, world: World, tmp_path: Path, expires_in: str, line: str
) -> None:
    before = world.snapshot()
    args = ["tokens", "create", "--organization", "acme", "--name", "ci",
            "--scope", "ip_addresses", "--expires-in", expires_in]  # fmt: skip
    result = run(args, tmp_path, database_url=database_url)
    assert_one_line(result, f"invalid value for --expires-in: {line}", code=2)
    assert world.snapshot() == before


def test_c2_the_longest_api_token_lifetime_is_accepted(
    env: dict[str, str], engine: Engine, world: World
) -> None:
    args = ["tokens", "create", "--organization", "acme", "--name", "ci",
            "--scope", "ip_addresses", "--expires-in", "36500d"]  # fmt: skip
    assert runner.invoke(app, args, env=env).exit_code == 0
    table = m.APIToken.__table__
    with engine.connect() as c:
        assert c.execute(select(table.c.expires_at).where(table.c.name == "ci")).scalar()


@pytest.mark.parametrize(
    ("ttl", "line"),
    [
        ("99999999999w", "99999999999w is longer than the maximum, 1d"),
        ("999999999d", "999999999d is longer than the maximum, 1d"),
        ("0s", "0s is not a lifetime (at least 1s)"),
    ],
)
def test_c2_a_capabilities_ttl_out_of_range(
    database_url: str, world: World, tmp_path: Path, ttl: str, line: str
) -> None:
    args = ["capabilities", "issue", "--organization", "acme", "--scope", "ip_addresses",
            "--ttl", ttl]  # fmt: skip
    result = run(args, tmp_path, database_url=database_url)
    if "longer" in line:
        line += " (KATAPULT_IPAM_CAPABILITIES_MAX_TTL)"
    assert_one_line(result, f"invalid value for --ttl: {line}", code=2)


@pytest.mark.parametrize(
    ("option", "value", "line"),
    [
        ("--name", "", "invalid value for --name: a token needs a name"),
        ("--name", "   ", "invalid value for --name: a token needs a name"),
        ("--scope", "", "invalid value for --scope: a scope is empty or contains white space"),
        ("--scope", "other ip_addresses",
         "invalid value for --scope: a scope is empty or contains white space"),
        ("--scope", "ip_addresses\t", "invalid value for --scope: a scope is empty or contains"
         " white space"),
    ],
)  # fmt: skip
def test_k4_tokens_create_refuses_blank_names_and_scopes(
    env: dict[str, str], world: World, option: str, value: str, line: str
) -> None:
    before = world.snapshot()
    arguments = {"--organization": "acme", "--name": "ci", "--scope": "ip_addresses"}
    arguments[option] = value
    args = ["tokens", "create", *[part for pair in arguments.items() for part in pair]]
    result = runner.invoke(app, args, env=env)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", line + "\n")
    assert world.snapshot() == before


def test_k4_tokens_create_and_capabilities_issue_judge_scopes_alike(
    env: dict[str, str], world: World
) -> None:
    for command in (["tokens", "create", "--name", "ci"], ["capabilities", "issue"]):
        args = [*command, "--organization", "acme", "--scope", "a b"]
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 2
        assert (
            result.stderr == "invalid value for --scope: a scope is empty or contains white space\n"
        )


# -- W8: two migrations at once ------------------------------------------------------------


def test_w8_two_migrations_at_once_wait_for_each_other(
    fresh_database_url: str, tmp_path: Path
) -> None:
    def migrate_once(_: int) -> subprocess.CompletedProcess[str]:
        return run(["migrate"], tmp_path, database_url=fresh_database_url)

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(migrate_once, range(3)))
    for result in results:
        assert "Traceback" not in result.stderr
        assert (result.returncode, result.stderr) == (0, "")
    assert sorted(result.stdout for result in results) == [
        "database is up to date\n",
        "database is up to date\n",
        "database migrated, now up to date\n",
    ]
    engine = create_database_engine(Settings(database_url=fresh_database_url))
    try:
        assert migrate.is_current(engine)
    finally:
        engine.dispose()
