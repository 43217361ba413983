"""Loading inventories: idempotent, all or nothing, fast enough at scale."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from katapult_ipam.inventory import InventoryError, parse_inventory
from katapult_ipam.store import models as m
from katapult_ipam.store.loader import load_inventory
from tests.support.world import World, standard_inventory


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        return {
            name: int(c.execute(select(func.count()).select_from(table)).scalar_one())
            for name, table in m.Base.metadata.tables.items()
        }


def test_loading_twice_changes_nothing(engine: Engine, world: World) -> None:
    before = world.snapshot()
    report = load_inventory(engine, parse_inventory(standard_inventory()))
    assert not report.created
    assert world.snapshot() == before


def test_the_load_creates_what_the_file_lists(engine: Engine, world: World) -> None:
    # The organizations' 8 addresses, and a free row for every other address of the
    # three IPv4 pools: 253 + 253 (a gateway each) + 254, less the 7 IPv4 ones taken.
    assert counts(engine) | {"alembic_version": 0} == {
        "countries": 2, "data_centers": 2, "networks": 3, "subnets": 4, "organizations": 2,
        "trash_objects": 1, "virtual_machines": 6, "network_interfaces": 7,
        "ip_addresses": 8 + 253 + 253 + 254 - 7,
        "api_tokens": 6, "allocation_events": 0, "alembic_version": 0, "service_flags": 0,
        # The defaults the file names none of: a zone per data center with VMs, one
        # currency, one speed profile.
        "zones": 2, "currencies": 1, "network_speed_profiles": 1,
        "virtual_machine_packages": 0, "tasks": 0,
    }  # fmt: skip
    ips = m.IPAddress.__table__
    with engine.connect() as c:
        owned = c.execute(select(func.count()).where(ips.c.organization_id.is_not(None)))
        assert owned.scalar_one() == 8
    row = world.ip_row("192.0.2.11")
    assert row.allocation_id == world.vm("web-1")
    assert row.network_interface_id == world.nic("web-1", "eth0")
    assert world.ip_row("2001:db8:1::10").version == 6


def test_ids_follow_the_production_format(engine: Engine, world: World) -> None:
    import re

    pattern = {
        "countries": "ctry", "data_centers": "loc", "networks": "netw", "subnets": "sbnt",
        "organizations": "org", "trash_objects": "trsh", "virtual_machines": "vm",
        "network_interfaces": "vmnet", "ip_addresses": "ip",
    }  # fmt: skip
    with engine.connect() as c:
        for table, prefix in pattern.items():
            for (value,) in c.execute(select(m.Base.metadata.tables[table].c.id)):
                assert re.fullmatch(rf"{prefix}_[A-Za-z0-9]{{16}}", value), value


def test_given_ids_are_kept(engine: Engine) -> None:
    document = standard_inventory()
    document["organizations"][0]["virtual_machines"][0]["id"] = "vm_fixedFixedFixed12"
    load_inventory(engine, parse_inventory(document))
    assert World(engine).vm("web-1") == "vm_fixedFixedFixed12"


def test_secrets_are_stored_only_as_hashes(engine: Engine, world: World) -> None:
    from tests.support.world import ACME_TOKEN

    with engine.connect() as c:
        stored = " ".join(str(v) for row in c.execute(select(m.APIToken.__table__)) for v in row)
    assert ACME_TOKEN not in stored


def test_a_token_without_a_secret_gets_one_reported_once(engine: Engine, world: World) -> None:
    document = standard_inventory()
    document["organizations"][1]["api_tokens"].append({"name": "fresh", "scopes": ["x"]})
    first = load_inventory(engine, parse_inventory(document))
    assert [(o, n) for o, n, _ in first.new_secrets] == [("globex", "fresh")]
    assert load_inventory(engine, parse_inventory(document)).new_secrets == []


def test_trash_follows_the_file(engine: Engine, world: World) -> None:
    document = standard_inventory()
    document["organizations"][0]["virtual_machines"][4]["in_trash"] = False
    load_inventory(engine, parse_inventory(document))
    assert counts(engine)["trash_objects"] == 0


def broken(change: Any) -> dict[str, Any]:
    document = standard_inventory()
    change(document)
    return document


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["organizations"][0]["ip_addresses"].append({"address": "10.1.1.1"}),
         "no subnet contains"),
        (lambda d: d["organizations"][0]["ip_addresses"].append(
            {"address": "192.0.2.99", "allocated_to": "ghost"}), "no virtual machine 'ghost'"),
        (lambda d: d["organizations"][0]["ip_addresses"].append(
            {"address": "198.51.100.99", "allocated_to": "web-1"}), "no interface"),
        (lambda d: d["organizations"][1]["ip_addresses"].append({"address": "192.0.2.10"}),
         r"listed twice \(also organizations\[0\] \(acme\)"),
        (lambda d: d["organizations"][0]["ip_addresses"].append({"address": "192.0.2.10"}),
         "listed twice"),
        (lambda d: d["data_centers"].append({"name": "X", "permalink": "x", "country": "ZZ"}),
         "'ZZ' is not known"),
        (lambda d: d["organizations"][0]["virtual_machines"][0]["network_interfaces"].append(
            {"network": "nowhere"}), "'nowhere' is not known"),
    ],
)  # fmt: skip
def test_a_bad_file_loads_nothing(engine: Engine, change: Any, message: str) -> None:
    document = broken(change)
    # Everything before the bad entry would load; none of it may stay.
    with pytest.raises(InventoryError, match=message):
        load_inventory(engine, parse_inventory(document))
    assert all(n == 0 for t, n in counts(engine).items() if t != "alembic_version")


def test_allocated_to_another_vm_is_refused(engine: Engine, world: World) -> None:
    document = standard_inventory()
    document["organizations"][0]["ip_addresses"][1]["allocated_to"] = "web-2"
    before = world.snapshot()
    with pytest.raises(InventoryError, match="already allocated"):
        load_inventory(engine, parse_inventory(document))
    assert world.snapshot() == before
