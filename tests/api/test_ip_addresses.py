"""The IP address lifecycle through HTTP: create, list, get, update, unallocate, release.

Both client styles of lifecycle-facts §0.1: the generated client's literal slot
names with JSON bodies (DELETE included), and the old client's ``_`` with every
argument in the query string and no body. Every refusal leaves every row as it was.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest
from httpx2 import Response
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from katapult_ipam.app import create_app
from katapult_ipam.config import Settings
from katapult_ipam.store import models as m
from tests.support import factories as f
from tests.support.api import assert_error, bearer
from tests.support.world import GLOBEX_TOKEN, RDNS_ZONE, World

IP_KEYS = [
    "id", "address", "reverse_dns", "vip", "label", "address_with_mask",
    "network", "subnet", "allocation_id", "allocation_type",
]  # fmt: skip
LISTED_KEYS = ["id", "address", "reverse_dns", "vip", "allocation_id", "allocation_type"]
CREATE = "/core/v1/organizations/organization/ip_addresses"
IP = "/core/v1/ip_addresses/ip_address"
UNALLOCATE = "/core/v1/ip_addresses/ip_address/unallocate"
TOKEN = "lifecycle-token-secret-0123456789ab"


def london(world: World) -> str:
    with world.engine.connect() as c:
        table = m.Network.__table__
        query = select(table.c.id).where(table.c.permalink == "uk-lon-01-public")
        return str(c.execute(query).scalar_one())


def create(client: TestClient, world: World, **body: Any) -> Response:
    payload = {"organization": {"sub_domain": "acme"}, "network": {"id": london(world)},
               "version": "ipv4", **body}  # fmt: skip
    return client.post(CREATE, json=payload)


def unchanged(
    world: World, send: Any, status: int, code: str, *args: Any, **kwargs: Any
) -> dict[str, Any]:
    """Send a request that must be refused with ``code``, changing no row of any table."""
    before = world.snapshot()
    error = assert_error(send(*args, **kwargs), status, code)
    assert world.snapshot() == before
    return error


def events(engine: Engine) -> list[tuple[Any, ...]]:
    table = m.AllocationEvent.__table__
    query = select(
        table.c.action, table.c.ip_address_id, table.c.virtual_machine_id, table.c.operation
    ).order_by(table.c.id)
    with engine.connect() as c:
        return [tuple(row) for row in c.execute(query)]


def row(engine: Engine, ip_id: str) -> Any:
    table = m.IPAddress.__table__
    with engine.connect() as c:
        return c.execute(select(table).where(table.c.id == ip_id)).one()


def assert_empty_success(response: Response) -> None:
    assert response.status_code == 200, response.text
    assert response.content == b"{}"
    assert response.headers["etag"] == 'W/"44136fa355b3678a1146ad16f7e8649e"'
    assert response.headers["cache-control"] == "max-age=0, private, must-revalidate"


# -- create ---------------------------------------------------------------------------------


def test_create_takes_a_free_address_of_the_network(client: TestClient, world: World) -> None:
    response = create(client, world)
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["ip_address"]
    ip = response.json()["ip_address"]
    assert list(ip) == IP_KEYS
    address = ipaddress.ip_address(ip["address"])
    assert address in ipaddress.ip_network("192.0.2.0/24")
    # Never the network, broadcast or gateway address, nor one an organization holds.
    assert ip["address"] not in {"192.0.2.0", "192.0.2.255", "192.0.2.1", "192.0.2.50"}
    assert ip["address"] not in {"192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13"}
    assert ip["reverse_dns"] == f"{ip['address'].replace('.', '-')}.{RDNS_ZONE}"
    assert (ip["vip"], ip["label"], ip["allocation_id"], ip["allocation_type"]) == (
        False, None, None, None,
    )  # fmt: skip
    assert ip["address_with_mask"] == f"{ip['address']}/24"
    assert ip["network"]["permalink"] == "uk-lon-01-public"
    assert ip["subnet"]["address"] == "192.0.2.0"
    stored = row(world.engine, ip["id"])
    assert stored.address == ip["address"]
    assert stored.organization_id is not None
    assert stored.taken_at is not None
    assert events(world.engine) == [("create", ip["id"], None, "post:organization_ip_addresses")]
    # It is the organization's now: readable by id.
    read = client.get(IP, params={"ip_address[id]": ip["id"]})
    assert read.status_code == 200
    assert read.json() == {"ip_address": ip, "allocation": None}


def test_create_in_the_old_clients_form(client: TestClient, world: World) -> None:
    body = {"organization": {"sub_domain": "acme"}, "network": {"permalink": "uk-lon-01-public"},
            "version": "ipv4"}  # fmt: skip
    response = client.post("/core/v1/organizations/_/ip_addresses", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["ip_address"]["network"]["id"] == london(world)


def test_a_vip_with_its_label(client: TestClient, world: World) -> None:
    ip = create(client, world, vip=True, label="tf-acc-test-vip").json()["ip_address"]
    assert (ip["vip"], ip["label"]) == (True, "tf-acc-test-vip")


@pytest.mark.parametrize("label", [{}, {"label": ""}, {"label": "   "}, {"label": None}])
def test_a_vip_without_a_label_is_refused(
    client: TestClient, world: World, label: dict[str, Any]
) -> None:
    error = unchanged(world, create, 422, "validation_error", client, world, vip=True, **label)
    assert error["detail"] == {"errors": ["Label can't be blank"]}


def test_a_label_without_vip_is_not_kept(client: TestClient, world: World) -> None:
    ip = create(client, world, label="ignored").json()["ip_address"]
    assert (ip["vip"], ip["label"]) == (False, None)


def test_ipv6_is_numbered_from_the_subnet(client: TestClient, world: World) -> None:
    ip = create(client, world, version="ipv6").json()["ip_address"]
    address = ipaddress.ip_address(ip["address"])
    assert address in ipaddress.ip_network("2001:db8:1::/64")
    assert ip["address"] not in {"2001:db8:1::", "2001:db8:1::1", "2001:db8:1::10"}
    assert ip["address_with_mask"] == f"{ip['address']}/64"
    assert ip["reverse_dns"] == f"{ip['address'].replace(':', '-')}.{RDNS_ZONE}"
    second = create(client, world, version="ipv6").json()["ip_address"]
    assert second["address"] != ip["address"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"version": "ipv5"}, 400, "invalid_argument"),
        ({"version": None}, 400, "missing_required_argument"),
        ({"network": {"id": "netw_nope"}}, 404, "network_not_found"),
        ({"organization": {"sub_domain": "globex"}}, 404, "organization_not_found"),
        ({"organization": {"sub_domain": "nope"}}, 404, "organization_not_found"),
        ({"vip": "maybe"}, 400, "invalid_argument"),
        ({"label": 5}, 400, "invalid_argument"),
    ],
)
def test_create_refusals(
    client: TestClient, world: World, body: dict[str, Any], status: int, code: str
) -> None:
    unchanged(world, create, status, code, client, world, **body)


def test_the_placeholder_organization_without_an_argument_is_not_found(
    client: TestClient, world: World
) -> None:
    body = {"network": {"id": london(world)}, "version": "ipv4"}
    error = unchanged(
        world, client.post, 404, "organization_not_found",
        "/core/v1/organizations/_/ip_addresses", json=body,
    )  # fmt: skip
    assert error["detail"] == {}


# -- a small pool of its own ----------------------------------------------------------------


@pytest.fixture
def tiny(settings: Settings, engine: Engine) -> Iterator[tuple[TestClient, f.Ids]]:
    """An organization on a network whose pool holds two addresses (a /30, no gateway)."""
    token = {"name": "t", "secret": TOKEN, "scopes": ["ip_addresses"]}

    def own(org: str) -> dict[str, Any]:
        return {**token, "secret": f"{org}-{TOKEN}"}

    ids = f.load(
        engine,
        f.inventory(
            f.organization("tiny", vms=[f.vm("box", "tiny-net")], api_tokens=[token]),
            f.organization("stopped", suspended=True, api_tokens=[own("stopped")]),
            f.organization("waiting", activated=False, api_tokens=[own("waiting")]),
            networks=[f.network("tiny-net", "192.0.2.0/30")],
        ),
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers.update(bearer(TOKEN))
        yield client, ids


def tiny_create(client: TestClient, org: str = "tiny", version: str = "ipv4") -> Response:
    body = {"organization": {"sub_domain": org}, "network": {"permalink": "tiny-net"},
            "version": version}  # fmt: skip
    return client.post(CREATE, json=body)


def test_an_empty_pool_is_503(tiny: tuple[TestClient, f.Ids], engine: Engine) -> None:
    client, _ = tiny
    taken = {tiny_create(client).json()["ip_address"]["address"] for _ in range(2)}
    assert taken == {"192.0.2.1", "192.0.2.2"}
    world = World(engine)
    unchanged(world, tiny_create, 503, "no_available_addresses", client)
    # No IPv6 subnet on the network at all: none of that version either.
    unchanged(world, tiny_create, 503, "no_available_addresses", client, version="ipv6")


def test_a_released_address_comes_back_with_its_id_and_nothing_else(
    tiny: tuple[TestClient, f.Ids],
) -> None:
    client, _ = tiny
    body = {"organization": {"sub_domain": "tiny"}, "network": {"permalink": "tiny-net"},
            "version": "ipv4", "vip": True, "label": "front"}  # fmt: skip
    first = client.post(CREATE, json=body).json()["ip_address"]
    other = tiny_create(client).json()["ip_address"]
    patched = client.patch(IP, json={"ip_address": {"id": first["id"]}, "reverse_dns": "a.b.c"})
    assert patched.json()["ip_address"]["reverse_dns"] == "a.b.c"
    assert_empty_success(client.request("DELETE", IP, json={"ip_address": {"id": first["id"]}}))
    again = tiny_create(client).json()["ip_address"]
    assert (again["id"], again["address"]) == (first["id"], first["address"])
    assert (again["vip"], again["label"]) == (False, None)
    assert again["reverse_dns"] == f"{first['address'].replace('.', '-')}.{RDNS_ZONE}"
    assert other["id"] != first["id"]


@pytest.mark.parametrize(
    ("org", "code"),
    [("stopped", "organization_suspended"), ("waiting", "organization_not_activated")],
)
def test_an_unusable_organization_is_403(
    engine: Engine, tiny: tuple[TestClient, f.Ids], org: str, code: str
) -> None:
    client, _ = tiny
    world = World(engine)
    # The token of "tiny" cannot act for another organization: 404, as for any other's.
    unchanged(world, tiny_create, 404, "organization_not_found", client, org)
    client.headers.update(bearer(f"{org}-{TOKEN}"))
    unchanged(world, tiny_create, 403, code, client, org)
    unchanged(world, listing, 403, code, client, **{"organization[sub_domain]": org})


# -- list -----------------------------------------------------------------------------------


def listing(client: TestClient, path: str = CREATE, **params: Any) -> Response:
    return client.get(path, params={"organization[sub_domain]": "acme", **params})


def test_list_the_organizations_addresses_in_the_order_it_took_them(
    client: TestClient, world: World
) -> None:
    response = listing(client)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["pagination", "ip_addresses"]
    assert body["pagination"] == {"current_page": 1, "total_pages": 1, "total": 7,
                                  "per_page": 30, "large_set": False}  # fmt: skip
    items = body["ip_addresses"]
    assert all(list(item) == LISTED_KEYS for item in items)
    assert {item["address"] for item in items} == {
        "192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13", "2001:db8:1::10",
        "198.51.100.10", "203.0.113.5",
    }  # fmt: skip
    allocated = next(item for item in items if item["address"] == "192.0.2.11")
    assert allocated["allocation_id"] == world.vm("web-1")
    assert allocated["reverse_dns"] == "web-1.acme.example.net"
    new = create(client, world).json()["ip_address"]
    assert listing(client).json()["ip_addresses"][-1]["id"] == new["id"]


@pytest.mark.parametrize(("allocated", "count"), [("true", 1), ("false", 6), ("1", 1), ("no", 6)])
def test_list_filters_by_allocation(
    client: TestClient, world: World, allocated: str, count: int
) -> None:
    body = listing(client, allocated=allocated).json()
    assert body["pagination"]["total"] == count
    assert len(body["ip_addresses"]) == count


def test_list_pages_in_the_old_clients_form(client: TestClient, world: World) -> None:
    path = "/core/v1/organizations/_/ip_addresses"
    first = listing(client, path, page=1, per_page=3).json()
    assert first["pagination"] == {"current_page": 1, "total_pages": 3, "total": 7,
                                   "per_page": 3, "large_set": False}  # fmt: skip
    pages = [listing(client, path, page=n, per_page=3).json()["ip_addresses"] for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [3, 3, 1]
    assert len({item["id"] for p in pages for item in p}) == 7
    past = listing(client, path, page=9, per_page=3).json()
    assert past["pagination"]["current_page"] == 9
    assert past["ip_addresses"] == []


@pytest.mark.parametrize(
    ("params", "code"),
    [({"allocated": "maybe"}, "invalid_argument"), ({"page": "0"}, "invalid_argument"),
     ({"per_page": "201"}, "invalid_argument"),
     ({"organization[sub_domain]": "globex"}, "organization_not_found")],
)  # fmt: skip
def test_list_refusals(client: TestClient, world: World, params: dict[str, str], code: str) -> None:
    status = 404 if code.endswith("not_found") else 400
    assert_error(listing(client, **params), status, code)


def test_a_large_set_is_not_counted(settings: Settings, engine: Engine) -> None:
    token = {"name": "t", "secret": TOKEN, "scopes": ["ip_addresses:read"]}
    many = [f.ip(str(ipaddress.IPv4Address("10.0.0.1") + n)) for n in range(1001)]
    f.load(
        engine,
        f.inventory(
            f.organization("big", ips=many, api_tokens=[token]),
            networks=[f.network("big-net", "10.0.0.0/22")],
        ),
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers.update(bearer(TOKEN))
        body = client.get(CREATE, params={"organization[sub_domain]": "big"}).json()
        assert body["pagination"] == {"current_page": 1, "total_pages": None, "total": None,
                                      "per_page": 30, "large_set": True}  # fmt: skip
        assert len(body["ip_addresses"]) == 30
        few = client.get(CREATE, params={"organization[sub_domain]": "big", "allocated": "true"})
        assert few.json()["pagination"]["total"] == 0


# -- get ------------------------------------------------------------------------------------


def test_get_by_id_and_by_address_alike(client: TestClient, world: World) -> None:
    by_id = client.get(IP, params={"ip_address[id]": world.ip("192.0.2.11")})
    by_address = client.get("/core/v1/ip_addresses/_", params={"ip_address[address]": "192.0.2.11"})
    assert by_id.status_code == by_address.status_code == 200
    assert by_id.json() == by_address.json()
    body = by_id.json()
    assert list(body) == ["ip_address", "allocation"]
    assert list(body["ip_address"]) == IP_KEYS
    assert body["allocation"] == {
        "type": "VirtualMachine", "value": {"id": world.vm("web-1"), "name": "web-1"},
    }  # fmt: skip


@pytest.mark.parametrize(
    "path",
    [
        "/core/v1/ip_addresses/192.0.2.10",  # the segment fills the id, not the address
        "/core/v1/ip_addresses/ip_address?ip_address[id]=ip_doesNotExist0001",
        "/core/v1/ip_addresses/_?ip_address[address]=192.0.2.50",  # Globex's
        "/core/v1/ip_addresses/_?ip_address[address]=192.0.2.99",  # free: nobody's
        "/core/v1/ip_addresses/_?ip_address[address]=not-an-address",
    ],
)
def test_get_what_is_not_the_callers_is_not_found(
    client: TestClient, world: World, path: str
) -> None:
    assert assert_error(client.get(path), 404, "ip_address_not_found")["detail"] == {}


def test_another_organizations_token_sees_nothing(client: TestClient, world: World) -> None:
    client.headers.update(bearer(GLOBEX_TOKEN))
    for send in (
        lambda: client.get(IP, params={"ip_address[id]": world.ip("192.0.2.10")}),
        lambda: client.patch(
            IP, json={"ip_address": {"id": world.ip("192.0.2.10")}, "vip": True, "label": "x"}
        ),
        lambda: client.post(UNALLOCATE, json={"ip_address": {"id": world.ip("192.0.2.11")}}),
        lambda: client.request("DELETE", IP, json={"ip_address": {"id": world.ip("192.0.2.10")}}),
    ):
        unchanged(world, send, 404, "ip_address_not_found")


# -- update ---------------------------------------------------------------------------------


def patch(client: TestClient, ip_id: str, **body: Any) -> Response:
    return client.patch(IP, json={"ip_address": {"id": ip_id}, **body})


def test_the_terraform_update_sequence(client: TestClient, world: World) -> None:
    ip_id = create(client, world).json()["ip_address"]["id"]
    first = patch(client, ip_id, label="vip-yes", vip=True)
    assert first.status_code == 200
    assert list(first.json()) == ["ip_address"]
    assert (first.json()["ip_address"]["vip"], first.json()["ip_address"]["label"]) == (
        True, "vip-yes",
    )  # fmt: skip
    second = patch(client, ip_id, label="vip-oh-yes").json()["ip_address"]
    assert (second["vip"], second["label"]) == (True, "vip-oh-yes")
    third = patch(client, ip_id, label="", vip=False).json()["ip_address"]
    assert (third["vip"], third["label"]) == (False, None)
    # The old client's form: only vip false; the label goes with it.
    patch(client, ip_id, label="again", vip=True)
    old = client.patch("/core/v1/ip_addresses/_", json={"ip_address": {"id": ip_id}, "vip": False})
    assert (old.json()["ip_address"]["vip"], old.json()["ip_address"]["label"]) == (False, None)


def test_reverse_dns_is_set_and_reset(client: TestClient, world: World) -> None:
    ip_id = world.ip("192.0.2.10")
    named = patch(client, ip_id, reverse_dns="Mail.Example.NET.").json()["ip_address"]
    assert named["reverse_dns"] == "mail.example.net"
    assert patch(client, ip_id, vip=True, label="x").json()["ip_address"]["reverse_dns"] == (
        "mail.example.net"
    )
    reset = patch(client, ip_id, reverse_dns="").json()["ip_address"]
    assert reset["reverse_dns"] == f"192-0-2-10.{RDNS_ZONE}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"vip": True}, "Label can't be blank"),
        ({"vip": True, "label": "   "}, "Label can't be blank"),
        ({"reverse_dns": "not a name"}, "Reverse DNS is not a valid host name"),
        ({"reverse_dns": "single"}, "Reverse DNS is not a valid host name"),
        ({"reverse_dns": "-a.example.net"}, "Reverse DNS is not a valid host name"),
        ({"reverse_dns": "a" * 64 + ".example.net"}, "Reverse DNS is not a valid host name"),
    ],
)
def test_update_refusals(
    client: TestClient, world: World, body: dict[str, Any], message: str
) -> None:
    error = unchanged(world, patch, 422, "validation_error", client, world.ip("192.0.2.10"), **body)
    assert error["detail"] == {"errors": [message]}


def test_a_label_on_a_vip_may_change_alone(client: TestClient, world: World) -> None:
    ip = patch(client, world.ip("192.0.2.13"), label="backend").json()["ip_address"]
    assert (ip["vip"], ip["label"]) == (True, "backend")


# -- unallocate -----------------------------------------------------------------------------


def test_unallocate(client: TestClient, world: World) -> None:
    ip_id, vm_id = world.ip("192.0.2.11"), world.vm("web-1")
    assert_empty_success(client.post(UNALLOCATE, json={"ip_address": {"id": ip_id}}))
    body = client.get(IP, params={"ip_address[id]": ip_id}).json()
    assert body["allocation"] is None
    assert (body["ip_address"]["allocation_id"], body["ip_address"]["allocation_type"]) == (
        None, None,
    )  # fmt: skip
    assert body["ip_address"]["reverse_dns"] == f"192-0-2-11.{RDNS_ZONE}"
    assert events(world.engine) == [("unallocate", ip_id, vm_id, "post:ip_address_unallocate")]
    # It stays the organization's.
    assert row(world.engine, ip_id).organization_id is not None
    error = unchanged(
        world, client.post, 422, "no_allocation", UNALLOCATE, json={"ip_address": {"id": ip_id}}
    )
    assert error["description"] == (
        "This IP address is not currently allocated to any object, and cannot be unallocated."
    )


def test_unallocate_in_the_old_clients_form(client: TestClient, world: World) -> None:
    ip_id = world.ip("192.0.2.11")
    response = client.post(f"/core/v1/ip_addresses/_/unallocate?ip_address[id]={ip_id}")
    assert_empty_success(response)
    assert row(world.engine, ip_id).allocation_id is None


def test_unallocate_from_a_vm_in_the_trash(settings: Settings, engine: Engine) -> None:
    token = {"name": "t", "secret": TOKEN, "scopes": ["ip_addresses"]}
    document = f.inventory(
        f.organization(
            "tr",
            vms=[f.vm("gone")],
            ips=[f.ip("192.0.2.7", allocated_to="gone")],
            api_tokens=[token],
        ),
    )
    ids = f.load(engine, document)
    document["organizations"][0]["virtual_machines"][0]["in_trash"] = True
    f.load(engine, document)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers.update(bearer(TOKEN))
        response = client.post(UNALLOCATE, json={"ip_address": {"address": "192.0.2.7"}})
        assert_empty_success(response)
    assert row(engine, ids.ip("192.0.2.7")).allocation_id is None


# -- release --------------------------------------------------------------------------------


def test_release(client: TestClient, world: World) -> None:
    ip_id = world.ip("192.0.2.13")  # a VIP with a label
    assert_empty_success(client.request("DELETE", IP, json={"ip_address": {"id": ip_id}}))
    assert_error(client.get(IP, params={"ip_address[id]": ip_id}), 404, "ip_address_not_found")
    stored = row(world.engine, ip_id)
    assert (stored.organization_id, stored.vip, stored.label, stored.taken_at) == (
        None, False, None, None,
    )  # fmt: skip
    assert events(world.engine) == [("release", ip_id, None, "delete:ip_address")]
    unchanged(
        world, client.request, 404, "ip_address_not_found", "DELETE", IP,
        json={"ip_address": {"id": ip_id}},
    )  # fmt: skip


def test_release_in_the_old_clients_form(client: TestClient, world: World) -> None:
    ip_id = world.ip("2001:db8:1::10")
    assert_empty_success(client.delete(f"/core/v1/ip_addresses/_?ip_address[id]={ip_id}"))
    assert row(world.engine, ip_id).organization_id is None


def test_releasing_an_allocated_address_unallocates_it_first(
    client: TestClient, world: World
) -> None:
    ip_id, vm_id = world.ip("192.0.2.11"), world.vm("web-1")
    assert_empty_success(client.request("DELETE", IP, json={"ip_address": {"id": ip_id}}))
    stored = row(world.engine, ip_id)
    assert (stored.organization_id, stored.allocation_id, stored.network_interface_id) == (
        None, None, None,
    )  # fmt: skip
    assert events(world.engine) == [
        ("unallocate", ip_id, vm_id, "delete:ip_address"),
        ("release", ip_id, None, "delete:ip_address"),
    ]


def test_a_read_only_token_may_read_but_not_change(settings: Settings, engine: Engine) -> None:
    token = {"name": "t", "secret": TOKEN, "scopes": ["ip_addresses:read"]}
    ids = f.load(engine, f.inventory(f.organization("ro", ips=[f.ip("192.0.2.9")],
                                                    api_tokens=[token])))  # fmt: skip
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers.update(bearer(TOKEN))
        assert client.get(IP, params={"ip_address[id]": ids.ip("192.0.2.9")}).status_code == 200
        world = World(engine)
        for send in (
            lambda: client.request("DELETE", IP, json={"ip_address": {"id": ids.ip("192.0.2.9")}}),
            lambda: client.post(UNALLOCATE, json={"ip_address": {"id": ids.ip("192.0.2.9")}}),
            lambda: client.post(
                CREATE,
                json={
                    "organization": {"sub_domain": "ro"},
                    "network": {"permalink": "uk-lon-01-public"},
                    "version": "ipv4",
                },
            ),
        ):
            unchanged(world, send, 403, "scope_not_granted")


def test_a_patch_never_undoes_one_committed_since_it_read(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another PATCH commits between this one's read and its write: the conditional
    write misses, and this PATCH reads and decides again on what is stored now."""
    from sqlalchemy import text

    from katapult_ipam.store.queries import ip_addresses

    real = ip_addresses.set_details
    ip_id = world.ip("192.0.2.13")  # a VIP labelled "frontend"
    calls: list[Any] = []

    def another_patch_first(connection: Any, *args: Any) -> bool:
        if not calls:
            # The other PATCH: vip off (its label goes with it), committed meanwhile.
            connection.execute(
                text("UPDATE ip_addresses SET vip = false, label = NULL WHERE id = :id"),
                {"id": ip_id},
            )
        calls.append(args)
        return bool(real(connection, *args))

    monkeypatch.setattr(ip_addresses, "set_details", another_patch_first)
    response = patch(client, ip_id, label="renamed")
    assert response.status_code == 200, response.text
    # Decided again on vip false: a label without vip is not kept; the other's change stays.
    assert (response.json()["ip_address"]["vip"], response.json()["ip_address"]["label"]) == (
        False, None,
    )  # fmt: skip
    assert len(calls) == 1  # the second read found nothing to change
