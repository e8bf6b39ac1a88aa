"""Benchmark: how long a report takes once the counters are read, for a busy site's year.

    .venv/bin/python bench/bench_reports.py                # 52 weeks, every product, dose, test and band
    .venv/bin/python bench/bench_reports.py --weeks 520 --by month

Synthetic counters (seeded): every week has every product with doses 1 to 3, every test and result,
and every care row, in every age band, each with a count from 0 to 40 (a quarter of them under 5, so
suppression has work to do). Times the tables with suppression, then CSV and DHIS2 output of them.
Reading the sealed tallies (:meth:`haven.site.site.UnlockedSite.counts`) is not included: it is
bench/bench_tallies.py's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time

from haven.core.aggregates import KIND_CONSULTATION, KIND_TEST, KIND_TREATMENT, KIND_VACCINATION, AggregateKey
from haven.core.catalogue import catalogue
from haven.core.entries import AGE_BANDS
from haven.reports.csv import to_csv
from haven.reports.dhis2 import Mapping, data_value_set
from haven.reports.tables import build_report

START = dt.date(2026, 1, 5)  # a Monday: week 2026-W02


def counters(weeks: int, seed: int = 1) -> dict[AggregateKey, int]:
    rng, cat = random.Random(seed), catalogue()
    rows = [(KIND_VACCINATION, p.id, dose) for p in cat.products.values() for dose in (1, 2, 3)]
    rows += [(KIND_TEST, t.id, r.id) for t in cat.tests.values() for r in cat.results.values()]
    rows += [(kind, severity, 0) for kind in (KIND_TREATMENT, KIND_CONSULTATION) for severity in range(5)]
    out = {}
    for n in range(weeks):
        year, week, _ = (START + dt.timedelta(weeks=n)).isocalendar()
        for kind, code, detail in rows:
            for band in range(len(AGE_BANDS) + 1):
                value = rng.choice((0, rng.randint(1, 4), rng.randint(5, 40), rng.randint(5, 40)))
                if value:
                    out[AggregateKey(year * 100 + week, kind, code, detail, band)] = value
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--by", choices=("week", "month"), default="week")
    args = parser.parse_args(argv)
    totals = counters(args.weeks)
    end = START + dt.timedelta(weeks=args.weeks) - dt.timedelta(days=1)
    began = time.perf_counter()
    report = build_report(totals, START, end, args.by)
    tables_s = time.perf_counter() - began
    began = time.perf_counter()
    to_csv(report)
    csv_s = time.perf_counter() - began
    mapping = Mapping.parse({"orgUnit": "DiszpKrYNg8"})
    began = time.perf_counter()
    data_value_set(report, mapping)
    dhis2_s = time.perf_counter() - began
    hidden = sum(t.suppressed for t in report.tables)
    print(
        json.dumps(
            {
                "weeks": args.weeks,
                "by": args.by,
                "counters": len(totals),
                "tables": len(report.tables),
                "hidden_entries": hidden,
                "tables_s": round(tables_s, 3),
                "csv_s": round(csv_s, 3),
                "dhis2_s": round(dhis2_s, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
