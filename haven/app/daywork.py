"""The day's work: what this site, and the member signed in, recorded today, without any list of people.

Two sources, both already kept and both sealed to the coordinators (so this is theirs to read):

* the audit log says, per entry, who did what in which UTC hour, with a count: today's visits recorded and
  certificates issued, for the site and for the member reading, come from today's entries;
* the anonymous counters say what was recorded (kind, product and dose, test and result, care) per ISO
  week of the entry's date, and nothing finer: the breakdown is this week's so far, said as such.

Nothing here names a holder or links two entries: neither source holds either.

Every other member reads their own day only (:meth:`DayWorkUseCases.mine`), from the one row of counts that
their own passphrase opens (:mod:`haven.site.daycount`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from haven.app.actions import Action
from haven.app.usecase import Area, use_case
from haven.core.aggregates import KINDS, AggregateKey, describe, iso_week
from haven.site.roles import Permission

# The audit actions a day's work counts (each entry's count: visits, certificates).
COUNTED = (Action.VISIT_ADD, Action.VISIT_IMPORT, Action.CERTIFICATE_ISSUE, Action.CERTIFICATE_IMPORT)


@dataclass(frozen=True)
class WorkRow:
    """One line of the week's breakdown: a kind and what (product and dose, test and result, severity)."""

    kind: str
    what: str
    detail: str  # the dose number, the result, or "" (care: severity only)
    count: int


@dataclass(frozen=True)
class DayWork:
    day: dt.date  # the UTC day (the audit's hours are UTC)
    site: dict[str, int]  # action -> total of today's counts at this site
    own: dict[str, int]  # the same, for the member reading
    week: int  # the ISO week of the breakdown (year * 100 + week)
    rows: list[WorkRow]
    unreadable: int  # tallies that did not open


def breakdown(totals: dict[AggregateKey, int], week: int) -> list[WorkRow]:
    """The week's counters by kind, what and dose or result (age bands summed)."""
    summed: Counter[tuple[int, str, str]] = Counter()
    for key, n in totals.items():
        if key.week != week or n <= 0 or key.kind not in KINDS:  # doses per lot are inventory, not work
            continue
        words = describe(key)
        if "category" in words:  # an adverse event: the vaccine it followed and its WHO cause category
            what, detail = words["product"], words["category"]
        elif "product" in words:
            what, detail = words["product"], str(words["dose"])
        elif "test" in words:
            what, detail = words["test"], words["result"]
        else:
            what, detail = words.get("severity", "unknown"), ""
        summed[(key.kind, what, detail)] += n
    return [WorkRow(KINDS.get(kind, "unknown"), what, detail, n) for (kind, what, detail), n in sorted(summed.items())]


@dataclass(frozen=True)
class OwnDay:
    day: dt.date  # the UTC day
    own: dict[str, int]  # action -> this member's count today (haven.site.daycount.COUNTED)


class DayWorkUseCases(Area):
    @use_case(None, None)
    def mine(self) -> OwnDay:
        """Today's counts of the member reading, whatever their roles, from their own sealed row.

        Any member may: the row opens only with their own passphrase and holds their own counts, which are
        in the audit log already; reading it is not audited (it would add to the log for a look at a number)."""
        now = self.app.now()
        return OwnDay(now.astimezone(dt.UTC).date(), self.site.own_day(now))

    @use_case(Permission.REPORT_VIEW, Action.COUNTS_FOLD)
    def today(self) -> DayWork:
        """Today's counts for the site and for this member (from the audit), and this week's breakdown.

        As :meth:`haven.app.reports.Reports.week`: reading is not audited (what it shows is anonymous, and the
        coordinator reading it may read the whole log); folding the tallies read writes the ``counts.fold`` entry."""
        day = self.app.now().astimezone(dt.UTC).date()
        prefix = day.isoformat() + "T"
        me = self.site.staff.id
        site: Counter[str] = Counter()
        own: Counter[str] = Counter()
        for entry, _ in self.site.audit.rows():
            if entry.at.startswith(prefix) and entry.action in COUNTED:
                site[entry.action] += entry.count
                if entry.staff == me:
                    own[entry.action] += entry.count
        read = self.site.counts()
        week = iso_week(day)
        return DayWork(day, dict(site), dict(own), week, breakdown(read.totals, week), read.unreadable)
