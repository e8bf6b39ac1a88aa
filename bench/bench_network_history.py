"""Benchmark: history reads at a site synced from a 10-site network, against a local site of the same rows.

    .venv/bin/python bench/bench_network_history.py                     # 1,000,000 visits (long)
    .venv/bin/python bench/bench_network_history.py --visits 200000     # a quicker look

One run builds both, from the same visits (20 per holder, bench/bench_store.py's import path):
- the **local** site imports every visit itself (`haven visit import`'s path);
- a **network** of 10 sites, each holding a tenth of those rows (every row given to one site at random,
  so each holder's visits are spread over the sites, as when a holder moves between clinics); each site
  writes its bundle (bench/bench_sync.py's path: frames, signed), and a fresh **synced** site imports the
  10 bundles, one transaction each, as `haven sync import` does.
Then the same holders' histories (same sample, same order) are read at both sites, each in a process of
its own. Goal (issue 12): the synced site reads with the same p50 and p99 as the local one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_store  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import x25519  # noqa: E402
from rich.console import Console  # noqa: E402

from haven.certs.signing_keys import new_private_key, public_bytes  # noqa: E402
from haven.core.records import SealedRecord  # noqa: E402
from haven.site.folder import SiteFolder  # noqa: E402
from haven.store.sqlite import SQLiteStore  # noqa: E402
from haven.sync.bundle import read_bundle, write_bundle  # noqa: E402
from haven.sync.roster import SiteKeys, new_roster, parse_roster  # noqa: E402
from haven.sync.service import rows_in_buckets  # noqa: E402

SITES = 10


def load() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def build_network(local: SQLiteStore, work: Path, synced: SQLiteStore) -> tuple[int, float]:
    """Split the local site's rows over 10 sites, write each site's bundle, import all 10 into ``synced``.
    Returns (rows imported, seconds of the 10 imports)."""
    root = new_private_key(os.urandom)
    members = [SiteKeys.generate(os.urandom) for _ in range(SITES + 1)]
    signed = new_roster(
        None, public_bytes(root), [m.member for m in members], (), {1: x25519.X25519PrivateKey.generate()}
    ).sign(root)
    roster = parse_roster(signed, public_bytes(root))
    parts = [SQLiteStore(work / f"part-{n}.db", key=os.urandom(32)) for n in range(SITES)]
    pending: list[list[SealedRecord]] = [[] for _ in range(SITES)]
    for row in rows_in_buckets(local):
        part = row.id[0] % SITES  # record ids are random: a uniform split
        pending[part].append(row)
        if len(pending[part]) == 10_000:
            parts[part].merge(pending[part])
            pending[part] = []
    for part, rows in zip(parts, pending, strict=True):
        part.merge(rows)
    bundles = []
    for n, part in enumerate(parts):
        path = work / f"site-{n}.haven"
        with path.open("wb") as out:
            write_bundle(out, members[n], roster.network_key(), rows_in_buckets(part), signed)
        part.close()
        bundles.append(path)
    receiver = members[SITES]
    keys = [receiver.encryption, *roster.open_network_keys(receiver).values()]
    imported, began = 0, time.perf_counter()
    for path in bundles:
        with path.open("rb") as source:
            opened = read_bundle(source, keys)
            opened.check(roster, receiver.member)
            with synced.transaction():
                imported += sum(synced.merge(batch) for batch in opened.rows())
        path.unlink()
    return imported, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=max(0, (os.cpu_count() or 1) - 1))
    args = parser.parse_args()
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="haven-bench-network-") as tmp:
        work = Path(tmp)
        source, local_home, synced_home = work / "visits.jsonl", work / "local", work / "synced"
        holders = bench_store.write_jsonl(source, args.visits, console)
        key = os.urandom(32)
        print(f"importing {args.visits:,} visits into the local site ({load()})...", flush=True)
        bench_store.child(["--child", "import", str(local_home), str(source), str(args.workers), key.hex()])
        source.unlink()
        local = SiteFolder(local_home).open(key)
        synced = SiteFolder(synced_home).create(key)
        synced.tune_for_bulk()
        print(f"building the 10-site network and syncing a fresh site from it ({load()})...", flush=True)
        rows, import_s = build_network(local, work, synced)
        assert rows == local.count() == synced.count(), (rows, local.count(), synced.count())
        assert synced.sync_buckets() == local.sync_buckets()
        local.close()
        synced.close()
        print(f"  the synced site imported 10 bundles, {rows:,} rows, in {import_s:.1f} s")
        print(f"reading {args.samples:,} histories of 20 visits at each site ({load()}):")
        for round_ in (1, 2):  # alternated, twice: a shared machine's load drifts between runs
            for name, home in (("local", local_home), ("synced from 10 sites", synced_home)):
                f = bench_store.child(["--child", "history", str(home), str(holders), str(args.samples), key.hex()])
                print(
                    f"  round {round_}, {name}: p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms,"
                    f" max {f['max_ms']:.2f} ms, peak RSS {f['peak_rss_mib']:.0f} MiB"
                )
        print(f"  ({load()} after)")


if __name__ == "__main__":
    main()
