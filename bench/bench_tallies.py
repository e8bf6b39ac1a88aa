"""Benchmark: what sealing counters costs a visit, and what a coordinator's fold costs.

    .venv/bin/python bench/bench_tallies.py               # 10,000 tallies
    .venv/bin/python bench/bench_tallies.py --tallies 1000

Seals one visit's counter increments (HPKE to the coordinators' X25519 key) and opens it, median of
many; then folds ``--tallies`` visits' tallies in an in-memory store, as ``/counts`` does.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from cryptography.hazmat.primitives.asymmetric import x25519

    from haven.core.aggregates import AggregateKey
    from haven.site import tallies
    from haven.store.memory import MemoryStore

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tallies", type=int, default=10_000)
    args = parser.parse_args()
    private = x25519.X25519PrivateKey.generate()
    seal = tallies.TallySealer(private.public_key().public_bytes_raw(), secrets.token_bytes)
    visit = [AggregateKey(202648, 1, 3, 1, 4), AggregateKey(202648, 2, 1, 2, 4)]
    seals, opens = [], []
    for _ in range(2000):
        t0 = time.perf_counter()
        tally = seal(visit)
        t1 = time.perf_counter()
        tallies.open_tally(private, tally)
        opens.append(time.perf_counter() - t1)
        seals.append(t1 - t0)
    store = MemoryStore()
    store.add([], [seal(visit) for _ in range(args.tallies)])
    t0 = time.perf_counter()
    counts = tallies.read_and_fold(store, private, seal)
    fold = time.perf_counter() - t0
    assert sum(counts.totals.values()) == 2 * args.tallies and len(store.tallies()) == 1
    print(f"seal one visit's tally: {statistics.median(seals) * 1e6:.0f} us (median)")
    print(f"open one tally: {statistics.median(opens) * 1e6:.0f} us (median)")
    print(f"fold {args.tallies:,} tallies into one: {fold:.2f} s")
    print(f"tally size: {len(tally.sealed)} bytes sealed, {len(tally.id)}-byte id")


if __name__ == "__main__":
    main()
