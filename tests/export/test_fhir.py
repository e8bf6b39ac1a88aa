"""``haven export fhir``: a holder's history as a FHIR R4 IPS document, validated by fhir.resources (R4B models)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from haven.core.catalogue import catalogue
from haven.export import fhir
from tests import disks
from tests.conftest import ADMIN_PASSPHRASE

VISITS = [
    {
        "holder": {"birth_year": 1990, "sex": "female"},
        "entries": [
            {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01", "lot": "FK8891"},
            {"type": "vaccination", "product": "td", "dose": 2, "date": "2026-10-01"},
            {"type": "test", "test": "antigen", "result": "negative", "date": "2026-10-01", "note": "Room 4, Amal"},
        ],
    },
    [
        {"type": "test", "test": "pcr", "result": "invalid", "date": "2026-10-20"},
        {
            "type": "treatment",
            "date": "2026-10-21",
            "symptoms": ["fever", "cough"],
            "severity": "mild",
            "medicines": ["paracetamol 500 mg"],
            "referral": "Camp B clinic",
            "note": "Lives in tent 12",
        },
        {"type": "note", "date": "2026-10-21", "text": "Sister is Noor"},
    ],
]
FREE_TEXT = ("Room 4", "Amal", "Camp B", "tent 12", "Noor")


def add_holder(run, visits: list[Any]) -> str:  # type: ignore[no-untyped-def]
    """A new site (``run``'s) with one holder who made ``visits``; their card's code."""
    assert run("init", "--admin", "Ana").code == 0
    qr: str = run("card", "new", "--json", "--no-show-qr").json()["qr"]
    for i, visit in enumerate(visits):
        first = ["--first-visit"] if i == 0 else []
        added = run("visit", "add", "--card", "-", *first, "--entries", "-", stdin=f"{qr}\n{json.dumps(visit)}")
        assert added.code == 0, added.err
    return qr


@pytest.fixture
def holder(run_cli) -> tuple[Any, str]:  # type: ignore[no-untyped-def]
    """A site whose one holder has two visits: vaccinations, tests, a treatment and a note."""
    return run_cli, add_holder(run_cli, VISITS)


def _export(run, qr: str, out: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    result = run("export", "fhir", "--card", "-", "--out", str(out), "--json", stdin=f"{qr}\n")
    assert result.code == 0, result.err
    assert result.json() == {"out": str(out), "resources": 9, "visits": 2}
    return json.loads(out.read_text("utf-8"))  # type: ignore[no-any-return]


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _codings(node: Any) -> list[dict[str, str]]:
    if isinstance(node, dict):
        found = [node] if "system" in node and "code" in node else []
        return found + [c for value in node.values() for c in _codings(value)]
    if isinstance(node, list):
        return [c for value in node for c in _codings(value)]
    return []


def test_the_export_is_an_ips_document_the_fhir_library_validates(holder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bundle = _export(*holder, tmp_path / "ips.json")
    parsed = Bundle.model_validate(bundle)  # structure, cardinality and types of every resource
    assert parsed.type == "document"
    composition = bundle["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition" and composition["type"]["coding"][0]["code"] == "60591-5"
    # Every reference in the document resolves to an entry of the Bundle (a document is self-contained).
    urls = {e["fullUrl"] for e in bundle["entry"]}
    assert len(urls) == len(bundle["entry"])
    text = json.dumps(bundle)
    references = [part.split('"')[0] for part in text.split('"reference": "')[1:]]
    assert references and set(references) <= urls
    sections = {s["code"]["coding"][0]["code"]: s for s in composition["section"]}
    assert set(sections) == {"11450-4", "48765-2", "10160-0", "11369-6", "30954-2"}
    assert sections["48765-2"]["emptyReason"]["coding"][0]["code"] == "unavailable"  # required, nothing known

    immunizations = _resources(bundle, "Immunization")
    assert [(i["occurrenceDateTime"], i["protocolApplied"][0]["doseNumberPositiveInt"]) for i in immunizations] == [
        ("2026-10-01", 1),
        ("2026-10-01", 2),
    ]
    assert immunizations[0]["lotNumber"] == "FK8891" and "lotNumber" not in immunizations[1]
    assert {c["system"]: c["code"] for c in immunizations[0]["vaccineCode"]["coding"]} == {
        fhir.CVX: "208",
        fhir.ICD11: "XM8NQ0",
        fhir.ATC: "J07BN01",
        fhir.SNOMED: "1119349007",
    }
    observations = _resources(bundle, "Observation")
    assert [(o["code"]["coding"][0]["code"], o["effectiveDateTime"]) for o in observations] == [
        ("94558-4", "2026-10-01"),
        ("94500-6", "2026-10-20"),
    ]
    assert observations[0]["valueCodeableConcept"]["coding"][0]["code"] == "260415000"
    (condition,) = _resources(bundle, "Condition")
    assert condition["code"]["text"] == "Symptoms: fever, cough" and condition["severity"]["text"] == "mild"
    (medication,) = _resources(bundle, "MedicationStatement")
    assert medication["medicationCodeableConcept"]["text"] == "paracetamol 500 mg"


def test_the_patient_is_nameless_with_a_data_absent_reason_and_nothing_identifies_anyone(  # type: ignore[no-untyped-def]
    holder, tmp_path: Path
) -> None:
    run, qr = holder
    bundle = _export(run, qr, tmp_path / "ips.json")
    (patient,) = _resources(bundle, "Patient")
    # The IPS requires Patient.name and Patient.birthDate: each is there only as the reason it is absent.
    absent = {"extension": [{"url": fhir.DATA_ABSENT, "valueCode": "not-asked"}]}
    assert patient == {"resourceType": "Patient", "name": [absent], "_birthDate": absent, "gender": "female"}
    assert "identifier" not in patient and "birthDate" not in patient
    text = json.dumps(bundle)
    assert "1990" not in text  # the recorded birth year stays in the sealed record
    card_words = run("card", "qr", "--card", "-", "--json", stdin=f"{qr}\n").json()["words"]
    # Single card words are common English words ("final", "summary"): look for any two in a row.
    pairs = [" ".join(card_words[i : i + 2]) for i in range(len(card_words) - 1)]
    assert qr not in text and not any(pair in text for pair in pairs)
    history = run("history", "--card", "-", "--json", stdin=f"{qr}\n").json()
    assert not any(v["record"] in text for v in history["visits"])  # no record tag links it to the site
    assert not any(words in text for words in FREE_TEXT)  # notes and referrals are left out
    assert not any(key in bundle["entry"][i]["resource"] for i in range(len(bundle["entry"])) for key in ("id",))


def test_every_clinical_code_comes_from_the_catalogue(holder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bundle = _export(*holder, tmp_path / "ips.json")
    cat = catalogue()
    known = {(fhir.SNOMED, d["snomed"]) for d in cat.diseases.values()}
    systems = dict(fhir.PRODUCT_SYSTEMS)
    for product in cat.products.values():
        known |= {(systems[k], v) for k, v in product.codes.items() if k in systems}
    known |= {(fhir.LOINC, t.codes["loinc"]) for t in cat.tests.values()}
    known |= {(fhir.SNOMED, r.codes["snomed"]) for r in cat.results.values() if "snomed" in r.codes}
    # The document's own structure: its type, its sections, and FHIR's category and empty-reason codes.
    structure = {fhir.DOCUMENT_TYPE[:2]} | {(s, c) for s, c, _, _ in fhir.SECTIONS.values()}
    structure |= {
        ("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory"),
        (fhir.EMPTY_REASON, "unavailable"),
    }
    codings = {(c["system"], c["code"]) for c in _codings(bundle)}
    assert codings - structure and codings - structure <= known
    assert codings <= known | structure


def _listing(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mode for p in folder.rglob("*")}


def test_nothing_is_written_but_the_named_file(holder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    run, qr = holder
    work, out_dir = tmp_path / "cwd", tmp_path / "out"
    work.mkdir()
    out_dir.mkdir()
    monkeypatch.chdir(work)
    site_before = _listing(tmp_path / "site")
    _export(run, qr, out_dir / "ips.json")
    assert _listing(tmp_path / "site") == site_before  # the audit entry goes into site.db; no file appears
    assert _listing(work) == {}
    assert list(os.listdir(out_dir)) == ["ips.json"]
    assert (out_dir / "ips.json").stat().st_mode & 0o777 == 0o600


def test_the_audit_entry_says_only_that_an_export_happened(holder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run, qr = holder
    _export(run, qr, tmp_path / "ips.json")
    entries = run("audit", "show", "--json").json()["entries"]
    assert [(e["staff"], e["action"], e["count"]) for e in entries][-1] == ("Ana", "history.export", 1)
    text = json.dumps(entries[-1])
    assert qr not in text and "ips.json" not in text and "comirnaty" not in text


def test_a_card_with_no_records_is_refused_and_writes_nothing(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("init", "--admin", "Ana").code == 0
    qr = run_cli("card", "new", "--json", "--no-show-qr").json()["qr"]
    result = run_cli("export", "fhir", "--card", "-", "--out", str(tmp_path / "ips.json"), stdin=f"{qr}\n")
    assert (result.code, result.err.strip()) == (5, "haven: No records for this card.")
    assert not (tmp_path / "ips.json").exists()
    assert [e["action"] for e in run_cli("audit", "show", "--json").json()["entries"]][-1] != "history.export"


def test_an_output_in_a_missing_folder_is_one_line(holder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run, qr = holder
    out = tmp_path / "nowhere" / "ips.json"
    result = run("export", "fhir", "--card", "-", "--out", str(out), stdin=f"{qr}\n")
    assert result.code == 2
    assert result.err.strip().count("\n") == 0 and "does not exist" in result.err
    assert not out.parent.exists()


def test_a_registrar_cannot_export_a_history(holder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    run, qr = holder
    monkeypatch.setenv("HAVEN_PASSPHRASE", ADMIN_PASSPHRASE)
    assert run("staff", "add", "Bo", "--role", "registrar", "--generate-passphrase", "--json").code == 0
    monkeypatch.setenv(
        "HAVEN_PASSPHRASE", run("staff", "passwd", "Bo", "--generate-passphrase", "--json").json()["passphrase"]
    )
    result = run("export", "fhir", "--card", "-", "--out", str(tmp_path / "ips.json"), stdin=f"{qr}\n")
    assert result.code == 10 and not (tmp_path / "ips.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("kind", disks.KINDS)
def test_on_a_full_disk_no_export_goes_unrecorded(tmp_path: Path, kind: str) -> None:
    """The audit entry comes first: when it cannot be stored, no file appears, wherever it was to go."""
    env = dict(os.environ, HAVEN_PASSPHRASE=ADMIN_PASSPHRASE, HAVEN_KDF_PROFILE="test")

    def haven(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "haven", *args], input=stdin, capture_output=True, text=True, env=env
        )

    with disks.small_disk(tmp_path, kind, mib=2) as disk:
        env["HAVEN_HOME"] = str(disk / "site")
        assert haven("init", "--admin", "Ana").returncode == 0
        qr = json.loads(haven("card", "new", "--json", "--no-show-qr").stdout)["qr"]
        added = haven(
            "visit", "add", "--card", "-", "--first-visit", "--entries", "-", stdin=f"{qr}\n{json.dumps(VISITS[0])}"
        )
        assert added.returncode == 0, added.stderr
        filler = disks.fill(disk, 0)
        for out in (tmp_path / "ips.json", disk / "ips.json"):  # room for the file, or none
            done = haven("export", "fhir", "--card", "-", "--out", str(out), stdin=f"{qr}\n")
            assert done.returncode == 7, done.stderr
            assert len(done.stderr.strip().splitlines()) == 1 and "disk is full" in done.stderr
            assert not out.exists() and not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]
        filler.unlink()
        assert haven("export", "fhir", "--card", "-", "--out", str(disk / "ips.json"), stdin=f"{qr}\n").returncode == 0
        entries = json.loads(haven("audit", "show", "--json").stdout)["entries"]
        assert [e["action"] for e in entries].count("history.export") == 1


def test_a_card_with_a_pin_exports_only_with_its_pin(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("init", "--admin", "Ana").code == 0
    visit = json.dumps(VISITS[1])
    made = run_cli("card", "new", "--json", "--no-show-qr", "--pin-file", "-", "--entries", "-", stdin=f"4821\n{visit}")
    assert made.code == 0, made.err
    qr, out = made.json()["qr"], tmp_path / "ips.json"
    export = ("export", "fhir", "--card", "-", "--pin-file", "-", "--out", str(out))
    assert run_cli(*export, stdin=f"{qr}\n1111\n").code == 5 and not out.exists()
    assert run_cli(*export, stdin=f"{qr}\n4821\n").code == 0
    assert len(_resources(json.loads(out.read_text("utf-8")), "Observation")) == 1
