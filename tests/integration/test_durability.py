"""A 200 is a promise: an allocation answered 200 survives SIGKILL of the server.

Allocations stream in from several threads; once some have been answered the
whole server process group is SIGKILLed mid-traffic. After a restart on the
same database every answered allocation is there, requests that got no answer
either happened whole or not at all (audit row included), and nothing that was
never asked for changed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx2
import pytest
from sqlalchemy import Engine

from tests.integration.helpers import (
    VIRTUAL_MACHINE,
    Answer,
    IPState,
    addresses,
    allocate,
    answer,
    assert_clean_log,
    ip_states,
    load_extra,
)
from tests.integration.server import ServerFactory
from tests.support.world import World

pytestmark = pytest.mark.slow

SENDERS = 8
VM_COUNT = 20
IP_COUNT = 150
KILL_AFTER = 20  # answered allocations before the kill
WAIT = 15.0  # bound on every wait in this test, in seconds


@dataclass
class Traffic:
    """Senders take the next (ip, vm) of the plan until told to stop.

    The first transport error (the kill, or a crash) stops every sender, so a
    request is either answered, failed in flight, or never sent at all.
    """

    client: httpx2.Client
    plan: list[tuple[str, str]]
    sent: dict[str, str] = field(default_factory=dict)  # ip -> vm, before sending
    answered: dict[str, Answer] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # ip -> the transport error
    enough: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next: int = 0
    _ok: int = 0

    def send(self) -> None:
        while not self.stop.is_set():
            with self._lock:
                if self._next == len(self.plan):
                    return
                ip, vm = self.plan[self._next]
                self._next += 1
                self.sent[ip] = vm
            try:
                response = allocate(self.client, vm, ip)
            except httpx2.TransportError as error:
                with self._lock:
                    self.failed[ip] = repr(error)
                self.stop.set()
                return
            with self._lock:
                self.answered[ip] = answer(ip, vm, response)
                if response.status_code == 200:
                    self._ok += 1
                    if self._ok >= KILL_AFTER:
                        self.enough.set()

    def summary(self) -> str:
        with self._lock:
            statuses = sorted(a.status for a in self.answered.values())
            failed = list(self.failed.values())
            return f"sent {len(self.sent)}, statuses {statuses}, failed {failed}"


@pytest.mark.parametrize("workers", [1, 2])
def test_answered_allocations_survive_sigkill_and_unanswered_ones_are_all_or_nothing(
    start_server: ServerFactory, engine: Engine, world: World, workers: int
) -> None:
    extra = load_extra(engine, VM_COUNT, addresses(100, IP_COUNT))
    plan = [(ip, extra.vms[i % VM_COUNT]) for i, ip in enumerate(extra.ips)]
    before = ip_states(engine)

    server = start_server(workers=workers)
    with server.client(connections=SENDERS) as client:
        traffic = Traffic(client, plan)
        senders = [
            threading.Thread(target=traffic.send, name=f"sender-{n}") for n in range(SENDERS)
        ]
        for sender in senders:
            sender.start()
        try:
            deadline = time.monotonic() + WAIT
            while not traffic.enough.wait(0.05):
                if traffic.stop.is_set() or time.monotonic() > deadline:
                    pytest.fail(
                        f"{KILL_AFTER} allocations were not answered: {traffic.summary()}"
                        f"\nserver log:\n{server.stderr()}"
                    )
            server.kill()  # while the senders are still sending
        finally:
            traffic.stop.set()
            for sender in senders:
                sender.join(WAIT)
        assert not any(s.is_alive() for s in senders), "a sender did not finish"

    assert_clean_log(server.stderr())
    answered = traffic.answered
    not_ok = [a for a in answered.values() if a.status != 200]
    assert not not_ok, f"every planned allocation is valid, yet: {not_ok}"
    assert len(answered) >= KILL_AFTER
    unanswered = {ip: vm for ip, vm in traffic.sent.items() if ip not in answered}
    assert set(unanswered) == set(traffic.failed)
    never_sent = {ip for ip, _ in plan} - set(traffic.sent)
    assert never_sent, "the kill came after the last request: nothing was tested"

    restarted = start_server(workers=workers)
    states = ip_states(engine)

    for ip, a in answered.items():
        assert states[ip] == IPState.allocated(a.vm, extra.nic_of[a.vm]), (
            f"answered 200 but not in the database after SIGKILL: {ip}"
        )
    for ip, vm in unanswered.items():
        # All or nothing: the allocation and its audit row, or neither.
        assert states[ip] in (IPState.free(), IPState.allocated(vm, extra.nic_of[vm])), ip
    for ip in never_sent:
        assert states[ip] == IPState.free(), ip
    untouched = set(before) - set(traffic.sent)
    assert {ip: states[ip] for ip in untouched} == {ip: before[ip] for ip in untouched}

    # The restarted server serves the same data correctly.
    (winner_ip, won) = next(iter(answered.items()))
    other_vm = next(vm for vm in extra.vms if vm != won.vm)
    fresh_ip = world.ip("192.0.2.10")
    web_1 = world.vm("web-1")
    with restarted.client() as client:
        response = allocate(client, web_1, fresh_ip)
        assert response.status_code == 200, response.text
        body = response.json()["ip_address"]
        assert (body["id"], body["allocation_id"], body["allocation_type"]) == (
            fresh_ip,
            web_1,
            VIRTUAL_MACHINE,
        )
        again = allocate(client, won.vm, winner_ip)
        assert again.status_code == 200, again.text
        assert again.json()["ip_address"]["allocation_id"] == won.vm
        taken = allocate(client, other_vm, winner_ip)
        assert taken.status_code == 422, taken.text
        assert taken.json()["error"]["code"] == "ip_already_allocated"

    after = ip_states(engine)
    assert after[fresh_ip] == IPState.allocated(web_1, world.nic("web-1", "eth0"))
    assert {ip: s for ip, s in after.items() if ip != fresh_ip} == {
        ip: s for ip, s in states.items() if ip != fresh_ip
    }
    assert_clean_log(restarted.stderr())
