"""Concurrent allocations against the real server: one winner per IP, always.

Every IP is asked for by several VMs at the same moment, from many connections,
served by one process or by several processes sharing the database.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from sqlalchemy import Engine

from tests.integration.helpers import (
    VIRTUAL_MACHINE,
    IPState,
    addresses,
    assert_clean_log,
    fire_together,
    ip_states,
    load_extra,
    other_tables,
)
from tests.integration.server import ServerFactory
from tests.support.world import World

pytestmark = pytest.mark.slow

THREADS = 32
VM_COUNT = 20
IP_COUNT = 30
CONTENDERS = 4  # different VMs asking for each IP
RETRIES = 8  # concurrent identical requests in the retry race


@pytest.mark.parametrize("workers", [1, 3])
def test_each_ip_goes_to_exactly_one_of_the_vms_racing_for_it(
    start_server: ServerFactory, engine: Engine, world: World, workers: int
) -> None:
    extra = load_extra(engine, VM_COUNT, addresses(100, IP_COUNT))
    # The contenders for IP i are VMs i, i+5, i+10 and i+15 (mod 20): all different.
    requests = [
        (ip, extra.vms[(i + j * VM_COUNT // CONTENDERS) % VM_COUNT])
        for i, ip in enumerate(extra.ips)
        for j in range(CONTENDERS)
    ]
    assert all(len({vm for ip2, vm in requests if ip2 == ip}) == CONTENDERS for ip in extra.ips)
    tables_before = other_tables(world.snapshot())
    states_before = ip_states(engine)

    server = start_server(workers=workers)
    with server.client(connections=THREADS) as client:
        answers = fire_together(client, requests, THREADS)

    assert len(answers) == len(requests)
    unexpected = [a for a in answers if a.status not in (200, 422)]
    assert not unexpected, f"statuses other than 200 and 422: {unexpected}"
    refused = [a for a in answers if a.status == 422]
    assert all(a.error_code == "ip_already_allocated" for a in refused), refused
    assert all(a.body["code"] == "ip_already_allocated" for a in refused), refused

    winners: dict[str, list[str]] = defaultdict(list)
    for a in answers:
        if a.status == 200:
            winners[a.ip].append(a.vm)
            assert a.body["ip_address"]["id"] == a.ip
            assert a.body["ip_address"]["allocation_id"] == a.vm
            assert a.body["ip_address"]["allocation_type"] == VIRTUAL_MACHINE
    assert {ip: len(winners[ip]) for ip in extra.ips} == dict.fromkeys(extra.ips, 1), (
        "every IP must have exactly one 200"
    )

    # The database agrees with the answers, and has one audit row per IP.
    states = ip_states(engine)
    for ip in extra.ips:
        (vm,) = winners[ip]
        assert states[ip] == IPState.allocated(vm, extra.nic_of[vm]), ip
    assert {ip: s for ip, s in states.items() if ip not in winners} == {
        ip: s for ip, s in states_before.items() if ip not in winners
    }
    assert other_tables(world.snapshot()) == tables_before
    assert_clean_log(server.stderr())


@pytest.mark.parametrize("workers", [1, 3])
def test_a_vm_asking_for_the_same_ip_concurrently_gets_it_once(
    start_server: ServerFactory, engine: Engine, world: World, workers: int
) -> None:
    extra = load_extra(engine, 4, addresses(100, 4))
    pairs = list(zip(extra.ips, extra.vms, strict=True))
    requests = [pair for pair in pairs for _ in range(RETRIES)]
    states_before = ip_states(engine)

    server = start_server(workers=workers)
    with server.client(connections=THREADS) as client:
        answers = fire_together(client, requests, THREADS)

    assert len(answers) == len(requests)
    not_ok = [a for a in answers if a.status != 200]
    assert not not_ok, f"a repeat of what is already true must succeed: {not_ok}"
    for a in answers:
        assert a.body["ip_address"]["id"] == a.ip
        assert a.body["ip_address"]["allocation_id"] == a.vm
        assert a.body["ip_address"]["allocation_type"] == VIRTUAL_MACHINE

    states = ip_states(engine)
    for ip, vm in pairs:
        assert states[ip] == IPState.allocated(vm, extra.nic_of[vm]), ip
    assert {ip: s for ip, s in states.items() if ip not in extra.ips} == {
        ip: s for ip, s in states_before.items() if ip not in extra.ips
    }
    assert_clean_log(server.stderr())
