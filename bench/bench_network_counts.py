"""Benchmark: network counts: sealing a visit's network tally, and the network report's one pass over the rows.

    .venv/bin/python bench/bench_network_counts.py                    # 100,000 rows, 10,000 of them tallies
    .venv/bin/python bench/bench_network_counts.py --rows 1000000     # a network of a million rows

On an encrypted SQLite store (SQLCipher under a random key, as every site's): the time to seal one network
tally (added to each visit's write), and the time of ``network_tallies.read`` over the whole store (what
``haven report --network`` adds before its tables): a tag check per row, an HPKE open per tally.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric import x25519  # noqa: E402

from haven.core.aggregates import AggregateKey  # noqa: E402
from haven.core.records import SealedRecord  # noqa: E402
from haven.store.sqlite import SQLiteStore  # noqa: E402
from haven.sync.network_tallies import NetworkSealer, read  # noqa: E402

VISIT = [AggregateKey(202645, 1, 1, 1, 4), AggregateKey(202645, 2, 1, 2, 4)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--tallies", type=float, default=0.1, help="the share of rows that are network tallies")
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
        started = time.perf_counter()
        counts = read(store, private)
        took = time.perf_counter() - started
        store.close()
    assert counts.totals == {key: tallies for key in VISIT} and counts.unreadable == 0
    print(f"seal one network tally: {per_seal * 1e6:.0f} µs")
    print(f"network report's read: {args.rows:,} rows ({tallies:,} tallies) in {took:.2f} s")


if __name__ == "__main__":
    main()
