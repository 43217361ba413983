"""Zones, currencies, speed profiles and packages in the inventory, and their defaults."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from katapult_ipam.inventory import InventoryError, parse_inventory
from katapult_ipam.store import models as m
from katapult_ipam.store.loader import load_inventory
from tests.support import factories as f


def described() -> dict[str, Any]:
    document = f.inventory(
        f.organization(
            "ctx",
            vms=[f.vm("box", zone="lon-1", package="rock-1", state="stopped"),
                 f.vm("bare", zone="lon-1")],
            currency="EUR", country="GB", managed=True,
        ),
        # Described and not: one INSERT holds both (every row names the same columns).
        f.organization("other", vms=[f.vm("plain")]),
    )  # fmt: skip
    document["data_centers"][0]["zones"] = [{"name": "LON-1", "permalink": "lon-1"}]
    document["currencies"] = [{"name": "Euro", "iso_code": "EUR", "symbol": "€"}]
    document["speed_profiles"] = [{"name": "10Gbps", "permalink": "10gbps"}]
    document["packages"] = [{"name": "ROCK-1", "permalink": "rock-1", "cpu_cores": 1,
                             "memory_in_gb": 1, "storage_in_gb": 10}]  # fmt: skip
    nic = document["organizations"][0]["virtual_machines"][0]["network_interfaces"][0]
    nic |= {"speed_profile": "10gbps", "state": "detached"}
    return document


def test_a_described_inventory_loads_and_loads_again_unchanged(engine: Engine) -> None:
    document = described()
    load_inventory(engine, parse_inventory(document))
    report = load_inventory(engine, parse_inventory(document))
    assert (dict(report.created), dict(report.updated)) == ({}, {})
    vms, nics, profiles = (m.VirtualMachine.__table__, m.NetworkInterface.__table__,
                           m.SpeedProfile.__table__)  # fmt: skip
    with engine.connect() as c:
        box = c.execute(select(vms).where(vms.c.name == "box")).one()
        nic = c.execute(select(nics).where(nics.c.virtual_machine_id == box.id)).one()
        profile = c.execute(select(profiles).where(profiles.c.id == nic.speed_profile_id)).one()
    assert (box.state, nic.state, profile.permalink) == ("stopped", "detached", "10gbps")


def test_defaults_are_made_when_nothing_is_described(engine: Engine) -> None:
    document = f.inventory(
        f.organization("plain", vms=[f.vm("box"), {"name": "no-nic", "fqdn": "n.example.net"}])
    )
    load_inventory(engine, parse_inventory(document))
    zones, currencies, profiles = (m.Zone.__table__, m.Currency.__table__,
                                   m.SpeedProfile.__table__)  # fmt: skip
    vms = m.VirtualMachine.__table__
    with engine.connect() as c:
        assert c.execute(select(zones.c.permalink)).scalars().all() == ["uk-lon-01-zone"]
        assert c.execute(select(currencies.c.iso_code)).scalars().all() == ["GBP"]
        assert c.execute(select(profiles.c.permalink)).scalars().all() == ["1gbps"]
        # A VM without an interface goes to the first data center's zone.
        assert len(set(c.execute(select(vms.c.zone_id)).scalars())) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["organizations"][0]["virtual_machines"][0].update(zone="nope"),
         "virtual_machines[0] (box) > zone: 'nope' is not known"),
        (lambda d: d["organizations"][0]["virtual_machines"][0].update(package="nope"),
         "virtual_machines[0] (box) > package: 'nope' is not known"),
        (lambda d: d["organizations"][0]["virtual_machines"][0]["network_interfaces"][0]
         .update(speed_profile="nope"),
         "network_interfaces[0] (eth0) > speed_profile: 'nope' is not known"),
        (lambda d: d["organizations"][0].update(currency="USD"), "currency: no currency 'USD'"),
        (lambda d: d["organizations"][0].update(country="ZZ"), "country: 'ZZ' is not known"),
        (lambda d: d["packages"].append(dict(d["packages"][0])), "package permalink"),
        (lambda d: d["data_centers"][0]["zones"].append({"name": "x", "permalink": "lon-1"}),
         "zone permalink"),
        (lambda d: d["organizations"][0]["virtual_machines"][0].update(state="flying"),
         "state"),
    ],
)  # fmt: skip
def test_bad_references_are_refused_naming_the_entry(
    engine: Engine, change: Any, message: str
) -> None:
    document = described()
    change(document)
    with pytest.raises(InventoryError) as caught:
        load_inventory(engine, parse_inventory(document))
    assert message in str(caught.value)
    with engine.connect() as c:
        assert c.execute(select(m.Organization.__table__)).all() == []
