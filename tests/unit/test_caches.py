"""The short-lived caches of the authenticator."""

from __future__ import annotations

from katapult_ipam.auth.authenticator import TimedCache
from tests.support.clocks import FakeClock


def test_a_value_is_believed_for_its_seconds_only() -> None:
    clock = FakeClock(100.0)
    cache: TimedCache[str, int] = TimedCache(5, clock)
    cache.put("a", 1)
    clock.now += 4.9
    assert cache.get("a") == 1
    clock.now += 0.1
    assert cache.get("a") is None
    assert cache.get("b") is None


def test_zero_seconds_means_no_cache() -> None:
    cache: TimedCache[str, int] = TimedCache(0)
    cache.put("a", 1)
    assert cache.get("a") is None


def test_the_cache_stays_bounded() -> None:
    cache: TimedCache[int, int] = TimedCache(60)
    for n in range(TimedCache.MAX_ENTRIES + 10):
        cache.put(n, n)
    assert len(cache._entries) <= TimedCache.MAX_ENTRIES
