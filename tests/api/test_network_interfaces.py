"""Virtual machine network interfaces, through HTTP (lifecycle-facts §3): a VM's list,
its interface on a network, allocate_ip through an interface, and the addresses an
interface could be given.

Each is sent as the old client sends it (``_`` in the path, arguments in the query
string, no body; a real id in the path for available_ips) and as the generated
client does (the slot's literal name in the path, a JSON body for the POST). Every
refusal is checked to leave every table as it was.
"""

from __future__ import annotations

from typing import Any

import pytest
from httpx2 import Response
from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from katapult_ipam.store import models as m
from tests.support.api import bearer, refused_call
from tests.support.world import (
    ACME_FULL_TOKEN,
    ACME_NO_SCOPE_TOKEN,
    ACME_TOKEN,
    GLOBEX_FULL_TOKEN,
    World,
)

LISTED_KEYS = ["id", "name", "network", "virtual_network", "ip_addresses"]
LISTED_ADDRESS_KEYS = ["id", "address", "reverse_dns", "address_with_mask"]
INTERFACE_KEYS = [
    "id", "virtual_machine", "name", "network", "virtual_network", "mac_address", "state",
    "ip_addresses",
]  # fmt: skip
IP_KEYS = [
    "id", "address", "reverse_dns", "vip", "label", "address_with_mask",
    "network", "subnet", "allocation_id", "allocation_type",
]  # fmt: skip
PAGINATION_KEYS = ["current_page", "total_pages", "total", "per_page", "large_set"]
ALLOCATE = "/core/v1/virtual_machine_network_interfaces/{}/allocate_ip"
OLD, GENERATED = "old", "generated"


@pytest.fixture
def vms(client: TestClient) -> TestClient:
    """The client with a token holding virtual_machines (and every other scope)."""
    client.headers.update(bearer(ACME_FULL_TOKEN))
    return client


def audit_rows(world: World) -> int:
    with world.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(m.AllocationEvent)).scalar_one())


def list_interfaces(
    client: TestClient,
    style: str,
    lookup: dict[str, str],
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The VM's interfaces, as the old client (``_``) or the generated one asks;
    ``params`` are more of the query string (``page``, ``per_page``)."""
    slot = "_" if style == OLD else "virtual_machine"
    query = {f"virtual_machine[{k}]": v for k, v in lookup.items()} | (params or {})
    return client.get(
        f"/core/v1/virtual_machines/{slot}/network_interfaces", params=query, headers=headers
    )


def allocate(client: TestClient, style: str, interface: dict[str, str], ip: dict[str, str],
             **kwargs: Any) -> Response:  # fmt: skip
    """allocate_ip through an interface: the generated client's JSON body, or the old
    client's (``_`` in the path, the v5 body's order)."""
    if style == GENERATED:
        body = {"ip_address": ip, "virtual_machine_network_interface": interface}
        return client.post(ALLOCATE.format("virtual_machine_network_interface"), json=body,
                           **kwargs)  # fmt: skip
    body = {"virtual_machine_network_interface": interface, "ip_address": ip}
    return client.post(ALLOCATE.format("_"), json=body, **kwargs)


def available(client: TestClient, style: str, interface_id: str, version: str, **kwargs: Any
              ) -> Response:  # fmt: skip
    """available_ips: a real id and version in the path (old client), or the literal
    segments and the values in the query (generated client)."""
    if style == OLD:
        url = f"/core/v1/virtual_machine_network_interfaces/{interface_id}/available_ips/{version}"
        return client.get(url, **kwargs)
    return client.get(
        "/core/v1/virtual_machine_network_interfaces/virtual_machine_network_interface"
        "/available_ips/address_version",
        params={"virtual_machine_network_interface[id]": interface_id,
                "address_version": version},
        **kwargs,
    )  # fmt: skip


# -- GET /virtual_machines/:virtual_machine/network_interfaces ------------------------------


@pytest.mark.parametrize("style", [OLD, GENERATED])
def test_a_vms_interfaces_by_id(vms: TestClient, world: World, style: str) -> None:
    response = list_interfaces(vms, style, {"id": world.vm("web-2")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["pagination", "virtual_machine_network_interfaces"]
    assert body["pagination"] == {
        "current_page": 1, "total_pages": 1, "total": 2, "per_page": 30, "large_set": False,
    }  # fmt: skip
    assert list(body["pagination"]) == PAGINATION_KEYS
    items = body["virtual_machine_network_interfaces"]
    expected = sorted([world.nic("web-2", "eth0"), world.nic("web-2", "eth1")])
    assert [item["id"] for item in items] == expected
    for item in items:
        assert list(item) == LISTED_KEYS
        assert list(item["network"]) == ["id", "name"]
        assert item["virtual_network"] is None
        assert item["ip_addresses"] == []


def test_listed_addresses_in_the_2026_shape(vms: TestClient, world: World) -> None:
    # web-1 holds 192.0.2.11 in the standard world.
    response = list_interfaces(vms, GENERATED, {"fqdn": "WEB-1.acme.example.net"})
    assert response.status_code == 200, response.text
    (item,) = response.json()["virtual_machine_network_interfaces"]
    assert item["id"] == world.nic("web-1", "eth0")
    assert item["network"]["name"] == "Public Network"
    (address,) = item["ip_addresses"]
    assert list(address) == LISTED_ADDRESS_KEYS
    assert address == {
        "id": world.ip("192.0.2.11"), "address": "192.0.2.11",
        "reverse_dns": "web-1.acme.example.net", "address_with_mask": "192.0.2.11/24",
    }  # fmt: skip


@pytest.mark.parametrize("segment", ["{id}", ":virtual_machine"])
def test_the_path_names_the_vm(vms: TestClient, world: World, segment: str) -> None:
    vm_id = world.vm("web-2")
    if segment == "{id}":
        response = vms.get(f"/core/v1/virtual_machines/{vm_id}/network_interfaces")
    else:
        response = vms.get(f"/core/v1/virtual_machines/{segment}/network_interfaces",
                           params={"virtual_machine[id]": vm_id})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["pagination"]["total"] == 2


def test_pages_of_interfaces(vms: TestClient, world: World) -> None:
    vm = {"id": world.vm("web-2")}
    first = list_interfaces(vms, OLD, vm, {"page": "1", "per_page": "1"}).json()
    second = list_interfaces(vms, OLD, vm, {"page": "2", "per_page": "1"}).json()
    past = list_interfaces(vms, OLD, vm, {"page": "3", "per_page": "1"}).json()
    assert first["pagination"] == {
        "current_page": 1, "total_pages": 2, "total": 2, "per_page": 1, "large_set": False,
    }  # fmt: skip
    assert second["pagination"]["current_page"] == 2
    ids = [i["id"] for i in first["virtual_machine_network_interfaces"]]
    ids += [i["id"] for i in second["virtual_machine_network_interfaces"]]
    assert ids == sorted([world.nic("web-2", "eth0"), world.nic("web-2", "eth1")])
    assert past["pagination"] == {
        "current_page": 3, "total_pages": 2, "total": 2, "per_page": 1, "large_set": False,
    }  # fmt: skip
    assert past["virtual_machine_network_interfaces"] == []


def test_a_vm_without_interfaces(vms: TestClient, world: World) -> None:
    body = list_interfaces(vms, OLD, {"id": world.vm("no-nic")}).json()
    assert body["pagination"]["total"] == 0
    assert body["pagination"]["total_pages"] == 0
    assert body["virtual_machine_network_interfaces"] == []


@pytest.mark.parametrize(
    ("params", "rule"), [({"page": "0"}, "greater_than_zero"),
                         ({"per_page": "201"}, "less_than_or_equal_to_one_hundred")],
)  # fmt: skip
def test_bad_pages(vms: TestClient, world: World, params: dict[str, str], rule: str) -> None:
    error = refused_call(
        world,
        400,
        "invalid_argument",
        lambda: list_interfaces(vms, OLD, {"id": world.vm("web-2")}, params),
    )
    assert error["detail"]["errors"] == [rule]
    assert error["detail"]["argument"]["id"].startswith(
        "CoreAPI/Endpoints/VirtualMachineNetworkInterfaces/ListEndpoint/BaseArgumentSet/"
    )


@pytest.mark.parametrize("style", [OLD, GENERATED])
def test_the_interfaces_of_a_trashed_vm(vms: TestClient, world: World, style: str) -> None:
    error = refused_call(
        world,
        406,
        "object_in_trash",
        lambda: list_interfaces(vms, style, {"id": world.vm("trashed")}),
    )
    assert error["detail"]["trash_object"]["object_id"] == world.vm("trashed")
    assert list(error["detail"]["trash_object"]) == ["id", "keep_until", "object_id", "object_type"]


@pytest.mark.parametrize("lookup", [{"id": "vm_doesNotExist0000"}, {"fqdn": "nope.example.net"}])
def test_the_interfaces_of_an_unknown_vm(vms: TestClient, world: World, lookup: Any) -> None:
    error = refused_call(
        world, 404, "virtual_machine_not_found", lambda: list_interfaces(vms, GENERATED, lookup)
    )
    assert error["detail"] == {}


def test_another_organizations_vm_interfaces_are_not_found(vms: TestClient, world: World) -> None:
    refused_call(world, 404, "virtual_machine_not_found",
                 lambda: list_interfaces(vms, OLD, {"id": world.vm("web-1")},
                                         headers=bearer(GLOBEX_FULL_TOKEN)))  # fmt: skip


def test_the_interface_list_needs_virtual_machines(client: TestClient, world: World) -> None:
    error = refused_call(
        world,
        403,
        "scope_not_granted",
        lambda: list_interfaces(client, OLD, {"id": world.vm("web-1")}),
    )
    assert error["detail"] == {"scopes": ["virtual_machines", "virtual_machines:read"]}
    response = list_interfaces(client, OLD, {"id": world.vm("web-1")},
                               headers=bearer(ACME_NO_SCOPE_TOKEN))  # fmt: skip
    assert response.status_code == 200, response.text


# -- GET /virtual_machines/:virtual_machine/networks/:network/interface --------------------------


@pytest.mark.parametrize("style", [OLD, GENERATED])
def test_the_interface_on_a_network(vms: TestClient, world: World, style: str) -> None:
    slots = ("_", "_") if style == OLD else ("virtual_machine", "network")
    response = vms.get(
        f"/core/v1/virtual_machines/{slots[0]}/networks/{slots[1]}/interface",
        params={"virtual_machine[id]": world.vm("web-1"), "network[permalink]": "uk-lon-01-public"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["virtual_machine_network_interface"]
    interface = body["virtual_machine_network_interface"]
    assert list(interface) == INTERFACE_KEYS
    assert interface["id"] == world.nic("web-1", "eth0")
    assert interface["virtual_machine"] == {"id": world.vm("web-1"), "name": "web-1"}
    assert list(interface["network"]) == ["id", "name"]
    assert interface["virtual_network"] is None
    assert interface["state"] == "attached"
    assert isinstance(interface["mac_address"], str)
    assert interface["ip_addresses"] == [{"id": world.ip("192.0.2.11"), "address": "192.0.2.11"}]


def test_the_path_segments_fill_both_ids(vms: TestClient, world: World) -> None:
    network = vms.get("/core/v1/networks/_", params={"network[permalink]": "nl-ams-01-public"})
    network_id = network.json()["network"]["id"]
    response = vms.get(
        f"/core/v1/virtual_machines/{world.vm('web-2')}/networks/{network_id}/interface"
    )
    assert response.status_code == 200, response.text
    assert response.json()["virtual_machine_network_interface"]["id"] == world.nic("web-2", "eth0")
    raw = vms.get(
        "/core/v1/virtual_machines/:virtual_machine/networks/:network/interface",
        params={"virtual_machine[fqdn]": "web-2.acme.example.net", "network[id]": network_id},
    )
    assert raw.json() == response.json()


def test_the_oldest_of_two_interfaces_on_a_network(vms: TestClient, world: World) -> None:
    response = vms.get(
        "/core/v1/virtual_machines/_/networks/_/interface",
        params={"virtual_machine[id]": world.vm("multi"), "network[permalink]": "uk-lon-01-public"},
    )
    assert response.json()["virtual_machine_network_interface"]["id"] == world.nic("multi", "first")


def by_network(client: TestClient, vm: dict[str, str], network: dict[str, str],
               **kwargs: Any) -> Response:  # fmt: skip
    params = {f"virtual_machine[{k}]": v for k, v in vm.items()}
    params |= {f"network[{k}]": v for k, v in network.items()}
    return client.get("/core/v1/virtual_machines/virtual_machine/networks/network/interface",
                      params=params, **kwargs)  # fmt: skip


def test_interface_not_found(vms: TestClient, world: World) -> None:
    error = refused_call(world, 404, "interface_not_found", lambda: by_network(
        vms, {"id": world.vm("web-1")}, {"permalink": "nl-ams-01-public"}))  # fmt: skip
    assert error["description"] == "An interface could not be found for the specified network"
    assert error["detail"] == {}
    refused_call(world, 404, "interface_not_found", lambda: by_network(
        vms, {"id": world.vm("no-nic")}, {"permalink": "uk-lon-01-public"}))  # fmt: skip


def test_network_not_found_for_the_interface(vms: TestClient, world: World) -> None:
    refused_call(world, 404, "network_not_found", lambda: by_network(
        vms, {"id": world.vm("web-1")}, {"permalink": "nowhere"}))  # fmt: skip


def test_the_vm_is_found_before_the_network(vms: TestClient, world: World) -> None:
    refused_call(world, 404, "virtual_machine_not_found", lambda: by_network(
        vms, {"id": "vm_doesNotExist0000"}, {"permalink": "nowhere"}))  # fmt: skip
    refused_call(world, 406, "object_in_trash", lambda: by_network(
        vms, {"id": world.vm("trashed")}, {"permalink": "nowhere"}))  # fmt: skip


def test_another_organizations_interface_on_a_network(vms: TestClient, world: World) -> None:
    refused_call(world, 404, "virtual_machine_not_found", lambda: by_network(
        vms, {"id": world.vm("web-1")}, {"permalink": "uk-lon-01-public"},
        headers=bearer(GLOBEX_FULL_TOKEN)))  # fmt: skip


def test_the_interface_on_a_network_needs_virtual_machines(
    client: TestClient, world: World
) -> None:
    error = refused_call(world, 403, "scope_not_granted", lambda: by_network(
        client, {"id": world.vm("web-1")}, {"permalink": "uk-lon-01-public"}))  # fmt: skip
    assert error["detail"] == {"scopes": ["virtual_machines", "virtual_machines:read"]}


# -- POST /virtual_machine_network_interfaces/:vmni/allocate_ip -----------------------------------


@pytest.mark.parametrize("style", [OLD, GENERATED])
def test_allocates_through_the_interface(client: TestClient, world: World, style: str) -> None:
    interface_id = world.nic("web-1", "eth0")
    response = allocate(client, style, {"id": interface_id}, {"id": world.ip("192.0.2.10")},
                        headers={"X-Request-Id": "req-vmni"})  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["virtual_machine_network_interface"]
    interface = body["virtual_machine_network_interface"]
    assert list(interface) == INTERFACE_KEYS
    assert interface["id"] == interface_id
    assert interface["virtual_machine"] == {"id": world.vm("web-1"), "name": "web-1"}
    # After the allocation: both addresses, by address within the subnet.
    assert interface["ip_addresses"] == [
        {"id": world.ip("192.0.2.10"), "address": "192.0.2.10"},
        {"id": world.ip("192.0.2.11"), "address": "192.0.2.11"},
    ]
    row = world.ip_row("192.0.2.10")
    assert (row.allocation_type, row.allocation_id, row.network_interface_id) == (
        "VirtualMachine", world.vm("web-1"), interface_id,
    )  # fmt: skip
    with world.engine.connect() as c:
        event = c.execute(select(m.AllocationEvent.__table__)).one()
    assert (event.action, event.ip_address_id, event.network_interface_id) == (
        "allocate", row.id, interface_id,
    )  # fmt: skip
    assert event.operation == "post:virtual_machine_network_interface_allocate_ip"
    assert event.request_id == "req-vmni"


def test_the_interface_chosen_is_the_one_named(client: TestClient, world: World) -> None:
    # allocate_ip would pick multi's first interface; this one names the second.
    second = world.nic("multi", "second")
    response = allocate(client, GENERATED, {"id": second}, {"address": "192.0.2.10"})
    assert response.status_code == 200, response.text
    assert world.ip_row("192.0.2.10").network_interface_id == second


def test_the_path_segment_names_the_interface(client: TestClient, world: World) -> None:
    interface_id = world.nic("web-1", "eth0")
    response = client.post(
        ALLOCATE.format(interface_id), json={"ip_address": {"id": world.ip("192.0.2.10")}}
    )
    assert response.status_code == 200, response.text
    raw = client.post(
        ALLOCATE.format(":virtual_machine_network_interface"),
        params={"virtual_machine_network_interface[id]": interface_id,
                "ip_address[address]": "192.0.2.12"},
    )  # fmt: skip
    assert raw.status_code == 200, raw.text
    assert len(raw.json()["virtual_machine_network_interface"]["ip_addresses"]) == 3


def test_repeating_an_allocation_succeeds_without_change(client: TestClient, world: World) -> None:
    interface = {"id": world.nic("web-1", "eth0")}
    first = allocate(client, GENERATED, interface, {"address": "192.0.2.10"})
    before = world.snapshot()
    second = allocate(client, OLD, interface, {"id": world.ip("192.0.2.10")})
    assert second.status_code == 200, second.text
    assert second.json() == first.json()
    assert world.snapshot() == before
    assert audit_rows(world) == 1
    # And the inventory's own allocation (192.0.2.11 through web-1's eth0).
    third = allocate(client, OLD, interface, {"address": "192.0.2.11"})
    assert third.status_code == 200, third.text
    assert world.snapshot() == before


@pytest.mark.parametrize("style", [OLD, GENERATED])
def test_invalid_ip_on_another_network(client: TestClient, world: World, style: str) -> None:
    error = refused_call(
        world,
        422,
        "invalid_ip",
        lambda: allocate(
            client, style, {"id": world.nic("web-1", "eth0")}, {"address": "198.51.100.10"}
        ),
    )
    assert error["description"] == "This IP address is not valid for this network interface."
    assert error["detail"] == {}


def test_the_network_is_checked_before_the_allocation(client: TestClient, world: World) -> None:
    # 192.0.2.11 is allocated (to web-1), and web-2's eth0 is in Amsterdam.
    refused_call(
        world,
        422,
        "invalid_ip",
        lambda: allocate(
            client, OLD, {"id": world.nic("web-2", "eth0")}, {"address": "192.0.2.11"}
        ),
    )


@pytest.mark.parametrize("style", [OLD, GENERATED])
def test_ip_already_allocated(client: TestClient, world: World, style: str) -> None:
    error = refused_call(
        world,
        422,
        "ip_already_allocated",
        lambda: allocate(
            client, style, {"id": world.nic("web-2", "eth1")}, {"address": "192.0.2.11"}
        ),
    )
    assert error["description"] == "This IP address has already been allocated to another resource"


def test_held_through_another_interface_of_the_same_vm(client: TestClient, world: World) -> None:
    first = allocate(client, OLD, {"id": world.nic("multi", "first")}, {"address": "192.0.2.10"})
    assert first.status_code == 200, first.text
    refused_call(
        world,
        422,
        "ip_already_allocated",
        lambda: allocate(
            client, OLD, {"id": world.nic("multi", "second")}, {"address": "192.0.2.10"}
        ),
    )


def test_an_interface_of_a_trashed_vm(client: TestClient, world: World) -> None:
    # The document lists no 406 here: its 422 invalid_ip, saying why in the detail.
    error = refused_call(
        world,
        422,
        "invalid_ip",
        lambda: allocate(
            client, GENERATED, {"id": world.nic("trashed", "eth0")}, {"address": "192.0.2.10"}
        ),
    )
    assert world.vm("trashed") in error["detail"]["details"]
    assert "restore it first" in error["detail"]["details"]


@pytest.mark.parametrize("lookup", [{"id": "vmnet_doesNotExist00"}, {"id": ""}, {"id": None}])
def test_interface_not_found_for_allocation(client: TestClient, world: World, lookup: Any) -> None:
    error = refused_call(
        world,
        404,
        "virtual_machine_network_interface_not_found",
        lambda: allocate(client, GENERATED, lookup, {"address": "192.0.2.10"}),
    )
    assert error["description"] == (
        "No network interface was found matching any of the criteria provided in the arguments"
    )


@pytest.mark.parametrize("lookup", [{"id": "ip_doesNotExist0000"}, {"address": "192.0.2.200"},
                                    {"address": "not-an-ip"}])  # fmt: skip
def test_ip_address_not_found_for_allocation(client: TestClient, world: World, lookup: Any) -> None:
    refused_call(
        world,
        404,
        "ip_address_not_found",
        lambda: allocate(client, OLD, {"id": world.nic("web-1", "eth0")}, lookup),
    )


def test_another_organizations_interface_and_address(client: TestClient, world: World) -> None:
    # Globex sees neither Acme's interface nor, through its own, Acme's address.
    refused_call(world, 404, "virtual_machine_network_interface_not_found", lambda: allocate(
        client, GENERATED, {"id": world.nic("web-1", "eth0")}, {"address": "192.0.2.50"},
        headers=bearer(GLOBEX_FULL_TOKEN)))  # fmt: skip
    refused_call(world, 404, "ip_address_not_found", lambda: allocate(
        client, GENERATED, {"id": world.nic("app-1", "eth0")}, {"address": "192.0.2.10"},
        headers=bearer(GLOBEX_FULL_TOKEN)))  # fmt: skip
    # Nor Acme Globex's address.
    refused_call(
        world,
        404,
        "ip_address_not_found",
        lambda: allocate(
            client, GENERATED, {"id": world.nic("web-1", "eth0")}, {"address": "192.0.2.50"}
        ),
    )


def test_allocation_through_an_interface_needs_ip_addresses(
    client: TestClient, world: World
) -> None:
    error = refused_call(world, 403, "scope_not_granted", lambda: allocate(
        client, OLD, {"id": world.nic("web-1", "eth0")}, {"address": "192.0.2.10"},
        headers=bearer(ACME_NO_SCOPE_TOKEN)))  # fmt: skip
    assert error["detail"] == {"scopes": ["ip_addresses"]}


@pytest.mark.parametrize(
    ("body", "missing"),
    [({}, "ip_address"),
     ({"virtual_machine_network_interface": None}, "virtual_machine_network_interface"),
     ({"virtual_machine_network_interface": {"id": "vmnet_x"}}, "ip_address")],
)  # fmt: skip
def test_missing_required_argument(
    client: TestClient, world: World, body: Any, missing: str
) -> None:
    # The path segment "virtual_machine_network_interface" fills the interface's id.
    error = refused_call(
        world,
        400,
        "missing_required_argument",
        lambda: client.post(ALLOCATE.format("virtual_machine_network_interface"), json=body),
    )
    assert error["detail"]["path"] == [missing]


@pytest.mark.parametrize(
    ("body", "path", "issue"),
    [({"virtual_machine_network_interface": {"fqdn": "x"}}, ["virtual_machine_network_interface"],
      "missing_lookup_value"),
     ({"virtual_machine_network_interface": "vmnet_x"}, ["virtual_machine_network_interface"],
      "object_expected"),
     ({"virtual_machine_network_interface": {"id": 5}}, ["virtual_machine_network_interface", "id"],
      "invalid_scalar"),
     ({"virtual_machine_network_interface": {"id": "x"}, "ip_address": {"id": "a", "address": "b"}},
      ["ip_address"], "ambiguous_lookup_values")],
)  # fmt: skip
def test_invalid_argument(client: TestClient, world: World, body: Any, path: list[str],
                          issue: str) -> None:  # fmt: skip
    error = refused_call(
        world, 400, "invalid_argument", lambda: client.post(ALLOCATE.format("_"), json=body)
    )
    assert (error["detail"]["path"], error["detail"]["issue"]) == (path, issue)


# -- GET /virtual_machine_network_interfaces/:vmni/available_ips/:address_version ----------------


@pytest.mark.parametrize("style", [OLD, GENERATED])
def test_available_ips_of_an_interface(client: TestClient, world: World, style: str) -> None:
    response = available(client, style, world.nic("web-1", "eth0"), "ipv4")
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["ip_addresses"]
    # Acme's unallocated London IPv4 addresses: not 192.0.2.11 (allocated), not
    # Globex's 192.0.2.50, not the pool's free ones, not another network's.
    assert [ip["address"] for ip in body["ip_addresses"]] == [
        "192.0.2.10", "192.0.2.12", "192.0.2.13",
    ]  # fmt: skip
    for ip in body["ip_addresses"]:
        assert list(ip) == IP_KEYS
        assert ip["allocation_id"] is None
        assert list(ip["network"]) == ["id", "name", "permalink", "default", "data_center"]
    vip = body["ip_addresses"][2]
    assert (vip["id"], vip["vip"], vip["label"]) == (world.ip("192.0.2.13"), True, "frontend")
    assert vip["reverse_dns"] == "192-0-2-13.rdns.test.invalid"


def test_available_ips_in_numeric_order(client: TestClient, world: World) -> None:
    # Give Acme a free pool address that sorts first by number, last as text.
    with world.engine.connect() as c:
        acme = c.execute(
            select(m.Organization.id).where(m.Organization.sub_domain == "acme")
        ).scalar_one()
    with world.engine.begin() as c:
        c.execute(update(m.IPAddress).where(m.IPAddress.address == "192.0.2.9")
                  .values(organization_id=acme, taken_at=func.now()))  # fmt: skip
    response = available(client, OLD, world.nic("web-1", "eth0"), "ipv4")
    assert [ip["address"] for ip in response.json()["ip_addresses"]] == [
        "192.0.2.9", "192.0.2.10", "192.0.2.12", "192.0.2.13",
    ]  # fmt: skip


@pytest.mark.parametrize("style", [OLD, GENERATED])
def test_available_ipv6(client: TestClient, world: World, style: str) -> None:
    response = available(client, style, world.nic("web-1", "eth0"), "ipv6")
    assert response.status_code == 200, response.text
    (ip,) = response.json()["ip_addresses"]
    assert ip["address"] == "2001:db8:1::10"
    assert ip["subnet"]["version"] == 6


def test_available_on_another_network(client: TestClient, world: World) -> None:
    response = available(client, GENERATED, world.nic("web-2", "eth0"), "ipv4")
    assert [ip["address"] for ip in response.json()["ip_addresses"]] == ["198.51.100.10"]
    assert available(client, OLD, world.nic("web-2", "eth0"), "ipv6").json() == {"ip_addresses": []}


def test_available_ips_of_a_trashed_vms_interface(client: TestClient, world: World) -> None:
    response = available(client, OLD, world.nic("trashed", "eth0"), "ipv4")
    assert response.status_code == 200, response.text
    assert len(response.json()["ip_addresses"]) == 3


@pytest.mark.parametrize("style", [OLD, GENERATED])
@pytest.mark.parametrize("version", ["ipv5", "IPV4", "4"])
def test_an_unknown_address_version(client: TestClient, world: World, style: str,
                                    version: str) -> None:  # fmt: skip
    error = refused_call(
        world,
        400,
        "invalid_argument",
        lambda: available(client, style, world.nic("web-1", "eth0"), version),
    )
    assert error["detail"]["path"] == ["address_version"]
    assert error["detail"]["issue"] == "invalid_enum_value"


def test_the_literal_version_segment_without_a_query_is_invalid(
    client: TestClient, world: World
) -> None:
    error = refused_call(
        world,
        400,
        "invalid_argument",
        lambda: client.get(
            "/core/v1/virtual_machine_network_interfaces/_/available_ips/address_version",
            params={"virtual_machine_network_interface[id]": world.nic("web-1", "eth0")},
        ),
    )
    assert error["detail"]["issue"] == "invalid_enum_value"


@pytest.mark.parametrize("style", [OLD, GENERATED])
def test_available_ips_of_an_unknown_interface(client: TestClient, world: World,
                                               style: str) -> None:  # fmt: skip
    refused_call(
        world,
        404,
        "virtual_machine_network_interface_not_found",
        lambda: available(client, style, "vmnet_doesNotExist00", "ipv4"),
    )


def test_another_organizations_interface_has_no_available_ips(
    client: TestClient, world: World
) -> None:
    refused_call(world, 404, "virtual_machine_network_interface_not_found",
                 lambda: available(client, OLD, world.nic("web-1", "eth0"), "ipv4",
                                   headers=bearer(GLOBEX_FULL_TOKEN)))  # fmt: skip
    # Globex's own interface on the same network lists Globex's address only.
    response = available(client, GENERATED, world.nic("app-1", "eth0"), "ipv4",
                         headers=bearer(GLOBEX_FULL_TOKEN))  # fmt: skip
    assert [ip["address"] for ip in response.json()["ip_addresses"]] == ["192.0.2.50"]


def test_available_ips_need_ip_addresses(client: TestClient, world: World) -> None:
    error = refused_call(
        world,
        403,
        "scope_not_granted",
        lambda: available(
            client, OLD, world.nic("web-1", "eth0"), "ipv4", headers=bearer(ACME_NO_SCOPE_TOKEN)
        ),
    )
    assert error["detail"] == {"scopes": ["ip_addresses", "ip_addresses:read"]}
    assert available(client, OLD, world.nic("web-1", "eth0"), "ipv4",
                     headers=bearer(ACME_TOKEN)).status_code == 200  # fmt: skip
