"""Reports: the coordinator's anonymous counts for one week, with small cells suppressed.

Counts come from the anonymous counters taken at write time, sealed to the coordinators and summed
when one reads them (:meth:`haven.site.site.UnlockedSite.counts`, which folds the tallies into one
with a ``counts.fold`` entry). Any count from 1 to 4 is shown as ``"<5"``: a small count in a small
place can point at a person.

>>> from haven.core.aggregates import AggregateKey
>>> rows = week_rows({AggregateKey(202648, 2, 1, 2, 0): 7, AggregateKey(202648, 2, 1, 1, 0): 2}, 202648)
>>> [(r.label, r.shown) for r in rows]
[('antigen negative', '7'), ('antigen positive', '<5')]
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from haven.app.actions import Action
from haven.app.usecase import Area, use_case
from haven.core.aggregates import KINDS, AggregateKey, describe, iso_week
from haven.errors import InputError, RosterError
from haven.reports.tables import Report, build_report
from haven.site.roles import Permission
from haven.sync.network_fold import FOLD

SUPPRESS_BELOW = 5
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Row:
    kind: str
    key: str  # product key, "test result", or severity
    label: str
    count: int

    @property
    def suppressed(self) -> bool:
        return 0 < self.count < SUPPRESS_BELOW

    @property
    def shown(self) -> str:
        return f"<{SUPPRESS_BELOW}" if self.suppressed else str(self.count)

    def to_doc(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "count": None if self.suppressed else self.count,
            "shown": self.shown,
        }


@dataclass(frozen=True)
class WeekCounts:
    """One week's rows, the weeks that have counts (newest first), and tallies that did not open."""

    week: int
    weeks: list[int]
    rows: list[Row]
    unreadable: int


def parse_week(text: str | None, today: dt.date) -> int:
    """``2026-W48`` to 202648; None means this week."""
    if not text:
        return iso_week(today)
    match = _WEEK.match(text.strip())
    if not match:
        raise InputError("A week is written like 2026-W48.", field="week")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise InputError("There is no such week.", field="week") from None
    return year * 100 + week


def week_label(week: int) -> str:
    return f"{week // 100}-W{week % 100:02d}"


def weeks(aggregates: dict[AggregateKey, int], today: dt.date) -> list[int]:
    """Weeks with counts, and this week, newest first."""
    return sorted({k.week for k in aggregates} | {iso_week(today)}, reverse=True)


def week_rows(aggregates: dict[AggregateKey, int], week: int) -> list[Row]:
    """One row per kind and product / test result / severity (doses and age bands summed)."""
    totals: Counter[tuple[str, str]] = Counter()
    for key, n in aggregates.items():
        if key.week != week or key.kind not in KINDS:  # doses per lot are inventory, not care
            continue
        words = describe(key)
        kind = KINDS.get(key.kind, "unknown")
        if kind == "vaccination":
            label = words["product"]
        elif kind == "test":
            label = f"{words['test']} {words['result']}"
        elif kind == "aefi":
            label = f"{words['product']} {words['category']}"
        else:
            label = words.get("severity", "unknown")
        totals[(kind, label)] += n
    order = {name: i for i, name in enumerate(KINDS.values())}
    return [
        Row(kind, label, label, n)
        for (kind, label), n in sorted(totals.items(), key=lambda t: (order.get(t[0][0], 9), t[0][1]))
    ]


class Reports(Area):
    @use_case(Permission.REPORT_VIEW, Action.REPORT_VIEW)
    def report(
        self,
        first: dt.date,
        last: dt.date,
        by: str,
        suppress_below: int,
        on_period: Callable[[int, int], None] | None = None,
        keep: Callable[[Report], None] | None = None,
        network: bool = False,
    ) -> Report:
        """Report tables over the counters (small cells hidden: haven/reports/tables.py). ``keep`` gets
        the report before its audit entry commits (to write its file aside). ``network``: over every
        site's network tallies this site holds (haven/sync/network_tallies.py), at the root's site."""
        fold: bytes | None = None
        if network:
            totals, fold = self._network_totals()
        else:
            totals = self.site.counts().totals
        with self.change(Action.REPORT_VIEW):
            if fold is not None:  # what the next network report need not open again
                self.site.store.put_setting(FOLD, fold)
            result = build_report(totals, first, last, by, suppress_below, on_period=on_period)
            if keep is not None:
                keep(result)
        return result

    def _network_totals(self) -> tuple[dict[AggregateKey, int], bytes | None]:
        """The network totals, through the fold of the last network report (haven/sync/network_fold.py),
        and the new fold, sealed (None: unchanged)."""
        from haven.sync import network_fold
        from haven.sync.service import Sync

        private = Sync(self.site).counts_private()
        if private is None:
            raise RosterError(
                "This site does not hold the network counts key: network totals are read at the root's site, "
                "after 'haven network counts-key' (docs/sync.md).",
                problem="no-counts-key",
            )
        store = self.site.store
        fold = network_fold.open_fold(private, store.get_setting(FOLD))
        counts, kept = network_fold.read(store, private, iso_week(self.app.today()), fold)
        return counts.totals, None if kept is None else network_fold.seal(private, kept, self.app.random_bytes(12))

    @use_case(Permission.REPORT_VIEW, None)
    def network_readable(self) -> bool:
        """Whether this site holds the network counts key (the root's site, after ``haven network
        counts-key``): the report page offers network totals only then. Reads no count: nothing to audit."""
        from haven.sync.network_tallies import COUNTS_KEY

        return self.site.store.get_setting(COUNTS_KEY) is not None

    @use_case(Permission.REPORT_VIEW, Action.COUNTS_FOLD)
    def week(self, week: int | str | None = None) -> WeekCounts:
        """The counts of one ISO week (``2026-W48``, or 202648; this week by default).

        Reading counts is not audited (they are anonymous); folding the tallies read into one
        writes a ``counts.fold`` entry with the fold, and only then.
        """
        today = self.app.today()
        chosen = week if isinstance(week, int) else parse_week(week, today)
        read = self.site.counts()
        return WeekCounts(chosen, weeks(read.totals, today), week_rows(read.totals, chosen), read.unreadable)
