"""A history's COVID-19 vaccinations and tests as WHO DDCC documents (DDCC:VS, DDCC:TR; docs/export.md#ddcc).

The WHO's Digital Documentation of COVID-19 Certificates guide (FHIR R4, ``http://smart.who.int/ddcc``,
version 1.0.0) makes one document per event: a DDCC:VS document holds one vaccination, a DDCC:TR
document one test. Haven writes them all, in one ``collection`` Bundle, for the holder to carry. The
Patient is nameless as in the IPS export; what the guide requires and Haven must not say (the country
and centre of vaccination, the issuing authority, the certificate's issuer) is present only as the
data-absent-reason ``masked``: withheld for the holder's safety, not unknown. Pure, like
:mod:`haven.export.fhir`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from haven.core.catalogue import catalogue
from haven.core.entries import Test, Vaccination
from haven.core.history import History
from haven.export.fhir import LOINC, NewId, absent, coding, observation, patient_resource

IG = "http://smart.who.int/ddcc"
PROFILE = f"{IG}/StructureDefinition/"
CATEGORY = f"{IG}/CodeSystem/DDCCCompositionCategoryCodeSystem"
# The guide's ICD-11 system URI (the IPS export uses the WHO's release URI for the same codes).
ICD11 = "http://id.who.int/icd11/mms"
COVID_19 = "covid-19"
DISEASE = "RA01"  # ICD-11 COVID-19, the guide's only disease targeted
DDCC_TYPE = (LOINC, "82593-5", "Immunization summary report")
TITLE = "Digital Documentation of COVID-19 Certificate (DDCC)"
MASKED = "masked"  # data-absent-reason: withheld "due to security, privacy or related reasons"
URI = "urn:ietf:rfc:3986"
# Kind of document: its Bundle and Composition profiles, category, section code and entry profile.
KINDS = {
    "vs": ("DDCCVSDocument", "DDCCVSComposition", "ddcc-vs", "11369-6", "DDCCImmunization"),
    "tr": ("DDCCTRDocument", "DDCCTRComposition", "ddcc-tr", "30954-2", "DDCCObservation"),
}


def _meta(profile: str) -> dict[str, Any]:
    return {"profile": [PROFILE + profile]}


def _immunization(entry: Vaccination, patient: str, organization: str) -> dict[str, Any]:
    product = catalogue().product(entry.product)
    resource: dict[str, Any] = {
        "resourceType": "Immunization",
        "meta": _meta("DDCCImmunization"),
        "extension": [
            {"url": PROFILE + "DDCCEventBrand", "valueCoding": coding(ICD11, product.codes["icd11"], product.name)},
            {"url": PROFILE + "DDCCCountryOfEvent", "_valueCode": absent(MASKED)},
        ],
        "status": "completed",
        # The guide allows one coding: the vaccine type (ICD-11); the brand is the extension above.
        "vaccineCode": {"coding": [coding(ICD11, product.codes["icd11_type"])], "text": product.name},
        "patient": {"reference": patient},
        "occurrenceDateTime": entry.date.isoformat(),
        "primarySource": entry.verified_external is None,
        "location": {"_display": absent(MASKED)},
        "protocolApplied": [
            {
                "authority": {"reference": organization},
                "targetDisease": [{"coding": [coding(ICD11, DISEASE, "COVID-19")]}],
                "doseNumberPositiveInt": entry.dose,
            }
        ],
    }
    if entry.lot is not None:
        resource["lotNumber"] = entry.lot
    return resource


def _document(
    kind: str, event: dict[str, Any], history: History, stamp: str, new_id: NewId, patient_url: str, org_url: str
) -> dict[str, Any]:
    bundle_profile, composition_profile, category, section_code, _ = KINDS[kind]
    composition_url, device_url, event_url = new_id(), new_id(), new_id()
    composition = {
        "resourceType": "Composition",
        "meta": _meta(composition_profile),
        "identifier": {"system": URI, "value": new_id()},  # random: the certificate id links nothing
        "status": "final",
        "type": {"coding": [coding(*DDCC_TYPE)]},
        "category": [{"coding": [coding(CATEGORY, category)]}],
        "subject": {"reference": patient_url},
        "date": stamp,
        "author": [{"reference": device_url}],
        "title": TITLE,
        "attester": [{"mode": "official", "party": {"reference": org_url}}],
        "section": [
            {
                "code": {"coding": [coding(LOINC, section_code)]},
                "focus": {"reference": event_url},
                "entry": [{"reference": event_url}],
            }
        ],
    }
    patient = {"resourceType": "Patient", "meta": _meta("DDCCPatient"), **patient_resource(history)}
    patient["name"] = [{"use": "official", "_text": absent()}]  # the guide's name slice: use and text
    organization = {"resourceType": "Organization", "meta": _meta("DDCCOrganization"), "_name": absent(MASKED)}
    device = {"resourceType": "Device", "deviceName": [{"name": "Haven", "type": "user-friendly-name"}]}
    entries = [
        (composition_url, composition),
        (patient_url, patient),
        (org_url, organization),
        (device_url, device),
        (event_url, event),
    ]
    return {
        "resourceType": "Bundle",
        "meta": _meta(bundle_profile),
        "identifier": {"system": URI, "value": new_id()},
        "type": "document",
        "timestamp": stamp,
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in entries],
    }


def ddcc_bundle(history: History, now: dt.datetime, new_id: NewId) -> dict[str, Any]:
    """One DDCC:VS document per COVID-19 vaccination and one DDCC:TR per test, in a collection Bundle.

    Other vaccines are not in the guide and are left out (the IPS export holds them); an empty
    collection means the history has no COVID-19 vaccination or test.
    """
    hour = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    stamp = hour.isoformat().replace("+00:00", "Z")
    cat = catalogue()
    documents = []
    for visit in history.visits:
        for entry in visit.visit.entries:
            patient_url, org_url = new_id(), new_id()
            if isinstance(entry, Vaccination) and COVID_19 in cat.product(entry.product).diseases:
                event = _immunization(entry, patient_url, org_url)
                documents.append(_document("vs", event, history, stamp, new_id, patient_url, org_url))
            elif isinstance(entry, Test) and cat.tests[entry.test].disease == COVID_19:
                found = observation(entry, patient_url)[0]
                event = {"resourceType": "Observation", "meta": _meta("DDCCObservation"), **found}
                documents.append(_document("tr", event, history, stamp, new_id, patient_url, org_url))
    return {
        "resourceType": "Bundle",
        "identifier": {"system": URI, "value": new_id()},
        "type": "collection",
        "timestamp": stamp,
        "entry": [{"fullUrl": new_id(), "resource": document} for document in documents],
    }
