"""Sliding-window rate limits for card opens, PIN attempts and sign-ins.

>>> now = [0.0]
>>> limiter = RateLimiter(clock=lambda: now[0])
>>> for _ in range(3):
...     limiter.hit("card", "session-1", Limit(3, 60))
>>> try:
...     limiter.hit("card", "session-1", Limit(3, 60))
... except RateLimitError as exc:
...     exc.details["retry_after"]
60
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable

from haven.errors import RateLimitError
from haven.web.settings import Limit

_SWEEP_EVERY = 1024
_KEEP_S = 3600  # entries idle this long are dropped (longer than any window)


class RateLimiter:
    """Counts attempts per (bucket, key) in a sliding window, in memory."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()
        self._calls = 0

    def hit(self, bucket: str, key: str, limit: Limit, what: str = "attempts") -> None:
        """Count one attempt; :class:`RateLimitError` (nothing counted) if the limit is reached."""
        now = self.clock()
        with self._lock:
            self._count_call(now)
            hits = self._hits.setdefault((bucket, key), deque())
            while hits and now - hits[0] >= limit.window_s:
                hits.popleft()
            if len(hits) >= limit.count:
                retry = max(1, math.ceil(limit.window_s - (now - hits[0])))
                raise RateLimitError(retry, what)
            hits.append(now)

    def check(self, bucket: str, key: str, limit: Limit, what: str = "attempts") -> None:
        """Raise :class:`RateLimitError` if one more attempt would be refused; count nothing."""
        now = self.clock()
        with self._lock:
            hits = self._hits.get((bucket, key))
            if not hits:
                return
            while hits and now - hits[0] >= limit.window_s:
                hits.popleft()
            if len(hits) >= limit.count:
                raise RateLimitError(max(1, math.ceil(limit.window_s - (now - hits[0]))), what)

    def record(self, bucket: str, key: str) -> None:
        """Count one attempt, whatever the limit (one that was let through and has now failed)."""
        now = self.clock()
        with self._lock:
            self._count_call(now)
            self._hits.setdefault((bucket, key), deque()).append(now)

    def _count_call(self, now: float) -> None:
        self._calls += 1
        if self._calls % _SWEEP_EVERY == 0:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or now - hits[-1] >= _KEEP_S]:
            del self._hits[key]
