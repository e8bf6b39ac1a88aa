"""Certificates state COVID-19 tests only: an HIV, syphilis, hepatitis B, malaria or TB result never."""

from __future__ import annotations

import datetime as dt

import pytest

from haven.cert_services import facts_from
from haven.certs.claims import DISEASES, VACCINE_TYPES, decode_facts, encode_facts
from haven.core.catalogue import catalogue
from haven.core.entries import Test, Vaccination
from haven.errors import InputError

D = dt.date
SENSITIVE = [Test(t.key, t.results[0], D(2026, 11, 3)) for t in catalogue().tests.values() if t.disease != "covid-19"]


def test_only_the_latest_covid_test_is_certified_even_when_others_are_newer() -> None:
    entries = [Test("antigen", "negative", D(2026, 11, 1)), *SENSITIVE]
    facts = facts_from(entries, "test")
    assert [(t.test, t.result, t.date) for t in facts.tests] == [("antigen", "negative", D(2026, 11, 1))]
    assert {t.disease for t in facts.tests} == {"covid-19"}


def test_a_history_with_only_other_tests_has_no_test_to_certify() -> None:
    others = SENSITIVE
    assert len(others) == 5
    with pytest.raises(InputError, match="no tests to certify"):
        facts_from(others, "test")
    facts = facts_from([*others, Vaccination("penta", 1, D(2026, 11, 3))], "all")
    assert facts.tests == () and len(facts.vaccinations) == 1


def test_every_routine_vaccination_can_be_certified_and_read_back() -> None:
    """Each product's diseases and platform are in the certificate's append-only tables."""
    for product in catalogue().products.values():
        assert set(product.diseases) <= set(DISEASES) and product.platform in VACCINE_TYPES, product.key
        facts = facts_from([Vaccination(product.key, 1, D(2026, 11, 3))], "vaccination")
        assert decode_facts(encode_facts(facts)) == facts, product.key
