"""Checks before saving: what in a new visit contradicts the schedules, the contraindications or itself.

A check never refuses: it warns, and the application stores a visit with warnings only when the
person recording it confirms them with a reason (kept in the sealed record, :class:`Confirmation`).
Each warning is a code, the field it concerns and structured details, so each edge says it in its own
language (:func:`describe` gives the English sentence the command line prints).

What the checks know of the holder before this visit is a :class:`Prior`: the whole history for staff
who may read it, only the doses due next (which they are shown anyway) for those who may not.

>>> import datetime as dt
>>> from haven.core.entries import Vaccination, Visit
>>> first = Vaccination("comirnaty", 1, dt.date(2026, 10, 1))
>>> prior = Prior.of_vaccinations([first], today=dt.date(2026, 10, 7))
>>> [w.code for w in check_visit(Visit((Vaccination("comirnaty", 2, dt.date(2026, 10, 7)),)), prior)]
['interval-too-short']
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from haven.core.catalogue import catalogue
from haven.core.entries import MAX_SHORT, Confirmation, HolderFacts, Vaccination, Visit, holder_to_doc
from haven.core.history import History
from haven.core.schedule import DoseDue, next_due
from haven.errors import ChecksNeedConfirmationError, EntryError

# Each code and the English sentence its details make (docs/entries.md, "Checks before saving").
WARNINGS: dict[str, str] = {
    "interval-too-short": "dose {dose} of {product} is given before {earliest}, the earliest day after the dose before",
    "dose-already-given": "dose {dose} of {product}: dose {recorded} of this series is already recorded",
    "dose-skipped": "dose {dose} of {product}: the dose due next is dose {expected}",
    "beyond-series": "{product} has {doses} doses and no booster: dose {dose} is beyond its series",
    "live-in-pregnancy": "{product} is a live vaccine, not given during pregnancy",
    "sex-and-pregnancy": "the holder is recorded as male and as pregnant",
    "age-and-pregnancy": "the holder is recorded as pregnant in the age band {band}",
    "lot-unknown": "lot {lot} of {product} is not in this site's lot register",
}
CHILD_BANDS = ("0-4", "5-11")  # a pregnancy recorded in these bands is far more likely a slip


@dataclass(frozen=True)
class CheckWarning:
    """One warning: ``code`` (a key of :data:`WARNINGS`), the ``field`` it concerns, and its ``details``."""

    code: str
    field: str
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def to_doc(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "details": dict(self.details)}


@dataclass(frozen=True)
class Prior:
    """What is known of the holder before the visit: highest dose recorded and next dose due per series,
    and the holder facts."""

    doses: Mapping[str, int] = dataclasses.field(default_factory=dict)
    due: Mapping[str, DoseDue] = dataclasses.field(default_factory=dict)
    facts: HolderFacts = dataclasses.field(default_factory=HolderFacts)

    @classmethod
    def of_vaccinations(
        cls, vaccinations: Iterable[Vaccination], today: dt.date, facts: HolderFacts | None = None
    ) -> Prior:
        """From a holder's recorded vaccinations (for staff who may read the history)."""
        vaccinations = list(vaccinations)
        doses: dict[str, int] = {}
        for vac in vaccinations:
            series = catalogue().product(vac.product).series
            doses[series] = max(doses.get(series, 0), vac.dose)
        due = {d.series: d for d in next_due(vaccinations, today)}
        return cls(doses, due, facts or HolderFacts())

    @classmethod
    def of_history(cls, history: History, today: dt.date) -> Prior:
        vaccinations = [e for v in history.visits for e in v.visit.entries if isinstance(e, Vaccination)]
        return cls.of_vaccinations(vaccinations, today, history.holder)

    @classmethod
    def of_due(cls, due: Iterable[DoseDue]) -> Prior:
        """From the doses due next only (for staff who record but may not read the history): they see
        these lines anyway, so the warnings built on them tell nothing more."""
        lines = {d.series: d for d in due}
        return cls({s: d.dose - 1 for s, d in lines.items()}, lines)

    @classmethod
    def of_next_due(cls, history: History, today: dt.date) -> Prior:
        return cls.of_due(history.next_due)

    def after(self, vac: Vaccination) -> Prior:
        """The prior once ``vac`` is given (a visit may hold two doses of a series)."""
        series = catalogue().product(vac.product).series
        doses = {**self.doses, series: max(self.doses.get(series, 0), vac.dose)}
        due = {k: v for k, v in self.due.items() if k != series}
        due.update({d.series: d for d in next_due([vac], vac.date)})
        return dataclasses.replace(self, doses=doses, due=due)


def merged_facts(earlier: HolderFacts, now: HolderFacts) -> HolderFacts:
    """The holder facts after this visit: its own win field by field (as the history merges them)."""
    merged = {**holder_to_doc(earlier), **holder_to_doc(now)}
    if now.birth_year is not None:
        merged.pop("age_band", None)
    elif now.age_band is not None:
        merged.pop("birth_year", None)
    return HolderFacts(**merged)


def check_visit(
    visit: Visit, prior: Prior | None = None, lots: Mapping[str, frozenset[str]] | None = None
) -> list[CheckWarning]:
    """Every warning about ``visit`` given what is known before it; an empty list: nothing to confirm.

    ``lots``: the lot numbers the site's register holds, by product; a product without any is not
    checked (the register is kept for some products only).
    """
    prior = prior or Prior()
    facts = merged_facts(prior.facts, visit.holder)
    warnings = _holder_warnings(visit.holder, facts, visit.day)
    order = sorted(range(len(visit.entries)), key=lambda i: _order_key(visit.entries[i]))
    for i in order:
        entry = visit.entries[i]
        if isinstance(entry, Vaccination):
            warnings += _vaccination_warnings(entry, f"entries[{i}]", prior, facts, lots)
            prior = prior.after(entry)
    return warnings


def _order_key(entry: Any) -> tuple[dt.date, int]:
    return entry.date, entry.dose if isinstance(entry, Vaccination) else 0


def _vaccination_warnings(
    vac: Vaccination, at: str, prior: Prior, facts: HolderFacts, lots: Mapping[str, frozenset[str]] | None
) -> list[CheckWarning]:
    product = catalogue().product(vac.product)
    named = {"product": product.key, "dose": vac.dose}
    out: list[CheckWarning] = []
    recorded = prior.doses.get(product.series, 0)
    due = prior.due.get(product.series)
    if recorded and vac.dose <= recorded:
        out.append(CheckWarning("dose-already-given", f"{at}.dose", {**named, "recorded": recorded}))
    elif due is not None and vac.dose > due.dose:
        out.append(CheckWarning("dose-skipped", f"{at}.dose", {**named, "expected": due.dose}))
    elif due is not None and vac.date < due.earliest:
        details = {**named, "earliest": due.earliest.isoformat()}
        out.append(CheckWarning("interval-too-short", f"{at}.date", details))
    schedule = product.schedule
    if schedule.booster is None and vac.dose > schedule.doses:
        out.append(CheckWarning("beyond-series", f"{at}.dose", {**named, "doses": schedule.doses}))
    if product.live and facts.pregnant:
        out.append(CheckWarning("live-in-pregnancy", f"{at}.product", {"product": product.key}))
    known = (lots or {}).get(product.key)
    if known and vac.lot is not None and vac.lot not in known:
        out.append(CheckWarning("lot-unknown", f"{at}.lot", {"product": product.key, "lot": vac.lot}))
    return out


def _holder_warnings(given: HolderFacts, facts: HolderFacts, day: dt.date) -> list[CheckWarning]:
    """Facts that contradict each other, once this visit states one of them (an old slip, once
    confirmed, is not asked about at every visit)."""
    out: list[CheckWarning] = []
    if not facts.pregnant:
        return out
    if facts.sex == "male" and (given.sex is not None or given.pregnant is not None):
        out.append(CheckWarning("sex-and-pregnancy", "holder.pregnant", {}))
    band = facts.band_on(day)
    states_age = given.birth_year is not None or given.age_band is not None
    if band in CHILD_BANDS and (states_age or given.pregnant is not None):
        out.append(CheckWarning("age-and-pregnancy", "holder.pregnant", {"band": band}))
    return out


def describe(warning: CheckWarning) -> str:
    """The English sentence of a warning (pages build theirs from the details, in their language)."""
    details = dict(warning.details)
    if "product" in details:
        details["product"] = catalogue().product(details["product"]).name
    return f"{warning.field}: " + WARNINGS[warning.code].format(**details)


def confirm_reason(text: str | None) -> str | None:
    """A confirmation's reason, trimmed: 1 to MAX_SHORT characters (None: nothing confirmed)."""
    if text is None:
        return None
    reason = text.strip()
    if not reason:
        raise EntryError("confirm", "required")
    if len(reason) > MAX_SHORT:
        raise EntryError("confirm", "too-long", limit=MAX_SHORT)
    return reason


def confirmed(visit: Visit, warnings: list[CheckWarning], reason: str | None) -> Visit:
    """The visit to store: as it is without warnings, with its :class:`Confirmation` when the warnings were
    confirmed; :class:`ChecksNeedConfirmationError` when they were not."""
    if not warnings:
        return visit
    if reason is None:
        listed = "; ".join(describe(w) for w in warnings)
        raise ChecksNeedConfirmationError(
            f"Check this visit before it is saved: {listed}. Nothing was saved; if it is right, "
            "record it again with a reason that confirms it.",
            [w.to_doc() for w in warnings],
        )
    codes = tuple(dict.fromkeys(w.code for w in warnings))
    return dataclasses.replace(visit, confirmed=Confirmation(reason, codes))
