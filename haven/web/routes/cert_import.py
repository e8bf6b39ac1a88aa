"""Adding the vaccinations of a certificate the holder brings (EU DCC, SMART Health Card) to their history.

The same checks as ``haven cert import``: the signature and the issuer's trust (the site's trusted issuers),
its validity, vaccinations only. Then a preview of what will be recorded, with the name and birth date the
certificate states shown small for the holder to confirm it is theirs: Haven stores neither, and the page
is the only place they appear (``haven.certs.holder_names``). Saving goes through the same use case as the
command line (``app.certificates.import_certificate``: one ``certificate.import`` audit entry); the
certificate's text travels in the page between the two steps, never kept on the server.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from haven.certs.holder_names import named_holder
from haven.errors import CardError, CertificateError, HavenError, InputError, NoRecordsError
from haven.web import cards
from haven.web.deps import ImportStaff, State, TheOpenCard, staff_session
from haven.web.i18n import N_
from haven.web.messages import error_message
from haven.web.render import gettext_for, render, request_locale
from haven.web.vocab import product_name

router = APIRouter(include_in_schema=False)

MAX_TEXT = 16 * 1024  # a multi-part SMART Health Card is a few QR codes' worth
IMPORTED = N_("The certificate's vaccinations were added to the history.")
REFUSALS = {
    "malformed": N_(
        "This is not a certificate Haven can read: an EU certificate starts with HC1:, a SMART Health Card with shc:/."
    ),
    "forged": N_("The certificate's signature does not match: it was changed, or it is not genuine."),
    "unknown-issuer": N_("Its issuer is not one this site trusts. A coordinator can add the issuer's key."),
    "expired": N_("This certificate has expired."),
    "not-yet-valid": N_("This certificate is not valid yet."),
    "revoked": N_("Its issuer has revoked this certificate."),
    "no-vaccination": N_("This certificate states no vaccination (a test or a recovery): only vaccinations are added."),
    "empty": N_("Paste the certificate's text, scan its QR code or upload a photo of it."),
    "too-long": N_("This text is too long for a certificate."),
    "confirm": N_("Ask the holder whether this certificate is theirs, then tick the box."),
}
SKIPPED = {
    "already in the history": N_("already in the history"),
    "in the future": N_("its date is in the future"),
    "catalogue": N_("this vaccine is not in Haven's catalogue"),
    "dose number": N_("its dose number cannot be read"),
    "is not a date": N_("its date cannot be read"),
}
FORMATS = {"eu-dcc": N_("EU Digital COVID Certificate"), "shc": N_("SMART Health Card"), "haven": "Haven"}


def refusal(request: Request, exc: HavenError) -> str:
    _ = gettext_for(request_locale(request))
    key = exc.code if isinstance(exc, CertificateError) else exc.problem
    template = REFUSALS.get(str(key))
    return _(template) if template else error_message(exc, _)


def certificate_text(raw: str) -> str:
    """The certificate as pasted or scanned: chunks of a SMART Health Card on separate lines joined by
    spaces; an EU DCC kept as it is (a space is one of base45's characters)."""
    text = raw.strip()
    return " ".join(text.split()) if text.startswith("shc:/") else text


def _import_page(request: Request, status: int = 200, error: str | None = None, text: str = "") -> Response:
    return render(request, "cert_import.html", status=status, error=error, text=text)


@router.get("/card/history/import")
def import_page(request: Request, staff: ImportStaff, card: TheOpenCard) -> Response:
    return _import_page(request)


async def _submitted_text(request: Request, state: State) -> str:
    """The certificate's text: typed or scanned into ``text``, or read from an uploaded ``photo``."""
    form = await request.form()
    photo, text = form.get("photo"), form.get("text")
    if isinstance(photo, UploadFile) and photo.filename:
        data = await photo.read(state.settings.upload_max_bytes + 1)
        await photo.close()
        if len(data) > state.settings.upload_max_bytes:
            raise InputError("This photo is too large.", problem="image")
        return str(await run_in_threadpool(cards.decode_photo, data))
    text = certificate_text(text if isinstance(text, str) else "")
    if not text:
        raise InputError("No certificate was given.", problem="empty")
    if len(text) > MAX_TEXT:
        raise InputError("This text is too long for a certificate.", problem="too-long")
    return text


def _preview(entries: list[dict[str, Any]], skipped: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "entries": [{**e, "name": product_name(e["product"])} for e in entries],
        "skipped": [
            {
                "name": product_name(s["vaccination"]["product"])
                if s["vaccination"].get("product")
                else s["vaccination"].get("product_code") or "?",
                "dose": s["vaccination"].get("dose"),
                "date": s["vaccination"].get("date"),
                "reason": next((msg for key, msg in SKIPPED.items() if key in s["reason"]), s["reason"]),
            }
            for s in skipped
        ],
    }


@router.post("/card/history/import/check")
async def check_certificate(request: Request, state: State, staff: ImportStaff, card: TheOpenCard) -> Response:
    """Verify, then show what would be recorded and whom the certificate names: nothing is written yet."""
    text = ""
    try:
        text = await _submitted_text(request, state)
        app = state.site.app(staff)
        verified, entries, skipped = await run_in_threadpool(app.certificates.plan_import, card.card, text, card.pin)
    except NoRecordsError:
        return Response(status_code=303, headers={"Location": "/card"})
    except (CertificateError, InputError, CardError) as exc:
        return _import_page(request, 400, refusal(request, exc), text)
    return render(
        request,
        "cert_import_preview.html",
        text=text,
        format_name=FORMATS.get(verified.format, verified.format),
        holder=named_holder(text),
        error=None,
        **_preview(entries, skipped),
    )


@router.post("/card/history/import/save")
async def save_certificate(request: Request, state: State, staff: ImportStaff, card: TheOpenCard) -> Response:
    form = await request.form()
    raw = form.get("text")
    text = certificate_text(raw if isinstance(raw, str) else "")[: MAX_TEXT + 1]
    app = state.site.app(staff)
    try:
        if not text:
            raise InputError("No certificate was given.", problem="empty")
        # Checked again whole (the page could have been changed), and refused unless it is a vaccination.
        verified, entries, skipped = await run_in_threadpool(app.certificates.plan_import, card.card, text, card.pin)
        if form.get("confirm") != "theirs":
            return render(
                request,
                "cert_import_preview.html",
                status=422,
                text=text,
                format_name=FORMATS.get(verified.format, verified.format),
                holder=named_holder(text),
                error=refusal(request, InputError("Not confirmed.", problem="confirm")),
                **_preview(entries, skipped),
            )
        await run_in_threadpool(app.certificates.import_certificate, card.card, text, card.pin)
    except NoRecordsError:
        return Response(status_code=303, headers={"Location": "/card"})
    except (CertificateError, InputError) as exc:
        return _import_page(request, 400, refusal(request, exc), text)
    staff_session(request).flash = IMPORTED
    return Response(status_code=303, headers={"Location": "/card/history"})
