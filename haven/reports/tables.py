"""Programme reports from the counters: one table per period and section, small cells suppressed.

Pure: counter totals in (:meth:`haven.site.site.UnlockedSite.counts`), a :class:`Report` out,
which holds only what may be shown: a hidden entry is ``None``, whatever it was. What the counters
record, and so what a report can hold, is in :mod:`haven.core.aggregates`: per ISO week, each
vaccination by product and dose, each test by test and result, each treatment or consultation by
severity, each adverse event following immunization by product and WHO category, all by age band.
They record no sex, place or clinic, so no report has them.

>>> import datetime as dt
>>> from haven.core.aggregates import AggregateKey
>>> counts = {AggregateKey(202648, 1, 1, 1, 4): 12, AggregateKey(202648, 1, 1, 2, 4): 3}
>>> table = build_report(counts, dt.date(2026, 11, 23), dt.date(2026, 11, 29)).tables[0]
>>> table.rows, table.columns, table.cells, table.row_totals, table.column_totals, table.total
((('comirnaty', '1'), ('comirnaty', '2')), ('18-29',), ((None,), (None,)), (None, None), (15,), 15)
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from haven.core.aggregates import (
    KIND_AEFI,
    KIND_CONSULTATION,
    KIND_TEST,
    KIND_TREATMENT,
    KIND_VACCINATION,
    KINDS,
    UNCLASSIFIED,
    AggregateKey,
    aefi_category,
)
from haven.core.catalogue import catalogue
from haven.core.entries import AEFI_CATEGORIES, AGE_BANDS, SEVERITIES
from haven.errors import InputError
from haven.reports.periods import Period, periods
from haven.reports.suppression import grid_of, suppress

DEFAULT_THRESHOLD = 5
MAX_THRESHOLD = 1000
UNKNOWN_BAND = "unknown"
BANDS = (*AGE_BANDS, UNKNOWN_BAND)  # a counter's age_band is 1 + index in AGE_BANDS, 0 unknown
# Section name, the names of its rows' two parts, and the counter kinds it holds.
SECTIONS = (
    ("vaccinations", ("product", "dose"), (KIND_VACCINATION,)),
    ("tests", ("test", "result"), (KIND_TEST,)),
    ("care", ("kind", "severity"), (KIND_TREATMENT, KIND_CONSULTATION)),
    ("aefi", ("product", "category"), (KIND_AEFI,)),
)

Shown = int | None  # None: suppressed


@dataclass(frozen=True)
class Table:
    """One section for one period: rows by age band, with their totals (entries never counted are 0)."""

    section: str
    period: Period
    row_names: tuple[str, str]  # ("product", "dose")...
    rows: tuple[tuple[str, str], ...]  # ("comirnaty", "1")...
    columns: tuple[str, ...]  # age bands with any count, in order; "unknown" last
    cells: tuple[tuple[Shown, ...], ...]
    row_totals: tuple[Shown, ...]
    column_totals: tuple[Shown, ...]
    total: Shown

    @property
    def suppressed(self) -> int:
        """How many entries (cells and totals) are hidden."""
        entries = [*(v for row in self.cells for v in row), *self.row_totals, *self.column_totals, self.total]
        return sum(v is None for v in entries)


@dataclass(frozen=True)
class Report:
    start: dt.date
    end: dt.date
    by: str
    threshold: int
    periods: tuple[Period, ...]
    tables: tuple[Table, ...]  # by period, then section; a section with no counts in a period has no table


def check_threshold(threshold: int) -> int:
    if not 1 <= threshold <= MAX_THRESHOLD:
        raise InputError(
            f"The suppression threshold is a whole number from 1 (suppress nothing) to {MAX_THRESHOLD}.",
            field="suppress_below",
        )
    return threshold


def row_of(key: AggregateKey) -> tuple[str, str]:
    """A counter's row in its section, in catalogue words: ``("comirnaty", "2")``, ``("pcr", "negative")``."""
    cat = catalogue()
    if key.kind == KIND_VACCINATION:
        return cat.product_by_id(key.code).key, str(key.detail)
    if key.kind == KIND_TEST:
        test = next(t.key for t in cat.tests.values() if t.id == key.code)
        return test, next(r.key for r in cat.results.values() if r.id == key.detail)
    if key.kind == KIND_AEFI:
        return cat.product_by_id(key.code).key, aefi_category(key.detail)
    return KINDS[key.kind], SEVERITIES[key.code - 1] if key.code else UNKNOWN_BAND


def band_of(key: AggregateKey) -> str:
    return BANDS[key.age_band - 1] if key.age_band else UNKNOWN_BAND


def _table(
    section: str,
    period: Period,
    names: tuple[str, str],
    counts: Mapping[tuple[tuple[str, str], str], int],
    threshold: int,
) -> Table:
    """The table of ``counts`` (``{(row, band): n}``) with its suppressed entries hidden."""
    rows = sorted({row for row, _ in counts}, key=_row_order(section))
    columns = [band for band in BANDS if any(b == band for _, b in counts)]
    cells = [[counts.get((row, band), 0) for band in columns] for row in rows]
    grid = grid_of(cells)
    hidden = suppress(cells, threshold)
    shown = [[None if (i, j) in hidden else v for j, v in enumerate(row)] for i, row in enumerate(grid)]
    return Table(
        section=section,
        period=period,
        row_names=names,
        rows=tuple(rows),
        columns=tuple(columns),
        cells=tuple(tuple(row[:-1]) for row in shown[:-1]),
        row_totals=tuple(row[-1] for row in shown[:-1]),
        column_totals=tuple(shown[-1][:-1]),
        total=shown[-1][-1],
    )


def _row_order(section: str) -> Callable[[tuple[str, str]], tuple[int, int]]:
    cat = catalogue()
    if section == "vaccinations":
        return lambda row: (cat.product(row[0]).id, int(row[1]))
    if section == "tests":
        return lambda row: (cat.tests[row[0]].id, cat.results[row[1]].id)
    if section == "aefi":
        categories = (UNCLASSIFIED, *AEFI_CATEGORIES)
        return lambda row: (cat.product(row[0]).id, categories.index(row[1]))
    order = {name: i for i, name in enumerate((*SEVERITIES, UNKNOWN_BAND))}
    return lambda row: (list(KINDS.values()).index(row[0]), order[row[1]])


def build_report(
    totals: Mapping[AggregateKey, int],
    start: dt.date,
    end: dt.date,
    by: str = "week",
    threshold: int = DEFAULT_THRESHOLD,
    on_period: Callable[[int, int], None] | None = None,
) -> Report:
    """The tables of every period from ``start`` to ``end``; ``on_period(done, of)`` after each period.

    Periods are not summed across: a total over the whole range beside them would undo the
    suppression in each (make a report by month, or one for the whole range, instead).
    """
    check_threshold(threshold)
    report_periods = periods(start, end, by)
    by_week: dict[int, list[tuple[AggregateKey, int]]] = defaultdict(list)
    for key, n in totals.items():
        if n > 0:
            by_week[key.week].append((key, n))
    tables = []
    for done, period in enumerate(report_periods, 1):
        for section, names, kinds in SECTIONS:
            counts: dict[tuple[tuple[str, str], str], int] = defaultdict(int)
            for week in period.weeks:
                for key, n in by_week.get(week, ()):
                    if key.kind in kinds:
                        counts[(row_of(key), band_of(key))] += n
            if counts:
                tables.append(_table(section, period, names, counts, threshold))
        if on_period is not None:
            on_period(done, len(report_periods))
    return Report(start, end, by, threshold, tuple(report_periods), tuple(tables))
