"""Time and randomness for tests, in one place: the fixed moment, clocks tests can move, seeded bytes."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

NOW = dt.datetime(2026, 11, 29, 14, 37, tzinfo=dt.UTC)  # a Sunday afternoon, UTC
TODAY = NOW.date()


def seeded(seed: int) -> Callable[[int], bytes]:
    """A deterministic stand-in for secrets.token_bytes (tests only)."""
    rng = random.Random(seed)
    return lambda n: rng.randbytes(n)


class Clock:
    """A wall clock tests can move (``clock.now += ...``)."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class MonotonicClock:
    """A monotonic clock (seconds) tests can move: timeouts, rate limits, auto-lock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
