"""The standard test inventory, and a way to find its objects' ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, select

from katapult_ipam.inventory import parse_inventory
from katapult_ipam.store import models as m
from katapult_ipam.store.loader import load_inventory

ACME_TOKEN = "acme-token-secret-0123456789abcdef"
ACME_NO_SCOPE_TOKEN = "acme-no-scope-secret-0123456789abc"
ACME_EXPIRED_TOKEN = "acme-expired-secret-0123456789abcd"
GLOBEX_TOKEN = "globex-token-secret-0123456789abcd"
# Every scope of the lifecycle endpoints (reads, trash), for the tests that need more
# than ``ip_addresses``.
ACME_FULL_TOKEN = "acme-full-secret-0123456789abcdefg"
FULL_SCOPES = [
    "ip_addresses", "virtual_machines", "organizations:read",
    "trash_objects:read", "trash_objects:restore", "trash_objects:purge", "tasks",
]  # fmt: skip
GLOBEX_FULL_TOKEN = "globex-full-secret-0123456789abcdef"
RDNS_ZONE = "rdns.test.invalid"


def standard_inventory() -> dict[str, Any]:
    return {
        "countries": [
            {
                "name": "United Kingdom",
                "iso_code2": "GB",
                "iso_code3": "GBR",
                "time_zone": "Europe/London",
                "eu": False,
            },
            {
                "name": "Netherlands",
                "iso_code2": "NL",
                "iso_code3": "NLD",
                "time_zone": "Europe/Amsterdam",
                "eu": True,
            },
        ],
        "data_centers": [
            {"name": "London", "permalink": "uk-lon-01", "country": "GB"},
            {"name": "Amsterdam", "permalink": "nl-ams-01", "country": "NL"},
        ],
        "networks": [
            {
                "name": "Public Network",
                "permalink": "uk-lon-01-public",
                "data_center": "uk-lon-01",
                "default": True,
                "subnets": [
                    {"cidr": "192.0.2.0/24", "gateway": "192.0.2.1"},
                    {"cidr": "2001:db8:1::/64", "gateway": "2001:db8:1::1"},
                ],
            },
            {
                "name": "Public Network",
                "permalink": "nl-ams-01-public",
                "data_center": "nl-ams-01",
                "default": True,
                "subnets": [{"cidr": "198.51.100.0/24", "gateway": "198.51.100.1"}],
            },
            {
                "name": "Private",
                "permalink": "uk-lon-01-private",
                "data_center": "uk-lon-01",
                "subnets": [{"cidr": "203.0.113.0/24", "billable": False}],
            },
        ],
        "organizations": [
            {
                "name": "Acme",
                "sub_domain": "acme",
                "virtual_machines": [
                    {
                        "name": "web-1",
                        "fqdn": "web-1.acme.example.net",
                        "network_interfaces": [{"network": "uk-lon-01-public"}],
                    },
                    {
                        "name": "web-2",
                        "fqdn": "Web-2.Acme.Example.NET",
                        "network_interfaces": [
                            {"network": "nl-ams-01-public"},
                            {"network": "uk-lon-01-public"},
                        ],
                    },
                    {
                        "name": "multi",
                        "fqdn": "multi.acme.example.net",
                        "network_interfaces": [
                            {"name": "first", "network": "uk-lon-01-public"},
                            {"name": "second", "network": "uk-lon-01-public"},
                        ],
                    },
                    {"name": "no-nic", "fqdn": "no-nic.acme.example.net"},
                    {
                        "name": "trashed",
                        "fqdn": "trashed.acme.example.net",
                        "in_trash": True,
                        "network_interfaces": [{"network": "uk-lon-01-public"}],
                    },
                ],
                "ip_addresses": [
                    {"address": "192.0.2.10"},
                    {"address": "192.0.2.11", "allocated_to": "web-1"},
                    {"address": "192.0.2.12"},
                    {"address": "192.0.2.13", "vip": True, "label": "frontend"},
                    {"address": "2001:db8:1::10"},
                    {"address": "198.51.100.10"},
                    {"address": "203.0.113.5"},
                ],
                "api_tokens": [
                    {"name": "main", "secret": ACME_TOKEN, "scopes": ["ip_addresses"]},
                    {
                        "name": "no-scope",
                        "secret": ACME_NO_SCOPE_TOKEN,
                        "scopes": ["virtual_machines"],
                    },
                    {
                        "name": "expired",
                        "secret": ACME_EXPIRED_TOKEN,
                        "scopes": ["ip_addresses"],
                        "expires_at": "2020-01-01T00:00:00Z",
                    },
                    {"name": "full", "secret": ACME_FULL_TOKEN, "scopes": FULL_SCOPES},
                ],
            },
            {
                "name": "Globex",
                "sub_domain": "globex",
                "virtual_machines": [
                    {
                        "name": "app-1",
                        "fqdn": "app-1.globex.example.net",
                        "network_interfaces": [{"network": "uk-lon-01-public"}],
                    },
                ],
                "ip_addresses": [{"address": "192.0.2.50"}],
                "api_tokens": [
                    {"name": "main", "secret": GLOBEX_TOKEN, "scopes": ["ip_addresses"]},
                    {"name": "full", "secret": GLOBEX_FULL_TOKEN, "scopes": FULL_SCOPES},
                ],
            },
        ],
    }


@dataclass
class World:
    """Ids of the loaded inventory's objects, by their natural names."""

    engine: Engine

    def vm(self, name: str) -> str:
        table = m.VirtualMachine.__table__
        with self.engine.connect() as c:
            return str(c.execute(select(table.c.id).where(table.c.name == name)).scalar_one())

    def ip(self, address: str) -> str:
        table = m.IPAddress.__table__
        with self.engine.connect() as c:
            return str(c.execute(select(table.c.id).where(table.c.address == address)).scalar_one())

    def nic(self, vm_name: str, nic_name: str) -> str:
        nic = m.NetworkInterface.__table__
        with self.engine.connect() as c:
            return str(
                c.execute(
                    select(nic.c.id).where(
                        nic.c.virtual_machine_id == self.vm(vm_name), nic.c.name == nic_name
                    )
                ).scalar_one()
            )

    def ip_row(self, address: str) -> Any:
        table = m.IPAddress.__table__
        with self.engine.connect() as c:
            return c.execute(select(table).where(table.c.address == address)).one()

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, to prove a request changed nothing."""
        with self.engine.connect() as c:
            return {
                name: sorted(tuple(map(str, row)) for row in c.execute(select(table)))
                for name, table in m.Base.metadata.tables.items()
            }


def load_standard(engine: Engine) -> World:
    """Load the standard inventory; the audit log starts empty (what the API writes is
    what the endpoint tests look at, not the file's own allocation)."""
    load_inventory(engine, parse_inventory(standard_inventory()))
    with engine.begin() as connection:
        connection.execute(delete(m.AllocationEvent))
    return World(engine)
