"""The operator commands: VMs to and from the trash, organizations suspended."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from katapult_ipam.app import create_app
from katapult_ipam.cli import app
from katapult_ipam.store import models as m
from tests.support.api import assert_error, bearer
from tests.support.world import ACME_FULL_TOKEN, World

runner = CliRunner()


def invoke(database_url: str, *args: str) -> Any:
    return runner.invoke(app, list(args), env={"KATAPULT_IPAM_DATABASE_URL": database_url})


def test_a_vm_goes_to_the_trash_and_comes_back(
    database_url: str, settings: Any, world: World
) -> None:
    vm_id = world.vm("web-1")
    result = invoke(database_url, "vms", "trash", "--organization", "acme", "web-1")
    assert result.exit_code == 0, result.output
    assert f"{vm_id} is in the trash as trsh_" in result.output
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers.update(bearer(ACME_FULL_TOKEN))
        path = f"/core/v1/virtual_machines/{vm_id}"
        assert_error(client.get(path), 406, "object_in_trash")
        again = invoke(database_url, "vms", "trash", "--organization", "acme", vm_id)
        assert again.exit_code == 1
        assert "is in the trash already" in again.output
        restored = invoke(
            database_url, "vms", "restore", "--organization", "acme", "web-1.acme.example.net"
        )
        assert restored.exit_code == 0, restored.output
        assert client.get(path).status_code == 200
    not_there = invoke(database_url, "vms", "restore", "--organization", "acme", "web-1")
    assert not_there.exit_code == 1
    assert "is not in the trash" in not_there.output


def test_a_vm_of_another_organization_is_not_found(database_url: str, world: World) -> None:
    before = world.snapshot()
    result = invoke(database_url, "vms", "trash", "--organization", "globex", "web-1")
    assert result.exit_code == 1
    assert "no virtual machine 'web-1'" in result.output
    assert world.snapshot() == before


def test_suspending_an_organization(database_url: str, settings: Any, world: World) -> None:
    assert invoke(database_url, "organizations", "suspend", "acme").exit_code == 0
    orgs = m.Organization.__table__
    with world.engine.connect() as c:
        assert c.execute(select(orgs.c.suspended).where(orgs.c.sub_domain == "acme")).scalar()
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers.update(bearer(ACME_FULL_TOKEN))
        listing = client.get(
            "/core/v1/organizations/_/ip_addresses", params={"organization[sub_domain]": "acme"}
        )
        assert_error(listing, 403, "organization_suspended")
        twice = invoke(database_url, "organizations", "suspend", "acme")
        assert "(it already was)" in twice.output
        assert invoke(database_url, "organizations", "unsuspend", "acme").exit_code == 0
        listing = client.get(
            "/core/v1/organizations/_/ip_addresses", params={"organization[sub_domain]": "acme"}
        )
        assert listing.status_code == 200
    unknown = invoke(database_url, "organizations", "suspend", "nope")
    assert unknown.exit_code == 1
    assert "no organization 'nope'" in unknown.output
