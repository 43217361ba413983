"""Every input the service accepts fits the column that stores it (limits.py).

PostgreSQL refuses a value longer than its column, or holding a NUL character, with
an error the API can only answer with a 500 (and SQLite checks no length at all),
so each input is bounded where it is parsed, by the same constant as its column:
the X-Request-Id header, the subject of an OAuth2 token, the fields of an inventory.
These tests are meant for both backends; on SQLite they pass with or without the limits.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from katapult_ipam.app import create_app
from katapult_ipam.config import Settings
from katapult_ipam.inventory import InventoryError, parse_inventory
from katapult_ipam.limits import (
    ACTOR_ID_MAX_LENGTH,
    ADDRESS_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    FQDN_MAX_LENGTH,
    HOSTNAME_MAX_LENGTH,
    ID_MAX_LENGTH,
    LABEL_MAX_LENGTH,
    MAC_ADDRESS_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PERMALINK_MAX_LENGTH,
    REQUEST_ID_MAX_LENGTH,
    SUB_DOMAIN_MAX_LENGTH,
    SYMBOL_MAX_LENGTH,
    TIME_ZONE_MAX_LENGTH,
)
from katapult_ipam.store import models as m
from katapult_ipam.store.loader import load_inventory
from tests.support.api import PATH, access_token, assert_error, bearer
from tests.support.world import World, standard_inventory


def audit_event(world: World) -> Any:
    with world.engine.connect() as c:
        return c.execute(select(m.AllocationEvent.__table__)).one()


def allocate(client: TestClient, world: World, **kwargs: Any) -> Any:
    body = {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "192.0.2.10"}}
    return client.post(PATH, json=body, **kwargs)


def text_of(length: int) -> str:
    """``length`` printable ASCII characters, punctuation included."""
    alphabet = string.ascii_letters + string.digits + string.punctuation
    return (alphabet * (length // len(alphabet) + 1))[:length]


# -- X-Request-Id -------------------------------------------------------------------------


def test_the_longest_request_id_accepted_is_kept_in_the_audit_log(
    client: TestClient, world: World
) -> None:
    request_id = text_of(REQUEST_ID_MAX_LENGTH)
    assert REQUEST_ID_MAX_LENGTH == 128  # what the handler accepts

    response = allocate(client, world, headers={"X-Request-Id": request_id})

    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == request_id
    assert audit_event(world).request_id == request_id


def test_a_longer_request_id_is_replaced_by_one_of_ours(client: TestClient, world: World) -> None:
    given = text_of(REQUEST_ID_MAX_LENGTH + 1)

    response = allocate(client, world, headers={"X-Request-Id": given})

    assert response.status_code == 200, response.text
    ours = response.headers["x-request-id"]
    assert ours != given
    assert audit_event(world).request_id == ours


# -- the subject of an OAuth2 access token -------------------------------------------------


@pytest.fixture
def oauth2_client(oauth2_settings: Settings, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(oauth2_settings), raise_server_exceptions=False) as client:
        yield client


def test_the_longest_oauth2_subject_is_kept_in_the_audit_log(
    oauth2_client: TestClient, issuer_key: Any, world: World
) -> None:
    subject = text_of(ACTOR_ID_MAX_LENGTH)
    token = access_token(issuer_key, ["acme"], sub=subject)

    response = allocate(oauth2_client, world, headers=bearer(token))

    assert response.status_code == 200, response.text
    assert audit_event(world).actor_id == subject


@pytest.mark.parametrize(
    ("subject", "reason"),
    [("u" * 300, "the token's subject is too long"),
     (text_of(ACTOR_ID_MAX_LENGTH + 1), "the token's subject is too long"),
     ("user\x00-1", "the token's subject is malformed")],
    ids=["300 characters", "one too many", "a NUL character"],
)  # fmt: skip
def test_an_oauth2_subject_the_audit_log_cannot_hold_is_an_invalid_token(
    oauth2_client: TestClient, issuer_key: Any, world: World, subject: str, reason: str
) -> None:
    token = access_token(issuer_key, ["acme"], sub=subject)
    before = world.snapshot()

    response = allocate(oauth2_client, world, headers=bearer(token))

    error = assert_error(response, 403, "invalid_api_token")
    assert error["detail"]["details"] == reason
    assert world.snapshot() == before


# -- inventory files ---------------------------------------------------------------------


def at_the_limits() -> dict[str, Any]:
    """An inventory whose every bounded field is as long as it may be."""

    def filled(prefix: str, length: int) -> str:
        return prefix + "x" * (length - len(prefix))

    return {
        "countries": [{
            "id": filled("ctry_", ID_MAX_LENGTH), "name": filled("C", NAME_MAX_LENGTH),
            "iso_code2": "ZZ", "iso_code3": "ZZZ", "time_zone": filled("T", TIME_ZONE_MAX_LENGTH),
        }],
        "data_centers": [{
            "id": filled("loc_", ID_MAX_LENGTH), "name": filled("D", NAME_MAX_LENGTH),
            "permalink": filled("dc-", PERMALINK_MAX_LENGTH), "country": "ZZ",
            "zones": [{"id": filled("zone_", ID_MAX_LENGTH), "name": filled("Z", NAME_MAX_LENGTH),
                       "permalink": filled("z-", PERMALINK_MAX_LENGTH)}],
        }],
        "currencies": [{"id": filled("cur_", ID_MAX_LENGTH), "name": filled("M", NAME_MAX_LENGTH),
                        "iso_code": "ZZZ", "symbol": "€" * 8}],
        "speed_profiles": [{"id": filled("nsp_", ID_MAX_LENGTH),
                            "name": filled("S", NAME_MAX_LENGTH),
                            "permalink": filled("s-", PERMALINK_MAX_LENGTH)}],
        "packages": [{"id": filled("vmpkg_", ID_MAX_LENGTH), "name": filled("P", NAME_MAX_LENGTH),
                      "permalink": filled("p-", PERMALINK_MAX_LENGTH),
                      "group": filled("G", NAME_MAX_LENGTH), "cpu_cores": 2**31 - 1,
                      "ipv4_addresses": 2**31 - 1, "memory_in_gb": 2**31 - 1,
                      "storage_in_gb": 2**31 - 1,
                      "monthly_bandwidth_allowance_in_gb": 2**31 - 1}],
        "networks": [{
            "id": filled("netw_", ID_MAX_LENGTH), "name": filled("N", NAME_MAX_LENGTH),
            "permalink": filled("net-", PERMALINK_MAX_LENGTH),
            "data_center": filled("dc-", PERMALINK_MAX_LENGTH),
            # The longest gateway there is: an IPv4-mapped address written out in full.
            "subnets": [{"id": filled("sbnt_", ID_MAX_LENGTH), "cidr": "::ffff:0.0.0.0/96",
                         "gateway": "0000:0000:0000:0000:0000:ffff:192.168.100.200"}],
        }],
        "organizations": [{
            "id": filled("org_", ID_MAX_LENGTH), "name": filled("O", NAME_MAX_LENGTH),
            # One DNS label: 63 characters (the column holds 255).
            "sub_domain": filled("o", 63),
            "currency": "ZZZ",
            # The longest DNS name: 253 characters.
            "infrastructure_domain": ("d" * 63 + ".") * 3 + "x" * 61,
            "virtual_machines": [{
                "id": filled("vm_", ID_MAX_LENGTH), "name": filled("v", NAME_MAX_LENGTH),
                # One DNS label: 63 characters (the column holds 255).
                "hostname": filled("h", 63),
                # The longest DNS name: 253 characters (the column leaves room for a root dot).
                "fqdn": ("Upper" + "C" * 58 + ".") * 3 + "x" * 61,
                "zone": filled("z-", PERMALINK_MAX_LENGTH),
                "package": filled("p-", PERMALINK_MAX_LENGTH),
                "description": "d" * DESCRIPTION_MAX_LENGTH,
                "network_interfaces": [{
                    "id": filled("vmnet_", ID_MAX_LENGTH), "name": filled("i", NAME_MAX_LENGTH),
                    "network": filled("net-", PERMALINK_MAX_LENGTH),
                    "mac_address": "02:00:00:00:00:01",
                    "speed_profile": filled("s-", PERMALINK_MAX_LENGTH),
                }],
            }],
            "ip_addresses": [{
                "id": filled("ip_", ID_MAX_LENGTH), "address": "::ffff:192.168.100.201",
                "vip": True, "label": filled("L", LABEL_MAX_LENGTH),
                "allocated_to": filled("v", NAME_MAX_LENGTH),
            }],
            "api_tokens": [{"name": filled("t", NAME_MAX_LENGTH), "secret": "s" * 64}],
        }],
    }  # fmt: skip


def test_an_inventory_at_every_limit_loads(engine: Engine) -> None:
    document = at_the_limits()
    load_inventory(engine, parse_inventory(document))
    with engine.connect() as c:
        ip = c.execute(select(m.IPAddress.__table__)).one()
        vm = c.execute(select(m.VirtualMachine.__table__)).one()
    assert ip.label == document["organizations"][0]["ip_addresses"][0]["label"]
    assert ip.allocation_id == vm.id
    assert vm.fqdn == document["organizations"][0]["virtual_machines"][0]["fqdn"].lower()
    assert vm.description == document["organizations"][0]["virtual_machines"][0]["description"]


# Where each bounded field is in at_the_limits(), and its limit.
BOUNDED = {
    "countries.0.id": ID_MAX_LENGTH,
    "countries.0.name": NAME_MAX_LENGTH,
    "countries.0.time_zone": TIME_ZONE_MAX_LENGTH,
    "data_centers.0.id": ID_MAX_LENGTH,
    "data_centers.0.name": NAME_MAX_LENGTH,
    "data_centers.0.permalink": PERMALINK_MAX_LENGTH,
    "networks.0.id": ID_MAX_LENGTH,
    "networks.0.name": NAME_MAX_LENGTH,
    "networks.0.permalink": PERMALINK_MAX_LENGTH,
    "networks.0.subnets.0.id": ID_MAX_LENGTH,
    "networks.0.subnets.0.cidr": ADDRESS_MAX_LENGTH,
    "networks.0.subnets.0.gateway": ADDRESS_MAX_LENGTH,
    "organizations.0.id": ID_MAX_LENGTH,
    "organizations.0.name": NAME_MAX_LENGTH,
    "organizations.0.sub_domain": SUB_DOMAIN_MAX_LENGTH,
    "organizations.0.virtual_machines.0.id": ID_MAX_LENGTH,
    "organizations.0.virtual_machines.0.name": NAME_MAX_LENGTH,
    "organizations.0.virtual_machines.0.hostname": HOSTNAME_MAX_LENGTH,
    "organizations.0.virtual_machines.0.fqdn": FQDN_MAX_LENGTH,
    "organizations.0.virtual_machines.0.network_interfaces.0.id": ID_MAX_LENGTH,
    "organizations.0.virtual_machines.0.network_interfaces.0.name": NAME_MAX_LENGTH,
    "organizations.0.virtual_machines.0.network_interfaces.0.mac_address": MAC_ADDRESS_MAX_LENGTH,
    "organizations.0.ip_addresses.0.id": ID_MAX_LENGTH,
    "organizations.0.ip_addresses.0.address": ADDRESS_MAX_LENGTH,
    "organizations.0.ip_addresses.0.label": LABEL_MAX_LENGTH,
    "organizations.0.api_tokens.0.name": NAME_MAX_LENGTH,
    "data_centers.0.zones.0.id": ID_MAX_LENGTH,
    "data_centers.0.zones.0.name": NAME_MAX_LENGTH,
    "data_centers.0.zones.0.permalink": PERMALINK_MAX_LENGTH,
    "currencies.0.id": ID_MAX_LENGTH,
    "currencies.0.name": NAME_MAX_LENGTH,
    "currencies.0.symbol": SYMBOL_MAX_LENGTH,
    "speed_profiles.0.id": ID_MAX_LENGTH,
    "speed_profiles.0.name": NAME_MAX_LENGTH,
    "speed_profiles.0.permalink": PERMALINK_MAX_LENGTH,
    "packages.0.id": ID_MAX_LENGTH,
    "packages.0.name": NAME_MAX_LENGTH,
    "packages.0.permalink": PERMALINK_MAX_LENGTH,
    "packages.0.group": NAME_MAX_LENGTH,
    "organizations.0.infrastructure_domain": FQDN_MAX_LENGTH,
    "organizations.0.virtual_machines.0.description": DESCRIPTION_MAX_LENGTH,
}


def set_field(document: dict[str, Any], path: str, value: str) -> None:
    *parents, name = path.split(".")
    node: Any = document
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[name] = value


@pytest.mark.parametrize(("path", "limit"), BOUNDED.items(), ids=BOUNDED.keys())
def test_a_field_one_character_too_long_is_refused(path: str, limit: int) -> None:
    document = at_the_limits()
    set_field(document, path, "x" * (limit + 1))
    with pytest.raises(InventoryError, match=f"at most {limit} characters"):
        parse_inventory(document)


def test_a_label_too_long_names_its_entry(engine: Engine, world: World) -> None:
    document = standard_inventory()
    document["organizations"][0]["ip_addresses"].append(
        {"address": "192.0.2.99", "vip": True, "label": "L" * (LABEL_MAX_LENGTH + 1)}
    )
    before = world.snapshot()
    with pytest.raises(InventoryError) as refused:
        load_inventory(engine, parse_inventory(document))
    assert str(refused.value) == (
        "inventory: organizations[0] (Acme) > ip_addresses[7] (192.0.2.99) > label: "
        "String should have at most 255 characters"
    )
    assert world.snapshot() == before


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [("organizations.0.ip_addresses.0.label", "front\x00end", "contains a NUL character"),
     ("organizations.0.virtual_machines.0.name", "web\x00", "contains a NUL character"),
     ("organizations.0.virtual_machines.0.fqdn", "bücher.example", "ASCII"),
     ("organizations.0.ip_addresses.0.address", "fe80::1%eth0", "zone"),
     ("networks.0.subnets.0.cidr", "fe80::%eth0/64", "zone")],
    ids=["NUL in a label", "NUL in a name", "a non-ASCII FQDN", "a zoned address",
         "a zoned network"],
)  # fmt: skip
def test_a_value_no_column_can_hold_is_refused(path: str, value: str, message: str) -> None:
    document = at_the_limits()
    set_field(document, path, value)
    with pytest.raises(InventoryError, match=message):
        parse_inventory(document)
