"""Small per-test inventories: build only what a test needs, load it, find its ids.

The standard inventory (``world.py``) serves the endpoint tests; a test about one
rule builds its own few objects here, so adding a fixture object never changes
another test's counts. Every builder returns the inventory file's own dict shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from katapult_ipam.inventory import parse_inventory
from katapult_ipam.store import models as m
from katapult_ipam.store.loader import load_inventory

LONDON_PUBLIC = "uk-lon-01-public"


def inventory(
    *organizations: dict[str, Any], networks: Iterable[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A whole inventory: one country and data center (London), the networks, the organizations."""
    return {
        "countries": [{"name": "United Kingdom", "iso_code2": "GB", "iso_code3": "GBR"}],
        "data_centers": [{"name": "London", "permalink": "uk-lon-01", "country": "GB"}],
        "networks": list(networks if networks is not None else [network(LONDON_PUBLIC)]),
        "organizations": list(organizations),
    }


def network(
    permalink: str,
    *cidrs: str,
    default: bool = True,
    rdns_zone: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A network in London with one subnet per CIDR (192.0.2.0/24 when none is given)."""
    subnets = [{"cidr": cidr, "rdns_zone": rdns_zone} for cidr in cidrs or ("192.0.2.0/24",)]
    return {
        "name": permalink,
        "permalink": permalink,
        "data_center": "uk-lon-01",
        "default": default,
        "subnets": subnets,
        **fields,
    }


def organization(
    sub_domain: str,
    *,
    vms: Iterable[dict[str, Any]] = (),
    ips: Iterable[dict[str, Any]] = (),
    **fields: Any,
) -> dict[str, Any]:
    return {
        "name": sub_domain.title(),
        "sub_domain": sub_domain,
        "virtual_machines": list(vms),
        "ip_addresses": list(ips),
        **fields,
    }


def vm(name: str, *networks: str, **fields: Any) -> dict[str, Any]:
    """A VM with one interface on each network (London's public one when none is given)."""
    return {
        "name": name,
        "fqdn": f"{name}.example.net",
        "network_interfaces": [{"network": n} for n in networks or (LONDON_PUBLIC,)],
        **fields,
    }


def ip(address: str, **fields: Any) -> dict[str, Any]:
    return {"address": address, **fields}


@dataclass(frozen=True)
class Ids:
    """The loaded objects' ids, by natural keys qualified by organization."""

    engine: Engine

    def org(self, sub_domain: str) -> str:
        return self._one(select(m.Organization.id).where(m.Organization.sub_domain == sub_domain))

    def vm(self, sub_domain: str, name: str) -> str:
        return self._one(
            select(m.VirtualMachine.id)
            .join(m.Organization, m.Organization.id == m.VirtualMachine.organization_id)
            .where(m.Organization.sub_domain == sub_domain, m.VirtualMachine.name == name)
        )

    def nic(self, sub_domain: str, vm_name: str, permalink: str) -> str:
        return self._one(
            select(m.NetworkInterface.id)
            .join(m.Network, m.Network.id == m.NetworkInterface.network_id)
            .where(
                m.NetworkInterface.virtual_machine_id == self.vm(sub_domain, vm_name),
                m.Network.permalink == permalink,
            )
        )

    def ip(self, address: str) -> str:
        return self._one(select(m.IPAddress.id).where(m.IPAddress.address == address))

    def _one(self, query: Any) -> str:
        with self.engine.connect() as connection:
            return str(connection.execute(query).scalar_one())


def load(engine: Engine, data: dict[str, Any]) -> Ids:
    """Load ``data`` (an inventory dict) into the database and return its ids."""
    load_inventory(engine, parse_inventory(data))
    return Ids(engine)
