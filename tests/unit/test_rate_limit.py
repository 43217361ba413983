"""Fixed windows aligned to the minute, in the process and in Redis."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from katapult_ipam.auth.rate_limit import InProcessRateLimiter, RedisRateLimiter
from tests.support.clocks import FakeClock

REDIS_URL = "redis://127.0.0.1:6379/15"


def test_the_window_is_the_wall_clock_minute() -> None:
    clock = FakeClock(1_800_000_000.0)  # 1800000000 is 30000000 minutes exactly
    limiter = InProcessRateLimiter(3, clock)
    first = limiter.hit_now("a")
    assert (first.remaining, first.allowed) == (2, True)
    assert first.reset_at == 1_800_000_060
    clock.now += 59.9
    assert [limiter.hit_now("a").remaining for _ in range(3)] == [1, 0, 0]
    assert limiter.hit_now("b").remaining == 2
    clock.now += 0.2  # the next minute
    assert limiter.hit_now("a").remaining == 2


def test_over_the_limit_says_when_to_come_back() -> None:
    clock = FakeClock(1_800_000_050.0)
    limiter = InProcessRateLimiter(1, clock)
    limiter.hit_now("a")
    over = limiter.hit_now("a")
    assert not over.allowed
    assert over.retry_after() == 10


def _unique() -> str:
    return f"test-{uuid.uuid4()}"


def test_redis_counts_atomically_across_concurrent_hits() -> None:
    async def scenario() -> list[int]:
        limiter = RedisRateLimiter(REDIS_URL, 50, timeout=5.0)  # a busy CI must not fall back
        key = _unique()
        try:
            results = await asyncio.gather(*(limiter.hit(key) for _ in range(40)))
        finally:
            await limiter.close()
        return sorted(r.count for r in results)

    assert asyncio.run(scenario()) == list(range(1, 41))


def test_two_limiters_share_one_count_through_redis() -> None:
    async def scenario() -> tuple[int, int]:
        first = RedisRateLimiter(REDIS_URL, 5, timeout=5.0)
        second = RedisRateLimiter(REDIS_URL, 5, timeout=5.0)
        key = _unique()
        try:
            await first.hit(key)
            await second.hit(key)
            return (await first.hit(key)).remaining, (await second.hit(key)).remaining
        finally:
            await first.close()
            await second.close()

    assert asyncio.run(scenario()) == (2, 1)


def test_a_redis_outage_falls_back_to_the_process(caplog: Any) -> None:
    async def scenario() -> tuple[list[int], int]:
        limiter = RedisRateLimiter("redis://127.0.0.1:1/0", 3, timeout=0.1)
        try:
            results = [await limiter.hit("k") for _ in range(4)]
        finally:
            await limiter.close()
        return [r.remaining for r in results], limiter.failures

    with caplog.at_level(logging.WARNING, logger="katapult_ipam"):
        remaining, failures = asyncio.run(scenario())
    assert remaining == [2, 1, 0, 0]
    assert failures == 1  # then it waits before trying Redis again
    assert any("rate limit store unavailable" in r.getMessage() for r in caplog.records)
