"""The Terraform providers' recorded call sequences (lifecycle-facts §7), replayed.

Each scenario runs in the generated client's form (v6 provider: literal slot names,
JSON bodies, DELETE included) and in the old client's (v5 provider: ``_`` in the
path, every argument in the query string, no body for GET, DELETE and body-less
POST), checking every status and the shape of every body. Where production built
a VM with the first address, the replay allocates it with ``allocate_ip``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from httpx2 import Response
from starlette.testclient import TestClient

from katapult_ipam.app import create_app
from katapult_ipam.config import Settings
from tests.support.api import bearer
from tests.support.world import ACME_FULL_TOKEN, RDNS_ZONE, World

IP_KEYS = [
    "id", "address", "reverse_dns", "vip", "label", "address_with_mask",
    "network", "subnet", "allocation_id", "allocation_type",
]  # fmt: skip
EMPTY_ETAG = 'W/"44136fa355b3678a1146ad16f7e8649e"'


@dataclass
class Style:
    """How one client sends a call: which path slot and where the arguments go."""

    name: str
    slot_names: bool  # the generated client: /ip_addresses/ip_address; else /ip_addresses/_

    def path(self, template: str) -> str:
        """``template`` with ``{name}`` slots filled as this client fills them."""
        parts = []
        for part in template.split("/"):
            if part.startswith("{") and part.endswith("}"):
                parts.append(part[1:-1] if self.slot_names else "_")
            else:
                parts.append(part)
        return "/core/v1/" + "/".join(parts)


GENERATED = Style("generated", slot_names=True)
OLD = Style("old", slot_names=False)


class Replay:
    """A client that sends each call in one style and checks its status."""

    def __init__(self, client: TestClient, style: Style) -> None:
        self.client = client
        self.style = style

    def get(self, template: str, params: dict[str, str], *, status: int = 200) -> Any:
        response = self.client.get(self.style.path(template), params=params)
        return self._check(response, status)

    def send(self, method: str, template: str, body: dict[str, Any], status: int = 200) -> Any:
        """POST, PATCH or DELETE: a JSON body (generated client), or for the old client
        the body for POST/PATCH with a body and the query string for DELETE."""
        path = self.style.path(template)
        if self.style.slot_names or (method in ("POST", "PATCH") and body.get("_body", True)):
            payload = {k: v for k, v in body.items() if k != "_body"}
            response = self.client.request(method, path, json=payload)
        else:
            response = self.client.request(method, path, params=_query(body))
        return self._check(response, status)

    def post_without_body(self, template: str, arguments: dict[str, Any]) -> Any:
        """The old client's body-less POST (unallocate, restore): the query string only."""
        if self.style.slot_names:
            return self.send("POST", template, arguments)
        response = self.client.post(self.style.path(template), params=_query(arguments))
        return self._check(response, 200)

    @staticmethod
    def _check(response: Response, status: int) -> Any:
        assert response.status_code == status, response.text
        if status == 200 and response.content == b"{}":
            assert response.headers["etag"] == EMPTY_ETAG
        return response.json()


def _query(arguments: dict[str, Any]) -> dict[str, str]:
    """``{"ip_address": {"id": "x"}}`` -> ``{"ip_address[id]": "x"}``."""
    flat: dict[str, str] = {}
    for name, value in arguments.items():
        if name == "_body":
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                flat[f"{name}[{key}]"] = item
        else:
            flat[name] = value
    return flat


@pytest.fixture(params=[GENERATED, OLD], ids=lambda s: s.name)
def replay(request: pytest.FixtureRequest, settings: Settings, world: World) -> Iterator[Replay]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers.update(bearer(ACME_FULL_TOKEN))
        yield Replay(client, request.param)


def default_network(replay: Replay) -> str:
    body = replay.get(
        "data_centers/{data_center}/default_network", {"data_center[permalink]": "uk-lon-01"}
    )
    network = body["network"]
    assert list(network) == ["id", "name", "permalink", "default", "data_center"]
    assert network["default"] is True
    return str(network["id"])


def create_ip(replay: Replay, network_id: str, **extra: Any) -> dict[str, Any]:
    body = {"network": {"id": network_id}, "organization": {"sub_domain": "acme"},
            "version": "ipv4", **extra}  # fmt: skip
    created = replay.send("POST", "organizations/{organization}/ip_addresses", body)
    assert list(created) == ["ip_address"]
    assert list(created["ip_address"]) == IP_KEYS
    return dict(created["ip_address"])


def read_ip(replay: Replay, ip_id: str, status: int = 200) -> Any:
    return replay.get("ip_addresses/{ip_address}", {"ip_address[id]": ip_id}, status=status)


def destroy_ip(replay: Replay, ip_id: str) -> None:
    assert replay.send("DELETE", "ip_addresses/{ip_address}", {"ip_address": {"id": ip_id}}) == {}
    gone = read_ip(replay, ip_id, 404)
    assert gone["error"]["code"] == "ip_address_not_found"


# -- 7.1, 7.5, 7.6: create, read by id and by address, destroy ------------------------------


@pytest.mark.parametrize("version", ["ipv4", "ipv6"])
def test_ip_create_read_destroy(replay: Replay, version: str) -> None:
    network_id = default_network(replay)
    default_network(replay)
    ip = create_ip(replay, network_id, version=version)
    assert (ip["vip"], ip["label"], ip["allocation_id"]) == (False, None, None)
    for _ in range(4):
        body = read_ip(replay, ip["id"])
        assert body == {"ip_address": ip, "allocation": None}
    by_address = replay.get("ip_addresses/{ip_address}", {"ip_address[address]": ip["address"]})
    assert by_address == {"ip_address": ip, "allocation": None}
    destroy_ip(replay, ip["id"])


# -- 7.2: update ----------------------------------------------------------------------------


def test_ip_update(replay: Replay) -> None:
    ip = create_ip(replay, default_network(replay))
    lookup = {"ip_address": {"id": ip["id"]}}
    first = replay.send("PATCH", "ip_addresses/{ip_address}",
                        {**lookup, "label": "vip-yes", "vip": True})  # fmt: skip
    assert list(first) == ["ip_address"]
    assert (first["ip_address"]["vip"], first["ip_address"]["label"]) == (True, "vip-yes")
    assert read_ip(replay, ip["id"])["ip_address"] == first["ip_address"]
    second = replay.send("PATCH", "ip_addresses/{ip_address}", {**lookup, "label": "vip-oh-yes"})
    assert (second["ip_address"]["vip"], second["ip_address"]["label"]) == (True, "vip-oh-yes")
    # v6 sends label "" with vip false; v5 only vip false. Both drop the label.
    last = (
        {**lookup, "vip": False} if replay.style is OLD else {**lookup, "label": "", "vip": False}
    )
    third = replay.send("PATCH", "ip_addresses/{ip_address}", last)
    assert (third["ip_address"]["vip"], third["ip_address"]["label"]) == (False, None)
    assert third["ip_address"]["reverse_dns"] == ip["reverse_dns"]
    destroy_ip(replay, ip["id"])


# -- 7.3: VIP ---------------------------------------------------------------------------------


def test_ip_as_vip(replay: Replay) -> None:
    ip = create_ip(replay, default_network(replay), label="tf-acc-test-vip-7p5ZgFJZ9vI0", vip=True)
    assert (ip["vip"], ip["label"]) == (True, "tf-acc-test-vip-7p5ZgFJZ9vI0")
    destroy_ip(replay, ip["id"])


def test_a_vip_without_a_label_ends_the_run(replay: Replay, world: World) -> None:
    network_id = default_network(replay)
    before = world.snapshot()
    body = {"network": {"id": network_id}, "organization": {"sub_domain": "acme"},
            "version": "ipv4", "vip": True}  # fmt: skip
    if replay.style is GENERATED:
        body["label"] = ""
    error = replay.send("POST", "organizations/{organization}/ip_addresses", body, status=422)
    assert error["error"]["code"] == "validation_error"
    assert error["error"]["detail"] == {"errors": ["Label can't be blank"]}
    assert world.snapshot() == before


# -- 7.7: a VM whose IP set changes ---------------------------------------------------------


def read_vm_set(replay: Replay, vm_id: str) -> list[str]:
    """What the provider reads to learn a VM's addresses: the VM, its interfaces."""
    vm = replay.get("virtual_machines/{virtual_machine}", {"virtual_machine[id]": vm_id})
    addresses = [ip["id"] for ip in vm["virtual_machine"]["ip_addresses"]]
    listed = replay.get(
        "virtual_machines/{virtual_machine}/network_interfaces",
        {"virtual_machine[id]": vm_id, "page": "1"},
    )
    assert listed["pagination"]["total"] == 1
    (interface,) = listed["virtual_machine_network_interfaces"]
    assert [ip["id"] for ip in interface["ip_addresses"]] == addresses
    one = replay.get(
        "virtual_machine_network_interfaces/{virtual_machine_network_interface}",
        {"virtual_machine_network_interface[id]": interface["id"]},
    )["virtual_machine_network_interface"]
    assert list(one) == [
        "id", "virtual_machine", "name", "network", "virtual_network", "mac_address", "state",
        "ip_addresses", "speed_profile",
    ]  # fmt: skip
    assert [ip["id"] for ip in one["ip_addresses"]] == addresses
    return addresses


def test_a_vm_whose_ip_set_changes(replay: Replay, world: World) -> None:
    vm_id = world.vm("web-1")
    fqdn = "web-1.acme.example.net"
    # The VM already holds 192.0.2.11 in the standard world: release it to start clean.
    replay.post_without_body("ip_addresses/{ip_address}/unallocate",
                             {"ip_address": {"id": world.ip("192.0.2.11")}})  # fmt: skip

    # Step 1: the web address, allocated where production built the VM with it.
    network_id = default_network(replay)
    web = create_ip(replay, network_id)
    read_ip(replay, web["id"])
    allocated = replay.send(
        "POST", "virtual_machines/{virtual_machine}/allocate_ip",
        {"virtual_machine": {"id": vm_id}, "ip_address": {"id": web["id"]}},
    )  # fmt: skip
    assert allocated["ip_address"]["allocation_id"] == vm_id
    assert read_vm_set(replay, vm_id) == [web["id"]]
    body = read_ip(replay, web["id"])
    assert body["allocation"] == {"type": "VirtualMachine", "value": {"id": vm_id, "name": "web-1"}}
    assert body["ip_address"]["reverse_dns"] == fqdn

    # Step 2: the office address, through the interface on the address's network.
    office = create_ip(replay, default_network(replay))
    read_ip(replay, office["id"])
    interfaces = replay.get(
        "virtual_machines/{virtual_machine}/network_interfaces", {"virtual_machine[id]": vm_id}
    )["virtual_machine_network_interfaces"]
    interface = next(i for i in interfaces if i["network"]["id"] == office["network"]["id"])
    through = replay.send(
        "POST",
        "virtual_machine_network_interfaces/{virtual_machine_network_interface}/allocate_ip",
        {"ip_address": {"id": office["id"]},
         "virtual_machine_network_interface": {"id": interface["id"]}},
    )["virtual_machine_network_interface"]  # fmt: skip
    assert "speed_profile" not in through
    assert sorted(ip["id"] for ip in through["ip_addresses"]) == sorted([web["id"], office["id"]])
    assert sorted(read_vm_set(replay, vm_id)) == sorted([web["id"], office["id"]])
    for ip_id in (web["id"], office["id"]):
        assert read_ip(replay, ip_id)["ip_address"]["reverse_dns"] == fqdn

    # Step 3: the office address unallocated; web stays.
    assert replay.post_without_body("ip_addresses/{ip_address}/unallocate",
                                    {"ip_address": {"id": office["id"]}}) == {}  # fmt: skip
    after = read_ip(replay, office["id"])
    assert after["allocation"] is None
    assert after["ip_address"]["allocation_id"] is None
    assert after["ip_address"]["reverse_dns"] == (
        f"{office['address'].replace('.', '-')}.{RDNS_ZONE}"
    )
    assert read_ip(replay, web["id"])["ip_address"]["allocation_id"] == vm_id

    # Destroy: office, then the VM to the trash, web unallocated there, the trash purged.
    destroy_ip(replay, office["id"])
    deleted = replay.send("DELETE", "virtual_machines/{virtual_machine}",
                          {"virtual_machine": {"id": vm_id}})  # fmt: skip
    assert list(deleted) == ["trash_object", "virtual_machine"]
    trash = deleted["trash_object"]
    assert replay.post_without_body("ip_addresses/{ip_address}/unallocate",
                                    {"ip_address": {"id": web["id"]}}) == {}  # fmt: skip
    lookup = ({"trash_object": {"id": trash["id"]}} if replay.style is GENERATED
              else {"trash_object": {"object_id": vm_id}})  # fmt: skip
    task = replay.send("DELETE", "trash_objects/{trash_object}", lookup)["task"]
    assert task["name"] == "Purge items from trash"
    if replay.style is OLD:  # the old client reads tasks with the id in the path
        polled = replay.client.get(f"/core/v1/tasks/{task['id']}")
    else:
        polled = replay.client.get("/core/v1/tasks/task", params={"task[id]": task["id"]})
    assert polled.json()["task"]["status"] == "completed"
    gone = replay.get("trash_objects/{trash_object}", {"trash_object[id]": trash["id"]}, status=404)
    assert gone["error"]["code"] == "trash_object_not_found"
    destroy_ip(replay, web["id"])
    missing = replay.get(
        "virtual_machines/{virtual_machine}", {"virtual_machine[id]": vm_id}, status=404
    )
    assert missing["error"]["code"] == "virtual_machine_not_found"
    by_object = replay.get(
        "trash_objects/{trash_object}", {"trash_object[object_id]": vm_id}, status=404
    )
    assert by_object["error"]["code"] == "trash_object_not_found"
    for ip_id in (web["id"], office["id"]):
        read_ip(replay, ip_id, 404)
