"""Benchmark: network counts: sealing a visit's network tally, and the network report's pass over the rows.

    .venv/bin/python bench/bench_network_counts.py                    # 100,000 rows, 10,000 of them tallies
    .venv/bin/python bench/bench_network_counts.py --rows 1000000     # a million rows, 100,000 tallies

On an encrypted SQLite store (SQLCipher under a random key, as every site's): the time to seal one network
tally (added to each visit's write); the time of ``network_tallies.read`` over the whole store, the full
pass (a tag check per row, an HPKE open per tally); the first report through the fold (the same pass, then
the fold sealed and kept); then, after ``--new`` more tallies arrive, the next report through the fold
(only the new tallies opened) side by side with the full pass over the same rows.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric import x25519  # noqa: E402

from haven.core.aggregates import AggregateKey  # noqa: E402
from haven.core.records import SealedRecord  # noqa: E402
from haven.site.tallies import Counts  # noqa: E402
from haven.store.sqlite import SQLiteStore  # noqa: E402
from haven.sync import network_fold  # noqa: E402
from haven.sync.network_tallies import NetworkSealer, read  # noqa: E402

THIS_WEEK = 202650  # after VISIT's week: every tally is of an ended week, so each goes into the fold

T = TypeVar("T")
VISIT = [AggregateKey(202645, 1, 1, 1, 4), AggregateKey(202645, 2, 1, 2, 4)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--tallies", type=float, default=0.1, help="the share of rows that are network tallies")
    parser.add_argument("--new", type=int, default=1000, help="tallies that arrive between two reports")
    args = parser.parse_args()
    private = x25519.X25519PrivateKey.generate()
    seal = NetworkSealer(private.public_key().public_bytes_raw(), secrets.token_bytes)
    tallies = int(args.rows * args.tallies)
    started = time.perf_counter()
    rows = [seal(VISIT) for _ in range(tallies)]
    per_seal = (time.perf_counter() - started) / max(tallies, 1)
    rows += [
        SealedRecord(os.urandom(16), os.urandom(16), b"\x01" + os.urandom(12 + 256 + 16))
        for _ in range(args.rows - tallies)
    ]
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "site.db", key=os.urandom(32))
        store.merge(rows)
        full, took = _timed(lambda: read(store, private))
        assert full.totals == {key: tallies for key in VISIT} and full.unreadable == 0
        first, first_took = _timed(lambda: _folded_report(store, private))
        assert first == full
        store.merge([seal(VISIT) for _ in range(args.new)])
        again, again_took = _timed(lambda: _folded_report(store, private))
        full_again, full_again_took = _timed(lambda: read(store, private))
        assert again == full_again and full_again.totals == {key: tallies + args.new for key in VISIT}
        fold_bytes = len(store.get_setting(network_fold.FOLD) or b"")
        store.close()
    print(f"seal one network tally: {per_seal * 1e6:.0f} µs")
    print(f"network report's read: {args.rows:,} rows ({tallies:,} tallies) in {took:.2f} s (full pass)")
    print(f"first report through the fold (the same pass, the fold kept): {first_took:.2f} s")
    print(
        f"next report, {args.new:,} new tallies on {tallies:,}: {again_took:.2f} s through the fold, "
        f"{full_again_took:.2f} s full pass (fold: {fold_bytes:,} bytes)"
    )


def _timed(run: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = run()
    return result, time.perf_counter() - started


def _folded_report(store: SQLiteStore, private: x25519.X25519PrivateKey) -> Counts:
    """What ``haven report --network`` does before its tables: the fold opened, the rows read through it,
    the new fold sealed and kept."""
    fold = network_fold.open_fold(private, store.get_setting(network_fold.FOLD))
    counts, kept = network_fold.read(store, private, THIS_WEEK, fold)
    if kept is not None:
        with store.transaction():
            store.put_setting(network_fold.FOLD, network_fold.seal(private, kept, os.urandom(12)))
    return counts


if __name__ == "__main__":
    main()
