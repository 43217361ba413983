"""The whole lifecycle raced against the real server on one small network.

Two organizations create, allocate (through ``allocate_ip`` and through an
interface), unallocate and release, from many threads,
against several worker processes sharing the database, for a bounded number of
requests. Afterwards: no answer was a 500; every address is in one consistent
state; replaying the audit log in order never hands an address to a second
organization (or allocates it twice) before it came back; the replay ends where
the database is; and the answers agree with the log.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from sqlalchemy import Engine, select

from katapult_ipam.inventory import parse_inventory
from katapult_ipam.store import models as m
from katapult_ipam.store.loader import load_inventory
from tests.integration.server import ServerFactory
from tests.support.api import bearer
from tests.support.world import ACME_TOKEN, GLOBEX_TOKEN, World

pytestmark = pytest.mark.slow

NETWORK = "race-net"
CIDR = "10.9.0.0/28"  # 14 addresses: fewer than the organizations ask for
THREADS = 16
REQUESTS_PER_THREAD = 40
ALLOWED = {
    "create": {200, 503},
    "allocate": {200, 404, 422},
    "allocate_through": {200, 404, 422},
    "unallocate": {200, 404, 422},
    "release": {200, 404},
}


@dataclass(frozen=True)
class Answer:
    operation: str
    organization: str
    ip: str | None
    vm: str | None
    status: int
    body: Any


def load_race_network(engine: Engine) -> dict[str, list[str]]:
    """The network, and two VMs on it for each organization; their ids by sub-domain."""
    vms = {org: [f"{org}-race-{n}" for n in range(2)] for org in ("acme", "globex")}
    document = {
        "networks": [{"name": NETWORK, "permalink": NETWORK, "data_center": "uk-lon-01",
                      "subnets": [{"cidr": CIDR}]}],
        "organizations": [
            {"name": org.title(), "sub_domain": org,
             "virtual_machines": [{"name": name, "fqdn": f"{name}.example.net",
                                   "network_interfaces": [{"network": NETWORK}]}
                                  for name in names]}
            for org, names in vms.items()
        ],
    }  # fmt: skip
    load_inventory(engine, parse_inventory(document))
    table = m.VirtualMachine.__table__
    with engine.connect() as c:
        ids = dict(c.execute(select(table.c.name, table.c.id)).all())
    return {org: [ids[name] for name in names] for org, names in vms.items()}


def pool_ids(engine: Engine) -> list[str]:
    ips, networks = m.IPAddress.__table__, m.Network.__table__
    query = (
        select(ips.c.id)
        .join(networks, networks.c.id == ips.c.network_id)
        .where(networks.c.permalink == NETWORK)
    )
    with engine.connect() as c:
        return sorted(c.execute(query).scalars())


def send(client: httpx2.Client, operation: str, ip: str | None, vm: str | None, org: str) -> Any:
    if operation == "create":
        body = {"organization": {"sub_domain": org}, "network": {"permalink": NETWORK},
                "version": "ipv4"}  # fmt: skip
        return client.post("/core/v1/organizations/organization/ip_addresses", json=body)
    if operation == "allocate":
        body = {"virtual_machine": {"id": vm}, "ip_address": {"id": ip}}
        return client.post("/core/v1/virtual_machines/_/allocate_ip", json=body)
    if operation == "allocate_through":
        body = {"virtual_machine_network_interface": {"id": vm}, "ip_address": {"id": ip}}
        return client.post("/core/v1/virtual_machine_network_interfaces/_/allocate_ip", json=body)
    if operation == "unallocate":
        return client.post(f"/core/v1/ip_addresses/_/unallocate?ip_address[id]={ip}")
    return client.request("DELETE", "/core/v1/ip_addresses/ip_address",
                          json={"ip_address": {"id": ip}})  # fmt: skip


def race(
    server_url: str, vms: dict[str, list[str]], nics: dict[str, str], ips: list[str]
) -> list[Answer]:
    barrier = threading.Barrier(THREADS)
    tokens = {"acme": ACME_TOKEN, "globex": GLOBEX_TOKEN}

    def lane(index: int) -> list[Answer]:
        org = "acme" if index % 2 == 0 else "globex"
        rng = random.Random(index)
        answers = []
        with httpx2.Client(base_url=server_url, headers=bearer(tokens[org]), timeout=30,
                           trust_env=False) as client:  # fmt: skip
            barrier.wait(timeout=30)
            for _ in range(REQUESTS_PER_THREAD):
                operation = rng.choice(
                    ["create", "allocate", "allocate_through", "unallocate", "release"]
                )
                ip = None if operation == "create" else rng.choice(ips)
                vm = None
                if operation == "allocate":
                    vm = rng.choice(vms[org])
                elif operation == "allocate_through":
                    vm = nics[rng.choice(vms[org])]
                response = send(client, operation, ip, vm, org)
                body = response.json()
                answers.append(Answer(operation, org, ip, vm, response.status_code, body))
        return answers

    with ThreadPoolExecutor(max_workers=THREADS) as executor:
        return [a for lane_answers in executor.map(lane, range(THREADS)) for a in lane_answers]


def replay(engine: Engine, org_ids: dict[str, str]) -> dict[str, tuple[str | None, str | None]]:
    """Each address's (owner, holder) after the audit log, checking every step is allowed."""
    events = m.AllocationEvent.__table__
    state: dict[str, tuple[str | None, str | None]] = {}
    query = select(
        events.c.ip_address_id, events.c.action, events.c.organization_id,
        events.c.virtual_machine_id,
    ).order_by(events.c.id)  # fmt: skip
    with engine.connect() as c:
        rows = c.execute(query).all()
    for ip, action, org, vm in rows:
        owner, holder = state.get(ip, (None, None))
        if action == "create":
            assert owner is None, f"{ip} handed to {org} while {owner} held it"
            owner = org
        elif action == "allocate":
            assert owner == org, f"{ip} allocated for {org} but owned by {owner}"
            assert holder is None, f"{ip} allocated to {vm} while {holder} held it"
            holder = vm
        elif action == "unallocate":
            assert owner == org
            assert holder == vm, f"{ip} unallocated from {vm} but held by {holder}"
            holder = None
        else:
            assert action == "release"
            assert owner == org
            assert holder is None, f"{ip} released while {holder} held it"
            owner = None
        state[ip] = (owner, holder)
    return state


@pytest.mark.parametrize("workers", [3])
def test_the_lifecycle_raced_leaves_one_consistent_state(
    start_server: ServerFactory, engine: Engine, world: World, workers: int
) -> None:
    vms = load_race_network(engine)
    ips = pool_ids(engine)
    assert len(ips) == 14
    orgs = m.Organization.__table__
    with engine.connect() as c:
        org_ids = dict(c.execute(select(orgs.c.sub_domain, orgs.c.id)).all())

    server = start_server(workers=workers)
    interfaces = m.NetworkInterface.__table__
    with engine.connect() as c:
        nics = dict(c.execute(select(interfaces.c.virtual_machine_id, interfaces.c.id)).all())
    answers = race(server.url, vms, nics, ips)

    wrong = [a for a in answers if a.status not in ALLOWED[a.operation]]
    assert not wrong, wrong[:5]
    codes = Counter((a.operation, a.status, a.body.get("error", {}).get("code")) for a in answers)
    # The race did race: each kind of outcome happened.
    assert codes[("create", 200, None)] > 0
    assert codes[("allocate", 200, None)] > 0
    assert codes[("allocate_through", 200, None)] > 0
    assert codes[("unallocate", 200, None)] > 0
    assert codes[("release", 200, None)] > 0

    final = replay(engine, org_ids)
    ip_table = m.IPAddress.__table__
    with engine.connect() as c:
        rows = c.execute(
            select(ip_table.c.id, ip_table.c.organization_id, ip_table.c.allocation_id,
                   ip_table.c.vip, ip_table.c.label).where(ip_table.c.id.in_(ips))
        ).all()  # fmt: skip
    for ip, owner, holder, vip, label in rows:
        assert final.get(ip, (None, None)) == (owner, holder), ip
        if owner is None:
            assert (holder, vip, label) == (None, False, None)
        if holder is not None:
            vm_org = "acme" if holder in vms["acme"] else "globex"
            assert owner == org_ids[vm_org]

    # The answers agree with the log: one event per successful change.
    events = m.AllocationEvent.__table__
    with engine.connect() as c:
        logged = Counter(
            (action, operation)
            for action, operation in c.execute(select(events.c.action, events.c.operation))
        )
    assert logged[("create", "post:organization_ip_addresses")] == codes[("create", 200, None)]
    assert logged[("unallocate", "post:ip_address_unallocate")] == codes[("unallocate", 200, None)]
    assert logged[("release", "delete:ip_address")] == codes[("release", 200, None)]
    assert (
        logged[("allocate", "post:virtual_machine_allocate_ip")] <= codes[("allocate", 200, None)]
    )
    through = logged[("allocate", "post:virtual_machine_network_interface_allocate_ip")]
    assert through <= codes[("allocate_through", 200, None)]
    created = [a.body["ip_address"]["id"] for a in answers if a.operation == "create"
               and a.status == 200]  # fmt: skip
    assert set(created) <= set(ips)
    assert "Traceback" not in server.stderr()
