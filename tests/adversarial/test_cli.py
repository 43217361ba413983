"""The command line: a bad environment answered in one line (C4), durations and token
arguments in range (C2, K4), migrations that wait for each other (W8).

The real ``katapult-ipam`` runs in a subprocess wherever a traceback could be the
answer, and its output is compared whole: exactly the expected line, no traceback.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from katapult_ipam.cli import app
from katapult_ipam.cli.errors import NOT_MIGRATED
from katapult_ipam.config import Settings
from katapult_ipam.store import admin, migrate
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


def bad_value(command: str, option: str, reason: str) -> str:
    """How ``katapult-ipam COMMAND`` refuses a bad value of ``option``."""
    return f"katapult-ipam {command}: Invalid value for '{option}': {reason}"


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated database on the suite's backend."""
    server = backend_url()
    if server is None:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"kipam_fresh_{uuid.uuid4().hex[:12]}"
    server_engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with server_engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with server_engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server_engine.dispose()


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
        # The rest of libpq's line (the address it tried, its wording) varies by platform.
        assert result.stderr.startswith("cannot connect to the database: connection failed:")
        assert "Connection refused" in result.stderr
        assert_one_line(result, result.stderr.rstrip("\n"))


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
        # N11: `migrate` said "migrated" into a database that vanished with the process.
        ({"database_url": "sqlite:///"},
         "invalid setting KATAPULT_IPAM_DATABASE_URL: a SQLite URL needs a file path"
         " (such as sqlite:///var/katapult-ipam.db): an in-memory database keeps nothing"),
        # N7: `serve` died in a traceback from Redis.from_url.
        ({"redis_url": "redis://:S3cr3t@127.0.0.1:6390/0?socket_timeout=abc"},
         "invalid setting KATAPULT_IPAM_REDIS_URL: its option socket_timeout has a value"
         " Redis cannot read"),
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


def test_n13_a_mistyped_signing_key_file_makes_nothing(
    database_url: str, world: World, tmp_path: Path
) -> None:
    """`public-key` only reads the key: a mistyped path never prints a new key's half."""
    mistyped = tmp_path / "nonexist" / "dir" / "k.pem"
    assert_one_line(
        run(["capabilities", "public-key"], tmp_path, signing_key_file=str(mistyped)),
        f"no signing key at {mistyped} (KATAPULT_IPAM_SIGNING_KEY_FILE): it is made when"
        " `katapult-ipam serve` first starts, or by `katapult-ipam capabilities issue`",
    )
    issue = ["capabilities", "issue", "--organization", "acme", "--scope", "ip_addresses"]
    assert not (tmp_path / "nonexist").exists()
    # `issue` makes the key; then public-key prints its public half.
    key_file = tmp_path / "k.pem"
    assert (
        run(issue, tmp_path, database_url=database_url, signing_key_file=str(key_file)).returncode
        == 0
    )
    result = run(["capabilities", "public-key"], tmp_path, signing_key_file=str(key_file))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("-----BEGIN PUBLIC KEY-----")


def test_c4_a_bug_still_shows_its_traceback(
    env: dict[str, str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    assert_one_line(result, bad_value("tokens create", "--expires-in", line), code=2)
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
    assert_one_line(result, bad_value("capabilities issue", "--ttl", line), code=2)


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--name", "", "a token needs a name"),
        ("--name", "   ", "a token needs a name"),
        ("--name", "x" * 256, "a token name is at most 255 characters, without NUL"),
        ("--scope", "", "a scope is empty or contains white space"),
        ("--scope", "other ip_addresses", "a scope is empty or contains white space"),
        ("--scope", "ip_addresses\t", "a scope is empty or contains white space"),
    ],
)
def test_k4_tokens_create_refuses_blank_names_and_scopes(
    env: dict[str, str], world: World, option: str, value: str, reason: str
) -> None:
    before = world.snapshot()
    arguments = {"--organization": "acme", "--name": "ci", "--scope": "ip_addresses"}
    arguments[option] = value
    args = ["tokens", "create", *[part for pair in arguments.items() for part in pair]]
    result = runner.invoke(app, args, env=env, prog_name="katapult-ipam")
    line = bad_value("tokens create", option, reason)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", line + "\n")
    assert world.snapshot() == before


def test_k4_tokens_create_and_capabilities_issue_judge_scopes_alike(
    env: dict[str, str], world: World
) -> None:
    for command in (["tokens", "create", "--name", "ci"], ["capabilities", "issue"]):
        args = [*command, "--organization", "acme", "--scope", "a b"]
        result = runner.invoke(app, args, env=env, prog_name="katapult-ipam")
        assert result.exit_code == 2
        reason = "a scope is empty or contains white space"
        assert result.stderr == bad_value(" ".join(command[:2]), "--scope", reason) + "\n"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["serve", "--port", "0"],
         "katapult-ipam serve: Invalid value for '--port': 0 is not in the range 1<=x<=65535."),
        (["tokens", "create", "--bogus"], "katapult-ipam tokens create: No such option: --bogus"),
        (["tokens", "create", "--organization", "acme", "--scope", "x"],
         "katapult-ipam tokens create: Missing option '--name'."),
        (["maintenance", "maybe"], "katapult-ipam maintenance: Invalid value: say on or off"),
        (["nosuch"], "katapult-ipam: No such command 'nosuch'."),
    ],
)  # fmt: skip
def test_bad_arguments_are_one_line_and_exit_2(tmp_path: Path, args: list[str], line: str) -> None:
    result = run(args, tmp_path, database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert_one_line(result, line, code=2)


# -- K4: the same token rules whichever way a token is made --------------------------------


@pytest.mark.parametrize(
    ("token", "where", "reason"),
    [
        ({"name": "ci", "scopes": ["ip_addresses virtual_machines"]},
         "api_tokens[0] (ci) > scopes", "a scope is empty or contains white space"),
        ({"name": "ci", "scopes": [""]},
         "api_tokens[0] (ci) > scopes", "a scope is empty or contains white space"),
        ({"name": "ci", "scopes": ["ip_addresses\t"]},
         "api_tokens[0] (ci) > scopes", "a scope is empty or contains white space"),
        ({"name": "", "scopes": ["ip_addresses"]},
         "api_tokens[0] > name", "a token needs a name"),
        ({"name": "   ", "scopes": ["ip_addresses"]},
         "api_tokens[0] (   ) > name", "a token needs a name"),
    ],
)  # fmt: skip
def test_k4_an_inventory_token_is_refused_naming_its_entry(
    env: dict[str, str], world: World, tmp_path: Path, token: dict[str, Any], where: str,
    reason: str,
) -> None:  # fmt: skip
    before = world.snapshot()
    inventory = tmp_path / "tokens.yaml"
    document = {"organizations": [{"name": "Acme", "sub_domain": "acme", "api_tokens": [token]}]}
    inventory.write_text(yaml.safe_dump(document))
    result = runner.invoke(app, ["load", str(inventory)], env=env)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(
        f"nothing was loaded: {inventory}: organizations[0] (Acme) > {where}: "
    )
    assert reason in result.stderr
    assert result.stderr.count("\n") == 1
    assert world.snapshot() == before


@pytest.mark.parametrize(
    ("name", "scopes", "reason"),
    [
        ("ci", ["ip_addresses virtual_machines"], "a scope is empty or contains white space"),
        ("ci", [""], "a scope is empty or contains white space"),
        ("ci", [], "at least one scope is needed"),
        ("", ["ip_addresses"], "a token needs a name"),
        (" \t", ["ip_addresses"], "a token needs a name"),
        ("x" * 256, ["ip_addresses"], "a token name is at most 255 characters, without NUL"),
    ],
)
def test_k4_admin_refuses_what_the_command_line_refuses(
    engine: Engine, world: World, name: str, scopes: list[str], reason: str
) -> None:
    before = world.snapshot()
    with pytest.raises(admin.AdminError, match=f"^{re.escape(reason)}$"):
        admin.create_token(
            engine, organization="acme", name=name, scopes=scopes, allowed_networks=[],
            expires_at=None,
        )  # fmt: skip
    assert world.snapshot() == before


def test_k4_a_new_capabilities_token_is_never_dated_before_the_revocation(
    engine: Engine, world: World
) -> None:
    revoked_at = admin.revoke_capabilities_tokens(engine, "acme")
    organization_id, issued_at = admin.capabilities_issue_time(engine, "acme")
    assert organization_id == admin_organization_id(engine, "acme")
    # Issue times are whole seconds: the first one not before the revocation.
    assert math.floor(issued_at.timestamp()) >= revoked_at.timestamp()
    with pytest.raises(admin.AdminError, match="no organization 'nowhere'"):
        admin.capabilities_issue_time(engine, "nowhere")


def admin_organization_id(engine: Engine, organization: str) -> str:
    with engine.connect() as connection:
        return admin.find_organization(connection, organization)


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
