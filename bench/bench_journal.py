"""Benchmark: what the rollback journal costs a visit, against WAL, side by side in one run.

    .venv/bin/python bench/bench_journal.py                  # 3 rounds of 200 visits per journal mode
    .venv/bin/python bench/bench_journal.py --rounds 5 --visits 100

A real encrypted site (key slots, SQLCipher) per journal mode, in one folder on the same disk:
Haven's TRUNCATE with `synchronous=FULL`, WAL with FULL as Haven used before, and DELETE with the EXTRA
sync it would need. Each visit is what `haven visit add` does once the site is unlocked: validate,
seal, store the record and its counters (one commit), then write the audit entry (a second commit).
The modes take turns, round by round, so that load from other work falls on all alike. The other
modes are set here only, through the store's module settings; Haven itself always uses TRUNCATE.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

from haven.app.clinic import Clinic
from haven.core.card import Card
from haven.site.config import SecuritySettings
from haven.site.folder import SiteFolder
from haven.site.kdf import TEST_PARAMS, Calibration
from haven.site.site import Site
from haven.store import sqlite

PASSPHRASE = "grain twenty head airport swarm"
VISIT = {"entries": [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]}
# (journal mode, sync level): Haven's, then WAL as before, then DELETE with the EXTRA sync it would need.
MODES = (("truncate", "FULL"), ("wal", "FULL"), ("delete", "EXTRA"))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def one_round(home: Path, mode: str, sync: str, visits: int) -> list[float]:
    sqlite.JOURNAL_MODE, sqlite.SYNCHRONOUS = mode, sync
    site = Site(SiteFolder(home), SecuritySettings(kdf_profile="test"))
    if not site.folder.exists():
        site.create("Ana", PASSPHRASE, calibration=Calibration(TEST_PARAMS, 0.0)).close()
    out = []
    with site.unlock(PASSPHRASE) as session:
        clinic = Clinic(session.store)
        for _ in range(visits):
            card = Card(secrets.token_bytes(16))
            started = time.perf_counter()
            clinic.add_visit(card, VISIT, first_visit=True)
            session.record("visit.add")
            out.append(time.perf_counter() - started)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--visits", type=int, default=200, help="visits per mode and round")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    times: dict[str, list[float]] = {f"{mode}/{sync}": [] for mode, sync in MODES}
    with tempfile.TemporaryDirectory(dir=args.dir) as work:
        for _ in range(args.rounds):
            for mode, sync in MODES:
                times[f"{mode}/{sync}"] += one_round(Path(work) / mode, mode, sync, args.visits)
    report: dict[str, object] = {
        mode: {"visits": len(v), "p50_ms": round(pct(v, 0.5), 2), "p99_ms": round(pct(v, 0.99), 2)}
        for mode, v in times.items()
    }
    for q in (0.5, 0.99):
        report[f"p{round(q * 100)}_ratio_truncate_to_wal"] = round(
            pct(times["truncate/FULL"], q) / pct(times["wal/FULL"], q), 2
        )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
