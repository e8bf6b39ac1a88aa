"""The FHIR export of vital signs, weight, allergies and AEFI, and of the tests beyond COVID-19.

The document is built from a history in memory (the CLI's export of it is tested in test_fhir.py)
and validated by fhir.resources: every resource's structure, cardinality and types.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from haven.core.catalogue import catalogue
from haven.core.entries import parse_visit
from haven.core.history import build_history
from haven.core.records import OpenedRecord
from haven.export import fhir
from tests.helpers_clock import NOW, TODAY

VISITS: list[Any] = [
    [
        {"type": "vaccination", "product": "penta", "dose": 1, "date": "2026-11-02"},
        {"type": "weight", "date": "2026-11-02", "weight_kg": 4.35, "height_cm": 55.5, "muac_mm": 118},
        {"type": "test", "test": "malaria-rdt", "result": "malaria-pf", "date": "2026-11-02"},
        {"type": "test", "test": "hiv-rdt", "result": "non-reactive", "date": "2026-11-02"},
    ],
    [
        {
            "type": "vitals",
            "date": "2026-11-03",
            "temperature_c": 38.6,
            "pulse_per_min": 150,
            "respiratory_rate_per_min": 44,
            "systolic_mmhg": 90,
            "diastolic_mmhg": 55,
            "spo2_percent": 97,
            "note": "after a walk",
        },
        {
            "type": "aefi",
            "date": "2026-11-03",
            "product": "penta",
            "dose": 1,
            "vaccination_date": "2026-11-02",
            "category": "product-related",
            "serious": False,
            "reactions": ["fever"],
            "outcome": "recovering",
        },
        {
            "type": "aefi",
            "date": "2026-11-03",
            "product": "bcg",
            "dose": 1,
            "vaccination_date": "2026-10-01",
            "category": "immunization-error",
            "serious": True,
            "reactions": ["injection-site-reaction", "fever"],
        },
        {
            "type": "allergy",
            "date": "2026-11-03",
            "substance": "penicillin",
            "reactions": ["anaphylaxis"],
            "severity": "severe",
        },
        {"type": "allergy", "date": "2026-11-03", "substance_text": "chlorhexidine"},
    ],
]


def _bundle() -> dict[str, Any]:
    opened = [OpenedRecord(i, bytes([i]) * 16, TODAY, parse_visit(doc, TODAY)) for i, doc in enumerate(VISITS)]
    counter = itertools.count()
    return fhir.ips_bundle(
        build_history(opened, TODAY), NOW, lambda: f"urn:uuid:00000000-0000-4000-8000-{next(counter):012d}"
    )


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _codes(resource: dict[str, Any]) -> list[str]:
    return [c["code"] for c in resource["code"]["coding"]]


def test_the_document_with_every_new_resource_validates() -> None:
    bundle = _bundle()
    Bundle.model_validate(bundle)
    urls = {e["fullUrl"] for e in bundle["entry"]}
    text = str(bundle)
    references = [part.split("'")[0] for part in text.split("'reference': '")[1:]]
    assert references and set(references) <= urls  # self-contained
    sections = {s["code"]["coding"][0]["code"] for s in bundle["entry"][0]["resource"]["section"]}
    assert "8716-3" in sections  # vital signs


def test_vital_signs_and_weight_are_observations_with_the_vital_signs_codes() -> None:
    observations = _resources(_bundle(), "Observation")
    by_code = {_codes(o)[0]: o for o in observations}
    expected = {
        "8310-5": (38.6, "Cel"),
        "8867-4": (150, "/min"),
        "9279-1": (44, "/min"),
        "2708-6": (97, "%"),
        "29463-7": (4.35, "kg"),
        "8302-2": (55.5, "cm"),
        "56072-2": (118, "mm"),
    }
    for code, (value, unit) in expected.items():
        quantity = by_code[code]["valueQuantity"]
        assert (quantity["value"], quantity["code"], quantity["system"]) == (value, unit, fhir.UCUM), code
    assert _codes(by_code["2708-6"]) == ["2708-6", "59408-5"]
    vital = {
        code
        for code, o in by_code.items()
        if o.get("category", [{}])[0].get("coding", [{}])[0].get("code") == "vital-signs"
    }
    assert vital == {"8310-5", "8867-4", "9279-1", "2708-6", "29463-7", "8302-2", "85354-9"}  # MUAC is not one
    panel = by_code["85354-9"]
    assert [(c["code"]["coding"][0]["code"], c["valueQuantity"]["value"]) for c in panel["component"]] == [
        ("8480-6", 90),
        ("8462-4", 55),
    ]


def test_tests_beyond_covid_are_laboratory_observations_with_their_loinc_and_result() -> None:
    by_code = {_codes(o)[0]: o for o in _resources(_bundle(), "Observation")}
    malaria, hiv = by_code["70569-9"], by_code["80387-4"]
    assert malaria["valueCodeableConcept"] == {"text": "P. falciparum (alone or mixed)"}  # no SNOMED code: text
    assert hiv["valueCodeableConcept"]["coding"][0] == {
        "system": fhir.SNOMED,
        "code": "131194007",
        "display": "Non-reactive",
    }
    assert malaria["category"][0]["coding"][0]["code"] == "laboratory"


def test_allergies_are_allergy_intolerances() -> None:
    coded, words = _resources(_bundle(), "AllergyIntolerance")
    assert coded["code"]["coding"][0]["code"] == "764146007"  # penicillin
    assert coded["reaction"] == [
        {
            "manifestation": [
                {
                    "coding": [{"system": fhir.SNOMED, "code": "39579001", "display": "anaphylaxis"}],
                    "text": "anaphylaxis",
                }
            ],
            "severity": "severe",
        }
    ]
    assert words["code"] == {"text": "chlorhexidine"} and "reaction" not in words


def test_an_aefi_is_an_adverse_event_whose_suspect_is_the_dose() -> None:
    bundle = _bundle()
    urls = {id(e["resource"]): e["fullUrl"] for e in bundle["entry"]}
    immunizations = _resources(bundle, "Immunization")
    penta, bcg = _resources(bundle, "AdverseEvent")
    (given,) = [i for i in immunizations if i["vaccineCode"]["coding"][0]["code"] == "102"]
    assert penta["suspectEntity"][0]["instance"]["reference"] == urls[id(given)]
    assert penta["seriousness"]["coding"][0]["code"] == "non-serious"
    assert penta["outcome"]["coding"][0]["code"] == "recovering"
    assert penta["event"]["coding"][0]["code"] == "386661006"  # fever
    assert "WHO AEFI category: product related" in penta["suspectEntity"][0]["causality"][0]["assessment"]["text"]
    # The BCG dose was not recorded here: the event names an Immunization of its own, not given here.
    (elsewhere,) = [i for i in immunizations if i["vaccineCode"]["coding"][0]["code"] == "19"]
    assert bcg["suspectEntity"][0]["instance"]["reference"] == urls[id(elsewhere)]
    assert elsewhere["primarySource"] is False and elsewhere["occurrenceDateTime"] == "2026-10-01"
    assert bcg["seriousness"]["coding"][0]["code"] == "serious"
    assert bcg["category"][0]["coding"][0]["code"] == "product-use-error"
    assert bcg["event"] == {"text": "injection site reaction, fever"}
    allergies = next(
        s for s in bundle["entry"][0]["resource"]["section"] if s["code"]["coding"][0]["code"] == "48765-2"
    )
    assert len(allergies["entry"]) == 4  # two allergies and two adverse events


def test_every_new_code_is_one_the_catalogue_or_the_export_names() -> None:
    bundle = _bundle()
    cat = catalogue()
    known = {t.codes["loinc"] for t in cat.tests.values()} | {r.codes.get("snomed") for r in cat.results.values()}
    known |= {c for codes, *_ in fhir.MEASUREMENTS.values() for c in codes}
    known |= {fhir.BLOOD_PRESSURE[0], fhir.SYSTOLIC[0], fhir.DIASTOLIC[0]}
    from haven.core.entries import ALLERGENS, REACTIONS

    known |= set(ALLERGENS.values()) | {c for c in REACTIONS.values() if c}
    observations = [*_resources(bundle, "Observation"), *_resources(bundle, "AllergyIntolerance")]
    for resource in observations:
        for coding in resource["code"].get("coding", []):
            assert coding["code"] in known, coding


def test_dates_are_days_and_no_free_text_note_is_exported() -> None:
    bundle = _bundle()
    text = str(bundle)
    assert "T" not in "".join(str(r.get("date", "")) for r in _resources(bundle, "AdverseEvent"))
    assert "after a walk" in str(VISITS) and "after a walk" not in text
    assert dt.date(2026, 11, 3).isoformat() in text


def test_the_ddcc_export_takes_covid_tests_only() -> None:
    from haven.export.ddcc import ddcc_bundle

    opened = [OpenedRecord(i, bytes([i]) * 16, TODAY, parse_visit(doc, TODAY)) for i, doc in enumerate(VISITS)]
    counter = itertools.count()
    bundle = ddcc_bundle(build_history(opened, TODAY), NOW, lambda: f"urn:uuid:{next(counter)}")
    assert bundle["entry"] == []  # a malaria and an HIV test, and no COVID-19 entry: nothing for the guide
