"""The next dose due, from a holder's vaccinations and the catalogue schedules.

Doses of products in the same series (all COVID-19 vaccines; MR and MMR; IPV
and bOPV) count together. The next dose follows the schedule of the product
given last, with its minimum interval and recommended window.

>>> import datetime as dt
>>> from haven.core.entries import Vaccination
>>> due = next_due([Vaccination("comirnaty", 1, dt.date(2026, 10, 1))], today=dt.date(2026, 10, 25))
>>> due[0].dose, due[0].earliest.isoformat(), due[0].status
(2, '2026-10-22', 'due')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from haven.core.catalogue import catalogue
from haven.core.entries import HolderFacts, Vaccination


@dataclass(frozen=True)
class DoseDue:
    series: str
    product: str
    dose: int
    kind: str  # "primary" or "booster"
    earliest: dt.date
    recommended_from: dt.date
    recommended_by: dt.date
    status: str  # "not-yet", "due" or "overdue"
    applies_to: str | None = None
    caution: str | None = None

    def to_doc(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in vars(self).items():
            if value is None:
                continue
            out[name] = value.isoformat() if isinstance(value, dt.date) else value
        out["product_name"] = catalogue().product(self.product).name
        return out


def _status(today: dt.date, earliest: dt.date, recommended_by: dt.date) -> str:
    if today < earliest:
        return "not-yet"
    return "due" if today <= recommended_by else "overdue"


def next_due(
    vaccinations: Iterable[Vaccination],
    today: dt.date,
    holder: HolderFacts | None = None,
) -> list[DoseDue]:
    """One line per vaccine series the holder has started, soonest first."""
    latest: dict[str, Vaccination] = {}
    for vac in vaccinations:
        series = catalogue().product(vac.product).series
        best = latest.get(series)
        if best is None or (vac.dose, vac.date) > (best.dose, best.date):
            latest[series] = vac
    out: list[DoseDue] = []
    for series, vac in latest.items():
        product = catalogue().product(vac.product)
        schedule = product.schedule
        caution = None
        if product.live and holder is not None and holder.pregnant:
            caution = "live vaccine: not during pregnancy"
        if vac.dose < schedule.doses and vac.dose - 1 < len(schedule.intervals):
            interval = schedule.intervals[vac.dose - 1]
            kind, applies_to = "primary", None
            min_days, (low, high) = interval.min_days, interval.recommended_days
        elif vac.dose >= schedule.doses and schedule.booster is not None:
            booster = schedule.booster
            kind, applies_to = "booster", booster.applies_to
            min_days, (low, high) = booster.min_days, booster.recommended_days
        else:
            continue
        earliest = vac.date + dt.timedelta(days=min_days)
        rec_from = vac.date + dt.timedelta(days=max(low, min_days))
        rec_by = vac.date + dt.timedelta(days=max(high, low, min_days))
        out.append(
            DoseDue(
                series=series,
                product=product.key,
                dose=vac.dose + 1,
                kind=kind,
                earliest=earliest,
                recommended_from=rec_from,
                recommended_by=rec_by,
                status=_status(today, earliest, rec_by),
                applies_to=applies_to,
                caution=caution,
            )
        )
    out.sort(key=lambda d: (d.earliest, d.series))
    return out
