"""A clock a test sets and moves by hand, for code that takes a ``clock`` callable."""

from __future__ import annotations


class FakeClock:
    """``clock()`` is ``clock.now``, in seconds; move it with ``clock.now += ...``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
