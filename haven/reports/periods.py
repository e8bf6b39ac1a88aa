"""Report periods from the counters' ISO weeks (docs/reports.md#periods).

The counters know the ISO week of each entry, nothing finer. A week belongs to the range, and to
the month, that holds its Thursday: the rule ISO 8601 itself uses to give a week its year, so a
week straddling two months (or two years) is counted once, whole, in one of them. DHIS2's period
ids are ``yyyyWn`` for a week (``2026W5``, ``2026W48``) and ``yyyyMM`` for a month (``202611``).

>>> [(p.label, p.dhis2) for p in periods(dt.date(2026, 1, 26), dt.date(2026, 2, 8), "week")]
[('2026-W05', '2026W5'), ('2026-W06', '2026W6')]
>>> [(p.label, p.dhis2, len(p.weeks)) for p in periods(dt.date(2026, 10, 1), dt.date(2026, 11, 30), "month")]
[('2026-10', '202610', 5), ('2026-11', '202611', 4)]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from haven.core.aggregates import iso_week
from haven.errors import InputError

BY = ("week", "month")
MAX_WEEKS = 53 * 10  # a report spans ten years at most


@dataclass(frozen=True)
class Period:
    label: str  # 2026-W48, 2026-11
    dhis2: str  # DHIS2's period id: 2026W48, 202611
    start: dt.date  # the Monday of its first week
    end: dt.date  # the Sunday of its last week
    weeks: frozenset[int]  # ISO year * 100 + week, as the counters have them


def parse_date(text: str, field: str) -> dt.date:
    """A date as ``YYYY-MM-DD``."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"A date is written like 2026-11-30 (got {text!r}).", field=field) from None


def periods(start: dt.date, end: dt.date, by: str) -> list[Period]:
    """The weeks, or months, whose weeks' Thursdays fall from ``start`` to ``end`` (both included)."""
    if by not in BY:
        raise InputError(f"A report is by week or by month, not {by!r}.", field="by")
    if end < start:
        raise InputError("The report's end date is before its start date.", field="to")
    thursday = start + dt.timedelta(days=(3 - start.weekday()) % 7)
    thursdays = []
    while thursday <= end:
        thursdays.append(thursday)
        thursday += dt.timedelta(days=7)
        if len(thursdays) > MAX_WEEKS:
            raise InputError("A report spans ten years at most.", field="to")
    groups: dict[str, list[dt.date]] = {}
    for day in thursdays:
        groups.setdefault(_week_label(day) if by == "week" else f"{day.year}-{day.month:02d}", []).append(day)
    return [
        Period(
            label=label,
            dhis2=_dhis2_week(days[0]) if by == "week" else label.replace("-", ""),
            start=days[0] - dt.timedelta(days=3),
            end=days[-1] + dt.timedelta(days=3),
            weeks=frozenset(iso_week(day) for day in days),
        )
        for label, days in groups.items()
    ]


def _dhis2_week(day: dt.date) -> str:
    """DHIS2's weekly period id, ``yyyyWn``: the week number not padded (``2026W5``, ``2026W48``)."""
    year, week, _ = day.isocalendar()
    return f"{year}W{week}"


def _week_label(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
