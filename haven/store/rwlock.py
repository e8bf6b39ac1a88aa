"""A readers-writer lock for one process's connections to one database.

With a rollback journal, a commit needs every reader out of the file, and SQLite's own answer to a
busy file is to sleep and retry (up to 100 ms a time), which turns contention between the threads
of one server into long waits. Threads of one process therefore queue here instead, and are woken
the moment the lock is free: any number of readers at once, or one committing writer. A waiting
writer goes first (readers' work is short). The writer's thread may read while it holds the lock.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class ReadWriteLock:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer: int | None = None  # the writing thread's ident
        self._writers_waiting = 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        me = threading.get_ident()
        if self._writer == me:  # reading inside this thread's own write
            yield
            return
        with self._cond:
            while self._writer is not None or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writer is not None or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer = threading.get_ident()
        try:
            yield
        finally:
            with self._cond:
                self._writer = None
                self._cond.notify_all()
