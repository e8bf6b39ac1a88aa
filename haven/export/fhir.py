"""A holder's history as a FHIR R4 document: an International Patient Summary (docs/export.md).

Pure: a :class:`History` in, a JSON-ready dict out. The Patient carries no name, birth date or
identifier (each absent element says why, with FHIR's data-absent-reason extension); clinical codes
come from the catalogue only; free text (notes, referrals) is left out, since nothing can check it
for what would identify the holder. Resource ids are random ``urn:uuid`` values from the caller.
"""

from __future__ import annotations

import datetime as dt
import html
import uuid
from collections.abc import Callable
from typing import Any

from haven.core.catalogue import catalogue
from haven.core.entries import ALLERGENS, REACTIONS, Aefi, Allergy, Entry, Test, Treatment, Vaccination, Vitals, Weight
from haven.core.history import History

FHIR_VERSION = "4.0.1"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
CVX = "http://hl7.org/fhir/sid/cvx"
ATC = "http://www.whocc.no/atc"
ICD11 = "http://id.who.int/icd/release/11/mms"
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
# Haven never asks for a name, a birth date or an ID number: the workflow does not lead to them.
ABSENT_REASON = "not-asked"
DOCUMENT_TYPE = (LOINC, "60591-5", "Patient summary Document")
# The IPS sections: three are required and say "none known" (emptyReason) when Haven holds nothing.
SECTIONS = {
    "problems": (LOINC, "11450-4", "Problem list - Reported", True),
    "allergies": (LOINC, "48765-2", "Allergies and adverse reactions Document", True),
    "medications": (LOINC, "10160-0", "History of Medication use Narrative", True),
    "immunizations": (LOINC, "11369-6", "History of Immunization Narrative", False),
    "results": (LOINC, "30954-2", "Relevant diagnostic tests/laboratory data Narrative", False),
    "vitals": (LOINC, "8716-3", "Vital signs", False),
}
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM = "http://unitsofmeasure.org"
# Each measurement: its LOINC codes (the FHIR vital-signs profile's first), display, UCUM unit, and
# whether FHIR counts it a vital sign (MUAC is not in the vital-signs profiles).
MEASUREMENTS: dict[str, tuple[tuple[str, ...], str, str, bool]] = {
    "temperature_c": (("8310-5",), "Body temperature", "Cel", True),
    "pulse_per_min": (("8867-4",), "Heart rate", "/min", True),
    "respiratory_rate_per_min": (("9279-1",), "Respiratory rate", "/min", True),
    "spo2_percent": (("2708-6", "59408-5"), "Oxygen saturation in Arterial blood by Pulse oximetry", "%", True),
    "weight_kg": (("29463-7",), "Body weight", "kg", True),
    "height_cm": (("8302-2",), "Body height", "cm", True),
    "muac_mm": (("56072-2",), "Circumference Mid upper arm", "mm", False),
}
VITAL_SIGNS = {"system": OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}
BLOOD_PRESSURE = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC, DIASTOLIC = ("8480-6", "Systolic blood pressure"), ("8462-4", "Diastolic blood pressure")
SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
AE_OUTCOMES = {
    "recovered": "resolved",
    "recovering": "recovering",
    "not-recovered": "ongoing",
    "recovered-with-sequelae": "resolvedWithSequelae",
    "died": "fatal",
    "unknown": "unknown",
}
AE_CATEGORY = "http://terminology.hl7.org/CodeSystem/adverse-event-category"
# WHO AEFI categories that FHIR's adverse-event categories also name.
AE_CATEGORIES = {"quality-defect": "product-quality", "immunization-error": "product-use-error"}
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
# The catalogue's code names and the FHIR systems they belong to.
PRODUCT_SYSTEMS = (("cvx", CVX), ("icd11", ICD11), ("atc", ATC), ("eu_dcc_vp", SNOMED))

NewId = Callable[[], str]


def random_ids(random_bytes: Callable[[int], bytes]) -> NewId:
    """``urn:uuid`` ids (version 4) from ``random_bytes``: nothing in them links the file to the site."""
    return lambda: uuid.UUID(bytes=random_bytes(16), version=4).urn


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def absent(reason: str = ABSENT_REASON) -> dict[str, Any]:
    return {"extension": [{"url": DATA_ABSENT, "valueCode": reason}]}


def _narrative(lines: list[str]) -> dict[str, str]:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><ul>{items}</ul></div>'}


def patient_resource(history: History) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "name": [absent()],
        "_birthDate": absent(),
    }
    if history.holder.sex is not None:
        patient["gender"] = history.holder.sex  # Haven's values are FHIR's administrative genders
    return patient


def _immunization(entry: Vaccination, patient: str) -> tuple[dict[str, Any], str]:
    cat = catalogue()
    product = cat.product(entry.product)
    codings = [coding(system, product.codes[key]) for key, system in PRODUCT_SYSTEMS if key in product.codes]
    codings[0]["display"] = product.name
    diseases = [
        {"coding": [coding(SNOMED, cat.diseases[d]["snomed"], cat.diseases[d]["name"])]} for d in product.diseases
    ]
    resource: dict[str, Any] = {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": {"coding": codings, "text": product.name},
        "patient": {"reference": patient},
        "occurrenceDateTime": entry.date.isoformat(),
        # Given here, or copied from a verified certificate of another issuer.
        "primarySource": entry.verified_external is None,
        "protocolApplied": [{"targetDisease": diseases, "doseNumberPositiveInt": entry.dose}],
    }
    if entry.lot is not None:
        resource["lotNumber"] = entry.lot
    return resource, f"{entry.date.isoformat()}: {product.name}, dose {entry.dose}"


def observation(entry: Test, patient: str) -> tuple[dict[str, Any], str]:
    cat = catalogue()
    test, result = cat.tests[entry.test], cat.results[entry.result]
    value: dict[str, Any] = {"text": result.name}
    if "snomed" in result.codes:
        value["coding"] = [coding(SNOMED, result.codes["snomed"], result.name)]
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    coding("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory")
                ]
            }
        ],
        "code": {"coding": [coding(LOINC, test.codes["loinc"], test.name)], "text": test.name},
        "subject": {"reference": patient},
        "effectiveDateTime": entry.date.isoformat(),
        "valueCodeableConcept": value,
    }
    return resource, f"{entry.date.isoformat()}: {test.name}, {result.name}"


def _condition(entry: Treatment, patient: str) -> tuple[dict[str, Any], str] | None:
    """What was seen at a treatment or consultation: its symptoms and severity (Haven's words, no codes)."""
    if not entry.symptoms and entry.severity is None:
        return None
    seen = ", ".join(s.replace("-", " ") for s in entry.symptoms) or "not recorded"
    text = f"Symptoms: {seen}"
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "code": {"text": text},
        "subject": {"reference": patient},
        "onsetDateTime": entry.date.isoformat(),
        "recordedDate": entry.date.isoformat(),
    }
    if entry.severity is not None:
        resource["severity"] = {"text": entry.severity}
    line = f"{entry.date.isoformat()}: {text}" + (f" ({entry.severity})" if entry.severity else "")
    return resource, line


def _medications(entry: Treatment, patient: str) -> list[tuple[dict[str, Any], str]]:
    return [
        (
            {
                "resourceType": "MedicationStatement",
                "status": "completed",
                "medicationCodeableConcept": {"text": medicine},
                "subject": {"reference": patient},
                "effectiveDateTime": entry.date.isoformat(),
            },
            f"{entry.date.isoformat()}: {medicine}",
        )
        for medicine in entry.medicines
    ]


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _measurements(entry: Vitals | Weight, patient: str) -> list[tuple[dict[str, Any], str]]:
    """One Observation per measurement taken, and one blood pressure panel (FHIR's vital-signs profiles)."""
    out = []

    def observation_of(code: dict[str, Any], vital: bool, **value: Any) -> dict[str, Any]:
        resource: dict[str, Any] = {"resourceType": "Observation", "status": "final"}
        if vital:
            resource["category"] = [{"coding": [dict(VITAL_SIGNS)]}]
        return {**resource, "code": code, "subject": {"reference": patient}, "effectiveDateTime": day, **value}

    day = entry.date.isoformat()
    for name, (codes, display, unit, vital) in MEASUREMENTS.items():
        value = getattr(entry, name, None)
        if value is not None:
            code = {"coding": [coding(LOINC, c, display) for c in codes], "text": display}
            out.append(
                (observation_of(code, vital, valueQuantity=_quantity(value, unit)), f"{day}: {display} {value} {unit}")
            )
    if isinstance(entry, Vitals) and entry.systolic_mmhg is not None and entry.diastolic_mmhg is not None:
        parts = ((SYSTOLIC, entry.systolic_mmhg), (DIASTOLIC, entry.diastolic_mmhg))
        components = [
            {"code": {"coding": [coding(LOINC, *code)]}, "valueQuantity": _quantity(value, "mm[Hg]")}
            for code, value in parts
        ]
        panel = observation_of(
            {"coding": [coding(LOINC, *BLOOD_PRESSURE)], "text": "Blood pressure"}, True, component=components
        )
        out.append((panel, f"{day}: Blood pressure {entry.systolic_mmhg}/{entry.diastolic_mmhg} mm[Hg]"))
    return out


def _reaction_concepts(reactions: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for reaction in reactions:
        text = reaction.replace("-", " ")
        code = REACTIONS[reaction]
        out.append({"coding": [coding(SNOMED, code, text)], "text": text} if code else {"text": text})
    return out


def _allergy(entry: Allergy, patient: str) -> tuple[dict[str, Any], str]:
    if entry.substance is not None:
        what = entry.substance
        code: dict[str, Any] = {"coding": [coding(SNOMED, ALLERGENS[what], what)], "text": what}
    else:
        # A substance in words, up to 80 characters like a medicine's name (exported as medicines are).
        what = str(entry.substance_text)
        code = {"text": what}
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": {"coding": [coding(ALLERGY_CLINICAL, "active", "Active")]},
        "code": code,
        "patient": {"reference": patient},
        "recordedDate": entry.date.isoformat(),
    }
    if entry.reactions or entry.severity:
        reaction: dict[str, Any] = {
            "manifestation": _reaction_concepts(entry.reactions) or [{"text": "not recorded"}],
        }
        if entry.severity is not None:
            reaction["severity"] = entry.severity
        resource["reaction"] = [reaction]
    return resource, f"{entry.date.isoformat()}: allergy to {what}"


def _adverse_event(entry: Aefi, patient: str, vaccination: str) -> tuple[dict[str, Any], str]:
    """An AEFI as an AdverseEvent whose suspect is the vaccination (its Immunization in the bundle)."""
    product = catalogue().product(entry.product)
    category = entry.category or "unclassified"
    resource: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        "actuality": "actual",
        "subject": {"reference": patient},
        "date": entry.date.isoformat(),
        "seriousness": {
            "coding": [
                coding(SERIOUSNESS, "serious", "Serious")
                if entry.serious
                else coding(SERIOUSNESS, "non-serious", "Non-serious")
            ]
        },
        "suspectEntity": [
            {
                "instance": {"reference": vaccination},
                "causality": [
                    {
                        "assessment": {"text": f"WHO AEFI category: {category.replace('-', ' ')}"},
                        "method": {"text": "WHO AEFI causality assessment (2018)"},
                    }
                ],
            }
        ],
    }
    reactions = _reaction_concepts(entry.reactions)
    if reactions:
        resource["event"] = reactions[0] if len(reactions) == 1 else {"text": ", ".join(r["text"] for r in reactions)}
    if entry.category in AE_CATEGORIES:
        resource["category"] = [{"coding": [coding(AE_CATEGORY, AE_CATEGORIES[entry.category])]}]
    if entry.outcome is not None:
        resource["outcome"] = {"coding": [coding(AE_OUTCOME, AE_OUTCOMES[entry.outcome])]}
    line = f"{entry.date.isoformat()}: adverse event after {product.name}, dose {entry.dose} ({category})"
    return resource, line


def _section_entries(entry: Entry, patient: str) -> list[tuple[str, tuple[dict[str, Any], str]]]:
    if isinstance(entry, Vitals | Weight):
        return [("vitals", found) for found in _measurements(entry, patient)]
    if isinstance(entry, Allergy):
        return [("allergies", _allergy(entry, patient))]
    if isinstance(entry, Vaccination):
        return [("immunizations", _immunization(entry, patient))]
    if isinstance(entry, Test):
        return [("results", observation(entry, patient))]
    if isinstance(entry, Treatment):
        condition = _condition(entry, patient)
        found = [("problems", condition)] if condition else []
        return found + [("medications", m) for m in _medications(entry, patient)]
    return []  # a note is free text: left out


def _section(name: str, items: list[tuple[str, str]]) -> dict[str, Any]:
    system, code, title, required = SECTIONS[name]
    section: dict[str, Any] = {"title": title, "code": {"coding": [coding(system, code, title)]}}
    if items:
        section["text"] = _narrative([line for _, line in items])
        section["entry"] = [{"reference": url} for url, _ in items]
    else:
        section["text"] = _narrative(["None recorded in Haven."])
        section["emptyReason"] = {"coding": [coding(EMPTY_REASON, "unavailable", "Unavailable")]}
    return section if items or required else {}


def ips_bundle(history: History, now: dt.datetime, new_id: NewId) -> dict[str, Any]:
    """The history as an IPS document Bundle (FHIR R4), dated ``now`` (to the hour, like the audit log)."""
    hour = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    stamp = hour.isoformat().replace("+00:00", "Z")
    patient_url, device_url, composition_url = new_id(), new_id(), new_id()
    by_section: dict[str, list[tuple[str, str]]] = {name: [] for name in SECTIONS}
    resources: list[tuple[str, dict[str, Any]]] = []
    doses: dict[tuple[str, int, dt.date], str] = {}  # (product, dose, date) -> its Immunization's url
    events: list[Aefi] = []
    for visit in history.visits:
        for entry in visit.visit.entries:
            if isinstance(entry, Aefi):
                events.append(entry)
                continue
            for name, (resource, line) in _section_entries(entry, patient_url):
                url = new_id()
                resources.append((url, resource))
                by_section[name].append((url, line))
                if isinstance(entry, Vaccination):
                    doses.setdefault((entry.product, entry.dose, entry.date), url)
    for event in events:
        dose = (event.product, event.dose, event.vaccination_date)
        if dose not in doses:  # given elsewhere, or not recorded: the Immunization the event names
            doses[dose] = new_id()
            given = Vaccination(event.product, event.dose, event.vaccination_date)
            immunization = _immunization(given, patient_url)[0]
            immunization["primarySource"] = False  # known only from the event's report
            resources.append((doses[dose], immunization))
        url = new_id()
        resource, line = _adverse_event(event, patient_url, doses[dose])
        resources.append((url, resource))
        by_section["allergies"].append((url, line))
    sections = [s for s in (_section(name, by_section[name]) for name in SECTIONS) if s]
    composition = {
        "resourceType": "Composition",
        "status": "final",
        "type": {"coding": [coding(*DOCUMENT_TYPE)]},
        "subject": {"reference": patient_url},
        "date": stamp,
        "author": [{"reference": device_url}],
        "title": "International Patient Summary",
        "section": sections,
    }
    device = {"resourceType": "Device", "deviceName": [{"name": "Haven", "type": "user-friendly-name"}]}
    everything = [
        (composition_url, composition),
        (patient_url, patient_resource(history)),
        (device_url, device),
        *resources,
    ]
    return {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": new_id()},
        "type": "document",
        "timestamp": stamp,
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in everything],
    }
