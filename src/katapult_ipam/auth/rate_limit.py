"""Requests per minute, counted in fixed windows aligned to the wall-clock minute.

Two counters behind one interface: ``InProcessRateLimiter`` (one process) and
``RedisRateLimiter`` (every process and host sharing one Redis). When Redis
fails, the Redis limiter logs it, counts it and falls back to counting in the
process until Redis answers again: an outage of Redis never takes the API down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

WINDOW_SECONDS = 60

log = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True)
class RateLimitResult:
    permitted: int
    count: int
    reset_at: float  # when the window ends (unix seconds)
    counted_at: float  # when this request was counted, by the limiter's clock

    @property
    def allowed(self) -> bool:
        return self.count <= self.permitted

    @property
    def remaining(self) -> int:
        return max(0, self.permitted - self.count)

    def retry_after(self) -> int:
        """Whole seconds until the window ends, at least one."""
        return max(1, int(self.reset_at - self.counted_at + 0.999))

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-permitted": str(self.permitted),
            "x-ratelimit-remaining": str(self.remaining),
        }


class RateLimiter(Protocol):
    permitted: int

    async def hit(self, key: str) -> RateLimitResult:
        """Count one request for ``key`` in the current window."""
        ...

    async def close(self) -> None: ...


def _window(now: float) -> int:
    return int(now // WINDOW_SECONDS)


class InProcessRateLimiter:
    """Counts in this process only; right for a single worker."""

    def __init__(self, permitted: int, clock: Clock = time.time) -> None:
        self.permitted = permitted
        self._clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}

    async def hit(self, key: str) -> RateLimitResult:
        return self.hit_now(key)

    def hit_now(self, key: str) -> RateLimitResult:
        now = self._clock()
        window = _window(now)
        with self._lock:
            if window != self._window:
                # A new minute: every count starts again, and old keys go.
                self._window = window
                self._counts = {}
            count = self._counts.get(key, 0) + 1
            self._counts[key] = count
        return RateLimitResult(self.permitted, count, (window + 1) * WINDOW_SECONDS, now)

    async def close(self) -> None:
        return None


# INCR and EXPIRE in one atomic step: no count can be lost or left without expiry.
_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""


class RedisRateLimiter:
    """Counts in Redis, shared by every worker; falls back to the process on failure."""

    def __init__(
        self,
        url: str,
        permitted: int,
        clock: Clock = time.time,
        timeout: float = 0.25,
        retry_after_failure: float = 5.0,
    ) -> None:
        self.permitted = permitted
        self._clock = clock
        self._client = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._script = self._client.register_script(_HIT_SCRIPT)
        self._fallback = InProcessRateLimiter(permitted, clock)
        self._retry_after_failure = retry_after_failure
        self._down_until = 0.0
        self.failures = 0

    async def hit(self, key: str) -> RateLimitResult:
        now = self._clock()
        if now < self._down_until:
            return self._fallback.hit_now(key)
        window = _window(now)
        try:
            count = int(
                await self._script(
                    keys=[f"katapult-ipam:rate:{window}:{key}"], args=[WINDOW_SECONDS * 2]
                )
            )
        except (RedisError, OSError) as error:
            self.failures += 1
            self._down_until = now + self._retry_after_failure
            log.warning(
                "rate limit store unavailable, counting in this process",
                extra={"error": type(error).__name__, "failures": self.failures},
            )
            return self._fallback.hit_now(key)
        return RateLimitResult(self.permitted, count, (window + 1) * WINDOW_SECONDS, now)

    async def close(self) -> None:
        await self._client.aclose()


def create_rate_limiter(
    redis_url: str | None, permitted: int, redis_timeout: float = 0.5, clock: Clock = time.time
) -> RateLimiter:
    if redis_url:
        return RedisRateLimiter(redis_url, permitted, clock, timeout=redis_timeout)
    return InProcessRateLimiter(permitted, clock)
