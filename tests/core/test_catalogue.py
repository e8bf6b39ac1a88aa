"""The shipped catalogue: every product, test and result complete, coded and named in three languages."""

from __future__ import annotations

import datetime as dt

import pytest

from haven.core.catalogue import catalogue
from haven.core.entries import HolderFacts, Vaccination
from haven.core.schedule import next_due
from haven.web.i18n import translations
from haven.web.vocab import product_name, word

D = dt.date
ROUTINE = ("bcg", "penta", "pcv", "rotarix", "rota3", "hpv", "influenza", "rabies", "tcv", "yf")
LANGUAGES = {"en": "en", "ko": "ko", "zh": "zh_Hans"}


def test_every_product_has_codes_a_schedule_and_three_names() -> None:
    cat = catalogue()
    for product in cat.products.values():
        assert product.codes.get("cvx") and product.codes.get("atc"), product.key
        assert set(product.names) == set(LANGUAGES) and all(product.names.values()), product.key
        assert all(d in cat.diseases and cat.diseases[d]["snomed"] for d in product.diseases), product.key
        schedule = product.schedule
        assert 1 <= schedule.doses <= 5 and len(schedule.intervals) == schedule.doses - 1, product.key
        for interval in schedule.intervals:
            low, high = interval.recommended_days
            assert 0 < interval.min_days <= low <= high, product.key
            assert interval.max_days is None or interval.max_days >= high, product.key
        if schedule.booster is not None:
            assert 0 < schedule.booster.min_days <= schedule.booster.recommended_days[1], product.key
        if schedule.age_window is not None:
            window = schedule.age_window
            assert window.min_days >= 0 and (window.max_days is None or window.max_days > window.min_days)
        assert schedule.confidence in ("high", "medium", "low") and schedule.notes, product.key


def test_ids_are_unique_and_never_reused() -> None:
    cat = catalogue()
    for table in ([p.id for p in cat.products.values()], [t.id for t in cat.tests.values()]):
        assert len(table) == len(set(table)) and table == sorted(table)
    results = [r.id for r in cat.results.values()]
    assert len(results) == len(set(results))
    # The ids shipped before the routine vaccines keep their meaning (counters and certificates hold them).
    assert [cat.products[k].id for k in ("comirnaty", "ocv", "bcg", "yf")] == [1, 16, 17, 26]
    assert (cat.tests["antigen"].id, cat.tests["pcr"].id, cat.results["invalid"].id) == (1, 2, 3)


def test_the_routine_vaccines_are_there_with_the_who_facts() -> None:
    cat = catalogue()
    assert set(ROUTINE) <= set(cat.products)
    live = {key for key in ROUTINE if cat.products[key].live}
    assert live == {"bcg", "rotarix", "rota3", "yf"}
    assert cat.products["penta"].diseases == ("diphtheria", "tetanus", "pertussis", "hepatitis-b", "hib")
    assert cat.products["penta"].schedule.age_window is not None
    assert cat.products["penta"].schedule.age_window.min_days == 42  # from 6 weeks
    assert cat.products["rotarix"].schedule.age_window is not None
    assert cat.products["rotarix"].schedule.age_window.max_days == 730  # not after 24 months
    assert cat.products["yf"].schedule.doses == 1 and cat.products["yf"].schedule.booster is None  # lifelong


def test_each_name_is_the_one_the_web_app_shows() -> None:
    """The catalogue's names and the web's message catalogs say the same thing in each language."""
    cat = catalogue()
    named = [(p.names, product_name(p.key)) for p in cat.products.values()]
    named += [(t.names, word(t.key)) for t in (*cat.tests.values(), *cat.results.values())]
    for names, msgid in named:
        for lang, locale in LANGUAGES.items():
            assert names[lang] == translations(locale).gettext(msgid), (msgid, lang)
    # Generic vaccines, tests and results are translated (brand names stay as they are).
    for key in (*ROUTINE, "mr", "td"):
        assert cat.products[key].names["ko"] != cat.products[key].names["en"], key
    for coded in (*cat.tests.values(), *cat.results.values()):
        assert coded.names["zh"] != coded.names["en"] or coded.key == "pcr", coded.key


def test_every_test_names_its_disease_its_loinc_code_and_its_results() -> None:
    cat = catalogue()
    assert {t.disease for t in cat.tests.values()} == {
        "covid-19",
        "hiv",
        "syphilis",
        "hepatitis-b",
        "malaria",
        "tuberculosis",
    }
    for test in cat.tests.values():
        assert test.disease in cat.diseases and test.codes["loinc"], test.key
        assert test.results and set(test.results) <= set(cat.results), test.key
    assert cat.tests["malaria-rdt"].results == ("malaria-pf", "malaria-non-pf", "negative", "invalid")
    assert "mtb-rif-detected" in cat.tests["tb-xpert"].results
    every_result = {r for t in cat.tests.values() for r in t.results}
    assert every_result == set(cat.results)  # no result that no test gives


# One case per routine product: (product, dose given, next dose, days to its earliest day, kind).
NEXT = [
    ("penta", 1, 2, 28, "primary"),
    ("penta", 3, 4, 180, "booster"),
    ("pcv", 2, 3, 28, "primary"),
    ("rotarix", 1, 2, 28, "primary"),
    ("rota3", 2, 3, 28, "primary"),
    ("hpv", 1, 2, 180, "primary"),
    ("influenza", 1, 2, 300, "booster"),
    ("rabies", 1, 2, 3, "primary"),
    ("rabies", 2, 3, 4, "primary"),
    ("rabies", 3, 4, 7, "primary"),
]


@pytest.mark.parametrize(("product", "dose", "next_dose", "days", "kind"), NEXT)
def test_next_due_follows_each_routine_schedule(product: str, dose: int, next_dose: int, days: int, kind: str) -> None:
    given = D(2026, 1, 5)
    (due,) = next_due([Vaccination(product, dose, given)], today=given)
    assert (due.product, due.dose, due.kind, due.status) == (product, next_dose, kind, "not-yet")
    assert due.earliest == given + dt.timedelta(days=days)
    assert due.recommended_from <= due.recommended_by


@pytest.mark.parametrize("product", ["bcg", "tcv", "yf", "rotarix", "rabies"])
def test_a_completed_series_without_booster_has_nothing_due(product: str) -> None:
    doses = catalogue().products[product].schedule.doses
    assert next_due([Vaccination(product, doses, D(2026, 1, 5))], today=D(2026, 6, 1)) == []


def test_next_due_accepts_every_product() -> None:
    for product in catalogue().products.values():
        for dose in range(1, product.schedule.doses + 1):
            due = next_due([Vaccination(product.key, dose, D(2026, 1, 5))], today=D(2026, 3, 1))
            assert all(d.earliest >= D(2026, 1, 5) for d in due), product.key


def test_live_routine_vaccines_are_flagged_in_pregnancy() -> None:
    (due,) = next_due([Vaccination("rota3", 1, D(2026, 1, 5))], D(2026, 2, 1), HolderFacts(pregnant=True))
    assert due.caution is not None
    (due,) = next_due([Vaccination("penta", 1, D(2026, 1, 5))], D(2026, 2, 1), HolderFacts(pregnant=True))
    assert due.caution is None
