"""``haven export fhir --profile ddcc``: WHO DDCC:VS and DDCC:TR documents, checked against the guide's rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from haven.export import ddcc, fhir
from tests.export.test_fhir import add_holder

VECTOR = Path(__file__).resolve().parents[1] / "vectors" / "ddcc" / "Bundle-ExampleEnglish.json"
VISITS = [
    {
        "holder": {"birth_year": 1990, "sex": "male"},
        "entries": [
            {"type": "vaccination", "product": "spikevax", "dose": 1, "date": "2026-09-01", "lot": "MD0042"},
            {"type": "vaccination", "product": "td", "dose": 1, "date": "2026-09-01"},
            {"type": "test", "test": "pcr", "result": "positive", "date": "2026-09-01", "note": "Room 4, Amal"},
        ],
    },
    [
        {"type": "vaccination", "product": "spikevax", "dose": 2, "date": "2026-10-01"},
        {"type": "test", "test": "antigen", "result": "invalid", "date": "2026-10-01"},
    ],
]
MASKED = {"extension": [{"url": fhir.DATA_ABSENT, "valueCode": "masked"}]}
NOT_ASKED = {"extension": [{"url": fhir.DATA_ABSENT, "valueCode": "not-asked"}]}


@pytest.fixture
def holder(run_cli) -> tuple[Any, str]:  # type: ignore[no-untyped-def]
    return run_cli, add_holder(run_cli, VISITS)


def _export(run, qr: str, out: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    result = run("export", "fhir", "--card", "-", "--profile", "ddcc", "--out", str(out), "--json", stdin=f"{qr}\n")
    assert result.code == 0, result.err
    assert result.json() == {"out": str(out), "resources": 20, "documents": 4, "visits": 2}
    return json.loads(out.read_text("utf-8"))  # type: ignore[no-any-return]


def for_the_library(node: Any) -> Any:
    """``node`` as fhir.resources 8.3 can read it.

    FHIR's JSON gives every primitive, a choice one included, its extensions under ``_name``: the
    country of vaccination is ``{"url": ..., "_valueCode": {"extension": [data-absent-reason]}}``,
    which the guide's ``valueCode 1..1`` needs. The library models no ``_value[x]`` on Extension, so
    for it the same extension moves one level up (``{"url": ..., "extension": [...]}``, also valid
    R4); everything else is validated as written.
    """
    if isinstance(node, dict):
        if "url" in node and "_valueCode" in node:
            return {"url": node["url"], "extension": node["_valueCode"]["extension"]}
        return {key: for_the_library(value) for key, value in node.items()}
    if isinstance(node, list):
        return [for_the_library(value) for value in node]
    return node


def _resolve(document: dict[str, Any], reference: str) -> dict[str, Any]:
    """The entry a reference points to: a full URL, or ``Type/id`` at the end of one (as the guide's examples)."""
    found = [
        e["resource"]
        for e in document["entry"]
        if e["fullUrl"] in (reference,) or e["fullUrl"].endswith("/" + reference)
    ]
    assert len(found) == 1, reference
    return found[0]


def _has(node: dict[str, Any], name: str) -> bool:
    """A primitive element is there with a value, or with only an extension (``_name``: why it is absent)."""
    return name in node or f"_{name}" in node


def check_ddcc_document(document: dict[str, Any]) -> str:
    """The DDCC guide's rules (version 1.0.0 profiles' differentials) for one document; its kind, vs or tr.

    fhir.resources checks FHIR R4's own structure; these are the guide's further constraints.
    """
    assert document["resourceType"] == "Bundle" and document["type"] == "document"
    (profile,) = document["meta"]["profile"]
    kind = {ddcc.PROFILE + "DDCCVSDocument": "vs", ddcc.PROFILE + "DDCCTRDocument": "tr"}[profile]
    _, composition_profile, category, section_code, event_profile = ddcc.KINDS[kind]
    composition = document["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert composition["meta"]["profile"] == [ddcc.PROFILE + composition_profile]
    # DDCCComposition: identifier 1.. with system and value; type 82593-5; subject a DDCCPatient; the title;
    # exactly one attester, official, whose party is a DDCCOrganization.
    assert composition["identifier"]["system"] and composition["identifier"]["value"]
    assert {"system": fhir.LOINC, "code": "82593-5"}.items() <= composition["type"]["coding"][0].items()
    assert composition["title"] == ddcc.TITLE
    (attester,) = composition["attester"]
    assert attester["mode"] == "official"
    assert _resolve(document, attester["party"]["reference"])["resourceType"] == "Organization"
    if "category" in composition:  # a pattern: when present, it says which kind of DDCC this is
        assert {"system": ddcc.CATEGORY, "code": category} in [
            c for cc in composition["category"] for c in cc["coding"]
        ]
    patient = _resolve(document, composition["subject"]["reference"])
    assert patient["resourceType"] == "Patient"
    # DDCCPatient: the ddccName slice, at least one name with use "official" and a text.
    assert any(n.get("use") == "official" and _has(n, "text") for n in patient["name"])
    # DDCC:VS / DDCC:TR Composition: one section, its code fixed, its focus the event.
    (section,) = composition["section"]
    assert section["code"]["coding"][0]["code"] == section_code
    event = _resolve(document, section["focus"]["reference"])
    assert event["meta"]["profile"] == [ddcc.PROFILE + event_profile]
    if kind == "vs":
        _check_immunization(document, event)
    else:
        _check_observation(event)
    return kind


def _check_immunization(document: dict[str, Any], immunization: dict[str, Any]) -> None:
    extensions = {e["url"].rsplit("/", 1)[1]: e for e in immunization["extension"]}
    assert len(immunization["extension"]) >= 2
    assert set(extensions["DDCCEventBrand"]["valueCoding"]) >= {"system", "code"}  # vaccineBrand 1..1
    assert _has(extensions["DDCCCountryOfEvent"], "valueCode")  # country 1..1
    (coding,) = immunization["vaccineCode"]["coding"]  # 1..1, with system and code
    assert coding["system"] and coding["code"]
    assert immunization["occurrenceDateTime"]
    assert _has(immunization["location"], "display")  # the administering centre, 1..1
    assert immunization["protocolApplied"]
    for protocol in immunization["protocolApplied"]:  # the protocolAppliedAuthority slice, 1..
        assert _resolve(document, protocol["authority"]["reference"])["resourceType"] == "Organization"
        assert protocol["doseNumberPositiveInt"] >= 1
        assert [c["code"] for d in protocol["targetDisease"] for c in d["coding"]] == ["RA01"]


def _check_observation(observation: dict[str, Any]) -> None:
    categories = [c for cc in observation["category"] for c in cc["coding"]]
    assert any(c["code"] == "laboratory" for c in categories)
    assert observation["code"] and observation["subject"]["reference"] and observation["effectiveDateTime"]
    assert "valueCodeableConcept" in observation  # value[x] 1..1, a CodeableConcept


def test_the_checks_accept_the_guides_own_example() -> None:
    example = json.loads(VECTOR.read_text("utf-8"))
    Bundle.model_validate(example)
    assert check_ddcc_document(example) == "vs"


def test_one_ddcc_document_per_covid_event_each_valid_and_following_the_guide(holder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    collection = _export(*holder, tmp_path / "ddcc.json")
    Bundle.model_validate(for_the_library(collection))
    assert collection["type"] == "collection"
    documents = [e["resource"] for e in collection["entry"]]
    assert [check_ddcc_document(d) for d in documents] == ["vs", "tr", "vs", "tr"]  # Td is not in the guide
    vs1, tr1, vs2, tr2 = (d["entry"][4]["resource"] for d in documents)
    assert {e["url"].rsplit("/", 1)[1]: e.get("valueCoding", {}).get("code") for e in vs1["extension"]} == {
        "DDCCEventBrand": "XM3DT5",  # the brand: Spikevax in ICD-11
        "DDCCCountryOfEvent": None,
    }
    assert vs1["vaccineCode"]["coding"] == [{"system": ddcc.ICD11, "code": "XM0GQ8"}]  # the type: an RNA vaccine
    assert (vs1["lotNumber"], vs1["occurrenceDateTime"], vs1["protocolApplied"][0]["doseNumberPositiveInt"]) == (
        "MD0042",
        "2026-09-01",
        1,
    )
    assert "lotNumber" not in vs2 and vs2["protocolApplied"][0]["doseNumberPositiveInt"] == 2
    assert (
        tr1["code"]["coding"][0]["code"] == "94500-6"
        and tr1["valueCodeableConcept"]["coding"][0]["code"] == "260373001"
    )
    assert tr2["valueCodeableConcept"] == {"text": "Invalid (no result)"}  # no code for an invalid test
    for document in documents:
        urls = [e["fullUrl"] for e in document["entry"]]
        references = [p.split('"')[0] for p in json.dumps(document).split('"reference": "')[1:]]
        assert len(set(urls)) == len(urls) and set(references) <= set(urls)  # each document stands alone


def test_the_patient_is_nameless_and_what_would_place_the_holder_is_masked(holder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run, qr = holder
    collection = _export(run, qr, tmp_path / "ddcc.json")
    for entry in collection["entry"]:
        resources = {e["resource"]["resourceType"]: e["resource"] for e in entry["resource"]["entry"]}
        patient = resources["Patient"]
        assert patient["name"] == [{"use": "official", "_text": NOT_ASKED}] and patient["_birthDate"] == NOT_ASKED
        assert "identifier" not in patient and "birthDate" not in patient and patient["gender"] == "male"
        assert resources["Organization"] == {
            "resourceType": "Organization",
            "meta": {"profile": [ddcc.PROFILE + "DDCCOrganization"]},
            "_name": MASKED,
        }
        if "Immunization" in resources:
            immunization = resources["Immunization"]
            assert immunization["location"] == {"_display": MASKED}
            country = next(e for e in immunization["extension"] if e["url"].endswith("DDCCCountryOfEvent"))
            assert country == {"url": ddcc.PROFILE + "DDCCCountryOfEvent", "_valueCode": MASKED}
    text = json.dumps(collection)
    assert "1990" not in text and qr not in text and "Room 4" not in text and "Amal" not in text
    history = run("history", "--card", "-", "--json", stdin=f"{qr}\n").json()
    assert not any(v["record"] in text for v in history["visits"])


def test_a_history_without_covid_entries_writes_no_ddcc_file(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    qr = add_holder(run_cli, [{"entries": [{"type": "vaccination", "product": "td", "dose": 1, "date": "2026-09-01"}]}])
    out = tmp_path / "ddcc.json"
    result = run_cli("export", "fhir", "--card", "-", "--profile", "ddcc", "--out", str(out), stdin=f"{qr}\n")
    assert result.code == 2 and "no COVID-19 vaccination or test" in result.err
    assert not out.exists()
    assert "history.export" not in [e["action"] for e in run_cli("audit", "show", "--json").json()["entries"]]
