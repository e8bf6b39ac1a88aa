"""Benchmark: bulk import into a SQLite site, then history reads of a 20-visit holder.

    .venv/bin/python bench/bench_store.py                  # 1,000,000 visits (about 2-4 minutes)
    .venv/bin/python bench/bench_store.py --visits 100000  # a quicker look

Goals (issue 2): import >= 10,000 visits/s on a 2-core machine; history of a 20-visit holder in a
1,000,000-visit site p50 <= 2 ms, p99 <= 10 ms after key derivation (timed apart). Also bytes on
disk per visit and peak memory of both runs. Each phase runs in its own process so its peak memory
(ru_maxrss) is its own. The site database is encrypted (SQLCipher) under a random master key, as
every real site is; passphrase unlocking is measured apart in bench/site_unlock.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VISITS_PER_HOLDER = 20
DOCS = [
    [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01", "lot": "FJ8529"}],
    [{"type": "test", "test": "antigen", "result": "negative", "date": "2026-10-02"}],
    [
        {"type": "consultation", "date": "2026-10-03", "symptoms": ["fever", "cough"], "severity": "mild"},
        {"type": "test", "test": "pcr", "result": "positive", "date": "2026-10-03"},
    ],
    [{"type": "vaccination", "product": "td", "dose": 1, "date": "2026-10-04"}],
]


def card_code(n: int) -> str:
    from haven.core.card import Card

    return Card(random.Random(n).randbytes(16)).code


def write_jsonl(path: Path, visits: int, console: Console) -> int:
    holders = visits // VISITS_PER_HOLDER
    codes = [card_code(h) for h in range(holders)]
    with (
        path.open("w", encoding="utf-8") as out,
        Progress(TextColumn("writing import file"), BarColumn(), MofNCompleteColumn(), console=console) as bar,
    ):
        task = bar.add_task("w", total=visits)
        for v in range(VISITS_PER_HOLDER):
            lines = []
            for h in range(holders):
                doc = {"card": codes[h], "entries": DOCS[(h + v) % len(DOCS)]}
                if v == 0:
                    doc["holder"] = {"birth_year": 1950 + h % 60, "sex": "female" if h % 2 else "male"}
                lines.append(json.dumps(doc))
            out.write("\n".join(lines) + "\n")
            bar.update(task, advance=holders)
    return holders


def run_import(home: Path, source: Path, workers: int, key: bytes) -> dict[str, float]:
    """Child process: import the file through the same path as `haven visit import`."""
    import resource
    import secrets

    from cryptography.hazmat.primitives.asymmetric import x25519

    from haven.app.clinic import Clinic, iter_jsonl
    from haven.core.card import parse_card
    from haven.site.folder import SiteFolder
    from haven.site.tallies import TallySealer

    store = SiteFolder(home).create(key)  # encrypted at rest (SQLCipher), as every real site
    store.tune_for_bulk(int(os.environ.get("HAVEN_BENCH_CACHE_MIB", "256")))
    coordinators = x25519.X25519PrivateKey.generate().public_key().public_bytes_raw()
    clinic = Clinic(store, seal_counts=TallySealer(coordinators, secrets.token_bytes))  # counters sealed, as a site's

    def items():  # type: ignore[no-untyped-def]
        cards = {}  # as `haven visit import` does: each card parsed once
        with source.open(encoding="utf-8") as f:
            for _, doc in iter_jsonl(f):
                card = cards.get(doc["card"]) or cards.setdefault(doc["card"], parse_card(doc["card"]))
                yield card, {k: doc[k] for k in ("entries", "holder") if k in doc}, None

    console = Console(stderr=True)
    total = sum(1 for _ in source.open(encoding="utf-8"))
    start = time.perf_counter()
    with Progress(
        TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as bar:
        task = bar.add_task("i", total=total)
        done = clinic.import_visits(
            items(),
            batch=int(os.environ.get("HAVEN_BENCH_BATCH", "50000")),
            progress=lambda n: bar.update(task, completed=n),
            workers=workers,
        )
    elapsed = time.perf_counter() - start
    store.checkpoint()
    store.close()
    return {
        "visits": done,
        "seconds": elapsed,
        "rate": done / elapsed,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_history(home: Path, holders: int, samples: int, key: bytes) -> dict[str, float]:
    """Child process: open the site and read 20-visit histories of random holders."""
    import resource

    from haven.app.clinic import Clinic
    from haven.core.card import parse_card
    from haven.core.keys import HolderKeys
    from haven.site.folder import SiteFolder

    store = SiteFolder(home).open(key)
    clinic = Clinic(store)
    rng = random.Random(7)
    derive, read = [], []
    for i in range(samples + 50):
        card = parse_card(card_code(rng.randrange(holders)))
        t0 = time.perf_counter()
        keys = HolderKeys.derive(card)
        t1 = time.perf_counter()
        opened, _ = clinic._read(keys)
        from haven.core.history import build_history

        history = build_history(opened, clinic.today())
        t2 = time.perf_counter()
        assert len(history.visits) == VISITS_PER_HOLDER, len(history.visits)
        if i >= 50:  # warm-up excluded
            derive.append(t1 - t0)
            read.append(t2 - t1)
    pin_card = parse_card(card_code(0))
    t0 = time.perf_counter()
    HolderKeys.derive(pin_card, "4829")
    pin_derive = time.perf_counter() - t0
    store.close()
    read.sort()
    return {
        "samples": samples,
        "p50_ms": statistics.median(read) * 1e3,
        "p99_ms": read[int(len(read) * 0.99) - 1] * 1e3,
        "max_ms": read[-1] * 1e3,
        "derive_us": statistics.median(derive) * 1e6,
        "pin_derive_ms": pin_derive * 1e3,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def child(args: list[str]) -> dict[str, float]:
    proc = subprocess.run([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=max(0, (os.cpu_count() or 1) - 1))
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "import":
            print(json.dumps(run_import(Path(rest[0]), Path(rest[1]), int(rest[2]), bytes.fromhex(rest[3]))))
        else:
            print(json.dumps(run_history(Path(rest[0]), int(rest[1]), int(rest[2]), bytes.fromhex(rest[3]))))
        return

    console = Console(stderr=True)
    work = args.dir or Path(tempfile.mkdtemp(prefix="haven-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    source, home = work / "visits.jsonl", work / "site"
    holders = write_jsonl(source, args.visits, console)
    key = os.urandom(32).hex()  # the site master key; passphrase unlocking is benchmarked in bench/site_unlock.py
    imp = child(["--child", "import", str(home), str(source), str(args.workers), key])
    db_bytes = sum(p.stat().st_size for p in home.iterdir() if p.is_file())
    hist = child(["--child", "history", str(home), str(holders), str(args.samples), key])
    os.remove(source)

    table = Table(title=f"Haven store benchmark: {imp['visits']:,.0f} visits, {holders:,} holders")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("goal", justify="right")
    table.add_row("bulk import rate", f"{imp['rate']:,.0f} visits/s", ">= 10,000 visits/s")
    table.add_row("import time", f"{imp['seconds']:.1f} s ({args.workers} sealing workers)", "")
    table.add_row("import peak memory", f"{imp['peak_rss_mib']:.0f} MiB", "")
    table.add_row("bytes on disk per visit", f"{db_bytes / imp['visits']:.0f} B", "")
    table.add_row("history read p50 (20 visits)", f"{hist['p50_ms']:.2f} ms", "<= 2 ms")
    table.add_row("history read p99", f"{hist['p99_ms']:.2f} ms", "<= 10 ms")
    table.add_row("history read max", f"{hist['max_ms']:.2f} ms", "")
    table.add_row("key derivation, no PIN (median)", f"{hist['derive_us']:.0f} us", "")
    table.add_row("key derivation, with PIN (Argon2id)", f"{hist['pin_derive_ms']:.0f} ms", "")
    table.add_row("history peak memory", f"{hist['peak_rss_mib']:.0f} MiB", "")
    Console().print(table)
    print(json.dumps({"import": imp, "history": hist, "db_bytes": db_bytes}))


if __name__ == "__main__":
    main()
