"""The read-only context, through HTTP: data centers, their default networks, a
network, and an organization's available networks (lifecycle-facts §1.2, §4).

Each read is sent as the old client sends it (``_`` in the path, the arguments in
the query string), as the generated one does (the slot's literal name in the path)
and with the raw ``:slot`` placeholder older generated builds sent.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from katapult_ipam.store import models as m
from tests.support.api import assert_error, bearer, refused_call
from tests.support.world import (
    ACME_NO_SCOPE_TOKEN,
    GLOBEX_TOKEN,
    World,
)

DATA_CENTER_KEYS = ["id", "name", "permalink", "country"]
COMPACT_NETWORK_KEYS = ["id", "name", "permalink", "default", "data_center"]
COUNTRY_KEYS = ["id", "name", "iso_code2", "iso_code3", "time_zone", "eu"]
SLOTS = ["_", "{slot}", ":{slot}"]  # the old client, the generated client, older builds


def ids(world: World, table: Any, permalink: str) -> str:
    with world.engine.connect() as c:
        return str(c.execute(select(table.c.id).where(table.c.permalink == permalink)).scalar_one())


def data_center_id(world: World, permalink: str) -> str:
    return ids(world, m.DataCenter.__table__, permalink)


def network_id(world: World, permalink: str) -> str:
    return ids(world, m.Network.__table__, permalink)


def path(template: str, slot: str, style: str) -> str:
    return "/core/v1/" + template.replace("{}", style.format(slot=slot))


def change(world: World, statement: Any) -> None:
    with world.engine.begin() as c:
        c.execute(statement)


# -- GET /data_centers ---------------------------------------------------------------------


def test_data_centers_lists_every_one_by_permalink(client: TestClient, world: World) -> None:
    response = client.get("/core/v1/data_centers")
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["data_centers"]
    found = body["data_centers"]
    assert [dc["permalink"] for dc in found] == ["nl-ams-01", "uk-lon-01"]
    for dc in found:
        assert list(dc) == DATA_CENTER_KEYS
        assert list(dc["country"]) == ["id", "name"]
    assert found[1]["id"] == data_center_id(world, "uk-lon-01")
    assert found[1]["name"] == "London"
    assert found[1]["country"]["name"] == "United Kingdom"
    assert found[1]["country"]["id"].startswith("ctry_")
    assert found[0]["country"]["name"] == "Netherlands"


def test_data_centers_need_only_authentication(client: TestClient, world: World) -> None:
    # The "no scope" token holds virtual_machines only: no scope is required here.
    response = client.get("/core/v1/data_centers", headers=bearer(ACME_NO_SCOPE_TOKEN))
    assert response.status_code == 200, response.text
    del client.headers["Authorization"]
    refused_call(world, 400, "missing_api_token", lambda: client.get("/core/v1/data_centers"))


# -- GET /data_centers/:data_center ----------------------------------------------------------


@pytest.mark.parametrize("style", SLOTS)
def test_a_data_center_by_id(client: TestClient, world: World, style: str) -> None:
    dc_id = data_center_id(world, "uk-lon-01")
    response = client.get(
        path("data_centers/{}", "data_center", style), params={"data_center[id]": dc_id}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["data_center"]
    assert list(body["data_center"]) == DATA_CENTER_KEYS
    assert body["data_center"]["id"] == dc_id
    assert body["data_center"]["permalink"] == "uk-lon-01"
    assert list(body["data_center"]["country"]) == ["id", "name"]


def test_a_data_center_by_permalink_and_by_id_in_the_path(client: TestClient, world: World) -> None:
    by_permalink = client.get(
        "/core/v1/data_centers/_", params={"data_center[permalink]": "nl-ams-01"}
    )
    assert by_permalink.status_code == 200, by_permalink.text
    dc_id = by_permalink.json()["data_center"]["id"]
    by_path = client.get(f"/core/v1/data_centers/{dc_id}")
    assert by_path.json() == by_permalink.json()


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/core/v1/data_centers/_", {"data_center[id]": "loc_doesNotExist000"}),
        ("/core/v1/data_centers/data_center", {"data_center[permalink]": "nowhere"}),
        # A path segment fills the id, never the permalink.
        ("/core/v1/data_centers/uk-lon-01", {}),
        ("/core/v1/data_centers/_", {}),
    ],
)
def test_data_center_not_found(
    client: TestClient, world: World, url: str, params: dict[str, str]
) -> None:
    error = refused_call(
        world, 404, "data_center_not_found", lambda: client.get(url, params=params)
    )
    assert error["description"] == (
        "No data center was found matching any of the criteria provided in the arguments"
    )
    assert error["detail"] == {}


def test_an_ambiguous_data_center_lookup(client: TestClient, world: World) -> None:
    error = refused_call(
        world, 400, "invalid_argument",
        lambda: client.get("/core/v1/data_centers/_",
                           params={"data_center[id]": "x", "data_center[permalink]": "y"}),
    )  # fmt: skip
    assert error["detail"]["issue"] == "ambiguous_lookup_values"
    assert error["detail"]["argument"]["id"] == (
        "CoreAPI/Endpoints/DataCenters/InfoEndpoint/BaseArgumentSet/DataCenterArgument"
    )


# -- GET /data_centers/:data_center/default_network -------------------------------------------


@pytest.mark.parametrize("style", SLOTS)
def test_the_default_network_of_a_data_center(client: TestClient, world: World, style: str) -> None:
    response = client.get(
        path("data_centers/{}/default_network", "data_center", style),
        params={"data_center[permalink]": "uk-lon-01"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["network"]
    network = body["network"]
    assert list(network) == COMPACT_NETWORK_KEYS
    assert network["id"] == network_id(world, "uk-lon-01-public")
    assert (network["name"], network["permalink"], network["default"]) == (
        "Public Network", "uk-lon-01-public", True,
    )  # fmt: skip
    assert network["data_center"] == {
        "id": data_center_id(world, "uk-lon-01"), "name": "London", "permalink": "uk-lon-01",
    }  # fmt: skip


def test_the_default_network_by_data_center_id_in_the_path(
    client: TestClient, world: World
) -> None:
    dc_id = data_center_id(world, "nl-ams-01")
    response = client.get(f"/core/v1/data_centers/{dc_id}/default_network")
    assert response.status_code == 200, response.text
    assert response.json()["network"]["permalink"] == "nl-ams-01-public"


def test_default_network_of_an_unknown_data_center(client: TestClient, world: World) -> None:
    refused_call(
        world, 404, "data_center_not_found",
        lambda: client.get("/core/v1/data_centers/data_center/default_network",
                           params={"data_center[id]": "loc_doesNotExist000"}),
    )  # fmt: skip


def test_a_data_center_without_a_default_network(client: TestClient, world: World) -> None:
    change(world, update(m.Network).where(m.Network.permalink == "nl-ams-01-public")
           .values(is_default=False))  # fmt: skip
    error = refused_call(
        world, 404, "network_not_found",
        lambda: client.get("/core/v1/data_centers/_/default_network",
                           params={"data_center[permalink]": "nl-ams-01"}),
    )  # fmt: skip
    assert error["description"] == (
        "No network was found matching any of the criteria provided in the arguments"
    )


# -- GET /networks/:network ---------------------------------------------------------------------


@pytest.mark.parametrize("style", SLOTS)
def test_a_network_in_full(client: TestClient, world: World, style: str) -> None:
    netw_id = network_id(world, "uk-lon-01-private")
    response = client.get(path("networks/{}", "network", style), params={"network[id]": netw_id})
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["network"]
    network = body["network"]
    assert list(network) == COMPACT_NETWORK_KEYS
    assert (network["id"], network["name"], network["permalink"], network["default"]) == (
        netw_id, "Private", "uk-lon-01-private", False,
    )  # fmt: skip
    assert list(network["data_center"]) == DATA_CENTER_KEYS
    country = network["data_center"]["country"]
    assert list(country) == COUNTRY_KEYS
    assert {k: v for k, v in country.items() if k != "id"} == {
        "name": "United Kingdom", "iso_code2": "GB", "iso_code3": "GBR",
        "time_zone": "Europe/London", "eu": False,
    }  # fmt: skip


def test_a_network_by_permalink_and_by_id_in_the_path(client: TestClient, world: World) -> None:
    by_permalink = client.get(
        "/core/v1/networks/network", params={"network[permalink]": "nl-ams-01-public"}
    )
    assert by_permalink.status_code == 200, by_permalink.text
    assert by_permalink.json()["network"]["data_center"]["country"]["eu"] is True
    netw_id = by_permalink.json()["network"]["id"]
    assert client.get(f"/core/v1/networks/{netw_id}").json() == by_permalink.json()


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/core/v1/networks/_", {"network[id]": "netw_doesNotExist00"}),
        ("/core/v1/networks/network", {"network[permalink]": "nowhere"}),
        ("/core/v1/networks/uk-lon-01-public", {}),
    ],
)
def test_network_not_found(
    client: TestClient, world: World, url: str, params: dict[str, str]
) -> None:
    error = refused_call(world, 404, "network_not_found", lambda: client.get(url, params=params))
    assert error["detail"] == {}


# -- GET /organizations/:organization/available_networks ------------------------------------------


@pytest.mark.parametrize("style", SLOTS)
def test_available_networks_are_every_default_network(
    client: TestClient, world: World, style: str
) -> None:
    response = client.get(
        path("organizations/{}/available_networks", "organization", style),
        params={"organization[sub_domain]": "acme"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["networks", "virtual_networks"]
    assert body["virtual_networks"] == []
    networks = body["networks"]
    # The private network is not a default one; data centers by permalink.
    assert [n["permalink"] for n in networks] == ["nl-ams-01-public", "uk-lon-01-public"]
    for network in networks:
        assert list(network) == COMPACT_NETWORK_KEYS
        assert network["default"] is True
        assert list(network["data_center"]) == ["id", "name", "permalink"]
    assert networks[1]["id"] == network_id(world, "uk-lon-01-public")


def test_available_networks_by_organization_id_in_the_path(
    client: TestClient, world: World
) -> None:
    with world.engine.connect() as c:
        org_id = c.execute(
            select(m.Organization.id).where(m.Organization.sub_domain == "acme")
        ).scalar_one()
    response = client.get(f"/core/v1/organizations/{org_id}/available_networks")
    assert response.status_code == 200, response.text
    assert len(response.json()["networks"]) == 2


@pytest.mark.parametrize(
    "params", [{"organization[sub_domain]": "nope"}, {"organization[id]": "org_doesNotExist000"}]
)
def test_available_networks_of_an_unknown_organization(
    client: TestClient, world: World, params: dict[str, str]
) -> None:
    error = refused_call(
        world, 404, "organization_not_found",
        lambda: client.get("/core/v1/organizations/_/available_networks", params=params),
    )  # fmt: skip
    assert error["description"] == (
        "No organization was found matching any of the criteria provided in the arguments"
    )


def test_another_organizations_networks_are_not_found(client: TestClient, world: World) -> None:
    refused_call(
        world, 404, "organization_not_found",
        lambda: client.get("/core/v1/organizations/organization/available_networks",
                           params={"organization[sub_domain]": "acme"},
                           headers=bearer(GLOBEX_TOKEN)),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("column", "value", "code", "description"),
    [
        ("suspended", True, "organization_suspended",
         "An organization was found from the arguments provided but it was suspended"),
        ("activated", False, "organization_not_activated",
         "An organization was found from the arguments provided but it wasn't activated yet"),
    ],
)  # fmt: skip
def test_an_unusable_organization(
    client: TestClient, world: World, column: str, value: bool, code: str, description: str
) -> None:
    change(world, update(m.Organization).where(m.Organization.sub_domain == "acme")
           .values({column: value}))  # fmt: skip
    error = refused_call(
        world, 403, code,
        lambda: client.get("/core/v1/organizations/_/available_networks",
                           params={"organization[sub_domain]": "acme"}),
    )  # fmt: skip
    assert error["description"] == description


def test_available_networks_need_their_organization(client: TestClient, world: World) -> None:
    # The path segment fills the id: "_" names no organization.
    refused_call(
        world,
        404,
        "organization_not_found",
        lambda: client.get("/core/v1/organizations/_/available_networks"),
    )
    response = client.get(
        "/core/v1/organizations/_/available_networks", params={"organization[sub_domain]": ""}
    )
    assert_error(response, 404, "organization_not_found")
