"""The lot register, pure: parsing a lot, expiry, what the checks and the counters take from it."""

from __future__ import annotations

import datetime as dt

import pytest

from haven.core.aggregates import KIND_LOT, AggregateKey, aggregate_keys, iso_week
from haven.core.catalogue import catalogue
from haven.core.entries import Vaccination, Visit
from haven.core.lots import Register, parse_lot, retired, used_per_lot
from haven.errors import ExpiredLotError, InputError

DAY = dt.date(2026, 11, 20)


def register() -> Register:
    return Register(
        (
            parse_lot("td", "T1", "2026-11-30", 100, number=1),
            parse_lot("td", "T0", "2026-11-19", None, number=2),
            retired(parse_lot("mr", "M1", "2027-06-30", 50, number=3)),
        )
    )


@pytest.mark.parametrize(
    ("product", "lot", "expiry", "received", "field"),
    [
        ("nope", "A", "2027-01-01", None, "product"),
        ("td", "  ", "2027-01-01", None, "lot"),
        ("td", "x" * 41, "2027-01-01", None, "lot"),
        ("td", "A", "2027-1-1", None, "expiry"),
        ("td", "A", "2027-02-30", None, "expiry"),
        ("td", "A", "2027-01-01", 0, "received"),
    ],
)
def test_a_bad_lot_is_refused_naming_its_field(
    product: str, lot: str, expiry: str, received: int | None, field: str
) -> None:
    with pytest.raises(InputError) as refused:
        parse_lot(product, lot, expiry, received, number=1)
    assert refused.value.details["field"] == field


def test_an_expiry_written_right_but_no_day_says_so() -> None:
    """2027-02-30 is written YYYY-MM-DD: telling staff to write it that way would not help them."""
    with pytest.raises(InputError, match="There is no day 2027-02-30") as refused:
        parse_lot("td", "A", "2027-02-30", None, number=1)
    assert refused.value.problem == "no-day"
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        parse_lot("td", "A", "30.02.2027", None, number=1)


def test_a_dose_from_a_lot_expired_on_its_day_is_refused_and_the_expiry_day_is_still_good() -> None:
    reg = register()
    with pytest.raises(ExpiredLotError) as refused:
        reg.refuse_expired(Visit((Vaccination("td", 1, DAY, lot="T0"),)))
    assert refused.value.details == {"field": "entries[0].lot", "lot": "T0", "expiry": "2026-11-19"}
    assert refused.value.message == "entries[0].lot: lot T0 expired on 2026-11-19"
    reg.refuse_expired(Visit((Vaccination("td", 1, dt.date(2026, 11, 30), lot="T1"),)))
    reg.refuse_expired(Visit((Vaccination("td", 1, DAY, lot="unregistered"),)))  # that one warns instead


def test_the_form_offers_lots_in_use_and_the_checks_know_those_not_retired() -> None:
    reg = register()
    assert [x.lot for x in reg.in_use(DAY)] == ["T1"]
    assert reg.known() == {"td": frozenset({"T1", "T0"})}  # a retired lot is unknown: it warns


def test_doses_from_a_registered_lot_are_counted_by_its_number_only() -> None:
    reg = register()
    visit = Visit((Vaccination("td", 1, DAY, lot="T1"), Vaccination("mr", 1, DAY, lot="other")))
    td = catalogue().product("td").id
    keys = reg.usage_keys(visit)
    assert keys == [AggregateKey(iso_week(DAY), KIND_LOT, 1, td, 0)]
    totals = {key: 3 for key in keys} | {k: 7 for k in aggregate_keys(visit)}
    assert used_per_lot(totals) == {1: 3}
