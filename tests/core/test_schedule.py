"""Next dose due, from the catalogue schedules."""

from __future__ import annotations

import datetime as dt

from haven.core.catalogue import catalogue
from haven.core.entries import HolderFacts, Vaccination
from haven.core.schedule import next_due

D = dt.date


def test_second_dose_window_follows_the_product() -> None:
    (due,) = next_due([Vaccination("vaxzevria", 1, D(2026, 9, 1))], today=D(2026, 9, 20))
    assert (due.dose, due.kind, due.status) == (2, "primary", "not-yet")
    assert due.earliest == D(2026, 9, 29)  # 28 days minimum
    assert due.recommended_by == D(2026, 11, 24)  # 84 days


def test_overdue_after_the_window() -> None:
    (due,) = next_due([Vaccination("comirnaty", 1, D(2026, 1, 1))], today=D(2026, 6, 1))
    assert due.status == "overdue"


def test_products_of_one_series_count_together() -> None:
    vaccinations = [Vaccination("coronavac", 1, D(2026, 1, 1)), Vaccination("comirnaty", 2, D(2026, 2, 1))]
    (due,) = next_due(vaccinations, today=D(2026, 3, 1))
    assert due.kind == "booster" and due.dose == 3 and due.product == "comirnaty"


def test_single_dose_product_goes_to_booster() -> None:
    (due,) = next_due([Vaccination("jcovden", 1, D(2026, 1, 1))], today=D(2026, 3, 1))
    assert due.kind == "booster"


def test_routine_series_for_adults() -> None:
    vaccinations = [
        Vaccination("td", 2, D(2026, 1, 1)),
        Vaccination("hepb", 1, D(2026, 1, 1)),
        Vaccination("mr", 2, D(2026, 1, 1)),
        Vaccination("ipv", 1, D(2026, 1, 1)),
    ]
    due = {d.series: d for d in next_due(vaccinations, today=D(2026, 2, 1))}
    assert set(due) == {"tetanus-diphtheria", "hepatitis-b", "polio"}  # MR complete after 2 doses
    assert due["tetanus-diphtheria"].earliest == D(2026, 6, 30)  # dose 3: 6 months after dose 2
    assert due["hepatitis-b"].earliest == D(2026, 1, 29)


def test_live_vaccine_caution_in_pregnancy() -> None:
    (due,) = next_due([Vaccination("mr", 1, D(2026, 1, 1))], D(2026, 2, 1), HolderFacts(pregnant=True))
    assert due.caution and "pregnancy" in due.caution


def test_catalogue_covers_what_an_adult_refugee_needs() -> None:
    cat = catalogue()
    diseases = {d for p in cat.products.values() for d in p.diseases}
    assert {"covid-19", "measles", "rubella", "tetanus", "diphtheria", "hepatitis-b", "polio"} <= diseases
    ids = [p.id for p in cat.products.values()]
    assert len(ids) == len(set(ids))
    for product in cat.products.values():
        assert len(product.schedule.intervals) >= product.schedule.doses - 1, product.key


def test_covid_products_match_the_reference_table() -> None:
    import csv

    from tests.certkit import VECTORS

    path = VECTORS / "reference" / "covid19_vaccine_products.csv"
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows, "reference table missing"
    cat = catalogue()
    for row in rows:
        product = cat.product(row["product_key"])
        assert product.codes["cvx"] == row["cvx"]
        assert product.codes["eu_dcc_mp"] == row["eu_dcc_mp"]
        assert product.schedule.doses == int(row["primary_doses"])
        if product.schedule.doses > 1:
            assert product.schedule.intervals[0].min_days == int(row["dose2_min_days"])
