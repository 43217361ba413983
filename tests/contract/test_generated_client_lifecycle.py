"""The client openapi-python-client generates from our document, against the real server,
for every operation but allocate_ip (``test_generated_client.py``).

The operations are read from the document, so one added later is called too: through
the generated module of the same name (``get:ip_address`` -> ``getip_address``), with
its lookups from the standard inventory (Acme's objects). Every 200 must parse into the
typed model the document gives it, and parse back (``to_dict``) into exactly the JSON
the server sent; the lifecycle operations' answers are checked field by field. Every
documented refusal that can be provoked must parse into its documented model: the
authenticator's (400 ``missing_api_token``, 403 ``invalid_api_token`` and
``scope_not_granted``) and a 404 for every operation, and per operation 403
``organization_suspended``, 406 ``object_in_trash``, 422 ``validation_error`` and
``no_allocation``, 503 ``no_available_addresses``.

The generated client sends the document's literal paths (``/ip_addresses/ip_address``),
GET arguments in the query string and every other method's in a JSON body, DELETE
included (lifecycle-facts §0.1, "generated client").
"""

from __future__ import annotations

import enum
import importlib
import json
import pkgutil
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, update

from katapult_ipam.store import models as m
from tests.contract.test_schemathesis_lifecycle import (
    COVERED_ELSEWHERE,
    LIFECYCLE,
    TOKEN_SCOPES,
    Inventory,
    Operation,
    read_inventory,
    resolve,
)
from tests.integration.server import ServerFactory
from tests.support.world import (
    ACME_EXPIRED_TOKEN,
    ACME_FULL_TOKEN,
    GLOBEX_FULL_TOKEN,
    World,
)

pytestmark = pytest.mark.slow

PACKAGE = "katapult_core_client"
TIMEOUT = httpx.Timeout(15.0)


# -- calling an operation through the generated client --------------------------------


@dataclass
class Client:
    """The generated package, and how to call one of the document's operations with it."""

    package: ModuleType
    base_url: str
    modules: dict[str, ModuleType] = field(default_factory=dict)

    @property
    def models(self) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.models")

    def module(self, operation_id: str) -> ModuleType:
        """The operation's generated module: ``<method><name>`` under its tag's folder."""
        if not self.modules:
            api = importlib.import_module(f"{PACKAGE}.api")
            for info in pkgutil.walk_packages(api.__path__, f"{PACKAGE}.api."):
                if not info.ispkg:
                    self.modules[info.name.rsplit(".", 1)[-1]] = importlib.import_module(info.name)
        method, name = operation_id.split(":", 1)
        # The generator collapses runs of "_" (`get:v_m_n_i__v_m_n_i` -> getv_m_n_i_v_m_n_i).
        return self.modules[re.sub("_+", "_", f"{method}{name}")]

    def answers(self, operation_id: str) -> list[type]:
        """The models ``sync_detailed`` may parse an answer into (its return annotation)."""
        returned = typing.get_type_hints(self.module(operation_id).sync_detailed)["return"]
        [union] = typing.get_args(returned)  # Response[A | B | ...]
        return [t for t in typing.get_args(union) if isinstance(t, type)]

    def call(self, operation_id: str, token: str | None, arguments: dict[str, Any]) -> Any:
        """``sync_detailed`` with the arguments named as the document names them
        (``ip_address[id]`` in the query; body properties for a body)."""
        module = self.module(operation_id)
        hints = typing.get_type_hints(module.sync_detailed)
        kwargs: dict[str, Any] = {}
        if "body" in hints:
            body_type = next(t for t in typing.get_args(hints["body"]) if hasattr(t, "from_dict"))
            kwargs["body"] = body_type.from_dict(arguments)
        else:
            for name, value in arguments.items():
                keyword = name.replace("[", "").replace("]", "")
                kwargs[keyword] = as_enum(hints[keyword], value)
        options: dict[str, Any] = {
            "base_url": self.base_url,
            "timeout": TIMEOUT,
            "httpx_args": {"trust_env": False},  # never a proxy: 127.0.0.1 only
        }
        if token is None:
            client = self.package.Client(**options)
        else:
            client = self.package.AuthenticatedClient(token=token, **options)
        with client:
            return module.sync_detailed(client=client, **kwargs)


def as_enum(hint: Any, value: Any) -> Any:
    """``value`` as the generated enum the parameter wants, if it wants one."""
    for candidate in (hint, *typing.get_args(hint)):
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return candidate(value)
    return value


@pytest.fixture
def client(generated_client: ModuleType, start_server: ServerFactory) -> Client:
    server = start_server(workers=1)
    return Client(generated_client, f"{server.url}/core/v1")


def parsed_as_sent(response: Any) -> None:
    """The typed model holds exactly what the server sent: nothing lost, nothing added."""
    assert response.parsed is not None, response.content
    assert type(response.parsed).__module__.startswith(f"{PACKAGE}.models.")
    assert response.parsed.to_dict() == json.loads(response.content)


# -- generic arguments: Acme's objects ------------------------------------------------


def generic_arguments(operation: Operation, inventory: Inventory) -> dict[str, Any]:
    """Arguments naming Acme's first object for each lookup, the first value of each
    required enum: a well-formed call of an operation these tests know nothing else of."""
    arguments: dict[str, Any] = {}
    for name, (where, keys) in operation.lookups().items():
        pool = [v for v in inventory.pool(name, keys) if v.owner in ("acme", "")]
        if not pool:
            continue
        value = pool[0]
        if where == "query":
            arguments[f"{name}[{value.key}]"] = value.value
        else:
            arguments[name] = {value.key: value.value}
    for parameter in operation.raw.get("parameters", []):
        parameter = resolve(parameter)
        schema = resolve(parameter.get("schema", {}))
        if parameter.get("required") and "enum" in schema:
            arguments[parameter["name"]] = schema["enum"][0]
    content = operation.raw.get("requestBody", {}).get("content", {})
    schema = resolve(content.get("application/json", {}).get("schema", {}))
    for name in schema.get("required", []):
        prop = resolve(schema["properties"][name])
        if name not in arguments and "enum" in prop:
            arguments[name] = prop["enum"][0]
    return arguments


# -- success: every 200 into its typed model -------------------------------------------


@dataclass
class Success:
    """One call expected to answer 200, and the checks of its parsed model."""

    operation_id: str
    arguments: Callable[[World], dict[str, Any]]
    check: Callable[[Any, Any, World], None]  # (parsed, models, world)


def ip_fields(ip: Any, models: Any, address: str) -> None:
    assert isinstance(ip, models.IPAddress)
    assert ip.address == address
    assert ip.id.startswith("ip_")
    assert isinstance(ip.network, models.Network)
    assert isinstance(ip.network.data_center, models.DataCenter)
    assert isinstance(ip.network.data_center.country, models.Country)
    # WIRE FACTS: production's IP objects carry a `subnet` the document does not declare:
    # the generated model keeps it as an additional property.
    assert ip.additional_properties["subnet"]["mask"] in (24, 64)


def check_create(parsed: Any, models: Any, world: World) -> None:
    assert isinstance(parsed, models.PostorganizationIpAddressesResponse200)
    ip = parsed.ip_address
    ip_fields(ip, models, ip.address)
    assert ip.address.startswith("198.51.100.")
    assert (ip.vip, ip.label, ip.allocation_id, ip.allocation_type) == (True, "edge", None, None)
    assert ip.network.permalink == "nl-ams-01-public"
    assert ip.reverse_dns == f"{ip.address.replace('.', '-')}.rdns.test.invalid"


def check_list_ips(parsed: Any, models: Any, world: World) -> None:
    assert isinstance(parsed, models.GetorganizationIpAddressesResponse200)
    assert isinstance(parsed.pagination, models.PaginationObject)
    assert (parsed.pagination.current_page, parsed.pagination.per_page) == (1, 30)
    assert (parsed.pagination.total, parsed.pagination.large_set) == (1, False)
    [item] = parsed.ip_addresses
    assert type(item).__name__ == "GetOrganizationIPAddresses200ResponseIPAddresses"
    assert (item.address, item.allocation_id, item.allocation_type) == (
        "192.0.2.11", world.vm("web-1"), "VirtualMachine",
    )  # fmt: skip
    assert (item.vip, item.reverse_dns) == (False, "web-1.acme.example.net")


def check_get_ip(parsed: Any, models: Any, world: World) -> None:
    assert isinstance(parsed, models.GetipAddressResponse200)
    ip_fields(parsed.ip_address, models, "192.0.2.11")
    assert parsed.ip_address.allocation_id == world.vm("web-1")
    allocation = parsed.allocation
    assert isinstance(allocation, models.GetIPAddress200ResponseAllocation)
    # WIRE FACTS: production sends the {type, value} polymorph, not the document's
    # {id, name}: the typed fields stay unset, the polymorph rides along.
    assert not isinstance(allocation.id, str)
    assert not isinstance(allocation.name, str)
    assert allocation.additional_properties == {
        "type": "VirtualMachine", "value": {"id": world.vm("web-1"), "name": "web-1"},
    }  # fmt: skip


def check_patch(parsed: Any, models: Any, world: World) -> None:
    assert isinstance(parsed, models.PatchipAddressResponse200)
    ip = parsed.ip_address
    ip_fields(ip, models, "192.0.2.12")
    assert (ip.vip, ip.label, ip.reverse_dns) == (True, "edge", "host.example.com")


def check_empty(parsed: Any, models: Any, world: World) -> None:
    """The document's `{"properties": {}}`: the generated client gives the JSON as is."""
    assert parsed == {}


def check_get_vm(parsed: Any, models: Any, world: World) -> None:
    assert isinstance(parsed, models.GetvirtualMachineResponse200)
    vm = parsed.virtual_machine
    assert isinstance(vm, models.GetVirtualMachine200ResponseVirtualMachine)
    assert (vm.id, vm.name, vm.fqdn) == (world.vm("web-1"), "web-1", "web-1.acme.example.net")
    assert [ip.address for ip in vm.ip_addresses] == ["192.0.2.11"]
    assert all(isinstance(ip, models.IPAddress) for ip in vm.ip_addresses)
    assert parsed.annotations == []
    # WIRE FACTS: VMs have `suspended`/`suspended_at`, organizations `uuid`.
    assert vm.additional_properties["suspended"] is False
    assert vm.additional_properties["suspended_at"] is None
    assert vm.organization.sub_domain == "acme"
    assert isinstance(vm.organization.additional_properties["uuid"], str)


def check_list_vms(parsed: Any, models: Any, world: World) -> None:
    assert isinstance(parsed, models.GetorganizationVirtualMachinesResponse200)
    assert isinstance(parsed.pagination, models.PaginationObject)
    names = {vm.name for vm in parsed.virtual_machines}
    assert {"web-1", "web-2", "multi", "no-nic"} <= names
    assert "app-1" not in names
    assert parsed.pagination.total == len(parsed.virtual_machines)


def check_delete_vm(parsed: Any, models: Any, world: World) -> None:
    assert isinstance(parsed, models.DeletevirtualMachineResponse200)
    assert isinstance(parsed.trash_object, models.TrashObject)
    assert parsed.trash_object.id.startswith("trsh_")
    assert (parsed.trash_object.object_id, parsed.trash_object.object_type) == (
        world.vm("web-2"), "VirtualMachine",
    )  # fmt: skip
    assert parsed.virtual_machine.id == world.vm("web-2")


def check_list_trash(parsed: Any, models: Any, world: World) -> None:
    assert isinstance(parsed, models.GetorganizationTrashObjectsResponse200)
    assert isinstance(parsed.pagination, models.PaginationObject)
    assert all(isinstance(t, models.TrashObject) for t in parsed.trash_objects)
    assert {t.object_id for t in parsed.trash_objects} == {world.vm("trashed"), world.vm("web-2")}


def check_get_trash(parsed: Any, models: Any, world: World) -> None:
    assert isinstance(parsed, models.GettrashObjectResponse200)
    assert isinstance(parsed.trash_object, models.TrashObject)
    assert parsed.trash_object.object_id == world.vm("trashed")
    assert isinstance(parsed.trash_object.keep_until, int)


def check_restore(parsed: Any, models: Any, world: World) -> None:
    assert isinstance(parsed, models.PosttrashObjectRestoreResponse200)
    assert parsed.trash_object.object_id == world.vm("trashed")


def check_task(parsed: Any, models: Any, world: World) -> None:
    task = parsed.task
    assert isinstance(task, models.Task)
    assert task.id.startswith("task_")
    assert task.name == "Purge items from trash"
    assert isinstance(task.status, models.TaskStatusEnum)
    assert isinstance(task.created_at, int)


def check_purge(parsed: Any, models: Any, world: World) -> None:
    assert isinstance(parsed, models.DeletetrashObjectResponse200)
    check_task(parsed, models, world)


def check_get_task(parsed: Any, models: Any, world: World) -> None:
    assert isinstance(parsed, models.GettaskResponse200)
    check_task(parsed, models, world)


def by_address(address: str) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"ip_address": {"address": address}}


# In order: each step leaves what the next needs (web-2 in the trash, a task).
SUCCESSES = [
    Success("post:organization_ip_addresses", lambda w: {
        "organization": {"sub_domain": "acme"}, "network": {"permalink": "nl-ams-01-public"},
        "version": "ipv4", "vip": True, "label": "edge",
    }, check_create),
    Success("get:organization_ip_addresses", lambda w: {
        "organization[sub_domain]": "acme", "allocated": True,
    }, check_list_ips),
    Success("get:ip_address", lambda w: {"ip_address[address]": "192.0.2.11"}, check_get_ip),
    Success("patch:ip_address", lambda w: {
        "ip_address": {"address": "192.0.2.12"}, "vip": True, "label": "edge",
        "reverse_dns": "Host.Example.COM.",
    }, check_patch),
    Success("get:virtual_machine", lambda w: {"virtual_machine[fqdn]": "WEB-1.acme.example.net"},
            check_get_vm),
    Success("post:ip_address_unallocate", by_address("192.0.2.11"), check_empty),
    Success("delete:ip_address", by_address("192.0.2.12"), check_empty),
    Success("get:organization_virtual_machines", lambda w: {"organization[id]": org(w, "acme")},
            check_list_vms),
    Success("delete:virtual_machine", lambda w: {"virtual_machine": {"id": w.vm("web-2")}},
            check_delete_vm),
    Success("get:organization_trash_objects", lambda w: {"organization[sub_domain]": "acme"},
            check_list_trash),
    Success("get:trash_object", lambda w: {"trash_object[object_id]": w.vm("trashed")},
            check_get_trash),
    Success("post:trash_object_restore", lambda w: {"trash_object": {"object_id": w.vm("trashed")}},
            check_restore),
    Success("delete:trash_object", lambda w: {"trash_object": {"object_id": w.vm("web-2")}},
            check_purge),
    Success("get:task", lambda w: {"task[id]": task_id(w)}, check_get_task),
    # Context operations: the generic arguments would pair a VM with a network it has no
    # interface on; the typed model and its round trip are what is checked.
    Success("get:virtual_machine_network_interface", lambda w: {
        "virtual_machine[id]": w.vm("web-1"), "network[permalink]": "uk-lon-01-public",
    }, lambda parsed, models, world: None),
    Success("get:virtual_machine_network_interface_available_ips_address_version", lambda w: {
        "virtual_machine_network_interface[id]": interface_of(w, "web-1"),
        "address_version": "ipv4",
    }, lambda parsed, models, world: None),
    Success("post:virtual_machine_network_interface_allocate_ip", lambda w: {
        "virtual_machine_network_interface": {"id": interface_of(w, "web-1")},
        "ip_address": {"address": "192.0.2.10"},
    }, lambda parsed, models, world: None),
]  # fmt: skip


def interface_of(world: World, vm_name: str) -> str:
    table = m.NetworkInterface.__table__
    with world.engine.connect() as c:
        query = table.select().where(table.c.virtual_machine_id == world.vm(vm_name))
        return str(c.execute(query).one().id)


def org(world: World, sub_domain: str) -> str:
    with world.engine.connect() as c:
        table = m.Organization.__table__
        query = table.select().where(table.c.sub_domain == sub_domain)
        return str(c.execute(query).one().id)


def task_id(world: World) -> str:
    with world.engine.connect() as c:
        return str(c.execute(m.Task.__table__.select()).one().id)


def test_every_success_parses_into_its_typed_model(
    client: Client, world: World, engine: Engine, subtests: pytest.Subtests
) -> None:
    specific = {success.operation_id for success in SUCCESSES}
    for success in SUCCESSES:
        with subtests.test(success.operation_id):
            response = client.call(success.operation_id, ACME_FULL_TOKEN, success.arguments(world))
            assert response.status_code == 200, response.content
            assert response.headers["content-type"] == "application/json"
            if response.content == b"{}":
                assert response.parsed == {}  # the document's `{"properties": {}}`: Any
            else:
                parsed_as_sent(response)
            success.check(response.parsed, client.models, world)
    # Operations these tests know nothing else of (added to the document later): a
    # well-formed call on Acme's objects must answer 200 in the typed model.
    inventory = read_inventory(engine, {})
    for operation in LIFECYCLE:
        if operation.id in specific:
            continue
        with subtests.test(operation.id):
            inventory = read_inventory(engine, operation.lookups())
            arguments = generic_arguments(operation, inventory)
            response = client.call(operation.id, ACME_FULL_TOKEN, arguments)
            assert response.status_code == 200, (arguments, response.content)
            parsed_as_sent(response)
            assert type(response.parsed).__name__.endswith("Response200")
            assert type(response.parsed) in client.answers(operation.id)


# -- refusals: every documented error into its documented model -----------------------


@dataclass
class Refusal:
    name: str
    operation_id: str
    token: str | None
    arguments: Callable[[World], dict[str, Any]]
    status: int
    code: str
    model: str  # the generated model the document gives this answer


def suspended_globex(world: World) -> None:
    with world.engine.begin() as c:
        c.execute(
            update(m.Organization)
            .where(m.Organization.sub_domain == "globex")
            .values(suspended=True)
        )


REFUSALS = [
    Refusal("vip without a label", "post:organization_ip_addresses", ACME_FULL_TOKEN, lambda w: {
        "organization": {"sub_domain": "acme"}, "network": {"permalink": "uk-lon-01-public"},
        "version": "ipv4", "vip": True,
    }, 422, "validation_error", "PostorganizationIpAddressesResponse422"),
    Refusal("no pool for the version", "post:organization_ip_addresses", ACME_FULL_TOKEN,
            lambda w: {"organization": {"sub_domain": "acme"},
                       "network": {"permalink": "nl-ams-01-public"}, "version": "ipv6"},
            503, "no_available_addresses", "NoAvailableAddressesSchema"),
    Refusal("network not found", "post:organization_ip_addresses", ACME_FULL_TOKEN,
            lambda w: {"organization": {"sub_domain": "acme"},
                       "network": {"permalink": "nowhere"}, "version": "ipv4"},
            404, "network_not_found", "NetworkNotFoundSchema"),
    Refusal("another organization", "post:organization_ip_addresses", GLOBEX_FULL_TOKEN,
            lambda w: {"organization": {"sub_domain": "acme"},
                       "network": {"permalink": "uk-lon-01-public"}, "version": "ipv4"},
            404, "organization_not_found", "OrganizationNotFoundSchema"),
    Refusal("vip without a label", "patch:ip_address", ACME_FULL_TOKEN,
            lambda w: {"ip_address": {"address": "192.0.2.10"}, "vip": True, "label": ""},
            422, "validation_error", "PatchipAddressResponse422"),
    Refusal("another organization's", "get:ip_address", GLOBEX_FULL_TOKEN,
            lambda w: {"ip_address[address]": "192.0.2.11"},
            404, "ip_address_not_found", "GetipAddressResponse404"),
    Refusal("not allocated", "post:ip_address_unallocate", ACME_FULL_TOKEN,
            by_address("192.0.2.10"), 422, "no_allocation", "PostipAddressUnallocateResponse422"),
    Refusal("in the trash", "get:virtual_machine", ACME_FULL_TOKEN,
            lambda w: {"virtual_machine[fqdn]": "trashed.acme.example.net"},
            406, "object_in_trash", "GetvirtualMachineResponse406"),
    Refusal("in the trash", "delete:virtual_machine", ACME_FULL_TOKEN,
            lambda w: {"virtual_machine": {"id": w.vm("trashed")}},
            406, "object_in_trash", "DeletevirtualMachineResponse406"),
]  # fmt: skip
# Once Globex is suspended (the last step): every organization lookup of it refuses.
SUSPENDED = [(op.id, op) for op in LIFECYCLE if "organization" in op.lookups()]


def check_refusal(response: Any, status: int, code: str, model: str | None) -> None:
    assert response.status_code == status, response.content
    parsed = response.parsed
    if model is not None:
        assert type(parsed).__name__ == model, type(parsed)
    parsed_as_sent(response)
    assert parsed.code == code  # an enum of the generated package (a StrEnum)
    assert type(parsed.code).__module__.startswith(f"{PACKAGE}.models")
    assert isinstance(parsed.description, str)
    assert parsed.description
    # WIRE FACTS: the production envelope rides along as an extra property, equal to the
    # flat fields the document describes.
    body = json.loads(response.content)
    assert parsed.additional_properties["error"] == body["error"]
    assert body["error"] == {k: body[k] for k in ("code", "description", "detail")}


def not_found_arguments(operation: Operation, inventory: Inventory) -> dict[str, Any]:
    """Well-formed arguments whose first lookup names nothing."""
    arguments = generic_arguments(operation, inventory)
    name, (where, _) = next(iter(operation.lookups().items()))
    if where == "query":
        arguments = {k: v for k, v in arguments.items() if not k.startswith(f"{name}[")}
        arguments[f"{name}[id]"] = "x_doesNotExist0000"
    else:
        arguments[name] = {"id": "x_doesNotExist0000"}
    return arguments


def documented_models(client: Client, operation: Operation, status: int) -> set[str]:
    """Which generated models may hold a documented answer: the operation's own
    ``...Response<status>``, or one of the schemas of that status's oneOf."""
    response = resolve(operation.raw["responses"][str(status)])
    schema = response["content"]["application/json"]["schema"]
    names = {t.__name__ for t in client.answers(operation.id)}
    own = {name for name in names if name.endswith(f"Response{status}")}
    one_of = {part["$ref"].rsplit("/", 1)[-1] for part in resolve(schema).get("oneOf", [])}
    assert own | one_of, (operation.id, status)
    return (own | one_of) & names


def test_every_documented_refusal_parses_into_its_model(
    client: Client, world: World, engine: Engine, subtests: pytest.Subtests
) -> None:
    for refusal in REFUSALS:
        with subtests.test(f"{refusal.operation_id}: {refusal.name}"):
            response = client.call(refusal.operation_id, refusal.token, refusal.arguments(world))
            check_refusal(response, refusal.status, refusal.code, refusal.model)
            if refusal.code == "validation_error":
                assert response.parsed.detail.errors == ["Label can't be blank"]
            if refusal.code == "object_in_trash":
                trash = response.parsed.detail.trash_object
                assert (trash.object_id, trash.object_type) == (
                    world.vm("trashed"),
                    "VirtualMachine",
                )
    before = world.snapshot()
    for operation in LIFECYCLE:
        inventory = read_inventory(engine, operation.lookups())
        arguments = generic_arguments(operation, inventory)
        probes: list[tuple[str, str | None, int, str, dict[str, Any]]] = [
            ("no token", None, 400, "missing_api_token", arguments),
            ("expired token", ACME_EXPIRED_TOKEN, 403, "invalid_api_token", arguments),
        ]
        lacking = [t for t, scopes in TOKEN_SCOPES.items() if not scopes & operation.scopes]
        if operation.scopes and lacking:
            probes.append(("scope", lacking[0], 403, "scope_not_granted", arguments))
        if operation.lookups():
            not_found = not_found_arguments(operation, inventory)
            codes = sorted(operation.documented()[404])
            probes.append(("not found", ACME_FULL_TOKEN, 404, codes[0], not_found))
        for name, token, status, code, args in probes:
            with subtests.test(f"{operation.id}: {name}"):
                response = client.call(operation.id, token, args)
                if status == 404:
                    code = json.loads(response.content)["error"]["code"]
                    assert code in operation.documented()[404], response.content
                models = documented_models(client, operation, status)
                assert type(response.parsed).__name__ in models, (type(response.parsed), models)
                check_refusal(response, status, code, None)
    assert world.snapshot() == before  # no refusal changed anything
    # 403 organization_suspended, wherever an organization is looked up.
    suspended_globex(world)
    for operation_id, operation in SUSPENDED:
        with subtests.test(f"{operation_id}: organization suspended"):
            inventory = read_inventory(engine, operation.lookups())
            arguments = generic_arguments(operation, inventory)
            where, _ = operation.lookups()["organization"]
            if where == "query":
                arguments = {
                    k: v for k, v in arguments.items() if not k.startswith("organization[")
                }
                arguments["organization[sub_domain]"] = "globex"
            else:
                arguments["organization"] = {"sub_domain": "globex"}
            response = client.call(operation_id, GLOBEX_FULL_TOKEN, arguments)
            check_refusal(response, 403, "organization_suspended", "OrganizationSuspendedSchema")


def test_every_operation_has_a_generated_module(generated_client: ModuleType) -> None:
    """The generated client has a module for each operation of the document (the naming
    ``Client.module`` relies on)."""
    client = Client(generated_client, "http://127.0.0.1:1")
    for operation in LIFECYCLE:
        assert callable(client.module(operation.id).sync_detailed), operation.id
    assert {"post:virtual_machine_allocate_ip"} == COVERED_ELSEWHERE
    assert isinstance(client.module("post:virtual_machine_allocate_ip"), types.ModuleType)
