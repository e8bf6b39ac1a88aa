"""The history page's take-away and bring-in: the FHIR file and a printable summary at the holder's request,
and a vaccination added from a certificate the holder brings (EU DCC), with the command line's checks."""

from __future__ import annotations

import datetime as dt
import json
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle

from haven import qr
from haven.cert_services import Certificates
from haven.certs import issuers
from haven.core.card import Card
from haven.core.entries import entry_to_doc
from haven.web.site import WebSite
from tests.helpers_clock import NOW
from tests.web.conftest import PASSPHRASES, csrf_of, sign_in
from tests.web.foreign_cases import cose_of, hc1, make_dsc, signed_hc1

CARD = Card(bytes(range(40, 56)))
VISIT = {
    "holder": {"birth_year": 1990, "sex": "female"},
    "entries": [
        {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01", "lot": "FK8891"},
        {"type": "test", "test": "antigen", "result": "negative", "date": "2026-10-01", "note": "Room 4, Amal"},
        {"type": "treatment", "date": "2026-10-02", "symptoms": ["fever"], "severity": "mild", "referral": "Camp B"},
    ],
}
SIGNER = ec.derive_private_key(0x5EED, ec.SECP256R1())
STRANGER = ec.derive_private_key(0x0BAD, ec.SECP256R1())
DSCS = {id(SIGNER): make_dsc(SIGNER), id(STRANGER): make_dsc(STRANGER)}  # made once: a DSC's signature is random
IAT, EXP = int((NOW - dt.timedelta(days=1)).timestamp()), int((NOW + dt.timedelta(days=300)).timestamp())
NAMES = {"nam": {"fn": "Muster", "gn": "Erika"}, "dob": "1990-01-01"}
DOSE_2 = {"v": [{"tg": "840539006", "mp": "EU/1/20/1528", "dn": 2, "sd": 2, "dt": "2026-10-29"}]}
A_TEST = {"t": [{"tg": "840539006", "tt": "LP217198-3", "tr": "260415000", "sc": "2026-11-20T10:00:00Z"}]}


def dcc(key: Any, body: dict[str, Any]) -> str:
    return signed_hc1(key, DSCS[id(key)], {1: "XK", 4: EXP, 6: IAT, -260: {1: {"ver": "1.3.0", **NAMES, **body}}})


def visits_of(site: WebSite) -> list[list[dict[str, Any]]]:
    return [[entry_to_doc(e) for e in v.visit.entries] for v in site.clinic().history(CARD).visits]


def audit_of(site: WebSite) -> list[tuple[str, int]]:
    with site.keys.unlock(PASSPHRASES["coordinator"]) as coordinator:
        return [(e.action, e.count) for e, _ in coordinator.audit.rows()]


@pytest.fixture
def opened(client: TestClient, site: WebSite) -> str:
    """A clinician with the holder's card open; the CSRF token of their session."""
    site.clinic().add_visit(CARD, VISIT, first_visit=True)
    sign_in(client, "clinician")
    token = csrf_of(client.get("/").text)
    r = client.post("/cards/open", data={"card": CARD.code, "csrf_token": token}, follow_redirects=True)
    assert r.url.path == "/card"
    return token


# ---------------------------------------------------------------- the FHIR file and the summary


def _normalised(bundle: dict[str, Any]) -> str:
    """The Bundle with its random ids numbered in order and its hour-rounded times blanked."""
    text = json.dumps(bundle, sort_keys=True)
    ids: dict[str, str] = {}
    text = re.sub(r"urn:uuid:[0-9a-f-]{36}", lambda m: ids.setdefault(m.group(0), f"id{len(ids)}"), text)
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:00:00Z", "HOUR", text)


def test_the_history_page_downloads_the_fhir_file_the_command_line_writes(
    client: TestClient,
    site: WebSite,
    opened: str,
    run_cli: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = client.get("/card/history").text
    assert 'id="export-ips"' in page and 'id="export-ddcc"' in page  # a COVID-19 vaccination: DDCC too
    site_files = {p.name: p.stat().st_size > 0 for p in (tmp_path / "site").iterdir()}
    r = client.post("/card/history/export", data={"profile": "ips", "csrf_token": opened})
    assert r.status_code == 200 and r.headers["content-type"] == "application/fhir+json"
    assert r.headers["cache-control"] == "no-store" and "attachment" in r.headers["content-disposition"]
    web = r.json()
    Bundle.model_validate(web)
    assert "Amal" not in r.text and "Camp B" not in r.text  # free text stays out, as from the command line
    ddcc = client.post("/card/history/export", data={"profile": "ddcc", "csrf_token": opened})
    assert ddcc.status_code == 200 and ddcc.json()["type"] == "collection" and len(ddcc.json()["entry"]) == 2
    assert {p.name: p.stat().st_size > 0 for p in (tmp_path / "site").iterdir()} == site_files  # no file appeared
    assert audit_of(site)[-2:] == [("history.export", 1), ("history.export", 1)]
    site.lock()
    monkeypatch.setenv("HAVEN_PASSPHRASE", PASSPHRASES["clinician"])
    out = tmp_path / "cli.json"
    result = run_cli("export", "fhir", "--card", "-", "--out", str(out), stdin=CARD.code + "\n")
    assert result.code == 0, result.err
    assert _normalised(json.loads(out.read_bytes())) == _normalised(web)
    assert out.read_bytes().endswith(b"}\n") and r.content.endswith(b"}\n")  # written alike: indented, one newline


def test_the_printable_summary_states_the_files_facts_and_nothing_more(
    client: TestClient, site: WebSite, opened: str
) -> None:
    r = client.get("/card/history/summary")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "@media print" not in r.text and 'class="print-button"' in r.text
    table = r.text.split('id="summary-vaccinations"', 1)[1].split("</table>", 1)[0]
    assert "Comirnaty" in table and "FK8891" in table and "CVX 208" in table and "2026-10-01" in table
    assert "LOINC 94558-4" in r.text and "Symptoms: fever (mild)" in r.text
    assert "Amal" not in r.text and "Camp B" not in r.text and "Female" in r.text
    assert audit_of(site)[-1] == ("history.export", 1)


def test_a_registrar_neither_exports_nor_imports(client: TestClient, site: WebSite) -> None:
    site.clinic().add_visit(CARD, VISIT, first_visit=True)
    token = sign_in(client, "registrar")
    client.post("/cards/open", data={"card": CARD.code, "csrf_token": token})
    assert client.post("/card/history/export", data={"csrf_token": token}).status_code == 403
    assert client.get("/card/history/summary").status_code == 403
    assert client.post("/card/history/import/check", data={"text": "HC1:", "csrf_token": token}).status_code == 403


# ---------------------------------------------------------------- a certificate the holder brings


@pytest.fixture
def trusted(site: WebSite) -> None:
    Certificates(site.store).add_issuer(issuers.load_signers(DSCS[id(SIGNER)]))


def test_a_trusted_vaccination_is_previewed_with_its_name_small_then_stored_once_confirmed(
    client: TestClient, site: WebSite, opened: str, trusted: None
) -> None:
    before = visits_of(site)
    audit = audit_of(site)
    text = dcc(SIGNER, DOSE_2)
    preview = client.post("/card/history/import/check", data={"text": text, "csrf_token": opened})
    assert preview.status_code == 200
    assert 'class="holder"' in preview.text and "Erika Muster" in preview.text and "1990-01-01" in preview.text
    assert "dose 2" in preview.text and "2026-10-29" in preview.text
    assert visits_of(site) == before and audit_of(site) == audit  # a preview writes nothing
    unconfirmed = client.post("/card/history/import/save", data={"text": text, "csrf_token": opened})
    assert unconfirmed.status_code == 422 and "then tick the box" in unconfirmed.text
    assert visits_of(site) == before
    saved = client.post(
        "/card/history/import/save",
        data={"text": text, "confirm": "theirs", "csrf_token": opened},
        follow_redirects=True,
    )
    assert saved.url.path == "/card/history"
    assert "The certificate&#39;s vaccinations were added to the history." in saved.text
    added = visits_of(site)[-1]
    assert added == [
        {"type": "vaccination", "product": "comirnaty", "dose": 2, "date": "2026-10-29", "verified_external": "eu-dcc"}
    ]
    assert audit_of(site)[-2:] == [("certificate.import", 1), ("history.view", 1)]  # then the history shown
    stored = b"".join(p.read_bytes() for p in site.keys.folder.home.iterdir() if p.is_file())
    assert b"Muster" not in stored and b"Erika" not in stored
    again = client.post("/card/history/import/check", data={"text": text, "csrf_token": opened})
    assert "already in the history" in again.text and 'id="import-save-form"' not in again.text


def test_a_photo_of_the_certificate_reads_as_its_text(
    client: TestClient, site: WebSite, opened: str, trusted: None
) -> None:
    photo = qr.png(dcc(SIGNER, DOSE_2))
    r = client.post(
        "/card/history/import/check", data={"csrf_token": opened}, files={"photo": ("dcc.png", photo, "image/png")}
    )
    assert r.status_code == 200 and "Erika Muster" in r.text


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("tampered", "The certificate&#39;s signature does not match"),
        ("untrusted", "Its issuer is not one this site trusts."),
        ("a test", "This certificate states no vaccination (a test or a recovery)"),
        ("not an image", "This file is not a photo that can be read."),
        ("empty", "Paste the certificate&#39;s text"),
        ("garbage", "This is not a certificate Haven can read"),
    ],
)
def test_each_refusal_is_one_line_and_changes_nothing(
    client: TestClient, site: WebSite, opened: str, trusted: None, case: str, expected: str
) -> None:
    before, audit = visits_of(site), audit_of(site)
    good = dcc(SIGNER, DOSE_2)
    texts = {
        "tampered": hc1(zlib.compress(cose_of(good)[:-1] + bytes([cose_of(good)[-1] ^ 1]))),  # the signature
        "untrusted": dcc(STRANGER, DOSE_2),
        "a test": dcc(SIGNER, A_TEST),
        "empty": "  ",
        "garbage": "hello",
    }
    files = {"photo": ("x.png", b"not an image", "image/png")} if case == "not an image" else None
    data = {"csrf_token": opened, **({"text": texts[case]} if case in texts else {})}
    for step in ("check", "save"):
        r = client.post(f"/card/history/import/{step}", data={**data, "confirm": "theirs"}, files=files)
        assert r.status_code == 400, (step, r.text)
        errors = re.findall(r'<p class="error"[^>]*>([^<]*)</p>', r.text)
        assert len(errors) == 1 and expected in errors[0], (step, errors)
        if files is None:
            continue
        break  # a photo goes to the check only
    assert visits_of(site) == before and audit_of(site) == audit
