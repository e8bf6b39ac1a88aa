"""Closing a store while other threads are in the middle of an operation on it.

A server closes its store when it locks, while requests may still be reading. Pulling a connection
from under a thread that is stepping a statement on it crashes (SQLite frees memory that thread is
using) or fails that request half way, so closing only marks the store closed: every operation
begun after it raises :class:`~haven.errors.StoreClosedError` (the site is locked), and the
connections are closed by whoever finishes the last operation in flight.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from haven.errors import StoreClosedError


class InFlight:
    """The operations in flight on one store, on every thread; ``close_all`` closes its connections."""

    def __init__(self, close_all: Callable[[], None]) -> None:
        self.lock = threading.Lock()  # guards the count and the closed flag (and what the store keeps with them)
        self._close_all = close_all
        self._local = threading.local()
        self._users = 0
        self._closed = False
        self._drained = threading.Condition(self.lock)

    @contextlib.contextmanager
    def using(self) -> Iterator[None]:
        """One operation: refused once the store is closed, unless this thread is already inside one (a
        transaction begun before the close finishes, commits or rolls back, as a whole)."""
        depth = getattr(self._local, "depth", 0)
        with self.lock:
            if self._closed and not depth:
                raise StoreClosedError()
            self._users += 1
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            with self.lock:
                self._users -= 1
                if self._closed and not self._users:
                    self._finish()

    def _finish(self) -> None:
        """(With ``lock`` held and no operation in flight: no thread is using any connection.)"""
        self._close_all()
        self._drained.notify_all()

    def close(self, forget: Callable[[], None] = lambda: None) -> None:
        """Refuse every operation from now on (``forget`` runs under the lock: drop keys there); the
        connections close now, or when the operations in flight on other threads end (never waits)."""
        with self.lock:
            self._closed = True
            forget()
            if not self._users:
                self._finish()

    def wait_closed(self, timeout_s: float) -> bool:
        """After :meth:`close`: wait until the operations in flight have ended and every connection is
        closed; False if some were still running after ``timeout_s``."""
        with self.lock:
            return self._drained.wait_for(lambda: self._closed and not self._users, timeout_s)

    @property
    def closed(self) -> bool:
        return self._closed


class ThreadConnections:
    """A store with one connection per thread, closed safely under operations in flight (above)."""

    def __init__(self) -> None:
        self._connections: list[Any] = []
        self._inflight = InFlight(self._close_connections)

    def _using(self) -> contextlib.AbstractContextManager[None]:
        return self._inflight.using()

    def _keep(self, conn: Any) -> None:
        with self._inflight.lock:
            self._connections.append(conn)

    def _drop(self, conn: Any) -> None:
        """Close one connection that no operation uses any more (the server dropped it)."""
        with self._inflight.lock, contextlib.suppress(ValueError):
            self._connections.remove(conn)
        with contextlib.suppress(Exception):
            conn.close()

    def _close_connections(self) -> None:
        """(Once no operation is in flight: no thread is using any of them.)"""
        for conn in self._connections:
            with contextlib.suppress(Exception):
                conn.close()
        self._connections.clear()

    def _forget_secrets(self) -> None:
        """Called under the lock as the store closes: drop what must not outlive it (a key)."""

    def close(self) -> None:
        """Refuse every operation from now on; the connections close now, or as soon as the operations in
        flight on other threads end (it never waits for them)."""
        self._inflight.close(self._forget_secrets)

    def wait_closed(self, timeout_s: float) -> bool:
        return self._inflight.wait_closed(timeout_s)

    @property
    def closed(self) -> bool:
        return self._inflight.closed
