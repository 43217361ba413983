"""Several worker processes share one rate limit through Redis."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest

from tests.integration.server import ServerFactory
from tests.support.api import PATH, bearer
from tests.support.world import ACME_TOKEN

pytestmark = pytest.mark.slow

PERMITTED = 40
# The servers' rate limit clock stands still 15 s before a minute turns: no burst
# straddles a window, and Retry-After is exact.
FROZEN = {"KATAPULT_IPAM_RATE_LIMIT_FROZEN_AT": "1800000045"}


def test_workers_together_never_exceed_the_limit(start_server: ServerFactory) -> None:
    server = start_server(
        workers=3,
        env={
            "KATAPULT_IPAM_REDIS_URL": "redis://127.0.0.1:6379/13",
            # A loaded CI machine must not push a worker onto its own counter.
            "KATAPULT_IPAM_REDIS_TIMEOUT": "5",
            "KATAPULT_IPAM_RATE_LIMIT_PER_MINUTE": str(PERMITTED),
            **FROZEN,
        },
    )
    body = {"virtual_machine": {"id": "vm_doesNotExist0000"}, "ip_address": {"id": "ip_x"}}

    def one(_: int) -> httpx2.Response:
        # A fresh connection each time, so the kernel spreads them over the workers.
        with httpx2.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=15) as client:
            return client.post(PATH, json=body, headers=bearer(ACME_TOKEN))

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(one, range(3 * PERMITTED)))

    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {404, 429}
    assert statuses.count(404) == PERMITTED
    assert statuses.count(429) == 2 * PERMITTED
    remaining = sorted(
        int(r.headers["x-ratelimit-remaining"]) for r in responses if r.status_code == 404
    )
    assert remaining == list(range(PERMITTED))  # each count handed out exactly once
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.json()["error"]["detail"] == {"total_permitted": PERMITTED}
    assert limited.headers["retry-after"] == "15"


def test_without_redis_each_worker_counts_alone(start_server: ServerFactory) -> None:
    """The control: the same burst over per-process counters lets more through,
    which shows the burst really reaches several workers."""
    server = start_server(
        workers=3, env={"KATAPULT_IPAM_RATE_LIMIT_PER_MINUTE": str(PERMITTED), **FROZEN}
    )
    body = {"virtual_machine": {"id": "vm_doesNotExist0000"}, "ip_address": {"id": "ip_x"}}

    def one(_: int) -> int:
        with httpx2.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=15) as client:
            response = client.post(PATH, json=body, headers=bearer(ACME_TOKEN))
            return response.status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(one, range(3 * PERMITTED)))
    assert statuses.count(404) > PERMITTED
