"""POST /core/v1/virtual_machines/:virtual_machine/allocate_ip, through HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from katapult_ipam.store import models as m
from tests.support.api import PATH, allocate, assert_error, refused
from tests.support.world import (
    ACME_EXPIRED_TOKEN,
    ACME_NO_SCOPE_TOKEN,
    GLOBEX_TOKEN,
    World,
)


def audit_rows(world: World) -> int:
    with world.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(m.AllocationEvent)).scalar_one())


# -- success -------------------------------------------------------------------


def test_allocates_by_ids_with_every_field(client: TestClient, world: World) -> None:
    vm_id = world.vm("web-1")
    response = allocate(
        client, {"virtual_machine": {"id": vm_id}, "ip_address": {"id": world.ip("192.0.2.10")}}
    )
    assert response.status_code == 200, response.text
    ip = response.json()["ip_address"]
    assert list(ip) == [
        "id", "address", "reverse_dns", "vip", "label", "address_with_mask",
        "network", "subnet", "allocation_id", "allocation_type",
    ]  # fmt: skip
    assert ip["id"] == world.ip("192.0.2.10")
    assert ip["address"] == "192.0.2.10"
    assert ip["reverse_dns"] == "web-1.acme.example.net"
    assert ip["vip"] is False
    assert ip["label"] is None
    assert ip["address_with_mask"] == "192.0.2.10/24"
    assert ip["allocation_id"] == vm_id
    assert ip["allocation_type"] == "VirtualMachine"
    network = ip["network"]
    assert network["id"].startswith("netw_")
    assert (network["name"], network["permalink"], network["default"]) == (
        "Public Network", "uk-lon-01-public", True,
    )  # fmt: skip
    data_center = network["data_center"]
    assert data_center["id"].startswith("loc_")
    assert (data_center["name"], data_center["permalink"]) == ("London", "uk-lon-01")
    country = data_center["country"]
    assert country["id"].startswith("ctry_")
    assert {k: v for k, v in country.items() if k != "id"} == {
        "name": "United Kingdom", "iso_code2": "GB", "iso_code3": "GBR",
        "time_zone": "Europe/London", "eu": False,
    }  # fmt: skip
    subnet = ip["subnet"]
    assert subnet["id"].startswith("sbnt_")
    assert {k: v for k, v in subnet.items() if k != "id"} == {
        "address": "192.0.2.0", "gateway": "192.0.2.1", "mask": 24,
        "billable": True, "version": 4,
    }  # fmt: skip


def test_the_store_records_the_allocation_and_an_audit_entry(
    client: TestClient, world: World
) -> None:
    response = allocate(
        client,
        {
            "virtual_machine": {"fqdn": "web-1.acme.example.net"},
            "ip_address": {"address": "192.0.2.10"},
        },
        headers={"X-Request-Id": "req-123"},
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-123"
    row = world.ip_row("192.0.2.10")
    assert row.allocation_id == world.vm("web-1")
    assert row.allocation_type == "VirtualMachine"
    assert row.network_interface_id == world.nic("web-1", "eth0")
    with world.engine.connect() as c:
        event = c.execute(select(m.AllocationEvent.__table__)).one()
    assert event.action == "allocate"
    assert event.ip_address_id == row.id
    assert event.virtual_machine_id == world.vm("web-1")
    assert event.actor_type == "APIToken"
    assert event.actor_id.startswith("tok_")
    assert event.request_id == "req-123"


def test_fqdn_lookup_ignores_case_and_reverse_dns_is_lower_case(
    client: TestClient, world: World
) -> None:
    response = allocate(
        client,
        {
            "virtual_machine": {"fqdn": "WEB-2.acme.example.net"},
            "ip_address": {"address": "192.0.2.10"},
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["ip_address"]["reverse_dns"] == "web-2.acme.example.net"


@pytest.mark.parametrize("notation", ["2001:db8:1::10", "2001:0db8:0001:0000:0000:0000:0000:0010",
                                      "2001:DB8:1:0::10"])  # fmt: skip
def test_ipv6_addresses_in_any_notation(client: TestClient, world: World, notation: str) -> None:
    response = allocate(
        client, {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": notation}}
    )
    assert response.status_code == 200, response.text
    ip = response.json()["ip_address"]
    assert ip["address"] == "2001:db8:1::10"
    assert ip["address_with_mask"] == "2001:db8:1::10/64"
    assert ip["subnet"]["version"] == 6


def test_the_path_segment_names_the_virtual_machine(client: TestClient, world: World) -> None:
    vm_id = world.vm("web-1")
    response = allocate(
        client,
        {"ip_address": {"address": "192.0.2.10"}},
        path=f"/core/v1/virtual_machines/{vm_id}/allocate_ip",
    )
    assert response.status_code == 200, response.text
    assert response.json()["ip_address"]["allocation_id"] == vm_id


@pytest.mark.parametrize("segment", ["_", "virtual_machine", ":virtual_machine"])
def test_placeholder_segments_leave_the_body_in_charge(
    client: TestClient, world: World, segment: str
) -> None:
    response = allocate(
        client,
        {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "192.0.2.10"}},
        path=f"/core/v1/virtual_machines/{segment}/allocate_ip",
    )
    assert response.status_code == 200, response.text


def test_arguments_from_the_query_string(client: TestClient, world: World) -> None:
    response = client.post(
        PATH,
        params={"virtual_machine[id]": world.vm("web-1"), "ip_address[address]": "192.0.2.10"},
    )
    assert response.status_code == 200, response.text


def test_the_body_wins_over_the_query_string(client: TestClient, world: World) -> None:
    response = client.post(
        PATH,
        params={"virtual_machine[id]": world.vm("web-2"), "ip_address[address]": "192.0.2.12"},
        json={
            "virtual_machine": {"id": world.vm("web-1")},
            "ip_address": {"address": "192.0.2.10"},
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["ip_address"]["address"] == "192.0.2.10"
    assert response.json()["ip_address"]["allocation_id"] == world.vm("web-1")


def test_a_vip_keeps_its_label(client: TestClient, world: World) -> None:
    response = allocate(
        client,
        {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "192.0.2.13"}},
    )
    assert response.status_code == 200
    ip = response.json()["ip_address"]
    assert (ip["vip"], ip["label"]) == (True, "frontend")


def test_the_oldest_interface_on_the_network_is_used(client: TestClient, world: World) -> None:
    response = allocate(
        client,
        {"virtual_machine": {"id": world.vm("multi")}, "ip_address": {"address": "192.0.2.10"}},
    )
    assert response.status_code == 200
    assert world.ip_row("192.0.2.10").network_interface_id == world.nic("multi", "first")


def test_the_interface_on_the_ips_network_is_chosen(client: TestClient, world: World) -> None:
    # web-2's first interface is in Amsterdam; the London address needs its second.
    response = allocate(
        client,
        {"virtual_machine": {"id": world.vm("web-2")}, "ip_address": {"address": "192.0.2.10"}},
    )
    assert response.status_code == 200
    assert world.ip_row("192.0.2.10").network_interface_id == world.nic("web-2", "eth1")


def test_repeating_an_allocation_succeeds_without_change(client: TestClient, world: World) -> None:
    body = {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "192.0.2.10"}}
    first = allocate(client, body)
    before = world.snapshot()
    second = allocate(client, body)
    assert second.status_code == 200
    assert second.json() == first.json()
    assert world.snapshot() == before
    assert audit_rows(world) == 1


def test_an_address_allocated_by_the_inventory_repeats_as_success(
    client: TestClient, world: World
) -> None:
    response = allocate(
        client,
        {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "192.0.2.11"}},
    )
    assert response.status_code == 200
    assert response.json()["ip_address"]["reverse_dns"] == "web-1.acme.example.net"


# -- refusals, each leaving the store exactly as it was -----------------------------


def test_ip_already_allocated(client: TestClient, world: World) -> None:
    error = refused(
        client, world, 422, "ip_already_allocated",
        {"virtual_machine": {"id": world.vm("web-2")}, "ip_address": {"address": "192.0.2.11"}},
    )  # fmt: skip
    assert error["description"] == "This IP address has already been allocated to another resource"
    assert error["detail"] == {}


def test_no_interface_available_without_interfaces(client: TestClient, world: World) -> None:
    error = refused(
        client, world, 422, "no_interface_available",
        {"virtual_machine": {"id": world.vm("no-nic")}, "ip_address": {"address": "192.0.2.10"}},
    )  # fmt: skip
    assert error["description"] == (
        "This virtual machine does not have a network interface that is compatible "
        "with the provided IP address"
    )


def test_no_interface_available_on_another_network(client: TestClient, world: World) -> None:
    refused(
        client, world, 422, "no_interface_available",
        {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "198.51.100.10"}},
    )  # fmt: skip


def test_object_in_trash(client: TestClient, world: World) -> None:
    error = refused(
        client, world, 406, "object_in_trash",
        {"virtual_machine": {"fqdn": "trashed.acme.example.net"},
         "ip_address": {"address": "192.0.2.10"}},
    )  # fmt: skip
    trash = error["detail"]["trash_object"]
    assert trash["id"].startswith("trsh_")
    assert trash["object_id"] == world.vm("trashed")
    assert trash["object_type"] == "VirtualMachine"
    assert isinstance(trash["keep_until"], int)
    with world.engine.connect() as c:
        keep_until = c.execute(select(m.TrashObject.keep_until)).scalar_one()
    assert trash["keep_until"] == int(keep_until.timestamp())


def test_the_trash_is_checked_before_the_ip_is_looked_up(client: TestClient, world: World) -> None:
    refused(
        client, world, 406, "object_in_trash",
        {"virtual_machine": {"id": world.vm("trashed")}, "ip_address": {"address": "10.9.9.9"}},
    )  # fmt: skip


@pytest.mark.parametrize(
    "lookup",
    [{"id": "vm_doesNotExist0000"}, {"fqdn": "nope.example.net"}, {"id": ""}],
)
def test_virtual_machine_not_found(client: TestClient, world: World, lookup: Any) -> None:
    error = refused(
        client, world, 404, "virtual_machine_not_found",
        {"virtual_machine": lookup, "ip_address": {"address": "192.0.2.10"}},
    )  # fmt: skip
    assert error["description"] == (
        "No virtual machine was found matching any of the criteria provided in the arguments"
    )


@pytest.mark.parametrize(
    "lookup",
    [{"id": "ip_doesNotExist0000"}, {"address": "192.0.2.200"}, {"address": "not-an-ip"},
     {"address": "192.0.2.999"}],
)  # fmt: skip
def test_ip_address_not_found(client: TestClient, world: World, lookup: Any) -> None:
    error = refused(
        client, world, 404, "ip_address_not_found",
        {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": lookup},
    )  # fmt: skip
    assert error["description"] == (
        "No IP addresses were found matching any of the criteria provided in the arguments"
    )


def test_another_organizations_vm_is_invisible(client: TestClient, world: World) -> None:
    refused(
        client, world, 404, "virtual_machine_not_found",
        {"virtual_machine": {"id": world.vm("app-1")}, "ip_address": {"address": "192.0.2.10"}},
    )  # fmt: skip
    refused(
        client, world, 404, "virtual_machine_not_found",
        {"virtual_machine": {"fqdn": "app-1.globex.example.net"},
         "ip_address": {"address": "192.0.2.10"}},
    )  # fmt: skip


def test_another_organizations_ip_is_invisible(client: TestClient, world: World) -> None:
    for lookup in ({"id": world.ip("192.0.2.50")}, {"address": "192.0.2.50"}):
        refused(
            client, world, 404, "ip_address_not_found",
            {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": lookup},
        )  # fmt: skip


def test_the_other_organization_works_with_its_own_token(client: TestClient, world: World) -> None:
    response = allocate(
        client,
        {"virtual_machine": {"id": world.vm("app-1")}, "ip_address": {"address": "192.0.2.50"}},
        headers={"Authorization": f"Bearer {GLOBEX_TOKEN}"},
    )
    assert response.status_code == 200, response.text


# -- the authenticator -----------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic abc", "token"])
def test_missing_api_token(client: TestClient, world: World, header: str | None) -> None:
    del client.headers["Authorization"]
    headers = {} if header is None else {"Authorization": header}
    error = refused(client, world, 400, "missing_api_token", {}, headers=headers)
    assert error["description"] == (
        "No API token was provided in the Authorization header. "
        "Ensure a token is provided prefixed with Bearer"
    )


@pytest.mark.parametrize("token", ["not-a-token", ACME_EXPIRED_TOKEN])
def test_invalid_api_token(client: TestClient, world: World, token: str) -> None:
    error = refused(
        client, world, 403, "invalid_api_token", {}, headers={"Authorization": f"Bearer {token}"}
    )
    assert error["description"] == (
        "The API token provided was not valid (it may not exist or have expired)"
    )


def test_scope_not_granted(client: TestClient, world: World) -> None:
    error = refused(
        client, world, 403, "scope_not_granted",
        {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "192.0.2.10"}},
        headers={"Authorization": f"Bearer {ACME_NO_SCOPE_TOKEN}"},
    )  # fmt: skip
    assert error["detail"] == {"scopes": ["ip_addresses"]}


def test_authentication_comes_before_arguments(client: TestClient, world: World) -> None:
    del client.headers["Authorization"]
    refused(
        client, world, 400, "missing_api_token",
        content=b"{not json", headers={"Content-Type": "application/json"},
    )  # fmt: skip


def test_scope_comes_before_arguments(client: TestClient, world: World) -> None:
    refused(
        client, world, 403, "scope_not_granted", {},
        headers={"Authorization": f"Bearer {ACME_NO_SCOPE_TOKEN}"},
    )  # fmt: skip


# -- arguments ----------------------------------------------------------------------------


def test_invalid_json_body(client: TestClient, world: World) -> None:
    error = refused(
        client, world, 400, "invalid_json_body",
        content=b'{"virtual_machine": ', headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert error["description"] == "The JSON body provided with this request is invalid"
    assert isinstance(error["detail"]["details"], str)
    assert error["detail"]["details"]


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        # The path segment fills virtual_machine when the body leaves it out.
        ({}, "ip_address"),
        (None, "ip_address"),
        ([1, 2], "ip_address"),
        ("text", "ip_address"),
        ({"virtual_machine": None, "ip_address": {"address": "192.0.2.10"}}, "virtual_machine"),
        ({"virtual_machine": {"id": "vm_x"}}, "ip_address"),
        ({"virtual_machine": {"id": "vm_x"}, "ip_address": None}, "ip_address"),
    ],
)
def test_missing_required_argument(
    client: TestClient, world: World, body: Any, missing: str
) -> None:
    error = refused(client, world, 400, "missing_required_argument", body)
    assert error["description"] == f"The '{missing}' argument is required but has not been provided"
    assert error["detail"]["path"] == [missing]
    assert error["detail"]["argument"]["name"] == missing
    assert isinstance(error["detail"]["argument"]["description"], str)


def test_a_body_that_is_not_json_is_not_read(client: TestClient, world: World) -> None:
    refused(
        client, world, 400, "missing_required_argument",
        content=b'{"virtual_machine": {"id": "x"}}', headers={"Content-Type": "text/plain"},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "path", "issue"),
    [
        ({"virtual_machine": {}}, ["virtual_machine"], "missing_lookup_value"),
        ({"virtual_machine": {"other": "x"}}, ["virtual_machine"], "missing_lookup_value"),
        ({"virtual_machine": {"id": "vm_x", "fqdn": "a.b"}}, ["virtual_machine"],
         "ambiguous_lookup_values"),
        ({"virtual_machine": "vm_x"}, ["virtual_machine"], "object_expected"),
        ({"virtual_machine": ["vm_x"]}, ["virtual_machine"], "object_expected"),
        ({"virtual_machine": {"id": 5}}, ["virtual_machine", "id"], "invalid_scalar"),
        ({"virtual_machine": {"id": "vm_x"}, "ip_address": {}}, ["ip_address"],
         "missing_lookup_value"),
        ({"virtual_machine": {"id": "vm_x"}, "ip_address": {"id": "a", "address": "b"}},
         ["ip_address"], "ambiguous_lookup_values"),
        ({"virtual_machine": {"id": "vm_x"}, "ip_address": {"address": True}},
         ["ip_address", "address"], "invalid_scalar"),
        ({"virtual_machine": {"id": "vm_x"}, "ip_address": 7}, ["ip_address"],
         "object_expected"),
    ],
)  # fmt: skip
def test_invalid_argument(
    client: TestClient, world: World, body: Any, path: list[str], issue: str
) -> None:
    error = refused(client, world, 400, "invalid_argument", body)
    assert error["description"] == f"The '{'.'.join(path)}' argument is invalid"
    detail = error["detail"]
    assert detail["path"] == path
    assert detail["issue"] == issue
    assert detail["index"] is None
    assert detail["errors"] == []
    if issue == "object_expected":
        assert detail["issue_description"] is None  # Apia has no sentence for it
    else:
        assert isinstance(detail["issue_description"], str)
        assert detail["issue_description"]
    assert detail["argument"]["name"] == path[-1]
    assert set(detail["argument"]) == {"id", "name", "description"}


def test_arguments_are_checked_in_definition_order(client: TestClient, world: World) -> None:
    error = refused(
        client, world, 400, "invalid_argument", {"virtual_machine": {}, "ip_address": {}}
    )
    assert error["detail"]["path"] == ["virtual_machine"]


def test_query_and_body_lookups_merge_into_an_ambiguous_lookup(
    client: TestClient, world: World
) -> None:
    before = world.snapshot()
    response = client.post(
        PATH,
        params={"virtual_machine[fqdn]": "web-1.acme.example.net"},
        json={
            "virtual_machine": {"id": world.vm("web-1")},
            "ip_address": {"address": "192.0.2.10"},
        },
    )
    assert assert_error(response, 400, "invalid_argument")["detail"]["issue"] == (
        "ambiguous_lookup_values"
    )
    assert world.snapshot() == before


@pytest.mark.parametrize(
    ("vm", "ip", "code"),
    [
        ({"fqdn": "web-1\x00.acme.example.net"}, {"address": "192.0.2.10"},
         "virtual_machine_not_found"),
        ({"id": "vm_\x00"}, {"address": "192.0.2.10"}, "virtual_machine_not_found"),
        ({"fqdn": "web-1.acme.example.net"}, {"id": "ip_\x00"}, "ip_address_not_found"),
        ({"fqdn": "web-1.acme.example.net"}, {"address": "192.0.2.10\x00"},
         "ip_address_not_found"),
    ],
)  # fmt: skip
def test_nul_characters_name_nothing(
    client: TestClient, world: World, vm: Any, ip: Any, code: str
) -> None:
    # PostgreSQL refuses NUL in text outright; that must be a 404, not a 500.
    refused(client, world, 404, code, {"virtual_machine": vm, "ip_address": ip})


def test_an_array_in_the_query_string_is_not_a_lookup(client: TestClient, world: World) -> None:
    response = client.post(PATH, params={"virtual_machine[]": "vm_x"})
    error = assert_error(response, 400, "invalid_argument")
    assert error["detail"]["issue"] == "object_expected"


def test_a_lost_race_is_a_refusal_unless_the_winner_was_this_very_allocation(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    from katapult_ipam.store.queries import ip_addresses

    real = ip_addresses.allocate_if_free
    winner = world.vm("web-2")

    def another_wins_first(
        connection: Any, ip: Any, vm_id: str, interface_id: str, now: Any
    ) -> bool:
        # Between our read and our write, web-2 takes the IP: our conditional write misses.
        nic = connection.execute(
            text("SELECT id FROM network_interfaces WHERE virtual_machine_id = :vm"
                 " AND network_id = :network"),
            {"vm": winner, "network": ip.network.id},
        ).scalar_one()  # fmt: skip
        assert real(connection, ip, winner, nic, now)
        return real(connection, ip, vm_id, interface_id, now)

    monkeypatch.setattr(ip_addresses, "allocate_if_free", another_wins_first)
    body = {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "192.0.2.10"}}
    response = client.post(PATH, json=body)
    lost = assert_error(response, 422, "ip_already_allocated")
    assert lost["detail"] == {}


def test_an_address_renumbered_between_read_and_write_is_not_allocated(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An inventory load re-addresses the IP after our read: the conditional write
    misses (it names the address it read), and the address asked for is gone."""
    from sqlalchemy import text

    from katapult_ipam.store.queries import ip_addresses

    real = ip_addresses.allocate_if_free

    def renumbered_first(connection: Any, ip: Any, vm_id: str, interface_id: str, now: Any) -> bool:
        # The new address's free row goes first: an address is unique.
        connection.execute(text("DELETE FROM ip_addresses WHERE address = '192.0.2.99'"))
        connection.execute(
            text("UPDATE ip_addresses SET address = '192.0.2.99' WHERE id = :id"), {"id": ip.id}
        )
        return real(connection, ip, vm_id, interface_id, now)

    monkeypatch.setattr(ip_addresses, "allocate_if_free", renumbered_first)
    body = {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "192.0.2.10"}}
    before = world.snapshot()
    response = client.post(PATH, json=body)
    assert_error(response, 404, "ip_address_not_found")
    assert world.snapshot() == before  # the stand-in renumbering went with the refusal
