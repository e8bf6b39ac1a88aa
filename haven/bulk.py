"""Bulk import: validating and sealing many visits, optionally on worker processes.

The importing process assigns each visit its index (that needs the store and
the order of the input) and writes batches in input order; validation and
sealing, the CPU-heavy part, can run on worker processes. Workers receive the
holder's derived keys (never re-derived), the index and the visit document, and
return sealed records and counter keys. Nothing a worker does touches storage.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from haven.core.aggregates import AggregateKey, aggregate_keys
from haven.core.entries import parse_visit
from haven.core.keys import HolderKeys
from haven.core.records import SealedRecord, seal_visit
from haven.errors import HavenError

Job = tuple[bytes, bytes, int, Any]  # locator key, record key, visit index, visit document


@dataclass
class SealedBatch:
    records: list[SealedRecord]
    counts: list[AggregateKey]
    error: HavenError | None = None
    error_at: int = 0  # position in the batch of the visit that failed


def seal_batch(
    jobs: Sequence[Job],
    today: dt.date,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> SealedBatch:
    """Validate and seal one batch; stop at the first bad visit and say where."""
    records: list[SealedRecord] = []
    counts: list[AggregateKey] = []
    for position, (locator_key, record_key, index, doc) in enumerate(jobs):
        try:
            visit = parse_visit(doc, today)
        except HavenError as exc:
            return SealedBatch([], [], exc, position)
        keys = HolderKeys(locator_key, record_key)
        records.append(seal_visit(keys, index, visit, today, random_bytes))
        counts.extend(aggregate_keys(visit))
    return SealedBatch(records, counts)


def seal_batch_in_worker(jobs: Sequence[Job], today: dt.date) -> SealedBatch:
    """Entry point for a worker process (module-level so it can be pickled)."""
    return seal_batch(jobs, today)


PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCH_SECONDS = 0.5


def worker_init(parent: int) -> None:
    """Run first in every worker: die with the importing process, which may be killed (even by SIGKILL).

    A worker holds holders' derived keys; it must not outlive the import. Linux delivers SIGKILL
    when the parent exits (PR_SET_PDEATHSIG); elsewhere, and should the parent already be gone,
    a watchdog thread notices the parent changed and exits.
    """
    import ctypes
    import os
    import signal
    import sys
    import threading
    import time

    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="haven-parent-watch", daemon=True).start()
