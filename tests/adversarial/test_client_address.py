"""Whom the service believes about the client's address (S1, S2, W5).

Behind a trusted proxy a client must not be able to choose its address: not by
sending its own ``X-Forwarded-For`` line before the proxy's (S1), not by a hop
the service cannot read (S2), and an IPv4-mapped address is the IPv4 address
it carries (W5). Every refusal leaves the store as it was.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from katapult_ipam.app import create_app
from katapult_ipam.auth.client_address import UNKNOWN_CLIENT
from katapult_ipam.config import Settings
from katapult_ipam.inventory import parse_inventory
from katapult_ipam.store.loader import load_inventory
from tests.integration.server import ServerFactory
from tests.support.api import PATH, assert_error, bearer
from tests.support.world import World, standard_inventory

PROXY = "198.18.0.1"
INTERNAL = "10.0.0.0/8"
INTERNAL_TOKEN = "acme-internal-secret-0123456789abcd"
PROXY_TOKEN = "acme-proxy-only-secret-0123456789ab"


@pytest.fixture
def allowlisted(engine: Engine, world: World) -> World:
    document = standard_inventory()
    document["organizations"][0]["api_tokens"] += [
        {"name": "internal", "secret": INTERNAL_TOKEN, "scopes": ["ip_addresses"],
         "allowed_networks": [INTERNAL]},
        {"name": "proxy only", "secret": PROXY_TOKEN, "scopes": ["ip_addresses"],
         "allowed_networks": ["198.18.0.0/16", "127.0.0.0/8"]},
    ]  # fmt: skip
    load_inventory(engine, parse_inventory(document))
    return world


def behind_proxy(settings: Settings, **changes: Any) -> TestClient:
    app = create_app(settings.model_copy(update={"trusted_proxies": "198.18.0.0/16", **changes}))
    return TestClient(app, raise_server_exceptions=False, client=(PROXY, 40000))


def allocation(world: World) -> dict[str, Any]:
    return {"virtual_machine": {"id": world.vm("web-1")}, "ip_address": {"address": "192.0.2.10"}}


def test_s1_every_forwarded_for_line_is_one_list(settings: Settings, allowlisted: World) -> None:
    """The client writes a line claiming an internal address; the proxy appends its own."""
    before = allowlisted.snapshot()
    headers = [
        ("authorization", f"Bearer {INTERNAL_TOKEN}"),
        ("x-forwarded-for", "10.1.2.3"),  # the client's own line
        ("x-forwarded-for", "203.0.113.9"),  # the proxy's line
    ]
    with behind_proxy(settings) as client:
        response = client.post(PATH, json=allocation(allowlisted), headers=headers)
    error = assert_error(response, 403, "unauthorized_network_for_api_token")
    assert error["detail"] == {"ip_address": "203.0.113.9"}
    assert allowlisted.snapshot() == before


@pytest.mark.parametrize(
    ("hop", "client"),
    [
        ("203.0.113.9:5555", "203.0.113.9"),
        ("[2001:db8::9]:443", "2001:db8::9"),
        ("unknown", UNKNOWN_CLIENT),
        ("_obfuscated", UNKNOWN_CLIENT),
        ("not an address", UNKNOWN_CLIENT),
    ],
)
def test_s2_an_unreadable_hop_never_makes_the_proxy_the_client(
    settings: Settings, allowlisted: World, hop: str, client: str
) -> None:
    """A token allowed only from the proxy's network is refused for every such hop."""
    before = allowlisted.snapshot()
    with behind_proxy(settings) as http:
        response = http.post(
            PATH,
            json=allocation(allowlisted),
            headers={**bearer(PROXY_TOKEN), "X-Forwarded-For": hop},
        )
    error = assert_error(response, 403, "unauthorized_network_for_api_token")
    assert error["detail"] == {"ip_address": client}
    assert allowlisted.snapshot() == before


def test_w5_an_ipv4_mapped_client_matches_ipv4_allowlists(
    settings: Settings, allowlisted: World
) -> None:
    with behind_proxy(settings) as client:
        response = client.post(
            PATH,
            json=allocation(allowlisted),
            headers={**bearer(INTERNAL_TOKEN), "X-Forwarded-For": "::ffff:10.1.2.3"},
        )
    assert response.status_code == 200, response.text


def test_forwarded_is_read_only_when_configured(settings: Settings, allowlisted: World) -> None:
    """A proxy that appends X-Forwarded-For passes a client's Forwarded header through."""
    spoof = {
        **bearer(INTERNAL_TOKEN),
        "Forwarded": "for=10.1.2.3",
        "X-Forwarded-For": "203.0.113.9",
    }
    with behind_proxy(settings) as client:
        refused = client.post(PATH, json=allocation(allowlisted), headers=spoof)
    assert_error(refused, 403, "unauthorized_network_for_api_token")
    with behind_proxy(settings, forwarded_header="forwarded") as client:
        allowed = client.post(
            PATH,
            json=allocation(allowlisted),
            headers={**bearer(INTERNAL_TOKEN), "Forwarded": 'for="10.1.2.3:4711";proto=https'},
        )
    assert allowed.status_code == 200, allowed.text


@pytest.mark.slow
def test_s1_through_the_real_server(start_server: ServerFactory, allowlisted: World) -> None:
    """The server passes repeated header lines on as they arrived; the last is the proxy's."""
    server = start_server(env={"KATAPULT_IPAM_TRUSTED_PROXIES": "127.0.0.1/32"})
    before = allowlisted.snapshot()
    with server.client() as client:
        spoofed = client.post(
            PATH,
            json=allocation(allowlisted),
            headers=[
                ("authorization", f"Bearer {INTERNAL_TOKEN}"),
                ("x-forwarded-for", "10.1.2.3"),
                ("x-forwarded-for", "203.0.113.9"),
            ],
        )
        with_port = client.post(
            PATH,
            json=allocation(allowlisted),
            headers={**bearer(PROXY_TOKEN), "X-Forwarded-For": "203.0.113.9:5555"},
        )
    error = assert_error(spoofed, 403, "unauthorized_network_for_api_token")
    assert error["detail"] == {"ip_address": "203.0.113.9"}
    error = assert_error(with_port, 403, "unauthorized_network_for_api_token")
    assert error["detail"] == {"ip_address": "203.0.113.9"}
    assert allowlisted.snapshot() == before
