"""Benchmark: sync through the hub (a real ``haven hub serve`` process on a real PostgreSQL).

    .venv/bin/python bench/bench_hub.py                                # N = 20,000; 20 sites x 200 rows
    .venv/bin/python bench/bench_hub.py --rows 1000000 --site-rows 1000  # the issue's sizes (long)

Measures:
- first sync: a site holding N rows pushes them to an empty hub, then an empty site pulls them
  (rows/s each way, bytes on the wire per row against the rows' own bytes), and the hub's rewrite of
  N rows in locator order;
- incremental: 1,000 new rows at the first site, pushed, then pulled by the second: bytes each way
  and time of each sync;
- load: ``--sites`` sites (threads in this process, each with its own store) each add ``--site-rows``
  rows and sync at once, twice; total time, errors, and the hub process's peak RSS.
Sites are encrypted SQLite stores for the first two parts (as every site's), memory stores under load.
PostgreSQL runs on a throwaway data directory (tests/pg.py) with fsync and synchronous commits turned
back on, as a real hub's. Goals (issue 12): >= 50,000 rows/s merged; incremental <= 3 x the new rows'
bytes + 200 KB, under 2 s; 20 sites at once: 0 errors.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from haven.core.records import SealedRecord  # noqa: E402
from haven.hub.client import HubConnection, HubSync, sync_with_hub  # noqa: E402
from haven.hub.wire import Signer  # noqa: E402
from haven.store.base import Store  # noqa: E402
from haven.store.hub import HubStore  # noqa: E402
from haven.store.memory import MemoryStore  # noqa: E402
from haven.store.sqlite import SQLiteStore  # noqa: E402
from haven.sync.roster import SiteKeys  # noqa: E402
from tests.hub.network import HubProcess, Network, init_hub  # noqa: E402
from tests.pg import running_server  # noqa: E402

SEALED_BYTES = 1 + 12 + 256 + 16  # a one-block visit record (haven/core/records.py)


def fake_rows(n: int) -> list[SealedRecord]:
    return [SealedRecord(os.urandom(16), os.urandom(16), b"\x01" + os.urandom(SEALED_BYTES - 1)) for _ in range(n)]


def own_bytes(n: int) -> int:
    return n * (16 + 16 + SEALED_BYTES)


def sync(store: Store, keys: SiteKeys, url: str) -> tuple[HubSync, float]:
    conn = HubConnection(url, Signer(keys.signing))
    began = time.perf_counter()
    try:
        return sync_with_hub(store, conn), time.perf_counter() - began
    finally:
        conn.close()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu(data: Path) -> float:
    """CPU seconds of the PostgreSQL server's processes (the postmaster's children, backends included)."""
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) == postmaster or int(entry.name) == postmaster:
                    total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                continue  # a process that ended meanwhile
    return total


@dataclass
class Cpu:
    """CPU seconds of the site (this process), the hub process and PostgreSQL over one step."""

    hub_pid: int
    data: Path
    _start: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def now(self) -> tuple[float, float, float]:
        return time.process_time(), process_cpu(self.hub_pid), postgres_cpu(self.data)

    def begin(self) -> None:
        self._start = self.now()

    def spent(self) -> tuple[float, float, float]:
        return tuple(b - a for a, b in zip(self._start, self.now(), strict=True))  # type: ignore[return-value]


def load() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def wire_bytes(done: HubSync) -> int:
    return done.bytes_sent + done.bytes_received


def durable(url: str) -> None:
    """Turn the throwaway server's shortcuts off: every commit synced, as on a real hub."""
    with psycopg.connect(url, autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(f"ALTER SYSTEM SET {setting} = on")
        conn.execute("SELECT pg_reload_conf()")


def reshuffle_time(database: str) -> float:
    db = HubStore(database)
    try:
        began = time.perf_counter()
        db.reshuffle()
        return time.perf_counter() - began
    finally:
        db.close()


def first_and_incremental(database: str, tmp: Path, rows: int, new: int, data: Path) -> None:
    network = Network.of(2)
    init_hub(database, network.roster(), tmp)
    hub = HubProcess(database, args=("--reshuffle-after", "3600")).start()  # the rewrite is timed on its own
    assert hub.process is not None
    cpu = Cpu(hub.process.pid, data)
    source = SQLiteStore(tmp / "source.db", key=os.urandom(32))
    target = SQLiteStore(tmp / "target.db", key=os.urandom(32))
    try:
        source.tune_for_bulk()
        print(f"filling the first site with {rows:,} rows...", flush=True)
        for start in range(0, rows, 50_000):
            source.add(fake_rows(min(50_000, rows - start)), [])
        print(f"first sync of {rows:,} rows through the hub ({load()}):")
        cpu.begin()
        pushed, push_s = sync(source, network.sites[0], hub.url)
        push_cpu = cpu.spent()
        assert pushed.pushed == rows
        cpu.begin()
        pulled, pull_s = sync(target, network.sites[1], hub.url)
        pull_cpu = cpu.spent()
        assert pulled.pulled == rows
        print(
            f"  push: {push_s:.2f} s ({rows / push_s:,.0f} rows/s), "
            f"{wire_bytes(pushed) / rows:.1f} bytes/row on the wire; {cpu_line(push_cpu, rows)}"
        )
        print(
            f"  pull into an empty site: {pull_s:.2f} s ({rows / pull_s:,.0f} rows/s merged), "
            f"{wire_bytes(pulled) / rows:.1f} bytes/row on the wire, "
            f"{wire_bytes(pulled) / own_bytes(rows):.3f} x the rows' own bytes; {cpu_line(pull_cpu, rows)}"
        )
        print(f"  ({load()} after)")
        print(f"  the hub's rewrite of {rows:,} rows in locator order: {reshuffle_time(database):.2f} s")

        source.add(fake_rows(new), [])
        up, up_s = sync(source, network.sites[0], hub.url)
        down, down_s = sync(target, network.sites[1], hub.url)
        assert up.pushed == new and down.pulled == new
        print(f"incremental: {new:,} new rows ({own_bytes(new):,} bytes) into {rows:,}:")
        for name, done, seconds in (("push", up, up_s), ("pull", down, down_s)):
            goal = 3 * own_bytes(new) + 200_000
            print(
                f"  {name}: {seconds:.2f} s, {done.requests} requests, {done.bytes_sent:,} bytes sent + "
                f"{done.bytes_received:,} received = {wire_bytes(done) / own_bytes(new):.2f} x the new rows' bytes "
                f"(goal: at most {goal:,} bytes: {'met' if wire_bytes(done) <= goal else 'missed'})"
            )
    finally:
        source.close()
        target.close()
        hub.stop()


def cpu_line(spent: tuple[float, float, float], rows: int) -> str:
    site, hub, pg = spent
    floor = max(max(spent), sum(spent) / 2)  # on two idle cores, the wall time is at least this
    return (
        f"CPU: site {site:.2f} s, hub {hub:.2f} s, PostgreSQL {pg:.2f} s"
        f" ({rows / sum(spent):,.0f} rows per CPU second; on two idle cores at most {rows / floor:,.0f} rows/s)"
    )


def under_load(database: str, tmp: Path, sites: int, site_rows: int) -> None:
    network = Network.of(sites)
    init_hub(database, network.roster(), tmp)
    hub = HubProcess(database).start()
    stores = [MemoryStore() for _ in range(sites)]
    for store in stores:
        store.merge(fake_rows(site_rows))
    errors: list[BaseException] = []
    peak = [0]
    done = threading.Event()
    start = threading.Barrier(sites + 1)

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], hub.rss_kib())
            time.sleep(0.05)

    def run(i: int) -> None:
        start.wait()
        try:
            for _ in range(2):
                sync(stores[i], network.sites[i], hub.url)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(sites)]
    watcher = threading.Thread(target=watch, daemon=True)
    try:
        for t in threads:
            t.start()
        watcher.start()
        start.wait()
        began = time.perf_counter()
        for t in threads:
            t.join()
        total_s = time.perf_counter() - began
        done.set()
        for store, keys in zip(stores, network.sites, strict=True):  # those done before others pushed
            sync(store, keys, hub.url)
        union = sites * site_rows
        converged = sum(1 for s in stores if len(list(s.records())) == union)
    finally:
        done.set()
        hub.stop()
    print(f"{sites} sites x {site_rows:,} rows syncing at once (two rounds each):")
    print(f"  {total_s:.2f} s in all, {len(errors)} errors, hub peak RSS {peak[0] / 1024:.0f} MiB")
    print(f"  {converged} of {sites} sites hold all {union:,} rows after one more pass")
    for exc in errors[:3]:
        print(f"  error: {exc!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--site-rows", type=int, default=200)
    parser.add_argument("--skip-first", action="store_true", help="Only the load part.")
    args = parser.parse_args()
    os.environ.setdefault("HAVEN_KDF_PROFILE", "test")
    with running_server() as server, tempfile.TemporaryDirectory(prefix="haven-bench-hub-") as tmp:
        durable(server.url())
        if not args.skip_first:
            first_and_incremental(server.new_database(), Path(tmp), args.rows, args.new, server.data)
        under_load(server.new_database(), Path(tmp), args.sites, args.site_rows)


if __name__ == "__main__":
    main()
