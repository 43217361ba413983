"""The schema itself ties an allocation to its VM, interface, network and organization.

Every write here goes straight to the database, past every application check, as a
future endpoint with a bug would. A forbidden one must fail with IntegrityError and
change nothing, on SQLite and on PostgreSQL alike; the allowed ones show the same
statements pass when they keep the rules. The standard inventory (tests/support/world.py):
web-1 has eth0 on London; web-2 has eth0 on Amsterdam and eth1 on London; app-1 is
Globex's, on London; 192.0.2.0/24 is London's, 198.51.100.0/24 Amsterdam's;
192.0.2.10 is free and 192.0.2.11 is allocated to web-1 through its eth0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import Engine, MetaData, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Executable

from katapult_ipam.inventory import InventoryError, parse_inventory
from katapult_ipam.store import migrate
from katapult_ipam.store import models as m
from katapult_ipam.store.loader import load_inventory
from tests.support.world import World, standard_inventory

# Tables, not the FromClause mypy sees in ``__table__``: insert/update/delete take them.
ips = cast(Table, m.IPAddress.__table__)
nics = cast(Table, m.NetworkInterface.__table__)
vms = cast(Table, m.VirtualMachine.__table__)
subnets = cast(Table, m.Subnet.__table__)
orgs = cast(Table, m.Organization.__table__)
NOW = datetime(2026, 11, 27, tzinfo=UTC)


# Each write is made from the ids of the loaded world; these make the ids.
Id = Callable[[World], str]


def _id(world: World, table: Any, column: str, value: str) -> str:
    with world.engine.connect() as c:
        return str(c.execute(select(table.c.id).where(table.c[column] == value)).scalar_one())


def ip(address: str) -> Id:
    return lambda world: world.ip(address)


def vm(name: str) -> Id:
    return lambda world: world.vm(name)


def nic(vm_name: str, name: str) -> Id:
    return lambda world: world.nic(vm_name, name)


def network(permalink: str) -> Id:
    return lambda world: _id(world, m.Network.__table__, "permalink", permalink)


def subnet(cidr: str) -> Id:
    return lambda world: _id(world, subnets, "cidr", cidr)


def organization(sub_domain: str) -> Id:
    return lambda world: _id(world, m.Organization.__table__, "sub_domain", sub_domain)


Write = Callable[[World], Executable]


def change(table: Any, row: Id, **values: Any) -> Write:
    """UPDATE one row; a value is given as is or made from the world."""

    def statement(world: World) -> Executable:
        resolved = {k: v(world) if callable(v) else v for k, v in values.items()}
        return update(table).where(table.c.id == row(world)).values(resolved)

    return statement


def remove(table: Any, row: Id) -> Write:
    return lambda world: delete(table).where(table.c.id == row(world))


def allocate(address: str, to: Id | str, through: Id | str | None) -> Write:
    return change(ips, ip(address), allocation_type="VirtualMachine", allocation_id=to,
                  network_interface_id=through, allocated_at=NOW)  # fmt: skip


def new_address(address: str, cidr: str, permalink: str) -> Write:
    def statement(world: World) -> Executable:
        return insert(ips).values(
            id="ip_constraintsTest01", organization_id=organization("acme")(world),
            network_id=network(permalink)(world), subnet_id=subnet(cidr)(world),
            address=address, version=4, vip=False, created_at=NOW,
        )  # fmt: skip

    return statement


VIA_INTERFACE = "fk_ip_addresses_allocation_id_network_interfaces"
ON_NETWORK = "fk_ip_addresses_network_interface_id_network_interfaces"
OWN_ORGANIZATION = "fk_ip_addresses_allocation_id_virtual_machines"
SUBNET_NETWORK = "fk_ip_addresses_subnet_id_subnets"
SUB_DOMAIN = "ck_organizations_sub_domain_dns_label"
LONDON, AMSTERDAM, PRIVATE = "uk-lon-01-public", "nl-ams-01-public", "uk-lon-01-private"
# In its subnet but never in its pool, so no free row holds it already.
BROADCAST = "198.51.100.255"

# Each write that breaks a rule, and the constraint PostgreSQL names when it refuses
# it (SQLite does not name foreign keys in its errors).
FORBIDDEN: dict[str, tuple[str, Write]] = {
    # -- an allocation ----------------------------------------------------------------------
    "through another VM's interface":
        (VIA_INTERFACE, allocate("192.0.2.10", vm("web-1"), nic("web-2", "eth1"))),
    "through an interface on another network":
        (ON_NETWORK, allocate("192.0.2.10", vm("web-2"), nic("web-2", "eth0"))),
    # The review's reproduction: another VM's interface, on another network.
    "through another VM's interface on another network":
        (VIA_INTERFACE, allocate("192.0.2.10", vm("web-1"), nic("web-2", "eth0"))),
    "to a VM that does not exist":
        (VIA_INTERFACE, allocate("192.0.2.10", "vm_doesNotExist00000", nic("web-1", "eth0"))),
    "through an interface that does not exist":
        (VIA_INTERFACE, allocate("192.0.2.10", vm("web-1"), "vmnet_doesNotExist000")),
    "to another organization's VM, through its interface":
        (OWN_ORGANIZATION, allocate("192.0.2.10", vm("app-1"), nic("app-1", "eth0"))),
    "without an interface":
        ("ck_ip_addresses_allocation_complete", allocate("192.0.2.10", vm("web-1"), None)),
    # -- an address and its subnet ----------------------------------------------------------
    "an address whose subnet is on another network":
        (SUBNET_NETWORK, change(ips, ip("192.0.2.10"), subnet_id=subnet("198.51.100.0/24"))),
    "an address moved off its subnet's network":
        (SUBNET_NETWORK, change(ips, ip("192.0.2.10"), network_id=network(AMSTERDAM))),
    "a new address whose subnet is on another network":
        (SUBNET_NETWORK, new_address(BROADCAST, "198.51.100.0/24", LONDON)),
    # -- what an allocation points at, changed under it ---------------------------------------
    "an interface holding an address moved to another network":
        (ON_NETWORK, change(nics, nic("web-1", "eth0"), network_id=network(AMSTERDAM))),
    "an interface holding an address moved to another VM":
        (VIA_INTERFACE, change(nics, nic("web-1", "eth0"), virtual_machine_id=vm("web-2"))),
    "a VM holding an address moved to another organization":
        (OWN_ORGANIZATION, change(vms, vm("web-1"), organization_id=organization("globex"))),
    "a VM holding an address deleted": (OWN_ORGANIZATION, remove(vms, vm("web-1"))),
    "a subnet holding addresses moved to another network":
        (SUBNET_NETWORK, change(subnets, subnet("192.0.2.0/24"), network_id=network(PRIVATE))),
    # -- a VM ---------------------------------------------------------------------------------
    "an FQDN that is not lower-case": ("ck_virtual_machines_fqdn_lower_case",
                                       change(vms, vm("web-1"), fqdn="Web-1.acme.example.net")),
    # -- an organization: its sub-domain is one DNS label ---------------------------------------
    **{
        f"a sub-domain {why}": (SUB_DOMAIN, change(orgs, organization("acme"), sub_domain=bad))
        for why, bad in [
            ("in upper case", "Acme"), ("with an underscore", "ac_me"),
            ("shaped like an id", "org_acme000000000001"), ("with a dot", "acme.example"),
            ("with a space", "ac me"), ("beginning with a hyphen", "-acme"),
            ("ending with a hyphen", "acme-"), ("that is empty", ""),
            ("of 64 characters", "a" * 64), ("that is not ASCII", "acmé"),
        ]
    },
}  # fmt: skip

ALLOWED: dict[str, Write] = {
    "an allocation through the VM's own interface on the address's network":
        allocate("192.0.2.10", vm("web-2"), nic("web-2", "eth1")),
    "an unallocation": change(ips, ip("192.0.2.11"), allocation_type=None, allocation_id=None,
                              network_interface_id=None, allocated_at=None),
    "a new address on its subnet's network":
        new_address(BROADCAST, "198.51.100.0/24", AMSTERDAM),
    "an interface holding nothing moved to another network":
        change(nics, nic("web-2", "eth1"), network_id=network(PRIVATE)),
    "a VM holding nothing deleted": remove(vms, vm("multi")),
    "a sub-domain of 63 letters, digits and inner hyphens":
        change(orgs, organization("acme"), sub_domain="a-0" + "b" * 59 + "9"),
}  # fmt: skip


@pytest.mark.parametrize(("constraint", "write"), FORBIDDEN.values(), ids=FORBIDDEN.keys())
def test_a_forbidden_write_is_refused(
    engine: Engine, world: World, constraint: str, write: Write
) -> None:
    statement = write(world)
    before = world.snapshot()
    with pytest.raises(IntegrityError) as refused, engine.begin() as connection:
        connection.execute(statement)
    if engine.dialect.name == "postgresql":
        assert f'constraint "{constraint}"' in str(refused.value)
    assert world.snapshot() == before


@pytest.mark.parametrize("write", ALLOWED.values(), ids=ALLOWED.keys())
def test_an_allowed_write_passes(engine: Engine, world: World, write: Write) -> None:
    statement = write(world)
    before = world.snapshot()
    with engine.begin() as connection:
        connection.execute(statement)
    assert world.snapshot() != before


def test_deleting_a_vm_takes_its_interfaces_with_it(engine: Engine, world: World) -> None:
    multi = world.vm("multi")
    with engine.begin() as connection:
        connection.execute(delete(vms).where(vms.c.id == multi))
        left = connection.execute(select(nics.c.id).where(nics.c.virtual_machine_id == multi))
        assert left.all() == []


# -- the inventory loader ----------------------------------------------------------------------


def _move_interface(document: dict[str, Any], world: World) -> None:
    web_1 = document["organizations"][0]["virtual_machines"][0]
    web_1["network_interfaces"][0]["network"] = AMSTERDAM


def _move_subnet(document: dict[str, Any], world: World) -> None:
    london, _, private = document["networks"]
    private["subnets"].append(london["subnets"].pop(0))  # 192.0.2.0/24


def _move_vm(document: dict[str, Any], world: World) -> None:
    web_1 = {"id": world.vm("web-1"), "name": "web-1", "fqdn": "web-1.globex.example.net"}
    document["organizations"][1]["virtual_machines"].append(web_1)


# The loader does not check these itself: the database refuses them. Before revision
# 0003 they loaded, leaving 192.0.2.11 allocated through an interface on another network,
# in a subnet of another network, or to another organization's VM.
@pytest.mark.parametrize(
    "change", [_move_interface, _move_subnet, _move_vm],
    ids=["an interface holding an address moved to another network",
         "a subnet holding addresses moved to another network",
         "a VM holding an address moved to another organization (named by id)"],
)  # fmt: skip
def test_a_file_that_would_break_a_rule_loads_nothing(
    engine: Engine, world: World, change: Callable[[dict[str, Any], World], None]
) -> None:
    document = standard_inventory()
    change(document, world)
    before = world.snapshot()
    with pytest.raises((IntegrityError, InventoryError)):
        load_inventory(engine, parse_inventory(document))
    assert world.snapshot() == before


# -- the migration that adds these rules ----------------------------------------------------


@pytest.fixture
def before_0003(engine: Engine, world: World) -> Iterator[None]:
    """The standard inventory in a database taken back to revision 0002."""
    migrate.downgrade(engine, "0002")
    yield
    if not migrate.is_current(engine):  # the next test on this database expects head
        with engine.begin() as connection:
            connection.execute(
                update(ips).values(allocation_type=None, allocation_id=None,
                                   network_interface_id=None, allocated_at=None)
            )  # fmt: skip
        migrate.upgrade(engine)


def rows_as_of_now(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table the database has now, in the columns it has now."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as c:
        return {
            name: sorted(tuple(map(str, row)) for row in c.execute(select(table)))
            for name, table in metadata.tables.items()
            if name != "alembic_version"
        }


def test_upgrading_a_loaded_database_keeps_every_row(
    engine: Engine, world: World, before_0003: None
) -> None:
    before = rows_as_of_now(engine)
    migrate.upgrade(engine, "0003")
    assert rows_as_of_now(engine) == before
    migrate.upgrade(engine)
    assert migrate.is_current(engine)


def test_upgrading_refuses_a_database_that_breaks_the_rules(
    engine: Engine, world: World, before_0003: None
) -> None:
    # Accepted at 0002: the defect the upgrade closes.
    _, write = FORBIDDEN["through another VM's interface on another network"]
    with engine.begin() as connection:
        connection.execute(write(world))
    with engine.connect() as connection:
        held = connection.execute(
            select(ips.c.network_interface_id).where(ips.c.address == "192.0.2.10")
        ).scalar_one()
    assert held == world.nic("web-2", "eth0")
    before = rows_as_of_now(engine)
    # PostgreSQL checks each new constraint as it is added; SQLite checks after the rebuild.
    sqlite = engine.dialect.name == "sqlite"
    with pytest.raises(migrate.MigrationError if sqlite else IntegrityError):
        migrate.upgrade(engine)
    assert not migrate.is_current(engine)
    assert rows_as_of_now(engine) == before


# -- the migration that checks sub-domains ------------------------------------------------------


@pytest.fixture
def before_0005(engine: Engine, world: World) -> Iterator[None]:
    """The standard inventory in a database taken back to revision 0004."""
    migrate.downgrade(engine, "0004")
    yield
    if not migrate.is_current(engine):  # the next test on this database expects head
        with engine.begin() as connection:
            fixed = func.lower(func.replace(orgs.c.id, "_", "-"))
            connection.execute(update(orgs).values(sub_domain=fixed))
        migrate.upgrade(engine)


def test_upgrading_refuses_stored_sub_domains_that_are_not_dns_labels(
    engine: Engine, world: World, before_0005: None
) -> None:
    # Accepted before 0005, from before the inventory file checked sub-domains.
    acme, globex = organization("acme")(world), organization("globex")(world)
    with engine.begin() as connection:
        connection.execute(update(orgs).where(orgs.c.id == acme).values(sub_domain="Acme_Corp"))
    before = rows_as_of_now(engine)
    with pytest.raises(migrate.MigrationError) as refused:
        migrate.upgrade(engine)
    assert str(refused.value) == (
        "1 organizations have a sub_domain that is not one DNS label (1 to 63 lower-case"
        f" letters, digits and inner hyphens): 'Acme_Corp' ({acme}); rename them first;"
        " nothing was migrated"
    )
    assert not migrate.is_current(engine)
    assert rows_as_of_now(engine) == before
    # Renamed, it upgrades, keeping every row.
    with engine.begin() as connection:
        connection.execute(update(orgs).where(orgs.c.id == acme).values(sub_domain="acme-corp"))
    migrate.upgrade(engine)
    assert migrate.is_current(engine)
    with engine.connect() as connection:
        stored = dict(connection.execute(select(orgs.c.id, orgs.c.sub_domain)).all())
    assert stored == {acme: "acme-corp", globex: "globex"}
