"""The maintenance switch reads its flag once for everyone waiting, at most once a ttl."""

from __future__ import annotations

import asyncio
from typing import Any

from katapult_ipam.container import MaintenanceSwitch


class SlowReads:
    """A read runner whose reads take a while and are counted."""

    def __init__(self) -> None:
        self.runs = 0

    async def run(self, job: Any) -> bool:
        self.runs += 1
        await asyncio.sleep(0.05)
        return True


def test_requests_arriving_during_a_read_share_it() -> None:
    reads = SlowReads()
    switch = MaintenanceSwitch(False, reads, ttl=60)  # type: ignore[arg-type]

    async def scenario() -> list[bool]:
        return list(await asyncio.gather(*(switch.is_on() for _ in range(50))))

    assert asyncio.run(scenario()) == [True] * 50
    assert reads.runs == 1
    assert asyncio.run(switch.is_on()) is True
    assert reads.runs == 1  # within the ttl: no read at all
