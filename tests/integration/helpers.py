"""Extra inventory, requests, raw HTTP and database reads for the integration tests."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx2
from sqlalchemy import Engine, func, select

from katapult_ipam.inventory import parse_inventory
from katapult_ipam.store import models as m
from katapult_ipam.store.loader import load_inventory
from tests.integration.server import RunningServer

NETWORK = "uk-lon-01-public"
VIRTUAL_MACHINE = "VirtualMachine"


def addresses(first: int, count: int) -> list[str]:
    """``count`` addresses of 192.0.2.0/24 from 192.0.2.``first``."""
    assert first > 0
    assert first + count <= 255
    return [f"192.0.2.{n}" for n in range(first, first + count)]


@dataclass(frozen=True)
class Extra:
    """Ids of the extra inventory, in the order it was declared."""

    vms: list[str]
    ips: list[str]
    nic_of: dict[str, str]  # VM id -> its one interface's id


def load_extra(engine: Engine, vm_count: int, ip_addresses: Sequence[str]) -> Extra:
    """Add to Acme ``vm_count`` VMs with one NIC on NETWORK each, and free IPs."""
    names = [f"race-{n:02d}" for n in range(vm_count)]
    document = {
        "organizations": [
            {
                # Matched by sub_domain: the same organization as the standard one.
                "name": "Acme",
                "sub_domain": "acme",
                "virtual_machines": [
                    {
                        "name": name,
                        "fqdn": f"{name}.acme.example.net",
                        "network_interfaces": [{"network": NETWORK}],
                    }
                    for name in names
                ],
                "ip_addresses": [{"address": address} for address in ip_addresses],
            }
        ]
    }
    load_inventory(engine, parse_inventory(document))
    vm = m.VirtualMachine.__table__
    ip = m.IPAddress.__table__
    nic = m.NetworkInterface.__table__
    with engine.connect() as c:
        vm_ids = dict(c.execute(select(vm.c.name, vm.c.id).where(vm.c.name.in_(names))).all())
        ip_ids = dict(
            c.execute(select(ip.c.address, ip.c.id).where(ip.c.address.in_(ip_addresses))).all()
        )
        nics = c.execute(
            select(nic.c.virtual_machine_id, nic.c.id).where(
                nic.c.virtual_machine_id.in_(vm_ids.values())
            )
        ).all()
    nic_of = dict(nics)
    assert len(nic_of) == len(nics) == vm_count, "each extra VM has exactly one interface"
    return Extra(
        vms=[vm_ids[name] for name in names],
        ips=[ip_ids[address] for address in ip_addresses],
        nic_of=nic_of,
    )


@dataclass(frozen=True)
class IPState:
    """An IP's allocation and its audit trail, read in one statement."""

    allocation_type: str | None
    allocation_id: str | None
    network_interface_id: str | None
    events: int
    event_vms: tuple[str | None, str | None]  # least and greatest VM id in its events

    @classmethod
    def free(cls) -> IPState:
        return cls(None, None, None, 0, (None, None))

    @classmethod
    def allocated(cls, vm: str, nic: str) -> IPState:
        """Allocated through the API: exactly one audit row, naming the VM."""
        return cls(VIRTUAL_MACHINE, vm, nic, 1, (vm, vm))


def ip_states(engine: Engine) -> dict[str, IPState]:
    """Every IP's state by id; one statement, so one consistent snapshot."""
    ip = m.IPAddress.__table__
    event = m.AllocationEvent.__table__
    query = (
        select(
            ip.c.id,
            ip.c.allocation_type,
            ip.c.allocation_id,
            ip.c.network_interface_id,
            func.count(event.c.id),
            func.min(event.c.virtual_machine_id),
            func.max(event.c.virtual_machine_id),
        )
        .select_from(ip.outerjoin(event, event.c.ip_address_id == ip.c.id))
        .group_by(ip.c.id, ip.c.allocation_type, ip.c.allocation_id, ip.c.network_interface_id)
    )
    with engine.connect() as c:
        return {
            row[0]: IPState(row[1], row[2], row[3], row[4], (row[5], row[6]))
            for row in c.execute(query)
        }


def other_tables(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A World.snapshot() without the two tables an allocation writes."""
    return {k: v for k, v in snapshot.items() if k not in ("ip_addresses", "allocation_events")}


def allocate(client: httpx2.Client, vm: str, ip: str) -> httpx2.Response:
    return client.post(
        f"/core/v1/virtual_machines/{vm}/allocate_ip",
        json={"virtual_machine": {"id": vm}, "ip_address": {"id": ip}},
    )


@dataclass(frozen=True)
class Answer:
    ip: str
    vm: str
    status: int
    body: Any

    @property
    def error_code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            code: str | None = self.body["error"].get("code")
            return code
        return None


def answer(ip: str, vm: str, response: httpx2.Response) -> Answer:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return Answer(ip, vm, response.status_code, body)


def fire_together(
    client: httpx2.Client, requests: Sequence[tuple[str, str]], threads: int
) -> list[Answer]:
    """Send (ip, vm) allocations from ``threads`` threads released together.

    Thread t sends requests t, t + threads, t + 2 * threads, ...: requests next
    to each other in ``requests`` are in flight at the same moment.
    """
    barrier = threading.Barrier(threads)

    def lane(index: int) -> list[Answer]:
        barrier.wait(timeout=30)
        return [answer(ip, vm, allocate(client, vm, ip)) for ip, vm in requests[index::threads]]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        lanes = list(pool.map(lane, range(threads)))
    return [a for answers in lanes for a in answers]


def assert_clean_log(log: str) -> None:
    """Nothing logged at ERROR or above and no traceback, in JSON or plain lines."""
    bad = []
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if isinstance(entry, dict):
            level = str(entry.get("level", "")).lower()
            if level in ("error", "critical") or "exception" in entry:
                bad.append(line)
        elif "Traceback" in line or line.startswith(("ERROR", "CRITICAL")):
            bad.append(line)
    assert not bad, "the server logged errors:\n" + log


# -- raw HTTP on a socket ----------------------------------------------------------------


def exchange(
    server: RunningServer, raw: bytes, timeout: float = 10.0
) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read one response: (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"the connection closed without an answer: {data!r}"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return status, headers, body


def envelope(status: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    assert headers["content-type"] == "application/json", (status, body[:200])
    assert headers["x-api-schema"] == "json-error"
    parsed = json.loads(body)
    assert parsed["error"]["code"] == parsed["code"]
    return dict(parsed["error"])
