"""The katapult-ipam command, in-process."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from katapult_ipam.cli import app
from katapult_ipam.cli.credentials import parse_duration
from katapult_ipam.store import models as m
from katapult_ipam.tokens import hash_secret
from tests.support.world import World

runner = CliRunner()


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {"KATAPULT_IPAM_DATABASE_URL": database_url}


def test_tokens_create_prints_the_secret_once_and_stores_a_hash(
    env: dict[str, str], engine: Engine, world: World
) -> None:
    args = ["tokens", "create", "--organization", "acme", "--name", "ci",
            "--scope", "ip_addresses", "--allowed-network", "127.0.0.0/8",
            "--expires-in", "30d"]  # fmt: skip
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert len(secret) >= 40
    table = m.APIToken.__table__
    with engine.connect() as c:
        row = c.execute(select(table).where(table.c.name == "ci")).one()
    assert row.secret_hash == hash_secret(secret)
    assert (row.scopes, row.allowed_networks) == ("ip_addresses", "127.0.0.0/8")
    assert row.expires_at is not None
    again = runner.invoke(app, args, env=env)
    assert again.exit_code == 1
    assert "exists" in again.output


def test_tokens_create_for_an_unknown_organization(env: dict[str, str], world: World) -> None:
    result = runner.invoke(
        app, ["tokens", "create", "--organization", "nope", "--name", "x", "--scope", "s"], env=env
    )
    assert result.exit_code == 1
    assert "no organization" in result.output


def test_load_rejects_a_bad_file_as_a_whole(
    env: dict[str, str], tmp_path: Path, world: World
) -> None:
    before = world.snapshot()
    bad = tmp_path / "bad.yaml"
    bad.write_text("organizations:\n  - {name: X, sub_domain: x, ip_addresses: [{address: 1}]}\n")
    result = runner.invoke(app, ["load", str(bad)], env=env)
    assert result.exit_code == 1
    assert "nothing was loaded" in result.output
    assert world.snapshot() == before


def test_the_demo_inventory_loads(env: dict[str, str], repo_root: Path) -> None:
    demo = str(repo_root / "examples" / "demo-inventory.yaml")
    result = runner.invoke(app, ["demo", demo], env=env)
    assert result.exit_code == 0, result.output
    assert "curl -s -X POST http://127.0.0.1:8080/core/v1/virtual_machines/_/allocate_ip" in (
        result.output
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30d", timedelta(days=30)), ("15m", timedelta(minutes=15)), ("2w", timedelta(weeks=2))],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_a_bad_duration() -> None:
    with pytest.raises(typer.BadParameter):
        parse_duration("soon")


def test_maintenance_on_and_off(env: dict[str, str], engine: Engine, world: World) -> None:
    from katapult_ipam.store.queries import flags

    assert runner.invoke(app, ["maintenance", "on"], env=env).exit_code == 0
    with engine.connect() as c:
        assert flags.flag_enabled(c, "maintenance")
    assert runner.invoke(app, ["maintenance", "off"], env=env).exit_code == 0
    with engine.connect() as c:
        assert not flags.flag_enabled(c, "maintenance")
    assert runner.invoke(app, ["maintenance", "maybe"], env=env).exit_code == 2


def test_a_revoked_token_is_refused(env: dict[str, str], settings: Any, world: World) -> None:
    from starlette.testclient import TestClient

    from katapult_ipam.app import create_app
    from tests.support.api import PATH, bearer
    from tests.support.world import ACME_TOKEN

    result = runner.invoke(app, ["tokens", "revoke", "--organization", "acme", "--name", "main"],
                           env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.post(PATH, json={}, headers=bearer(ACME_TOKEN))
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_api_token"
    again = runner.invoke(app, ["tokens", "revoke", "--organization", "acme", "--name", "main"],
                          env=env)  # fmt: skip
    assert again.exit_code == 1
