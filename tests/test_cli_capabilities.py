"""``katapult-ipam capabilities issue``, in-process."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from katapult_ipam.auth.capabilities import CapabilitiesKeys, verify_capabilities_token
from katapult_ipam.auth.jwt import InvalidSignedToken
from katapult_ipam.cli import app
from katapult_ipam.config import Settings
from katapult_ipam.store import models as m
from tests.support.world import World

runner = CliRunner()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    """Where the signing key will be made: its directory exists, the file not yet."""
    (tmp_path / "keys").mkdir()
    return tmp_path / "keys" / "signing-key.pem"


@pytest.fixture
def env(database_url: str, key_file: Path) -> dict[str, str]:
    return {
        "KATAPULT_IPAM_DATABASE_URL": database_url,
        "KATAPULT_IPAM_SIGNING_KEY_FILE": str(key_file),
        "KATAPULT_IPAM_CAPABILITIES_ISSUER": "katapult-ipam",
    }


def organization_id(engine: Engine, sub_domain: str) -> str:
    table = m.Organization.__table__
    with engine.connect() as c:
        return str(
            c.execute(select(table.c.id).where(table.c.sub_domain == sub_domain)).scalar_one()
        )


def test_issue_prints_a_token_that_verifies_for_acme(
    env: dict[str, str], key_file: Path, engine: Engine, world: World
) -> None:
    args = ["capabilities", "issue", "--organization", "acme",
            "--scope", "ip_addresses", "--scope", "virtual_machines", "--ttl", "15m"]  # fmt: skip
    before = datetime.now(UTC)
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keys = CapabilitiesKeys.from_settings(Settings(signing_key_file=str(key_file)))
    claims = verify_capabilities_token(keys, token, issuer="katapult-ipam")
    assert claims.organization_id == organization_id(engine, "acme")
    assert claims.scopes == frozenset({"ip_addresses", "virtual_machines"})
    with pytest.raises(InvalidSignedToken, match="expired"):
        verify_capabilities_token(
            keys, token, issuer="katapult-ipam", now=before + timedelta(minutes=16)
        )


def test_issue_accepts_an_organization_id_and_reuses_the_key(
    env: dict[str, str], key_file: Path, engine: Engine, world: World
) -> None:
    globex = organization_id(engine, "globex")
    args = ["capabilities", "issue", "--organization", globex, "--scope", "ip_addresses"]
    first = runner.invoke(app, args, env=env)
    key = key_file.read_bytes()
    second = runner.invoke(app, args, env=env)
    assert (first.exit_code, second.exit_code) == (0, 0), first.output + second.output
    assert key_file.read_bytes() == key
    keys = CapabilitiesKeys.from_settings(Settings(signing_key_file=str(key_file)))
    for result in (first, second):
        claims = verify_capabilities_token(keys, result.stdout.strip(), issuer="katapult-ipam")
        assert claims.organization_id == globex


def test_issue_for_an_unknown_organization(
    env: dict[str, str], key_file: Path, world: World
) -> None:
    args = ["capabilities", "issue", "--organization", "nope", "--scope", "ip_addresses"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 1
    assert "no organization 'nope'" in result.output
    assert result.stdout == ""
    assert not key_file.exists()


@pytest.mark.parametrize("ttl", ["soon", "0m"])
def test_issue_refuses_a_bad_ttl(env: dict[str, str], world: World, ttl: str) -> None:
    args = ["capabilities", "issue", "--organization", "acme", "--scope", "x", "--ttl", ttl]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 2
    assert result.stdout == ""


def test_issue_refuses_a_bad_key_file(env: dict[str, str], key_file: Path, world: World) -> None:
    key_file.write_text("not a key")
    args = ["capabilities", "issue", "--organization", "acme", "--scope", "ip_addresses"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 1
    assert "not an unencrypted PEM private key" in result.output


def test_the_public_key_can_be_listed_for_rotation(tmp_path: Path) -> None:
    from katapult_ipam.auth.capabilities import (
        CapabilitiesKeys,
        issue_capabilities_token,
        verify_capabilities_token,
    )
    from katapult_ipam.auth.jwt import InvalidSignedToken
    from katapult_ipam.config import Settings

    old_key = tmp_path / "old.pem"
    CapabilitiesKeys.from_settings(Settings(signing_key_file=str(old_key)))  # made as `serve` does
    result = CliRunner().invoke(
        app, ["capabilities", "public-key"], env={"KATAPULT_IPAM_SIGNING_KEY_FILE": str(old_key)}
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("-----BEGIN PUBLIC KEY-----")
    published = tmp_path / "old-public.pem"
    published.write_text(result.output)
    old = CapabilitiesKeys.from_settings(Settings(signing_key_file=str(old_key)))
    token = issue_capabilities_token(
        old, organization_id="org_x", scopes=["ip_addresses"],
        ttl=timedelta(minutes=5), issuer="katapult-ipam",
    )  # fmt: skip
    rotated = Settings(
        signing_key_file=str(tmp_path / "new.pem"), capabilities_public_keys=str(published)
    )
    claims = verify_capabilities_token(
        CapabilitiesKeys.from_settings(rotated), token, issuer="katapult-ipam"
    )
    assert claims.organization_id == "org_x"
    with pytest.raises(InvalidSignedToken):
        verify_capabilities_token(
            CapabilitiesKeys.from_settings(Settings(signing_key_file=str(tmp_path / "new.pem"))),
            token,
            issuer="katapult-ipam",
        )


# -- S7: a longest lifetime, and revocation ---------------------------------------------------


def test_s7_issue_refuses_a_ttl_beyond_the_maximum(env: dict[str, str], world: World) -> None:
    args = ["capabilities", "issue", "--organization", "acme", "--scope", "ip_addresses"]
    result = runner.invoke(app, [*args, "--ttl", "25h"], env=env, prog_name="katapult-ipam")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "katapult-ipam capabilities issue: Invalid value for '--ttl': 25h is longer than the"
        " maximum, 1d (KATAPULT_IPAM_CAPABILITIES_MAX_TTL)\n"
    )
    assert runner.invoke(app, [*args, "--ttl", "24h"], env=env).exit_code == 0
    longer = {**env, "KATAPULT_IPAM_CAPABILITIES_MAX_TTL": str(2 * 24 * 3600)}
    result = runner.invoke(app, [*args, "--ttl", "2d"], env=longer)
    assert result.exit_code == 0, result.output


def test_s7_verify_refuses_a_lifetime_beyond_the_maximum(tmp_path: Path) -> None:
    from katapult_ipam.auth.capabilities import issue_capabilities_token

    keys = CapabilitiesKeys.from_settings(Settings(signing_key_file=str(tmp_path / "k.pem")))
    token = issue_capabilities_token(
        keys, organization_id="org_x", scopes=["ip_addresses"], ttl=timedelta(days=2),
        issuer="katapult-ipam", max_ttl=timedelta(days=2),
    )  # fmt: skip
    with pytest.raises(InvalidSignedToken, match="lifetime is longer than the maximum"):
        verify_capabilities_token(keys, token, issuer="katapult-ipam")
    claims = verify_capabilities_token(
        keys, token, issuer="katapult-ipam", max_ttl=timedelta(days=2)
    )
    assert claims.organization_id == "org_x"
    with pytest.raises(ValueError, match="longer than the maximum"):
        issue_capabilities_token(
            keys, organization_id="org_x", scopes=["ip_addresses"], ttl=timedelta(days=2),
            issuer="katapult-ipam",
        )  # fmt: skip


def test_s7_revoke_sets_the_organizations_not_before(
    env: dict[str, str], engine: Engine, world: World
) -> None:
    table = m.Organization.__table__
    before = datetime.now(UTC)
    result = runner.invoke(app, ["capabilities", "revoke", "--organization", "acme"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("revoked every capabilities token of acme issued until ")
    with engine.connect() as c:
        rows = dict(c.execute(select(table.c.sub_domain, table.c.tokens_not_before)).all())
    assert rows["acme"] is not None
    assert rows["acme"] >= before
    assert rows["globex"] is None
    unknown = runner.invoke(app, ["capabilities", "revoke", "--organization", "nope"], env=env)
    assert (unknown.exit_code, unknown.stderr) == (1, "no organization 'nope'\n")


# -- N13: public-key only reads the key; a key is made only in an existing directory --------


def test_n13_public_key_never_makes_a_key(tmp_path: Path) -> None:
    for missing in (tmp_path / "k.pem", tmp_path / "nonexist" / "dir" / "k.pem"):
        result = runner.invoke(
            app,
            ["capabilities", "public-key"],
            env={"KATAPULT_IPAM_SIGNING_KEY_FILE": str(missing)},
        )
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == (
            f"no signing key at {missing} (KATAPULT_IPAM_SIGNING_KEY_FILE): it is made when"
            " `katapult-ipam serve` first starts, or by `katapult-ipam capabilities issue`\n"
        )
    assert list(tmp_path.iterdir()) == []
