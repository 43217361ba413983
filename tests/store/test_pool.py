"""The pool as the loader keeps it: a free row for every address an IPv4 subnet may hand out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select

from katapult_ipam.store import migrate
from katapult_ipam.store import models as m
from katapult_ipam.store.queries import pool
from tests.support import factories as f

ips = m.IPAddress.__table__


def free(engine: Engine, subnet_cidr: str | None = None) -> set[str]:
    query = select(ips.c.address).where(ips.c.organization_id.is_(None))
    if subnet_cidr is not None:
        subnets = m.Subnet.__table__
        query = query.join(subnets, subnets.c.id == ips.c.subnet_id).where(
            subnets.c.cidr == subnet_cidr
        )
    with engine.connect() as c:
        return set(c.execute(query).scalars())


def stored(engine: Engine, address: str) -> Any:
    with engine.connect() as c:
        return c.execute(select(ips).where(ips.c.address == address)).one_or_none()


def document(*subnets: dict[str, Any], ips_: list[dict[str, Any]] | None = None) -> Any:
    net = {**f.network("net"), "subnets": list(subnets)}
    return f.inventory(f.organization("acme", ips=ips_ or []), networks=[net])


def test_a_load_fills_each_ipv4_pool_but_not_ipv6(engine: Engine) -> None:
    f.load(engine, document({"cidr": "192.0.2.0/28", "gateway": "192.0.2.1"},
                            {"cidr": "2001:db8::/64"}))  # fmt: skip
    assert free(engine) == {f"192.0.2.{n}" for n in range(2, 15)}


def test_a_listed_address_is_the_pools_row_taken(engine: Engine) -> None:
    f.load(engine, document({"cidr": "192.0.2.0/28"}))
    row = stored(engine, "192.0.2.5")
    assert row.organization_id is None
    f.load(engine, document({"cidr": "192.0.2.0/28"}, ips_=[f.ip("192.0.2.5")]))
    taken = stored(engine, "192.0.2.5")
    assert taken.id == row.id  # an address keeps its id for life
    assert taken.organization_id is not None
    assert taken.taken_at is not None
    assert "192.0.2.5" not in free(engine)


def test_a_new_gateway_leaves_the_pool_and_the_old_one_joins_it(engine: Engine) -> None:
    subnet = {"id": "sbnt_pooltest00000001", "cidr": "192.0.2.0/28", "gateway": "192.0.2.1"}
    f.load(engine, document(subnet))
    f.load(engine, document({**subnet, "gateway": "192.0.2.14"}))
    assert free(engine) == {f"192.0.2.{n}" for n in range(1, 14)}


def test_a_smaller_cidr_drops_the_free_rows_outside_it(engine: Engine) -> None:
    subnet = {"id": "sbnt_pooltest00000001", "cidr": "192.0.2.0/28"}
    f.load(engine, document(subnet))
    f.load(engine, document({**subnet, "cidr": "192.0.2.0/29"}))
    assert free(engine) == {f"192.0.2.{n}" for n in range(1, 7)}


def test_a_subnet_of_free_rows_moves_to_another_network_with_them(engine: Engine) -> None:
    subnet = {"id": "sbnt_pooltest00000001", "cidr": "192.0.2.0/29"}
    first = {**f.network("one"), "subnets": [subnet]}
    second = {**f.network("two", default=False), "subnets": []}
    f.load(engine, f.inventory(networks=[first, second]))
    moved = f.inventory(networks=[{**first, "subnets": []}, {**second, "subnets": [subnet]}])
    f.load(engine, moved)
    networks = m.Network.__table__
    with engine.connect() as c:
        two = c.execute(select(networks.c.id).where(networks.c.permalink == "two")).scalar_one()
        on = set(c.execute(select(ips.c.network_id).where(ips.c.subnet_id == subnet["id"])))
    assert on == {(two,)}
    assert free(engine) == {f"192.0.2.{n}" for n in range(1, 7)}


def test_loading_again_writes_nothing(engine: Engine) -> None:
    f.load(engine, document({"cidr": "192.0.2.0/24", "gateway": "192.0.2.1"}))
    from katapult_ipam.inventory import parse_inventory
    from katapult_ipam.store.loader import load_inventory

    report = load_inventory(
        engine, parse_inventory(document({"cidr": "192.0.2.0/24", "gateway": "192.0.2.1"}))
    )
    assert (dict(report.created), dict(report.updated)) == ({}, {})


def test_taking_skips_nothing_and_hands_out_each_address_once(engine: Engine) -> None:
    ids = f.load(engine, document({"cidr": "192.0.2.0/29", "gateway": "192.0.2.1"}))
    org, now = ids.org("acme"), datetime.now(UTC)
    network = m.Network.__table__
    with engine.connect() as c:
        network_id = c.execute(select(network.c.id)).scalar_one()
    taken = []
    with engine.begin() as connection:
        while True:
            ip_id = pool.take_free_address(
                connection, network_id=network_id, version=4, organization_id=org,
                vip=False, label=None, now=now,
            )  # fmt: skip
            if ip_id is None:
                break
            taken.append(ip_id)
    assert len(taken) == len(set(taken)) == 5
    assert free(engine) == set()


def test_ipv6_addresses_appear_as_they_are_handed_out(engine: Engine) -> None:
    ids = f.load(engine, document({"cidr": "2001:db8::/126", "gateway": "2001:db8::1"},
                                  ips_=[f.ip("2001:db8::2")]))  # fmt: skip
    network = m.Network.__table__
    with engine.connect() as c:
        network_id = c.execute(select(network.c.id)).scalar_one()
    with engine.begin() as connection:
        handed = [
            pool.take_free_address(
                connection,
                network_id=network_id,
                version=6,
                organization_id=ids.org("acme"),
                vip=False,
                label=None,
                now=datetime.now(UTC),
            )
            for _ in range(3)
        ]
    # ::1 is the gateway and ::2 is listed already: only ::3 is left of the /126.
    assert handed[1:] == [None, None]
    assert handed[0] is not None
    assert stored(engine, "2001:db8::3").id == handed[0]


def test_the_upgrade_fills_the_pools_of_existing_subnets(engine: Engine) -> None:
    f.load(engine, document({"cidr": "192.0.2.0/29", "gateway": "192.0.2.1"},
                            ips_=[f.ip("192.0.2.3")]))  # fmt: skip
    migrate.downgrade(engine, "0005")
    with engine.connect() as c:
        count = c.execute(select(func.count()).select_from(ips)).scalar_one()
    assert count == 1
    migrate.upgrade(engine)
    assert free(engine) == {"192.0.2.2", "192.0.2.4", "192.0.2.5", "192.0.2.6"}


def test_the_downgrade_keeps_an_audit_log_0005_can_hold(engine: Engine) -> None:
    ids = f.load(engine, document({"cidr": "192.0.2.0/29", "gateway": "192.0.2.1"}))
    network = m.Network.__table__
    with engine.connect() as c:
        network_id = c.execute(select(network.c.id)).scalar_one()
    with engine.begin() as connection:
        taken = pool.take_free_address(
            connection, network_id=network_id, version=4, organization_id=ids.org("acme"),
            vip=False, label=None, now=datetime.now(UTC),
        )  # fmt: skip
        connection.execute(
            insert(m.AllocationEvent).values(
                occurred_at=datetime.now(UTC), action="create", organization_id=ids.org("acme"),
                actor_type="APIToken", actor_id="tok_1", ip_address_id=taken,
                address="192.0.2.2", operation="post:organization_ip_addresses",
            )
        )  # fmt: skip
    migrate.downgrade(engine, "0005")
    migrate.upgrade(engine)
