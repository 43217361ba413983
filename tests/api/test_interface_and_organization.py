"""One interface (with its speed profile), a new address allocated through one, and one
organization, through HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from httpx2 import Response
from sqlalchemy import Engine, select, update
from starlette.testclient import TestClient

from katapult_ipam.app import create_app
from katapult_ipam.config import Settings
from katapult_ipam.store import models as m
from tests.support import factories as f
from tests.support.api import assert_error, bearer, refused_call
from tests.support.world import (
    ACME_FULL_TOKEN,
    ACME_TOKEN,
    GLOBEX_FULL_TOKEN,
    World,
)

NIC = "/core/v1/virtual_machine_network_interfaces/virtual_machine_network_interface"
NEW_IP = f"{NIC}/allocate_new_ip"
ORGANIZATION = "/core/v1/organizations/organization"
TOKEN = "interface-token-secret-0123456789ab"


@pytest.fixture
def full(settings: Settings, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers.update(bearer(ACME_FULL_TOKEN))
        yield client


def get_nic(client: TestClient, nic_id: str) -> Response:
    return client.get(NIC, params={"virtual_machine_network_interface[id]": nic_id})


def new_ip(client: TestClient, nic_id: str, version: str = "ipv4") -> Response:
    body = {"virtual_machine_network_interface": {"id": nic_id}, "address_version": version}
    return client.post(NEW_IP, json=body)


def events(engine: Engine) -> list[tuple[Any, ...]]:
    table = m.AllocationEvent.__table__
    query = select(table.c.action, table.c.ip_address_id, table.c.operation).order_by(table.c.id)
    with engine.connect() as c:
        return [tuple(row) for row in c.execute(query)]


# -- one interface --------------------------------------------------------------------------


def test_one_interface_with_its_speed_profile(full: TestClient, world: World) -> None:
    nic_id = world.nic("web-1", "eth0")
    response = get_nic(full, nic_id)
    assert response.status_code == 200, response.text
    nic = response.json()["virtual_machine_network_interface"]
    assert list(nic) == [
        "id", "virtual_machine", "name", "network", "virtual_network", "mac_address", "state",
        "ip_addresses", "speed_profile",
    ]  # fmt: skip
    assert nic["virtual_machine"] == {"id": world.vm("web-1"), "name": "web-1"}
    assert nic["ip_addresses"] == [{"id": world.ip("192.0.2.11"), "address": "192.0.2.11"}]
    assert nic["state"] == "attached"
    assert nic["speed_profile"]["permalink"] == "1gbps"
    assert nic["speed_profile"]["id"].startswith("nsp_")
    old = full.get(f"/core/v1/virtual_machine_network_interfaces/_?"
                   f"virtual_machine_network_interface[id]={nic_id}")  # fmt: skip
    assert old.json() == response.json()
    in_path = full.get(f"/core/v1/virtual_machine_network_interfaces/{nic_id}")
    assert in_path.json() == response.json()


def test_one_interface_not_found(full: TestClient, world: World) -> None:
    for nic_id in ("vmnet_doesNotExist001", world.nic("app-1", "eth0")):  # nobody's, Globex's
        refused_call(world, 404, "virtual_machine_network_interface_not_found",
                     partial(get_nic, full, nic_id))  # fmt: skip


def test_one_interface_needs_virtual_machines(client: TestClient, world: World) -> None:
    refused_call(world, 403, "scope_not_granted",
                 lambda: get_nic(client, world.nic("web-1", "eth0")))  # fmt: skip


# -- allocate_new_ip ------------------------------------------------------------------------


def test_a_new_address_allocated_through_the_interface(full: TestClient, world: World) -> None:
    nic_id, vm_id = world.nic("web-2", "eth1"), world.vm("web-2")
    response = new_ip(full, nic_id)
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["ip_address"]
    ip = response.json()["ip_address"]
    assert (ip["allocation_id"], ip["allocation_type"]) == (vm_id, "VirtualMachine")
    assert ip["network"]["permalink"] == "uk-lon-01-public"
    assert ip["reverse_dns"] == "web-2.acme.example.net"
    operation = "post:virtual_machine_network_interface_allocate_new_ip"
    assert events(world.engine) == [("create", ip["id"], operation),
                                    ("allocate", ip["id"], operation)]  # fmt: skip
    stored = world.ip_row(ip["address"])
    assert stored.network_interface_id == nic_id
    six = new_ip(full, nic_id, "ipv6").json()["ip_address"]
    assert ":" in six["address"]
    assert six["allocation_id"] == vm_id


def test_a_new_address_in_the_old_clients_form(full: TestClient, world: World) -> None:
    nic_id = world.nic("web-1", "eth0")
    body = {"virtual_machine_network_interface": {"id": nic_id}, "address_version": "ipv4"}
    response = full.post("/core/v1/virtual_machine_network_interfaces/_/allocate_new_ip", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["ip_address"]["allocation_id"] == world.vm("web-1")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"address_version": "ipv5"}, 400, "invalid_argument"),
        ({"address_version": None}, 400, "missing_required_argument"),
        ({"virtual_machine_network_interface": {"id": "vmnet_nope"}}, 404,
         "virtual_machine_network_interface_not_found"),
    ],
)  # fmt: skip
def test_allocate_new_ip_refusals(
    full: TestClient, world: World, body: dict[str, Any], status: int, code: str
) -> None:
    payload = {"virtual_machine_network_interface": {"id": world.nic("web-1", "eth0")},
               "address_version": "ipv4", **body}  # fmt: skip
    refused_call(world, status, code, lambda: full.post(NEW_IP, json=payload))


def test_allocate_new_ip_for_a_trashed_vm_is_refused(full: TestClient, world: World) -> None:
    nic_id = world.nic("trashed", "eth0")
    # The document's refusal for this operation: 403 permission_denied, saying why.
    error = refused_call(world, 403, "permission_denied", lambda: new_ip(full, nic_id))
    assert "is in the trash" in error["detail"]["details"]


def test_allocate_new_ip_on_an_empty_pool_changes_nothing(
    settings: Settings, engine: Engine
) -> None:
    token = {"name": "t", "secret": TOKEN, "scopes": ["ip_addresses", "virtual_machines"]}
    ids = f.load(engine, f.inventory(
        f.organization("tiny", vms=[f.vm("box", "tiny-net")], api_tokens=[token]),
        networks=[f.network("tiny-net", "192.0.2.0/31")],
    ))  # fmt: skip
    nic_id = ids.nic("tiny", "box", "tiny-net")
    world = World(engine)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers.update(bearer(TOKEN))
        # A /31 hands out both its addresses (RFC 3021).
        taken = {new_ip(client, nic_id).json()["ip_address"]["address"] for _ in range(2)}
        assert taken == {"192.0.2.0", "192.0.2.1"}
        refused_call(world, 503, "no_available_addresses", lambda: new_ip(client, nic_id))
        refused_call(world, 503, "no_available_addresses",
                     lambda: new_ip(client, nic_id, "ipv6"))  # fmt: skip


# -- one organization -----------------------------------------------------------------------


def test_an_organization(full: TestClient, world: World) -> None:
    response = full.get(ORGANIZATION, params={"organization[sub_domain]": "acme"})
    assert response.status_code == 200, response.text
    org = response.json()["organization"]
    assert list(response.json()) == ["organization"]
    assert list(org) == [
        "id", "uuid", "name", "sub_domain", "infrastructure_domain", "created_at",
        "activated_at", "suspended", "managed", "billing_name", "address1", "address2",
        "address3", "address4", "postcode", "vat_number", "phone_number", "currency",
        "country", "country_state",
    ]  # fmt: skip
    assert (org["name"], org["sub_domain"]) == ("Acme", "acme")
    assert org["infrastructure_domain"] == "acme.katapult-ipam.invalid"
    by_id = full.get(f"/core/v1/organizations/{org['id']}")
    assert by_id.json() == response.json()


def test_an_organization_refused(full: TestClient, world: World, engine: Engine) -> None:
    refused_call(
        world,
        404,
        "organization_not_found",
        lambda: full.get(ORGANIZATION, params={"organization[sub_domain]": "globex"}),
    )
    with engine.begin() as c:
        c.execute(
            update(m.Organization).where(m.Organization.sub_domain == "acme").values(suspended=True)
        )
    refused_call(
        world,
        403,
        "organization_suspended",
        lambda: full.get(ORGANIZATION, params={"organization[sub_domain]": "acme"}),
    )
    full.headers.update(bearer(ACME_TOKEN))  # no organizations:read
    refused_call(
        world,
        403,
        "scope_not_granted",
        lambda: full.get(ORGANIZATION, params={"organization[sub_domain]": "acme"}),
    )


def test_globex_reads_its_own(settings: Settings, world: World) -> None:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers.update(bearer(GLOBEX_FULL_TOKEN))
        body = client.get(ORGANIZATION, params={"organization[sub_domain]": "globex"}).json()
        assert body["organization"]["sub_domain"] == "globex"
        assert_error(get_nic(client, world.nic("web-1", "eth0")), 404,
                     "virtual_machine_network_interface_not_found")  # fmt: skip
