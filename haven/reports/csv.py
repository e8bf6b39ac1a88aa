"""A report as CSV: one line per shown or hidden entry, totals included (docs/reports.md#csv).

>>> import datetime as dt
>>> from haven.core.aggregates import AggregateKey
>>> from haven.reports.tables import build_report
>>> report = build_report({AggregateKey(202648, 2, 1, 2, 4): 7}, dt.date(2026, 11, 23), dt.date(2026, 11, 29))
>>> print(to_csv(report), end="")
period,start,end,section,item,detail,age_band,count,suppressed
2026-W48,2026-11-23,2026-11-29,tests,antigen,negative,18-29,7,false
2026-W48,2026-11-23,2026-11-29,tests,antigen,negative,total,7,false
2026-W48,2026-11-23,2026-11-29,tests,total,,18-29,7,false
2026-W48,2026-11-23,2026-11-29,tests,total,,total,7,false
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from haven.reports.tables import Report, Shown, Table

HEADER = ("period", "start", "end", "section", "item", "detail", "age_band", "count", "suppressed")
TOTAL = "total"


def to_csv(report: Report) -> str:
    """The report's entries, a hidden one with an empty count and ``suppressed`` true."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for table in report.tables:
        period = table.period
        head = (period.label, period.start.isoformat(), period.end.isoformat(), table.section)
        for item, detail, band, value in entries(table):
            shown = "" if value is None else str(value)
            writer.writerow((*head, item, detail, band, shown, "true" if value is None else "false"))
    return out.getvalue()


def entries(table: Table) -> Iterator[tuple[str, str, str, Shown]]:
    """``(item, detail, age band, value)`` for every cell, then the totals (``total`` in place of a name)."""
    for (item, detail), cells, row_total in zip(table.rows, table.cells, table.row_totals, strict=True):
        for band, value in zip(table.columns, cells, strict=True):
            yield item, detail, band, value
        yield item, detail, TOTAL, row_total
    for band, value in zip(table.columns, table.column_totals, strict=True):
        yield TOTAL, "", band, value
    yield TOTAL, "", TOTAL, table.total
