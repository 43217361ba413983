"""The allocate action on a real connection, without HTTP: each outcome and what it stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import Connection

from katapult_ipam import actions
from katapult_ipam.domain import errors as domain
from katapult_ipam.domain.actors import Actor
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store import models as m
from katapult_ipam.store.records import IPAddressRecord
from tests.support.factories import Ids, inventory, ip, load, network, organization, vm

T = TypeVar("T")


@pytest.fixture
def ids(engine: Engine) -> Ids:
    return load(
        engine,
        inventory(
            organization(
                "acme",
                vms=[vm("web", "pub"), vm("db", "priv"), vm("old", "pub", in_trash=True)],
                ips=[ip("192.0.2.10"), ip("192.0.2.11", allocated_to="web"), ip("10.9.0.5")],
            ),
            organization("globex", vms=[vm("app", "pub")], ips=[ip("192.0.2.50")]),
            networks=[network("pub", "192.0.2.0/24"), network("priv", "10.9.0.0/16")],
        ),
    )


def actor(ids: Ids, sub_domain: str = "acme") -> Actor:
    return Actor("APIToken", "tok_test", frozenset({ids.org(sub_domain)}), "req-1")


def in_transaction(engine: Engine, job: Callable[[Connection], T]) -> T:
    with engine.begin() as connection:
        return job(connection)


def allocate(engine: Engine, who: Actor, vm_id: str, address: str) -> IPAddressRecord:
    return in_transaction(
        engine,
        lambda c: actions.allocate_ip(
            c, who, vm_lookup=Lookup("id", vm_id), ip_lookup=Lookup("address", address)
        ),
    )


def events(engine: Engine) -> int:
    """Audit rows of allocations made through actions (the inventory's own are not counted)."""
    event = m.AllocationEvent
    query = select(func.count()).select_from(event).where(event.actor_type != "inventory")
    with engine.connect() as c:
        return int(c.execute(query).scalar_one())


def test_allocating_a_free_address_stores_it_and_one_audit_row(engine: Engine, ids: Ids) -> None:
    record = allocate(engine, actor(ids), ids.vm("acme", "web"), "192.0.2.10")
    assert (record.allocation_type, record.allocation_id) == (
        "VirtualMachine",
        ids.vm("acme", "web"),
    )
    assert record.allocated_fqdn == "web.example.net"
    assert events(engine) == 1
    with engine.connect() as c:
        row = c.execute(select(m.IPAddress).where(m.IPAddress.address == "192.0.2.10")).one()
    assert row.network_interface_id == ids.nic("acme", "web", "pub")


def test_a_repeat_of_the_same_allocation_changes_nothing(engine: Engine, ids: Ids) -> None:
    record = allocate(engine, actor(ids), ids.vm("acme", "web"), "192.0.2.11")
    assert record.allocation_id == ids.vm("acme", "web")
    assert events(engine) == 0  # the inventory's allocation, answered as it is


@pytest.mark.parametrize(
    ("vm_name", "address", "refusal"),
    [
        ("db", "192.0.2.11", domain.IPAlreadyAllocated),  # held by web
        ("db", "192.0.2.10", domain.NoInterfaceAvailable),  # db has no interface on pub
        ("old", "192.0.2.10", domain.ObjectInTrash),
        ("web", "192.0.2.50", domain.IPAddressNotFound),  # Globex's address
        ("web", "192.0.2.99", domain.IPAddressNotFound),  # nobody's
    ],
)
def test_refusals_store_nothing(
    engine: Engine, ids: Ids, vm_name: str, address: str, refusal: type[Exception]
) -> None:
    with pytest.raises(refusal):
        allocate(engine, actor(ids), ids.vm("acme", vm_name), address)
    assert events(engine) == 0


def test_another_organization_s_vm_is_not_found(engine: Engine, ids: Ids) -> None:
    with pytest.raises(domain.VirtualMachineNotFound):
        allocate(engine, actor(ids), ids.vm("globex", "app"), "192.0.2.50")
    # Globex itself may.
    assert allocate(engine, actor(ids, "globex"), ids.vm("globex", "app"), "192.0.2.50").id
