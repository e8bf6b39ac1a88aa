"""Visit entries: what a clinic records, validated field by field.

A visit document is either a list of entries or an object
``{"holder": {...}, "entries": [...]}``. Entry types: ``vaccination``, ``test``,
``treatment`` (or ``consultation``), ``note``, ``vitals``, ``weight``,
``allergy`` and ``aefi`` (an adverse event following immunization);
docs/entries.md lists every field. Validation is strict: an unknown field is an error (it is usually a
typo), and every error names the field (``entries[1].result``) and the reason.

>>> import datetime
>>> visit = parse_visit([{"type": "test", "test": "antigen", "result": "negative",
...                      "date": "2026-11-02"}], today=datetime.date(2026, 11, 2))
>>> visit.entries[0].result
'negative'
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

from haven.core.catalogue import catalogue
from haven.errors import EntryError

_P = ParamSpec("_P")
_R = TypeVar("_R")

SEVERITIES = ("mild", "moderate", "severe", "critical")  # WHO COVID-19 clinical management
SYMPTOMS = (
    "fever",
    "cough",
    "shortness-of-breath",
    "sore-throat",
    "loss-of-taste-or-smell",
    "fatigue",
    "headache",
    "muscle-pain",
    "diarrhoea",
    "vomiting",
    "runny-nose",
    "chest-pain",
    "confusion",
    "other",
)
SAMPLES = ("nasopharyngeal", "oropharyngeal", "nasal", "saliva", "blood")
SEXES = ("female", "male", "other", "unknown")
AGE_BANDS = ("0-4", "5-11", "12-17", "18-29", "30-39", "40-49", "50-59", "60-69", "70+")
_AGE_BAND_LOW = (0, 5, 12, 18, 30, 40, 50, 60, 70)
MAX_ENTRIES = 50
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits only: \d would take any script's
MAX_DOSE = 10
MAX_TEXT = 2000
MAX_SHORT = 80
EXTERNAL_FORMATS = ("haven", "eu-dcc", "shc")
# Plausible bounds of each measurement (low, high, decimal places): outside them it is a typing slip.
VITALS = {
    "temperature_c": (30, 45, 1),
    "pulse_per_min": (20, 250, 0),
    "respiratory_rate_per_min": (4, 100, 0),
    "systolic_mmhg": (50, 280, 0),
    "diastolic_mmhg": (20, 180, 0),
    "spo2_percent": (50, 100, 0),
}
GROWTH = {"weight_kg": (0.3, 350, 2), "height_cm": (20, 250, 1), "muac_mm": (50, 500, 0)}
# Common allergens with their SNOMED CT substance codes; anything else is written in words.
ALLERGENS = {
    "penicillin": "764146007",
    "sulfonamide": "387406002",
    "nsaid": "372665008",
    "egg": "102263004",
    "peanut": "256349002",
    "latex": "111088007",
}
# Reactions (allergy and AEFI) with their SNOMED CT codes; None: Haven's word only.
REACTIONS = {
    "rash": "271807003",
    "urticaria": "126485001",
    "angioedema": "41291007",
    "anaphylaxis": "39579001",
    "breathing-difficulty": "267036007",
    "vomiting": "422400008",
    "diarrhoea": "62315008",
    "fever": "386661006",
    "seizure": "91175000",
    "fainting": "271594007",
    "injection-site-reaction": None,
    "other": None,
}
ALLERGY_SEVERITIES = ("mild", "moderate", "severe")  # FHIR AllergyIntolerance.reaction.severity
# WHO cause-specific AEFI categories (WHO AEFI causality assessment manual, 2nd edition, 2018).
AEFI_CATEGORIES = (
    "product-related",
    "quality-defect",
    "immunization-error",
    "anxiety-related",
    "coincidental",
)
AEFI_OUTCOMES = ("recovered", "recovering", "not-recovered", "recovered-with-sequelae", "died", "unknown")


@dataclass(frozen=True)
class Vaccination:
    product: str
    dose: int
    date: dt.date
    lot: str | None = None
    note: str | None = None
    verified_external: str | None = None  # format of the certificate it was imported from
    type: str = field(default="vaccination", init=False)


@dataclass(frozen=True)
class Test:
    test: str
    result: str
    date: dt.date
    sample: str | None = None
    note: str | None = None
    verified_external: str | None = None
    type: str = field(default="test", init=False)


@dataclass(frozen=True)
class Treatment:
    date: dt.date
    kind: str = "treatment"  # or "consultation"
    symptoms: tuple[str, ...] = ()
    severity: str | None = None
    medicines: tuple[str, ...] = ()
    referral: str | None = None
    note: str | None = None
    type: str = field(default="treatment", init=False)


@dataclass(frozen=True)
class Note:
    date: dt.date
    text: str
    type: str = field(default="note", init=False)


@dataclass(frozen=True)
class Vitals:
    """Vital signs taken at the visit; at least one measurement."""

    date: dt.date
    temperature_c: float | None = None
    pulse_per_min: int | None = None
    respiratory_rate_per_min: int | None = None
    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    spo2_percent: int | None = None
    note: str | None = None
    type: str = field(default="vitals", init=False)


@dataclass(frozen=True)
class Weight:
    """Weight, and for children height and mid-upper arm circumference (MUAC); at least one."""

    date: dt.date
    weight_kg: float | None = None
    height_cm: float | None = None
    muac_mm: int | None = None
    note: str | None = None
    type: str = field(default="weight", init=False)


@dataclass(frozen=True)
class Allergy:
    """An allergy or intolerance: a listed substance or one in words, and what it does."""

    date: dt.date
    substance: str | None = None
    substance_text: str | None = None
    reactions: tuple[str, ...] = ()
    severity: str | None = None
    note: str | None = None
    type: str = field(default="allergy", init=False)


@dataclass(frozen=True)
class Aefi:
    """An adverse event following immunization: the dose it follows, WHO's category, seriousness, outcome."""

    date: dt.date  # the event's onset
    product: str
    dose: int
    vaccination_date: dt.date
    serious: bool
    category: str | None = None  # None: not yet classified
    reactions: tuple[str, ...] = ()
    outcome: str | None = None
    note: str | None = None
    type: str = field(default="aefi", init=False)


Entry = Vaccination | Test | Treatment | Note | Vitals | Weight | Allergy | Aefi


@dataclass(frozen=True)
class HolderFacts:
    """Coarse facts care needs. They live only inside the sealed record."""

    birth_year: int | None = None
    age_band: str | None = None
    sex: str | None = None
    pregnant: bool | None = None

    def band_on(self, day: dt.date) -> str | None:
        """Age band on ``day`` (from the birth year when known)."""
        if self.birth_year is not None:
            age = max(0, day.year - self.birth_year)
            return age_band(age)
        return self.age_band


@dataclass(frozen=True)
class Confirmation:
    """The warnings of the checks before saving (core/checks.py) that staff confirmed, and why."""

    reason: str
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Visit:
    entries: tuple[Entry, ...]
    holder: HolderFacts = HolderFacts()
    confirmed: Confirmation | None = None  # set by the application when warnings were confirmed

    @property
    def day(self) -> dt.date:
        """The visit's reference day: its latest entry date."""
        return max(e.date for e in self.entries)


def age_band(age: int) -> str:
    band = AGE_BANDS[0]
    for low, name in zip(_AGE_BAND_LOW, AGE_BANDS, strict=True):
        if age >= low:
            band = name
    return band


# ---------------------------------------------------------------- parsing


def _collecting(method: Callable[Concatenate[_Fields, _P], _R]) -> Callable[Concatenate[_Fields, _P], _R | None]:
    """A field reader that, when its fields collect problems, notes a refused field and gives None."""

    def read(self: _Fields, /, *args: _P.args, **kwargs: _P.kwargs) -> _R | None:
        try:
            return method(self, *args, **kwargs)
        except EntryError as exc:
            if self.problems is None:
                raise
            self.problems.append(exc)
            return None

    read.__name__, read.__doc__ = method.__name__, method.__doc__
    return read


class _Fields:
    """Reads the fields of one JSON object, remembering which were used.

    With a ``problems`` list, a refused field is added to it and read as None,
    so that one pass finds every problem; :meth:`settle` raises the first.
    """

    def __init__(self, doc: Any, path: str, trusted: bool = False, problems: list[EntryError] | None = None) -> None:
        if not isinstance(doc, Mapping):
            raise EntryError(path, "object")
        self.doc = doc
        self.path = path
        self.trusted = trusted
        self.used: set[str] = set()
        self.problems = problems
        self.first = len(problems) if problems is not None else 0

    def settle(self) -> None:
        """Raise the first problem this object's fields collected (the caller has them all)."""
        if self.problems is not None and len(self.problems) > self.first:
            raise self.problems[self.first]

    def finish(self) -> None:
        """Refuse unknown fields, then :meth:`settle`."""
        self.done()
        self.settle()

    def refused(self, name: str) -> bool:
        return self.problems is not None and any(p.field == self.at(name) for p in self.problems[self.first :])

    @_collecting
    def refuse(self, /, name: str, problem: str, **limits: Any) -> None:
        raise EntryError(self.at(name), problem, **limits)

    def at(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str, required: bool = False) -> Any:
        self.used.add(name)
        value = self.doc.get(name)
        if value is None and required:
            raise EntryError(self.at(name), "required")
        return value

    @_collecting
    def choice(self, name: str, options: tuple[str, ...] | Mapping[str, Any], required: bool = False) -> str | None:
        value = self.get(name, required)
        if value is None:
            return None
        if not isinstance(value, str) or value not in options:
            raise EntryError(self.at(name), "choice", options=tuple(sorted(options)))
        return value

    @_collecting
    def boolean(self, name: str) -> bool | None:
        value = self.get(name)
        if value is None or isinstance(value, bool):
            return value
        raise EntryError(self.at(name), "boolean")

    @_collecting
    def text(self, name: str, limit: int = MAX_SHORT) -> str | None:
        value = self.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise EntryError(self.at(name), "text")
        value = value.strip()
        if not value:
            return None
        if len(value) > limit:
            raise EntryError(self.at(name), "too-long", limit=limit)
        return value

    @_collecting
    def integer(self, name: str, low: int, high: int, required: bool = False) -> int | None:
        value = self.get(name, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise EntryError(self.at(name), "whole-number")
        if not low <= value <= high:
            raise EntryError(self.at(name), "range", low=low, high=high)
        return value

    @_collecting
    def number(self, name: str, low: float, high: float, places: int) -> float | int | None:
        """A measurement within ``[low, high]`` with at most ``places`` decimals (a whole number when 0)."""
        value = self.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise EntryError(self.at(name), "whole-number" if places == 0 else "number")
        if places == 0 and not float(value).is_integer():
            raise EntryError(self.at(name), "whole-number")
        if not low <= value <= high:
            raise EntryError(self.at(name), "range", low=low, high=high)
        if round(value, places) != value:
            raise EntryError(self.at(name), "decimals", places=places)
        return int(value) if places == 0 else float(value)

    @_collecting
    def date(self, name: str, today: dt.date) -> dt.date:
        value = self.get(name, required=True)
        if not isinstance(value, str):
            raise EntryError(self.at(name), "date-format")
        # Only YYYY-MM-DD: fromisoformat also takes 20261001, 2026-W40-4 and more (Python 3.11).
        if not _DATE.fullmatch(value):
            raise EntryError(self.at(name), "date-format")
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:  # written right, but no such day: 2026-02-30, 2026-13-01
            raise EntryError(self.at(name), "date-invalid") from None
        if day > today:
            raise EntryError(self.at(name), "date-future", today=today.isoformat())
        if day.year < 1900:
            raise EntryError(self.at(name), "date-too-early", earliest=1900)
        return day

    @_collecting
    def text_list(self, name: str, options: tuple[str, ...] | None = None) -> tuple[str, ...]:
        value = self.get(name)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise EntryError(self.at(name), "list")
        out = []
        for i, item in enumerate(value):
            where = f"{self.at(name)}[{i}]"
            if not isinstance(item, str) or not item.strip():
                raise EntryError(where, "text")
            if options is not None and item not in options:
                raise EntryError(where, "choice", options=tuple(options))
            if len(item) > MAX_SHORT:
                raise EntryError(where, "too-long", limit=MAX_SHORT)
            out.append(item.strip())
        return tuple(out)

    @_collecting
    def external(self) -> str | None:
        """``verified_external`` is set by certificate import only, never typed in."""
        value = self.choice("verified_external", EXTERNAL_FORMATS)
        if value is not None and not self.trusted:
            raise EntryError(self.at("verified_external"), "import-only")
        return value

    @_collecting
    def done(self) -> None:
        extra = sorted(set(self.doc) - self.used)
        if extra:
            raise EntryError(self.at(extra[0]), "unknown-field")


def _vaccination(f: _Fields, today: dt.date) -> Vaccination:
    product = f.choice("product", catalogue().products, required=True)
    # Extra campaign and booster doses are real, so only the range is checked.
    dose = f.integer("dose", 1, MAX_DOSE, required=True)
    date, lot, note = f.date("date", today), f.text("lot", 40), f.text("note", MAX_TEXT)
    external = f.external()
    f.finish()
    assert product is not None and dose is not None and date is not None
    return Vaccination(product=product, dose=dose, date=date, lot=lot, note=note, verified_external=external)


def _test(f: _Fields, today: dt.date) -> Test:
    test = f.choice("test", catalogue().tests, required=True)
    allowed = catalogue().tests[test].results if test is not None else catalogue().results
    result = f.choice("result", allowed, required=True)
    date, sample, note = f.date("date", today), f.choice("sample", SAMPLES), f.text("note", MAX_TEXT)
    external = f.external()
    f.finish()
    assert test is not None and result is not None and date is not None
    return Test(test=test, result=result, date=date, sample=sample, note=note, verified_external=external)


def _treatment(f: _Fields, today: dt.date, kind: str) -> Treatment:
    date = f.date("date", today)
    symptoms, severity = f.text_list("symptoms", SYMPTOMS), f.choice("severity", SEVERITIES)
    medicines, referral, note = f.text_list("medicines"), f.text("referral"), f.text("note", MAX_TEXT)
    f.finish()
    assert date is not None and symptoms is not None and medicines is not None
    return Treatment(
        date=date, kind=kind, symptoms=symptoms, severity=severity, medicines=medicines, referral=referral, note=note
    )


def _note(f: _Fields, today: dt.date) -> Note:
    text = f.text("text", MAX_TEXT)
    if text is None and not f.refused("text"):
        f.refuse("text", "required")
    date = f.date("date", today)
    f.finish()
    assert text is not None and date is not None
    return Note(date=date, text=text)


def _measures(f: _Fields, bounds: Mapping[str, tuple[float, float, int]]) -> dict[str, Any]:
    """Each measurement of ``bounds`` read; none given is refused at the first."""
    values = {name: f.number(name, *limits) for name, limits in bounds.items()}
    if all(v is None for v in values.values()) and not any(f.refused(name) for name in bounds):
        f.refuse(next(iter(bounds)), "no-measurement", options=tuple(bounds))
    return values


def _vitals(f: _Fields, today: dt.date) -> Vitals:
    date = f.date("date", today)
    values = _measures(f, VITALS)
    systolic, diastolic = values["systolic_mmhg"], values["diastolic_mmhg"]
    if (systolic is None) != (diastolic is None) and not f.refused("systolic_mmhg") and not f.refused("diastolic_mmhg"):
        given, other = (
            ("systolic_mmhg", "diastolic_mmhg") if systolic is not None else ("diastolic_mmhg", "systolic_mmhg")
        )
        f.refuse(given, "pair", other=other)
    elif systolic is not None and diastolic is not None and diastolic >= systolic:
        f.refuse("diastolic_mmhg", "diastolic-high")
    note = f.text("note", MAX_TEXT)
    f.finish()
    assert date is not None
    return Vitals(date=date, note=note, **values)


def _weight(f: _Fields, today: dt.date) -> Weight:
    date = f.date("date", today)
    values = _measures(f, GROWTH)
    note = f.text("note", MAX_TEXT)
    f.finish()
    assert date is not None
    return Weight(date=date, note=note, **values)


def _allergy(f: _Fields, today: dt.date) -> Allergy:
    date = f.date("date", today)
    substance, substance_text = f.choice("substance", ALLERGENS), f.text("substance_text")
    if substance is not None and substance_text is not None:
        f.refuse("substance_text", "substance")
    elif substance is None and substance_text is None and not f.refused("substance"):
        f.refuse("substance", "required")
    reactions, severity = f.text_list("reactions", tuple(REACTIONS)), f.choice("severity", ALLERGY_SEVERITIES)
    note = f.text("note", MAX_TEXT)
    f.finish()
    assert date is not None and reactions is not None
    return Allergy(date, substance, substance_text, reactions, severity, note)


def _aefi(f: _Fields, today: dt.date) -> Aefi:
    date = f.date("date", today)
    product = f.choice("product", catalogue().products, required=True)
    dose = f.integer("dose", 1, MAX_DOSE, required=True)
    given = f.date("vaccination_date", today)
    if given is not None and date is not None and given > date:
        f.refuse("vaccination_date", "after-entry", date=date.isoformat())
    serious = f.boolean("serious")
    if serious is None and not f.refused("serious"):
        f.refuse("serious", "required")
    category, outcome = f.choice("category", AEFI_CATEGORIES), f.choice("outcome", AEFI_OUTCOMES)
    reactions, note = f.text_list("reactions", tuple(REACTIONS)), f.text("note", MAX_TEXT)
    f.finish()
    assert date is not None and product is not None and dose is not None and given is not None
    assert serious is not None and reactions is not None
    return Aefi(date, product, dose, given, serious, category, reactions, outcome, note)


_PARSERS: dict[str, Callable[[_Fields, dt.date], Entry]] = {
    "vaccination": _vaccination,
    "test": _test,
    "treatment": lambda f, today: _treatment(f, today, "treatment"),
    "consultation": lambda f, today: _treatment(f, today, "consultation"),
    "note": _note,
    "vitals": _vitals,
    "weight": _weight,
    "allergy": _allergy,
    "aefi": _aefi,
}


def parse_entry(doc: Any, path: str, today: dt.date, trusted: bool = False) -> Entry:
    return _entry(doc, path, today, trusted, None)


def _entry(doc: Any, path: str, today: dt.date, trusted: bool, problems: list[EntryError] | None) -> Entry:
    f = _Fields(doc, path, trusted, problems)
    kind = f.choice("type", _PARSERS, required=True)
    f.settle()
    assert kind is not None
    return _PARSERS[kind](f, today)


def parse_holder(doc: Any, today: dt.date) -> HolderFacts:
    return _holder(doc, today, None)


def _holder(doc: Any, today: dt.date, problems: list[EntryError] | None) -> HolderFacts:
    if doc is None:
        return HolderFacts()
    f = _Fields(doc, "holder", problems=problems)
    facts = HolderFacts(
        birth_year=f.integer("birth_year", 1900, today.year),
        age_band=f.choice("age_band", AGE_BANDS),
        sex=f.choice("sex", SEXES),
        pregnant=f.boolean("pregnant"),
    )
    f.finish()
    if facts.birth_year is not None and facts.age_band is not None:
        raise EntryError("holder.age_band", "birth-year-and-age-band")
    return facts


def parse_visit(doc: Any, today: dt.date, trusted: bool = False) -> Visit:
    """Validate a visit document; raise :class:`EntryError` naming the first bad field.

    ``trusted`` admits ``verified_external`` (set by certificate import only).
    """
    return _visit(doc, today, trusted, None)


def visit_problems(doc: Any, today: dt.date, trusted: bool = False) -> list[EntryError]:
    """Every problem of a visit document at once, the first being the one :func:`parse_visit` raises.

    Each entry and the holder facts are checked field by field; a refused
    field does not hide the others (a form shows them all in one answer).
    An empty list: the document parses.
    """
    problems: list[EntryError] = []
    try:
        _visit(doc, today, trusted, problems)
    except EntryError as exc:
        _note_problem(problems, exc)
    return problems


def _note_problem(problems: list[EntryError], exc: EntryError) -> None:
    if not any(p is exc for p in problems):  # settle() raises one already noted
        problems.append(exc)


def _confirmation(doc: Any, trusted: bool) -> Confirmation | None:
    """``confirmed`` is written by the application into the record it seals, never typed in."""
    if doc is None:
        return None
    if not trusted:
        raise EntryError("confirmed", "written-by-haven")
    f = _Fields(doc, "confirmed")
    reason, warnings = f.text("reason"), f.text_list("warnings")
    f.finish()
    if reason is None:
        raise EntryError("confirmed.reason", "required")
    return Confirmation(reason, warnings or ())


def _visit(doc: Any, today: dt.date, trusted: bool, problems: list[EntryError] | None) -> Visit:
    holder_doc = confirmed = None
    if isinstance(doc, Mapping):
        top = _Fields(doc, "")
        holder_doc = top.get("holder")
        confirmed = _confirmation(top.get("confirmed"), trusted)
        doc = top.get("entries", required=True)
        top.done()
    if not isinstance(doc, list):
        raise EntryError("entries", "not-entries")
    if not doc:
        raise EntryError("entries", "no-entries")
    if len(doc) > MAX_ENTRIES:
        raise EntryError("entries", "too-many-entries", limit=MAX_ENTRIES)
    parts: list[Callable[[], Any]] = [
        *(functools.partial(_entry, item, f"entries[{i}]", today, trusted, problems) for i, item in enumerate(doc)),
        functools.partial(_holder, holder_doc, today, problems),
    ]
    read: list[Any] = []
    for part in parts:
        try:
            read.append(part())
        except EntryError as exc:
            if problems is None:
                raise
            _note_problem(problems, exc)
    if problems:
        raise problems[0]
    return Visit(entries=tuple(read[:-1]), holder=read[-1], confirmed=confirmed)


# ---------------------------------------------------------------- documents


def entry_to_doc(entry: Entry) -> dict[str, Any]:
    """The documented JSON form of an entry (what ``parse_entry`` accepts)."""
    out: dict[str, Any] = {"type": entry.type}
    for name, value in vars(entry).items():
        if name == "type" or value is None or value == ():
            continue
        if name == "kind":
            out["type"] = value
            continue
        if isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


def holder_to_doc(facts: HolderFacts) -> dict[str, Any]:
    return {k: v for k, v in vars(facts).items() if v is not None}


def visit_to_doc(visit: Visit) -> dict[str, Any]:
    doc: dict[str, Any] = {"entries": [entry_to_doc(e) for e in visit.entries]}
    holder = holder_to_doc(visit.holder)
    if holder:
        doc["holder"] = holder
    if visit.confirmed is not None:
        doc["confirmed"] = confirmation_to_doc(visit.confirmed)
    return doc


def confirmation_to_doc(confirmed: Confirmation) -> dict[str, Any]:
    return {"reason": confirmed.reason, "warnings": list(confirmed.warnings)}
