"""Virtual machines (get, list, delete to the trash), the trash and its tasks, through HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from httpx2 import Response
from sqlalchemy import select
from starlette.testclient import TestClient

from katapult_ipam.app import create_app
from katapult_ipam.config import Settings
from katapult_ipam.store import models as m
from tests.support.api import assert_error, bearer
from tests.support.world import ACME_FULL_TOKEN, ACME_TOKEN, GLOBEX_FULL_TOKEN, World

VM = "/core/v1/virtual_machines/virtual_machine"
VMS = "/core/v1/organizations/organization/virtual_machines"
TRASH = "/core/v1/trash_objects/trash_object"
TRASH_LIST = "/core/v1/organizations/organization/trash_objects"
TASK = "/core/v1/tasks/task"
VM_KEYS = [
    "id", "name", "hostname", "fqdn", "description", "created_at", "initial_root_password",
    "state", "suspended", "suspended_at", "zone", "organization", "group", "package",
    "attached_iso", "memory_in_gb", "cpu_cores", "use_dedicated_cpus", "gpu_type", "gpus",
    "tags", "tag_names", "ip_addresses",
]  # fmt: skip
ORGANIZATION_KEYS = [
    "id", "uuid", "name", "sub_domain", "infrastructure_domain", "created_at", "activated_at",
    "suspended", "managed", "billing_name", "address1", "address2", "address3", "address4",
    "postcode", "vat_number", "phone_number", "currency", "country", "country_state",
]  # fmt: skip
TRASH_KEYS = ["id", "keep_until", "object_id", "object_type"]
TASK_KEYS = ["id", "name", "status", "created_at", "started_at", "finished_at", "progress"]


@pytest.fixture
def full(settings: Settings, world: World) -> Iterator[TestClient]:
    """Acme's token with every scope of these endpoints."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers.update(bearer(ACME_FULL_TOKEN))
        yield client


def unchanged(world: World, response: Any, status: int, code: str) -> dict[str, Any]:
    before = world.snapshot()
    error = assert_error(response(), status, code)
    assert world.snapshot() == before
    return error


def get_vm(client: TestClient, vm_id: str) -> Response:
    return client.get(VM, params={"virtual_machine[id]": vm_id})


def delete_vm(client: TestClient, vm_id: str) -> Response:
    return client.request("DELETE", VM, json={"virtual_machine": {"id": vm_id}})


# -- virtual machines -----------------------------------------------------------------------


def test_get_a_virtual_machine_in_productions_shape(full: TestClient, world: World) -> None:
    response = get_vm(full, world.vm("web-1"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["virtual_machine", "annotations"]
    assert body["annotations"] == []
    vm = body["virtual_machine"]
    assert list(vm) == VM_KEYS
    assert (vm["id"], vm["name"], vm["hostname"], vm["fqdn"]) == (
        world.vm("web-1"), "web-1", "web-1", "web-1.acme.example.net",
    )  # fmt: skip
    assert vm["state"] == "started"
    assert isinstance(vm["created_at"], int)
    assert vm["initial_root_password"] is None
    zone = vm["zone"]
    assert list(zone) == ["id", "name", "permalink", "data_center"]
    assert zone["id"].startswith("zone_")
    assert (zone["name"], zone["permalink"]) == ("London", "uk-lon-01-zone")
    assert list(zone["data_center"]["country"]) == [
        "id", "name", "iso_code2", "iso_code3", "time_zone", "eu",
    ]  # fmt: skip
    org = vm["organization"]
    assert list(org) == ORGANIZATION_KEYS
    assert (org["sub_domain"], org["infrastructure_domain"]) == (
        "acme", "acme.katapult-ipam.invalid",
    )  # fmt: skip
    assert org["currency"] == {"id": org["currency"]["id"], "name": "Pound Sterling",
                               "iso_code": "GBP", "symbol": "£"}  # fmt: skip
    assert (org["suspended"], org["managed"], org["country"]) == (False, False, None)
    assert isinstance(org["activated_at"], int)
    assert len(org["uuid"]) == 36
    assert vm["package"] is None
    assert (vm["memory_in_gb"], vm["cpu_cores"], vm["use_dedicated_cpus"]) == (None, None, None)
    assert (vm["gpus"], vm["tags"], vm["tag_names"]) == ([], [], [])
    assert [ip["address"] for ip in vm["ip_addresses"]] == ["192.0.2.11"]
    assert list(vm["ip_addresses"][0])[:3] == ["id", "address", "reverse_dns"]
    assert vm["ip_addresses"][0]["reverse_dns"] == "web-1.acme.example.net"


def test_get_by_fqdn_in_the_old_clients_form(full: TestClient, world: World) -> None:
    response = full.get("/core/v1/virtual_machines/_?virtual_machine[fqdn]=Web-2.acme.example.net")
    assert response.status_code == 200, response.text
    assert response.json()["virtual_machine"]["id"] == world.vm("web-2")


def test_a_package_zone_and_state_from_the_inventory(settings: Settings, engine: Any) -> None:
    from tests.support import factories as f

    token = {"name": "t", "secret": ACME_FULL_TOKEN, "scopes": ["virtual_machines"]}
    document = f.inventory(
        f.organization(
            "pk",
            vms=[f.vm("box", zone="lon-zone-1", package="rock-1", state="stopped",
                      description="the box")],
            api_tokens=[token], currency="eur", country="GB",
            infrastructure_domain="pk.example.cloud",
        ),
    )  # fmt: skip
    document["data_centers"][0]["zones"] = [{"name": "LON-1", "permalink": "lon-zone-1"}]
    document["currencies"] = [{"name": "Euro", "iso_code": "EUR", "symbol": "€"}]
    document["packages"] = [{"name": "ROCK-1", "permalink": "rock-1", "cpu_cores": 1,
                             "memory_in_gb": 1, "storage_in_gb": 10}]  # fmt: skip
    ids = f.load(engine, document)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers.update(bearer(ACME_FULL_TOKEN))
        vm = get_vm(client, ids.vm("pk", "box")).json()["virtual_machine"]
        listed = client.get(VMS, params={"organization[sub_domain]": "pk"}).json()
    assert (vm["state"], vm["description"]) == ("stopped", "the box")
    assert (vm["zone"]["name"], vm["zone"]["permalink"]) == ("LON-1", "lon-zone-1")
    assert list(vm["package"]) == [
        "id", "name", "permalink", "cpu_cores", "ipv4_addresses", "memory_in_gb",
        "storage_in_gb", "monthly_bandwidth_allowance_in_gb", "privacy", "icon",
        "use_dedicated_cpus", "group",
    ]  # fmt: skip
    assert vm["package"]["name"] == "ROCK-1"
    assert vm["package"]["group"]["name"] == "Standard"
    assert (vm["memory_in_gb"], vm["cpu_cores"], vm["use_dedicated_cpus"]) == (1, 1, False)
    org = vm["organization"]
    assert org["currency"]["iso_code"] == "EUR"
    assert org["country"]["iso_code2"] == "GB"
    assert org["infrastructure_domain"] == "pk.example.cloud"
    assert listed["virtual_machines"][0]["package"] == {"name": "ROCK-1"}


def test_list_an_organizations_virtual_machines(full: TestClient, world: World) -> None:
    response = full.get(VMS, params={"organization[sub_domain]": "acme", "per_page": 100})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pagination"] == {"current_page": 1, "total_pages": 1, "total": 4,
                                  "per_page": 100, "large_set": False}  # fmt: skip
    items = body["virtual_machines"]
    # In the trash: not listed. Oldest first: the file's order.
    assert [vm["name"] for vm in items] == ["web-1", "web-2", "multi", "no-nic"]
    assert list(items[0]) == [
        "id", "name", "hostname", "fqdn", "created_at", "zone", "package", "gpu_type",
        "ip_addresses",
    ]  # fmt: skip
    assert list(items[0]["zone"]["data_center"]) == ["id", "name", "permalink"]
    assert items[0]["ip_addresses"] == [{"address": "192.0.2.11"}]
    assert items[0]["package"] is None


def test_list_filtered_by_annotations_finds_none(full: TestClient, world: World) -> None:
    query = "organization[sub_domain]=acme&annotations[][key]=role&annotations[][value]=web"
    body = full.get(f"/core/v1/organizations/_/virtual_machines?{query}").json()
    assert body["virtual_machines"] == []
    assert body["pagination"]["total"] == 0
    # The organization is looked up all the same: another's is not found.
    other = "organization[sub_domain]=globex&annotations[][key]=role"
    unchanged(world, lambda: full.get(f"/core/v1/organizations/_/virtual_machines?{other}"),
              404, "organization_not_found")  # fmt: skip


def test_a_virtual_machine_in_the_trash_is_406(full: TestClient, world: World) -> None:
    error = unchanged(world, lambda: get_vm(full, world.vm("trashed")), 406, "object_in_trash")
    assert list(error["detail"]["trash_object"]) == TRASH_KEYS
    assert error["detail"]["trash_object"]["object_id"] == world.vm("trashed")
    unchanged(world, lambda: delete_vm(full, world.vm("trashed")), 406, "object_in_trash")


def test_another_organizations_objects_are_not_found(settings: Settings, world: World) -> None:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers.update(bearer(GLOBEX_FULL_TOKEN))
        vm = world.vm("web-1")
        unchanged(world, lambda: get_vm(client, vm), 404, "virtual_machine_not_found")
        unchanged(world, lambda: delete_vm(client, vm), 404, "virtual_machine_not_found")
        trashed = world.vm("trashed")
        for send in (
            lambda: client.get(TRASH, params={"trash_object[object_id]": trashed}),
            lambda: client.post(f"{TRASH}/restore", json={"trash_object": {"object_id": trashed}}),
            lambda: client.request("DELETE", TRASH, json={"trash_object": {"object_id": trashed}}),
        ):
            unchanged(world, send, 404, "trash_object_not_found")
        unchanged(
            world,
            lambda: client.get(VMS, params={"organization[sub_domain]": "acme"}),
            404,
            "organization_not_found",
        )


def test_scopes_are_required(client: TestClient, world: World) -> None:
    client.headers.update(bearer(ACME_TOKEN))  # ip_addresses only
    for send in (
        lambda: get_vm(client, world.vm("web-1")),
        lambda: delete_vm(client, world.vm("web-1")),
        lambda: client.get(TRASH_LIST, params={"organization[sub_domain]": "acme"}),
        lambda: client.request("DELETE", TRASH, json={"trash_object": {"id": "trsh_x"}}),
    ):
        unchanged(world, send, 403, "scope_not_granted")


# -- delete, restore, purge -----------------------------------------------------------------


def test_delete_moves_the_vm_to_the_trash_with_its_addresses(
    full: TestClient, world: World
) -> None:
    vm_id = world.vm("web-1")
    before = int(time.time())
    response = delete_vm(full, vm_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["trash_object", "virtual_machine"]
    trash = body["trash_object"]
    assert list(trash) == TRASH_KEYS
    assert trash["id"].startswith("trsh_")
    assert (trash["object_id"], trash["object_type"]) == (vm_id, "VirtualMachine")
    assert before + 172_800 <= trash["keep_until"] <= int(time.time()) + 172_800
    assert list(body["virtual_machine"]) == VM_KEYS
    # Its address stays allocated to it; the VM answers 406 until restored or purged.
    assert world.ip_row("192.0.2.11").allocation_id == vm_id
    assert_error(get_vm(full, vm_id), 406, "object_in_trash")
    by_object = full.get("/core/v1/trash_objects/_", params={"trash_object[object_id]": vm_id})
    assert by_object.json() == {"trash_object": trash}
    listed = full.get(TRASH_LIST, params={"organization[sub_domain]": "acme"}).json()
    assert listed["pagination"]["total"] == 2
    assert trash in listed["trash_objects"]


def test_restore_makes_the_vm_usable_again(full: TestClient, world: World) -> None:
    vm_id = world.vm("trashed")
    trash = full.get(TRASH, params={"trash_object[object_id]": vm_id}).json()["trash_object"]
    response = full.post(f"{TRASH}/restore", json={"trash_object": {"id": trash["id"]}})
    assert response.status_code == 200, response.text
    assert response.json() == {"trash_object": trash}
    assert get_vm(full, vm_id).status_code == 200
    assert_error(full.get(TRASH, params={"trash_object[id]": trash["id"]}), 404,
                 "trash_object_not_found")  # fmt: skip
    allocated = full.post(
        "/core/v1/virtual_machines/_/allocate_ip",
        json={"virtual_machine": {"id": vm_id}, "ip_address": {"address": "192.0.2.10"}},
    )
    assert allocated.status_code == 200, allocated.text


def test_restore_in_the_old_clients_form(full: TestClient, world: World) -> None:
    trash_id = full.get(TRASH, params={"trash_object[object_id]": world.vm("trashed")}).json()[
        "trash_object"
    ]["id"]
    response = full.post(f"/core/v1/trash_objects/_/restore?trash_object[id]={trash_id}")
    assert response.status_code == 200, response.text


def test_purge_unallocates_deletes_and_answers_with_a_task(full: TestClient, world: World) -> None:
    vm_id, ip_id = world.vm("web-1"), world.ip("192.0.2.11")
    trash = delete_vm(full, vm_id).json()["trash_object"]
    response = full.request("DELETE", TRASH, json={"trash_object": {"id": trash["id"]}})
    assert response.status_code == 200, response.text
    task = response.json()["task"]
    assert list(response.json()) == ["task"]
    assert list(task) == TASK_KEYS
    assert (task["name"], task["status"], task["progress"]) == (
        "Purge items from trash", "completed", 100,
    )  # fmt: skip
    assert task["created_at"] <= task["started_at"] <= task["finished_at"]
    assert full.get(TASK, params={"task[id]": task["id"]}).json() == {"task": task}
    assert full.get(f"/core/v1/tasks/{task['id']}").json() == {"task": task}
    # Gone: the trash object, the VM, its interfaces; its address is unallocated, still Acme's.
    assert_error(full.get(TRASH, params={"trash_object[id]": trash["id"]}), 404,
                 "trash_object_not_found")  # fmt: skip
    assert_error(get_vm(full, vm_id), 404, "virtual_machine_not_found")
    row = world.ip_row("192.0.2.11")
    assert (row.allocation_id, row.network_interface_id) == (None, None)
    assert row.organization_id is not None
    events = m.AllocationEvent.__table__
    with world.engine.connect() as c:
        logged = c.execute(
            select(events.c.action, events.c.ip_address_id, events.c.virtual_machine_id,
                   events.c.operation)
        ).all()  # fmt: skip
    assert [tuple(e) for e in logged] == [("unallocate", ip_id, vm_id, "delete:trash_object")]
    nics = m.NetworkInterface.__table__
    with world.engine.connect() as c:
        assert c.execute(select(nics.c.id).where(nics.c.virtual_machine_id == vm_id)).all() == []


def test_purge_in_the_old_clients_form_by_object_id(full: TestClient, world: World) -> None:
    vm_id = world.vm("trashed")
    response = full.delete(f"/core/v1/trash_objects/_?trash_object[object_id]={vm_id}")
    assert response.status_code == 200, response.text
    assert_error(get_vm(full, vm_id), 404, "virtual_machine_not_found")


@pytest.mark.parametrize(
    ("path", "code"),
    [
        (f"{TRASH}?trash_object[id]=trsh_doesNotExist01", "trash_object_not_found"),
        (f"{TASK}?task[id]=task_doesNotExist001", "task_not_found"),
        ("/core/v1/tasks/task_doesNotExist001", "task_not_found"),
    ],
)
def test_not_found(full: TestClient, world: World, path: str, code: str) -> None:
    unchanged(world, lambda: full.get(path), 404, code)
