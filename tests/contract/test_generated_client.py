"""A client generated from our document by openapi-python-client, against the real server.

The client is generated once per session (offline, from the file) into a temporary
folder and imported from there (the ``generated_client`` fixture, ``conftest.py``).
Each documented answer of ``allocate_ip`` must come back parsed into the model the
document gives it, with the fields it declares.

The generated client sends the document's literal path
(``/virtual_machines/virtual_machine/allocate_ip``) and the lookups in the body; the
names below (``postvirtual_machine_allocate_ip``, ``PostvirtualMachineAllocateIp...``)
are openapi-python-client 0.29's, derived from the operation id
``post:virtual_machine_allocate_ip``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.integration.server import RunningServer, ServerFactory
from tests.support.world import (
    ACME_EXPIRED_TOKEN,
    ACME_NO_SCOPE_TOKEN,
    ACME_TOKEN,
    World,
)

pytestmark = pytest.mark.slow

DOCUMENT = Path(__file__).resolve().parents[2] / "src/katapult_ipam/api/openapi.json"
PACKAGE = "katapult_core_client"
TIMEOUT = httpx.Timeout(15.0)


@dataclass(frozen=True)
class Generated:
    """The parts of the generated package the tests use."""

    package: ModuleType
    models: ModuleType
    allocate_ip: ModuleType  # the operation's module: sync_detailed(client=..., body=...)

    def client(self, base_url: str, token: str | None) -> Any:
        """An AuthenticatedClient with this token, or a plain Client without one."""
        options: dict[str, Any] = {
            "base_url": base_url,
            "timeout": TIMEOUT,
            "httpx_args": {"trust_env": False},  # never a proxy: 127.0.0.1 only
        }
        if token is None:
            return self.package.Client(**options)
        return self.package.AuthenticatedClient(token=token, **options)

    def body(self, vm: dict[str, str], ip: dict[str, str]) -> Any:
        return self.models.PostvirtualMachineAllocateIpBody(
            virtual_machine=self.models.VirtualMachineLookup(**vm),
            ip_address=self.models.IPAddressLookup(**ip),
        )


@pytest.fixture(scope="session")
def generated(generated_client: ModuleType) -> Generated:
    """The session's generated client (``conftest.py``), as these tests use it."""
    return Generated(
        package=generated_client,
        models=importlib.import_module(f"{PACKAGE}.models"),
        allocate_ip=importlib.import_module(
            f"{PACKAGE}.api.virtual_machines.postvirtual_machine_allocate_ip"
        ),
    )


def allocate(generated: Generated, base_url: str, token: str | None, body: Any) -> Any:
    with generated.client(base_url, token) as client:
        return generated.allocate_ip.sync_detailed(client=client, body=body)


def api_url(server: RunningServer) -> str:
    return f"{server.url}/core/v1"


# -- success -------------------------------------------------------------------------


def test_a_success_parses_into_the_typed_model(
    generated: Generated, start_server: ServerFactory, world: World
) -> None:
    base_url = api_url(start_server(workers=1))
    vm_id = world.vm("web-1")

    response = allocate(
        generated, base_url, ACME_TOKEN, generated.body({"id": vm_id}, {"address": "192.0.2.10"})
    )

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, generated.models.PostvirtualMachineAllocateIpResponse200)
    ip = response.parsed.ip_address
    assert isinstance(ip, generated.models.IPAddress)
    assert ip.id == world.ip("192.0.2.10")
    assert ip.address == "192.0.2.10"
    assert ip.address_with_mask == "192.0.2.10/24"
    assert ip.reverse_dns == "web-1.acme.example.net"
    assert (ip.vip, ip.label) == (False, None)
    assert (ip.allocation_id, ip.allocation_type) == (vm_id, "VirtualMachine")
    network = ip.network
    assert isinstance(network, generated.models.Network)
    assert network.id.startswith("netw_")
    assert (network.name, network.permalink, network.default) == (
        "Public Network", "uk-lon-01-public", True,
    )  # fmt: skip
    data_center = network.data_center
    assert isinstance(data_center, generated.models.DataCenter)
    assert data_center.id.startswith("loc_")
    assert (data_center.name, data_center.permalink) == ("London", "uk-lon-01")
    country = data_center.country
    assert isinstance(country, generated.models.Country)
    assert country.id.startswith("ctry_")
    assert (country.name, country.iso_code2, country.iso_code3, country.time_zone, country.eu) == (
        "United Kingdom", "GB", "GBR", "Europe/London", False,
    )  # fmt: skip
    # WIRE FACTS: production also sends the subnet, which the document's IPAddress does
    # not declare; the generated model keeps it as an additional property.
    assert ip.additional_properties["subnet"]["address"] == "192.0.2.0"
    assert response.headers["content-type"] == "application/json"

    # By FQDN (any case) and by IP id, IPv6: the same typed model.
    again = allocate(
        generated, base_url, ACME_TOKEN,
        generated.body({"fqdn": "WEB-2.acme.example.net"}, {"id": world.ip("2001:db8:1::10")}),
    )  # fmt: skip
    assert again.status_code == 200, again.content
    ip6 = again.parsed.ip_address
    assert (ip6.address, ip6.address_with_mask) == ("2001:db8:1::10", "2001:db8:1::10/64")
    assert (ip6.allocation_id, ip6.reverse_dns) == (world.vm("web-2"), "web-2.acme.example.net")

    # Repeating an allocation answers the same 200, parsed the same.
    repeat = allocate(
        generated, base_url, ACME_TOKEN, generated.body({"id": vm_id}, {"address": "192.0.2.10"})
    )
    assert repeat.status_code == 200
    assert repeat.parsed.to_dict() == response.parsed.to_dict()


# -- the documented refusals ---------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    name: str
    token: str | None
    vm: Callable[[World], dict[str, str]]
    ip: Callable[[World], dict[str, str]]
    status: int
    model: str  # the generated model the document gives this answer
    code: str


def web_1(world: World) -> dict[str, str]:
    return {"id": world.vm("web-1")}


def free_ip(world: World) -> dict[str, str]:
    return {"address": "192.0.2.10"}


REFUSALS = [
    Refusal("missing token", None, web_1, free_ip, 400,
            "PostvirtualMachineAllocateIpResponse400", "missing_api_token"),
    Refusal("invalid token", "not-a-valid-token", web_1, free_ip, 403,
            "InvalidAPITokenSchema", "invalid_api_token"),
    Refusal("expired token", ACME_EXPIRED_TOKEN, web_1, free_ip, 403,
            "InvalidAPITokenSchema", "invalid_api_token"),
    Refusal("scope not granted", ACME_NO_SCOPE_TOKEN, web_1, free_ip, 403,
            "ScopeNotGrantedErrorSchema", "scope_not_granted"),
    Refusal("vm not found", ACME_TOKEN, lambda w: {"id": "vm_doesNotExist0000"}, free_ip, 404,
            "VirtualMachineNotFoundSchema", "virtual_machine_not_found"),
    Refusal("vm of another organization", ACME_TOKEN, lambda w: {"id": w.vm("app-1")}, free_ip,
            404, "VirtualMachineNotFoundSchema", "virtual_machine_not_found"),
    Refusal("ip not found", ACME_TOKEN, web_1, lambda w: {"address": "192.0.2.200"}, 404,
            "IPAddressNotFoundSchema", "ip_address_not_found"),
    Refusal("object in trash", ACME_TOKEN, lambda w: {"fqdn": "trashed.acme.example.net"},
            free_ip, 406, "PostvirtualMachineAllocateIpResponse406", "object_in_trash"),
    Refusal("ip already allocated", ACME_TOKEN, lambda w: {"id": w.vm("web-2")},
            lambda w: {"address": "192.0.2.11"}, 422,
            "IPAlreadyAllocatedSchema", "ip_already_allocated"),
    Refusal("no interface available", ACME_TOKEN, lambda w: {"id": w.vm("no-nic")}, free_ip,
            422, "NoInterfaceAvailableSchema", "no_interface_available"),
    Refusal("no interface on the ip's network", ACME_TOKEN, web_1,
            lambda w: {"address": "198.51.100.10"}, 422,
            "NoInterfaceAvailableSchema", "no_interface_available"),
]  # fmt: skip


def test_each_refusal_parses_into_its_documented_model(
    generated: Generated,
    start_server: ServerFactory,
    world: World,
    subtests: pytest.Subtests,
) -> None:
    base_url = api_url(start_server(workers=1))
    before = world.snapshot()
    for refusal in REFUSALS:
        with subtests.test(refusal.name):
            body = generated.body(refusal.vm(world), refusal.ip(world))
            response = allocate(generated, base_url, refusal.token, body)

            assert response.status_code == refusal.status, response.content
            parsed = response.parsed
            assert type(parsed) is getattr(generated.models, refusal.model)
            assert parsed.code == refusal.code  # an enum of the generated package (a StrEnum)
            assert type(parsed.code).__module__.startswith(f"{PACKAGE}.models")
            assert isinstance(parsed.description, str)
            assert parsed.description
            # WIRE FACTS: the production envelope rides along as an extra property, equal
            # to the flat fields the document describes.
            assert parsed.additional_properties["error"] == json.loads(response.content)["error"]
            assert parsed.to_dict() == json.loads(response.content)
            check_detail(refusal, parsed, world)
    assert world.snapshot() == before


def check_detail(refusal: Refusal, parsed: Any, world: World) -> None:
    if refusal.code == "scope_not_granted":
        assert parsed.detail.scopes == ["ip_addresses"]
    elif refusal.code == "object_in_trash":
        trash = parsed.detail.trash_object
        assert trash.id.startswith("trsh_")
        assert (trash.object_id, trash.object_type) == (world.vm("trashed"), "VirtualMachine")
        assert isinstance(trash.keep_until, int)
    elif refusal.code == "invalid_api_token":
        assert parsed.detail.to_dict() == {}


def test_argument_errors_are_beyond_the_documents_400_model(
    generated: Generated, start_server: ServerFactory, world: World
) -> None:
    """WIRE FACTS: production answers argument errors with 400 ``invalid_argument`` (and
    ``missing_required_argument``, ``invalid_json_body``); the document's 400 model knows
    only ``missing_api_token``, so a client generated from it fails to parse them (a
    ValueError from its enum) and has to read ``content``. Pinned here so that a change of
    the document or of the generator shows up."""
    base_url = api_url(start_server(workers=1))
    # Both keys of a lookup: the document's prose forbids it, its schema does not.
    body = generated.body(
        {"id": world.vm("web-1"), "fqdn": "web-1.acme.example.net"}, {"address": "192.0.2.10"}
    )

    with pytest.raises(ValueError, match="MissingAPITokenEnum"):
        allocate(generated, base_url, ACME_TOKEN, body)

    with generated.client(base_url, ACME_TOKEN) as client:
        raw = client.get_httpx_client().post(
            "/virtual_machines/virtual_machine/allocate_ip", json=body.to_dict()
        )
    assert raw.status_code == 400
    error = raw.json()["error"]
    assert (error["code"], error["detail"]["issue"]) == (
        "invalid_argument", "ambiguous_lookup_values",
    )  # fmt: skip
    assert {k: raw.json()[k] for k in ("code", "description", "detail")} == error


# -- the rate limit ------------------------------------------------------------------------

PERMITTED = 3


def test_the_rate_limit_parses_into_the_429_model(
    generated: Generated, start_server: ServerFactory, world: World
) -> None:
    # The rate limit's clock stands still 15 s before a minute turns (no window turns
    # during the burst, and Retry-After is exact).
    server = start_server(
        workers=1,
        env={
            "KATAPULT_IPAM_RATE_LIMIT_PER_MINUTE": str(PERMITTED),
            "KATAPULT_IPAM_RATE_LIMIT_FROZEN_AT": "1800000045",
        },
    )
    body = generated.body({"id": "vm_doesNotExist0000"}, {"address": "192.0.2.10"})

    with generated.client(api_url(server), ACME_TOKEN) as client:
        answers = [
            generated.allocate_ip.sync_detailed(client=client, body=body)
            for _ in range(PERMITTED + 1)
        ]

    assert [a.status_code for a in answers] == [404] * PERMITTED + [429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    limited = answers[-1]
    assert isinstance(limited.parsed, generated.models.PostvirtualMachineAllocateIpResponse429)
    assert limited.parsed.code == generated.models.RateLimitReachedEnum.RATE_LIMIT_REACHED
    assert limited.parsed.description == "You have reached the rate limit for this type of request"
    assert isinstance(limited.parsed.detail, generated.models.RateLimitReached)
    assert limited.parsed.detail.total_permitted == PERMITTED
    assert limited.headers["x-ratelimit-permitted"] == str(PERMITTED)
    assert limited.headers["retry-after"] == "15"
    assert limited.parsed.additional_properties["error"]["code"] == "rate_limit_reached"
