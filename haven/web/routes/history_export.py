"""The holder's history to take away, at their request, from the history page: the FHIR file
(`haven export fhir`) as a download, and a printable summary of the same facts.

Both go through the one export use case (``app.export.fhir``: a ``history.export`` audit entry that says
only that an export happened). Nothing is written on the server's disk: the file is the response, sent
``no-store`` so that no browser or proxy keeps a copy; the summary page is drawn from the same Bundle, so
it states exactly what the file does (no notes, no referral, no free text, a nameless holder).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from haven.errors import InputError, NoRecordsError
from haven.export.fhir import ATC, CVX, ICD11, LOINC, bundle_bytes
from haven.web.deps import HistoryStaff, State, TheOpenCard
from haven.web.render import render

router = APIRouter(include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}
FILE_NAMES = {"ips": "health-summary-ips.json", "ddcc": "covid-19-ddcc.json"}


@router.post("/card/history/export")
async def export_history(
    state: State, staff: HistoryStaff, card: TheOpenCard, profile: Annotated[str, Form(max_length=10)] = "ips"
) -> Response:
    if profile not in FILE_NAMES:
        profile = "ips"
    app = state.site.app(staff)
    try:
        _, bundle = await run_in_threadpool(app.export.fhir, card.card, card.pin, profile)
    except (NoRecordsError, InputError):  # no records, or no COVID-19 entry for DDCC: the history page says so
        return Response(status_code=303, headers={"Location": "/card/history"})
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{FILE_NAMES[profile]}"'}
    return Response(bundle_bytes(bundle), media_type="application/fhir+json", headers=headers)


@router.get("/card/history/summary")
async def printable_summary(request: Request, state: State, staff: HistoryStaff, card: TheOpenCard) -> Response:
    app = state.site.app(staff)
    try:
        _, bundle = await run_in_threadpool(app.export.fhir, card.card, card.pin, "ips")
    except NoRecordsError:
        return Response(status_code=303, headers={"Location": "/card"})
    response = render(request, "history_summary.html", summary=summary_of(bundle), made=state.site.date_today())
    response.headers.update(NO_STORE)
    return response


def _codes(concept: dict[str, Any], systems: dict[str, str]) -> list[str]:
    return [f"{systems[c['system']]} {c['code']}" for c in concept.get("coding", ()) if c.get("system") in systems]


def summary_of(bundle: dict[str, Any]) -> dict[str, Any]:
    """The facts of an IPS Bundle, by section, as the summary page lists them (from the file itself)."""
    found: dict[str, Any] = {"gender": None, "immunizations": [], "results": [], "problems": [], "medications": []}
    for entry in bundle["entry"]:
        r = entry["resource"]
        kind = r["resourceType"]
        if kind == "Patient":
            found["gender"] = r.get("gender")
        elif kind == "Immunization":
            found["immunizations"].append(
                {
                    "date": r["occurrenceDateTime"],
                    "name": r["vaccineCode"]["text"],
                    "codes": _codes(r["vaccineCode"], {CVX: "CVX", ICD11: "ICD-11", ATC: "ATC"}),
                    "dose": r["protocolApplied"][0]["doseNumberPositiveInt"],
                    "lot": r.get("lotNumber"),
                    "from_certificate": not r["primarySource"],
                }
            )
        elif kind == "Observation":
            found["results"].append(
                {
                    "date": r["effectiveDateTime"],
                    "name": r["code"]["text"],
                    "codes": _codes(r["code"], {LOINC: "LOINC"}),
                    "value": r["valueCodeableConcept"]["text"],
                }
            )
        elif kind == "Condition":
            found["problems"].append(
                {"date": r["onsetDateTime"], "name": r["code"]["text"], "severity": r.get("severity", {}).get("text")}
            )
        elif kind == "MedicationStatement":
            medicine = r["medicationCodeableConcept"]["text"]
            found["medications"].append({"date": r["effectiveDateTime"], "name": medicine})
    return found
