"""Aggregate counts for reports, taken at write time.

Each vaccination, test, treatment, consultation and adverse event following
immunization (AEFI) adds one to a counter keyed by ``(week, kind, code, detail,
age_band)``: small integers only (no catalogue string, no date), no locator, no
record id, so the table counts activity and links nothing to anyone. Entries
imported from another issuer's certificate are not this site's activity and are
not counted.

>>> import datetime as dt
>>> from haven.core.entries import Test, Visit
>>> aggregate_keys(Visit((Test("antigen", "negative", dt.date(2026, 11, 2)),)))
[AggregateKey(week=202645, kind=2, code=1, detail=2, age_band=0)]
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import cbor2

from haven.core.catalogue import catalogue
from haven.core.entries import AEFI_CATEGORIES, AGE_BANDS, SEVERITIES, Aefi, Test, Treatment, Vaccination, Visit

KIND_VACCINATION, KIND_TEST, KIND_TREATMENT, KIND_CONSULTATION, KIND_AEFI = 1, 2, 3, 4, 5
# Doses given per lot of the site's lot register (haven/core/lots.py): ``code`` is the lot's register
# number, ``detail`` the product id. Not a kind of care: reports leave these counters out.
KIND_LOT = 6
KINDS = {
    KIND_VACCINATION: "vaccination",
    KIND_TEST: "test",
    KIND_TREATMENT: "treatment",
    KIND_CONSULTATION: "consultation",
    KIND_AEFI: "aefi",
}
UNCLASSIFIED = "unclassified"  # an AEFI whose category is not (yet) known: detail 0


class AggregateKey(NamedTuple):
    """A counter's key (a tuple: hashed in C, which bulk imports count millions of times)."""

    week: int  # ISO year * 100 + ISO week number
    kind: int
    code: int  # product id (vaccination, AEFI), test id or severity (1-4, 0 unknown)
    detail: int  # dose number, result id, referral (0/1) or AEFI category (1 + index, 0 unclassified)
    age_band: int  # 1 + index in AGE_BANDS, 0 unknown


def iso_week(day: dt.date) -> int:
    year, week, _ = day.isocalendar()
    return year * 100 + week


def aggregate_keys(visit: Visit) -> list[AggregateKey]:
    keys = []
    for entry in visit.entries:
        band = visit.holder.band_on(entry.date)
        band_no = AGE_BANDS.index(band) + 1 if band else 0
        week = iso_week(entry.date)
        if isinstance(entry, Vaccination) and not entry.verified_external:
            code = catalogue().product(entry.product).id
            keys.append(AggregateKey(week, KIND_VACCINATION, code, entry.dose, band_no))
        elif isinstance(entry, Test) and not entry.verified_external:
            cat = catalogue()
            keys.append(AggregateKey(week, KIND_TEST, cat.tests[entry.test].id, cat.results[entry.result].id, band_no))
        elif isinstance(entry, Treatment):
            kind = KIND_CONSULTATION if entry.kind == "consultation" else KIND_TREATMENT
            severity = SEVERITIES.index(entry.severity) + 1 if entry.severity else 0
            keys.append(AggregateKey(week, kind, severity, 1 if entry.referral else 0, band_no))
        elif isinstance(entry, Aefi):
            category = AEFI_CATEGORIES.index(entry.category) + 1 if entry.category else 0
            keys.append(AggregateKey(week, KIND_AEFI, catalogue().product(entry.product).id, category, band_no))
    return keys


def aefi_category(detail: int) -> str:
    """An AEFI counter's category in words."""
    return AEFI_CATEGORIES[detail - 1] if detail else UNCLASSIFIED


def describe(key: AggregateKey) -> dict[str, Any]:
    """The aggregate key in words, for reports."""
    year, week = divmod(key.week, 100)
    out: dict[str, Any] = {
        "week": f"{year}-W{week:02d}",
        "kind": KINDS.get(key.kind, "unknown"),
        "age_band": AGE_BANDS[key.age_band - 1] if key.age_band else "unknown",
    }
    cat = catalogue()
    if key.kind == KIND_VACCINATION:
        out["product"] = cat.product_by_id(key.code).key
        out["dose"] = key.detail
    elif key.kind == KIND_TEST:
        out["test"] = next(t.key for t in cat.tests.values() if t.id == key.code)
        out["result"] = next(r.key for r in cat.results.values() if r.id == key.detail)
    elif key.kind in (KIND_TREATMENT, KIND_CONSULTATION):
        out["severity"] = SEVERITIES[key.code - 1] if key.code else "unknown"
        out["referral"] = bool(key.detail)
    elif key.kind == KIND_AEFI:
        out["product"] = cat.product_by_id(key.code).key
        out["category"] = aefi_category(key.detail)
    return out


# ---------------------------------------------------------------- tallies
#
# Counters are stored as sealed tallies (haven/site/tallies.py): each the encoding below of one
# visit's (or one import batch's, or one fold's) increments. The encoding is padded so that the
# tallies of single visits all have one size, whatever the visit held.

TALLY_VERSION = 1
TALLY_MIN_BYTES = 1024  # one visit's tally, whatever it holds (MAX_ENTRIES entries fit: tested)
_LENGTH_BYTES = 4


def padded_size(length: int) -> int:
    """The smallest power of two, at least TALLY_MIN_BYTES, that holds ``length`` bytes.

    >>> padded_size(40), padded_size(1024), padded_size(1025)
    (1024, 1024, 2048)
    """
    size = TALLY_MIN_BYTES
    while size < length:
        size *= 2
    return size


def encode_tally(counts: Iterable[AggregateKey] | Mapping[AggregateKey, int]) -> bytes:
    """Counter increments as padded CBOR: ``[version, [[week, kind, code, detail, age_band, n], ...]]``.

    >>> key = AggregateKey(202645, 2, 1, 2, 0)
    >>> tally = encode_tally([key, key])
    >>> len(tally), decode_tally(tally)
    (1024, Counter({AggregateKey(week=202645, kind=2, code=1, detail=2, age_band=0): 2}))
    """
    totals = Counter(counts) if not isinstance(counts, Mapping) else Counter(dict(counts))
    rows = [[*key, n] for key, n in sorted(totals.items()) if n]
    body = cbor2.dumps([TALLY_VERSION, rows], canonical=True)
    framed = len(body).to_bytes(_LENGTH_BYTES, "big") + body
    return framed + bytes(padded_size(len(framed)) - len(framed))


def decode_tally(plain: bytes) -> Counter[AggregateKey]:
    """The increments of one tally; ValueError if it is not one."""
    length = int.from_bytes(plain[:_LENGTH_BYTES], "big")
    body = plain[_LENGTH_BYTES : _LENGTH_BYTES + length]
    if len(body) != length or any(plain[_LENGTH_BYTES + length :]):
        raise ValueError("not a tally")
    try:
        version, rows = cbor2.loads(body)
        if version != TALLY_VERSION:
            raise ValueError("unknown tally version")
        out: Counter[AggregateKey] = Counter()
        for row in rows:
            *key, n = (int(v) for v in row)
            out[AggregateKey(*key)] += n
    except (TypeError, ValueError, cbor2.CBORDecodeError) as exc:
        raise ValueError(f"not a tally ({exc})") from None
    return out
