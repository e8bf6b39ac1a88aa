"""Clinic pages through the test client: opening cards, first visits, visit forms, history, counts, certificates."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from fastapi.testclient import TestClient

from haven import qr
from haven.app.certificates import certifiable
from haven.cert_services import Certificates, CertificateSheet
from haven.certs.verify import verify
from haven.core.card import Card
from haven.core.entries import Test, Vaccination
from haven.site import daycount
from haven.web.site import WebSite
from tests.helpers_clock import NOW, MonotonicClock
from tests.web.conftest import PASSPHRASES, csrf_of, sign_in


def page_sign_in(client: TestClient, role: str) -> str:
    sign_in(client, role)
    return csrf_of(client.get("/").text if role != "coordinator" else client.get("/counts").text)


def record(site: WebSite, card: Card, doc: object, first: bool = False) -> None:
    site.clinic().add_visit(card, doc, first_visit=first)


def ids(site: WebSite, card: Card) -> list[str]:
    """The entry ids of the card's certifiable entries, as the certificate page names them."""
    return [key for key, _ in certifiable(site.clinic().history(card))]


def post_visit(client: TestClient, role: str, fields: dict[str, str]) -> tuple[str, str]:
    """Sign in as ``role``, make a new card and post its first visit's form: the page that comes back."""
    token = page_sign_in(client, role)
    client.post("/cards/new", data={"language": "en", "csrf_token": token})
    r = client.post("/card/visit", data={"csrf_token": token, **fields})
    assert r.status_code == 422
    return token, r.text


def open_typed(client: TestClient, token: str, text: str, pin: str = "") -> tuple[int, str]:
    r = client.post("/cards/open", data={"card": text, "pin": pin, "csrf_token": token}, follow_redirects=True)
    return r.status_code, r.text


def test_sign_in_page_and_a_wrong_passphrase(client: TestClient) -> None:
    page = client.get("/sign-in")
    assert page.status_code == 200 and "Staff name" in page.text
    r = client.post("/sign-in", data={"name": "clinician", "passphrase": "nope", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 401
    assert "That staff name and passphrase do not match." in r.text
    assert 'value="clinician"' in r.text  # the name is kept, never the passphrase
    assert "nope" not in r.text


def test_signed_out_pages_send_you_to_sign_in(client: TestClient) -> None:
    r = client.get("/card/history", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/sign-in"


def test_a_mistyped_word_is_named_beside_the_field(client: TestClient, site: WebSite) -> None:
    token = page_sign_in(client, "registrar")
    words = Card(bytes(range(16))).words("en")
    words[3] = "abandom"
    status, html = open_typed(client, token, " ".join(words))
    assert status == 400
    assert "Word 4 (“abandom”) is not a card word. Did you mean “abandon”?" in html
    assert 'id="card-error"' in html and 'aria-describedby="card-hint card-error"' in html
    # The typed words come back for correcting: in the page body, never in a URL or a cookie.
    assert "abandom" in html


def test_twelve_words_are_explained(client: TestClient) -> None:
    token = page_sign_in(client, "registrar")
    words = Card(bytes(range(16))).words("en")[:12]
    status, html = open_typed(client, token, " ".join(words))
    assert status == 400 and "A card has 13 words (the last one is the check word); this has 12." in html


def test_errors_are_in_the_page_language(client: TestClient) -> None:
    token = page_sign_in(client, "registrar")
    client.cookies.set("haven_lang", "ko")
    words = Card(bytes(range(16))).words("en")
    words[4], words[5] = words[5], words[4]
    status, html = open_typed(client, token, " ".join(words))
    assert status == 400 and "단어나 코드가 맞지 않습니다" in html
    assert '<html lang="ko">' in html


def test_unknown_card_asks_before_starting_a_history(client: TestClient, site: WebSite) -> None:
    token = page_sign_in(client, "clinician")
    card = Card(bytes(range(16)))
    status, html = open_typed(client, token, card.code)
    assert status == 200
    assert "No records for this card at this site. Start a new history?" in html
    assert client.get("/card/visit", follow_redirects=False).headers["location"] == "/card"
    r = client.post("/card/start-history", data={"csrf_token": token}, follow_redirects=False)
    assert r.headers["location"] == "/card/visit"
    r = client.post(
        "/card/visit",
        data={"csrf_token": token, "date": "2026-11-20", "test_test": "pcr", "test_result": "negative"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/card/history"
    assert site.clinic().history(card).to_doc()["visits"][0]["entries"][0]["test"] == "pcr"


def test_visit_validation_messages_sit_beside_their_fields(client: TestClient, site: WebSite) -> None:
    token, html = post_visit(client, "registrar", {"date": "2026-11-20", "vac_product": "comirnaty", "vac_dose": "11"})
    assert re.search(r'id="vac_dose"[^>]*aria-invalid="true"', html)
    assert '<p class="error field-error" id="vac_dose-error">Enter a number from 1 to 10.</p>' in html
    assert 'value="11"' in html  # what was typed stays
    r = client.post("/card/visit", data={"csrf_token": token, "date": "2099-01-01", "note_text": "x"})
    assert 'id="date-error">This date is in the future (today is 2026-11-29).' in r.text
    r = client.post("/card/visit", data={"csrf_token": token, "date": "2026-11-20"})
    assert 'id="form-error">Fill in at least one section' in r.text
    r = client.post(
        "/card/visit",
        data={
            "csrf_token": token,
            "date": "2026-11-20",
            "note_text": "ok",
            "holder_birth_year": "1990",
            "holder_age_band": "18-29",
        },
    )
    assert 'id="holder_age_band-error">Give a birth year or an age band, not both.' in r.text
    assert site.store.tallies() == []  # nothing was stored by any of these


CHOOSE_ONE = "Choose one, or clear the other fields of this section."


def test_a_filled_field_is_never_dropped(client: TestClient, site: WebSite) -> None:
    """A dose, lot, result, sample, severity or symptom without its section's key field is refused, never lost."""
    token = page_sign_in(client, "clinician")
    card = Card(bytes(range(16)))
    open_typed(client, token, card.code)
    client.post("/card/start-history", data={"csrf_token": token})
    cases = [
        ({"vac_dose": "1", "vac_lot": "AB12"}, "vac_product"),
        ({"test_result": "positive"}, "test_test"),
        ({"test_sample": "nasal"}, "test_test"),
        ({"care_severity": "mild"}, "care_kind"),
        ({"care_symptoms": "fever"}, "care_kind"),
        ({"care_referral": "district hospital"}, "care_kind"),
        ({"vac_lot": "AB12", "note_text": "seen today"}, "vac_product"),  # the note alone would have saved
    ]
    for fields, key in cases:
        r = client.post("/card/visit", data={"csrf_token": token, "date": "2026-11-20", **fields})
        assert r.status_code == 422, fields
        assert f'id="{key}-error">{CHOOSE_ONE}</p>' in r.text, fields
        assert "Fill in at least one section" not in r.text
        assert re.search(rf'id="{key}"[^>]*aria-invalid="true" aria-describedby="{key}-error"', r.text)
        for value in fields.values():
            assert value in r.text  # what was typed stays, for choosing the vaccine or clearing it
    assert site.store.count() == 0 and site.store.tallies() == []  # nothing stored
    # Chosen, the same fields are saved, none dropped.
    r = client.post(
        "/card/visit",
        data={"csrf_token": token, "date": "2026-11-20", "vac_product": "td", "vac_dose": "1", "vac_lot": "AB12"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        "/card/visit",
        data={"csrf_token": token, "date": "2026-11-20", "care_kind": "consultation", "care_severity": "mild"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    entries = [v["entries"][0] for v in site.clinic().history(card).to_doc()["visits"]]
    assert entries[0]["product"] == "td" and entries[0]["dose"] == 1 and entries[0]["lot"] == "AB12"
    assert entries[1]["type"] == "consultation" and entries[1]["severity"] == "mild"


def test_every_error_at_once_with_a_summary_that_links_to_each_field(client: TestClient, site: WebSite) -> None:
    token, html = post_visit(client, "clinician", {"date": "2099-01-01", "vac_product": "td", "test_test": "pcr"})
    opening = r'<div class="error-summary" id="error-summary" role="alert" tabindex="-1"'
    summary = re.search(opening + r"(.*?)</div>", html, re.S)
    assert summary, html
    links = re.findall(r'<a href="#(\w+)">([^<]*)</a>', summary.group(1))
    assert links == [
        ("date", "Date: This date is in the future (today is 2026-11-29)."),
        ("vac_dose", "Dose number: This is required."),
        ("test_result", "Result: This is required."),
    ]
    for name, _ in links:  # each field says it is wrong and points at its own message
        assert re.search(rf'id="{name}"[^>]*aria-invalid="true" aria-describedby="{name}-error"', html)
        assert f'id="{name}-error"' in html
    assert site.store.count() == 0 and site.store.tallies() == []  # nothing stored
    client.cookies.set("haven_lang", "ko")
    r = client.post("/card/visit", data={"csrf_token": token, "date": "2099-01-01", "vac_dose": "1"})
    assert "저장되지 않았습니다" in r.text and '<a href="#vac_product">백신:' in r.text


def test_a_refused_new_card_keeps_the_language_chosen_for_its_words(client: TestClient, site: WebSite) -> None:
    token = page_sign_in(client, "registrar")
    client.cookies.set("haven_lang", "ko")
    home = client.get("/").text
    assert '<option value="ko" selected>한국어</option>' in home  # by default, the page's language
    for pins in (("1234", "1235"), ("12", "12")):
        data = {"language": "en", "pin": pins[0], "pin_again": pins[1], "csrf_token": token}
        r = client.post("/cards/new", data=data)
        assert r.status_code == 400 and 'role="alert"' in r.text and site.store.count() == 0
        words_in = r.text.split('id="language"', 1)[1].split("</select>", 1)[0]
        assert '<option value="en" selected>English</option>' in words_in and words_in.count(" selected") == 1


def test_new_card_print_then_first_visit_and_history(client: TestClient, site: WebSite) -> None:
    token = page_sign_in(client, "clinician")
    r = client.post("/cards/new", data={"language": "zh", "pin": "2468", "pin_again": "2468", "csrf_token": token})
    assert r.url.path == "/card/print"
    words = re.findall(r"<li>([^<]+)</li>", r.text.split('id="card-words"')[1].split("</ol>")[0])
    assert len(words) == 13 and all(len(w) == 1 for w in words)  # Chinese words are single characters
    assert re.search(r'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \d+ \d+" class="qr">', r.text)
    r = client.post(
        "/card/visit",
        data={
            "csrf_token": token,
            "date": "2026-11-01",
            "vac_product": "comirnaty",
            "vac_dose": "1",
            "vac_lot": "FJ8529",
            "test_test": "antigen",
            "test_result": "negative",
            "care_kind": "consultation",
            "care_symptoms": ["fever", "cough"],
            "care_medicines": "paracetamol 500 mg\nORS",
            "holder_age_band": "30-39",
            "holder_pregnant": "no",
        },
    )
    assert r.url.path == "/card/history"
    assert "Visit recorded." in r.text
    assert "Comirnaty" in r.text and "dose 2" in r.text and "from 2026-11-22" in r.text
    assert "Rapid antigen test</strong>: Negative" in r.text and "Fever, Cough" in r.text
    # The card opens again from its words (and the PIN), in another session.
    with TestClient(client.app, base_url="http://127.0.0.1") as other:
        token2 = page_sign_in(other, "clinician")
        status, html = open_typed(other, token2, "".join(words), pin="2468")
        assert status == 200 and "This card has records at this site." in html
        status, html = open_typed(other, token2, " ".join(words), pin="9999")
        assert "No records for this card at this site. Start a new history?" in html


def test_registrar_records_but_cannot_read_history(client: TestClient, site: WebSite) -> None:
    card = Card(bytes(range(1, 17)))
    record(site, card, [{"type": "note", "date": "2026-11-01", "text": "seen"}], first=True)
    token = page_sign_in(client, "registrar")
    _, html = open_typed(client, token, " ".join(card.words()))
    assert "This card has records at this site." in html
    assert "/card/history" not in html
    assert client.get("/card/history").status_code == 403


def test_close_card(client: TestClient) -> None:
    token = page_sign_in(client, "registrar")
    client.post("/cards/new", data={"language": "en", "csrf_token": token})
    r = client.post("/card/close", data={"csrf_token": token})
    assert r.url.path == "/" and "Card closed." in r.text
    assert client.get("/card", follow_redirects=False).status_code == 409


def test_open_by_photo_of_the_qr(client: TestClient, site: WebSite) -> None:
    card = Card(bytes(range(2, 18)))
    record(site, card, [{"type": "note", "date": "2026-11-01", "text": "seen"}], first=True)
    token = page_sign_in(client, "registrar")
    r = client.post(
        "/cards/open-photo", data={"csrf_token": token}, files={"photo": ("card.png", qr.png(card.code), "image/png")}
    )
    assert r.url.path == "/card" and "This card has records at this site." in r.text
    r = client.post(
        "/cards/open-photo", data={"csrf_token": token}, files={"photo": ("x.png", b"not an image", "image/png")}
    )
    assert r.status_code == 400 and "This file is not a photo that can be read." in r.text


def test_counts_for_a_week_suppress_small_cells(client: TestClient, site: WebSite) -> None:
    for n in range(6):
        card = Card(bytes([n]) * 16)
        entries = [{"type": "test", "test": "antigen", "result": "negative", "date": "2026-11-24"}]
        if n < 2:
            entries.append({"type": "vaccination", "product": "td", "dose": 1, "date": "2026-11-24"})
        record(site, card, entries, first=True)
    page_sign_in(client, "coordinator")
    r = client.get("/counts?week=2026-W48")
    assert r.status_code == 200
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td class=\"num\">([^<]+)</td></tr>", r.text)
    assert ("Vaccination", "Tetanus-diphtheria vaccine (Td)", "&lt;5") in rows
    assert ("Test", "Rapid antigen test: Negative", "6") in rows
    assert '<svg class="chart"' in r.text
    api = client.get("/api/counts", params={"week": "2026-W48"}).json()
    assert {"kind": "vaccination", "key": "td", "count": None, "shown": "<5"} in api["rows"]
    assert client.get("/api/counts", params={"week": "2026-W99"}).status_code == 400
    assert "Nothing was recorded this week." in client.get("/counts?week=2026-W40").text


def test_coordinator_lands_on_counts_and_sees_no_holder_pages(client: TestClient) -> None:
    page_sign_in(client, "coordinator")
    assert client.get("/", follow_redirects=False).headers["location"] == "/counts"
    assert client.get("/card").status_code == 403


def test_a_clinician_issues_a_sheet_that_verifies_and_nothing_of_it_is_kept(client: TestClient, site: WebSite) -> None:
    card = Card(bytes(range(3, 19)))
    record(
        site,
        card,
        [
            {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"},
            {"type": "vaccination", "product": "comirnaty", "dose": 2, "date": "2026-11-01"},
            {"type": "test", "test": "antigen", "result": "negative", "date": "2026-11-28"},
        ],
        first=True,
    )
    kept_before = kept(site)
    first, second, test = ids(site, card)
    token = page_sign_in(client, "clinician")
    open_typed(client, token, card.code)
    page = client.get("/card/certificates")
    assert page.status_code == 200 and f'value="{first}"' in page.text and f'value="{test}"' in page.text
    r = client.post("/card/certificates", data={"csrf_token": token, "entry": [first, second], "count": "4"})
    assert r.status_code == 200
    texts = re.findall(r'class="stub" data-code="([^"]+)"', r.text)
    assert len(texts) == 4 and len(set(texts)) == 4
    assert r.text.count('<svg xmlns="http://www.w3.org/2000/svg"') == 4
    # A stub holds its QR code and nothing else: no "2/4" telling a checkpoint how many the holder has.
    boxes = re.findall(r'<div class="stub" data-code="[^"]+">(.*?)</div>', r.text, re.S)
    assert [re.sub(r"<svg\b.*?</svg>", "", box, flags=re.S).strip() for box in boxes] == [""] * 4
    assert not re.search(r"\b[1-4]\s*/\s*4\b", re.sub(r"<svg\b.*?</svg>", "", r.text, flags=re.S))
    assert "Valid until 2027-11-23 00:00 UTC" in r.text  # a year from the Monday of the week of issue
    assert "Sheet of one-time codes" in r.text and "Cut this part off" in r.text
    trust = Certificates(site.store, lambda: NOW).trust()
    for text in texts:
        verified = verify(text, trust, NOW)
        assert [(v["product"], v["dose"], v["of"]) for v in verified.to_doc()["facts"]["vaccinations"]] == [
            ("comirnaty", 1, 2),
            ("comirnaty", 2, 2),
        ]
        assert verified.to_doc()["facts"]["tests"] == []
    # The issuer keeps nothing: no record, no setting changed; the audit log says who, and how many.
    assert kept(site) == kept_before
    with site.keys.unlock(PASSPHRASES["coordinator"]) as coordinator:  # only a coordinator reads the log
        clinician = next(m for m in coordinator.staff_table().active() if m.name == "clinician")
        last, _ = coordinator.audit.rows()[-1]
    assert (last.staff, last.action, last.count) == (clinician.id, "certificate.issue", 4)
    # A test certificate: only the latest test chosen is stated, and it expires 72 h after its day began.
    api = client.post("/api/certificates", json={"entries": [test], "count": 1}, headers={"X-CSRF-Token": token})
    assert api.status_code == 200 and api.json()["expires"] == "2026-12-01T00:00:00Z"
    facts = verify(api.json()["texts"][0], trust, NOW).to_doc()["facts"]
    assert facts["tests"] == [{"disease": "covid-19", "test": "antigen", "result": "negative", "date": "2026-11-28"}]


def kept(site: WebSite) -> dict[str, list[object]]:
    """The records and the settings (but the audit log's head, and each member's own count of the day: both say
    how many, like the log, and nothing of what) of the site."""
    tables = {t.name: t for t in site.store.tables()}
    settings = [
        row for row in tables["settings"].rows if row[0] != "audit.head" and not str(row[0]).startswith(daycount.PREFIX)
    ]
    return {"records": list(tables["records"].rows), "settings": settings}


def test_certificates_need_the_clinician_role(client: TestClient, site: WebSite) -> None:
    token = page_sign_in(client, "registrar")
    client.post("/cards/new", data={"language": "en", "csrf_token": token})
    assert client.get("/card/certificates").status_code == 403
    r = client.post("/api/certificates", json={"entries": ["0.0"], "count": 1}, headers={"X-CSRF-Token": token})
    assert r.status_code == 403 and r.json()["error"]["details"] == {"permission": "certificate.issue"}


class RecordingIssuer:
    """A test double standing in for the certificates work: records what the seam passes it."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[Vaccination | Test], int]] = []

    def issue_sheet(self, entries: Sequence[Vaccination | Test], count: int, now: dt.datetime) -> CertificateSheet:
        self.calls.append((list(entries), count))
        return CertificateSheet(tuple(f"TEST{i}" for i in range(count)), dt.datetime(2027, 1, 1, tzinfo=dt.UTC))


def test_certificate_seam_passes_the_chosen_entries_and_prints_a_sheet(client: TestClient, site: WebSite) -> None:
    issuer = RecordingIssuer()
    site.certificates = issuer
    card = Card(bytes(range(4, 20)))
    record(
        site,
        card,
        [
            {"type": "vaccination", "product": "td", "dose": 1, "date": "2026-11-01"},
            {"type": "note", "date": "2026-11-01", "text": "not certifiable"},
            {"type": "test", "test": "pcr", "result": "negative", "date": "2026-11-02"},
        ],
        first=True,
    )
    vaccination, test = ids(site, card)
    token = page_sign_in(client, "clinician")
    open_typed(client, token, card.code)
    page = client.get("/card/certificates").text
    assert f'value="{vaccination}"' in page and f'value="{test}"' in page and page.count('name="entry"') == 2
    r = client.post("/card/certificates", data={"csrf_token": token, "entry": [test], "count": "3"})
    assert r.status_code == 200 and r.text.count('class="stub"') == 3 and "Valid until 2027-01-01 00:00 UTC" in r.text
    assert issuer.calls == [([Test("pcr", "negative", dt.date(2026, 11, 2))], 3)]
    r = client.post("/card/certificates", data={"csrf_token": token, "count": "3"})
    assert r.status_code == 400 and "Choose at least one entry" in r.text


def test_unknown_page_is_a_page_and_unknown_api_is_json(client: TestClient) -> None:
    r = client.get("/nowhere")
    assert r.status_code == 404 and "There is no such page." in r.text
    r = client.get("/api/nowhere")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not-found"


def test_language_switch_is_a_protected_post_with_a_local_redirect(client: TestClient) -> None:
    token = csrf_of(client.get("/sign-in").text)
    r = client.post(
        "/language",
        data={"lang": "zh_Hans", "next": "https://evil.example/", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"
    page = client.get("/sign-in")
    assert '<html lang="zh-Hans">' in page.text and "登录" in page.text


def test_accept_language_picks_the_page_language(client: TestClient) -> None:
    assert "로그인" in client.get("/sign-in", headers={"Accept-Language": "ko-KR,ko;q=0.9"}).text
    assert "登录" in client.get("/sign-in", headers={"Accept-Language": "zh-CN"}).text


def test_photo_attempts_count_and_huge_bodies_are_refused(client: TestClient, site: WebSite) -> None:
    token = page_sign_in(client, "registrar")
    for _ in range(20):
        r = client.post("/cards/open-photo", data={"csrf_token": token}, files={"photo": ("x.png", b"x", "image/png")})
        assert r.status_code == 400
    r = client.post("/cards/open-photo", data={"csrf_token": token}, files={"photo": ("x.png", b"x", "image/png")})
    assert r.status_code == 429
    big = b"\0" * (site_settings_limit() + 100 * 1024)
    r = client.post("/cards/open-photo", data={"csrf_token": token}, files={"photo": ("x.png", big, "image/png")})
    assert r.status_code == 413


def site_settings_limit() -> int:
    from haven.web import WebSettings

    return WebSettings().upload_max_bytes


CLOSED_NOTICE = "The card closed before this visit was saved."


def test_a_visit_typed_while_the_card_closed_is_kept_to_open_the_card_again_and_save(
    client: TestClient, site: WebSite, clock: MonotonicClock
) -> None:
    token = page_sign_in(client, "clinician")
    card = Card(bytes(range(16)))
    record(site, card, [{"type": "note", "date": "2026-11-01", "text": "x"}], first=True)
    open_typed(client, token, card.code)
    assert client.get("/card/visit").status_code == 200
    clock.now += 5 * 60 + 1  # the open card's idle timeout, while the visit was typed
    draft = {
        "date": "2026-11-20",
        "vac_product": "td",
        "vac_dose": "1",
        "vac_lot": "XY1",
        "care_kind": "treatment",
        "care_symptoms": "fever",
    }
    r = client.post("/card/visit", data={"csrf_token": token, **draft})
    assert r.status_code == 409 and CLOSED_NOTICE in r.text
    assert 'value="XY1"' in r.text and '<option value="td" selected>' in r.text and 'value="fever" checked' in r.text
    assert 'id="reopen_card"' in r.text
    words = card.words("en")
    words[3] = "abandom"
    r = client.post("/card/visit", data={"csrf_token": token, **draft, "reopen_card": " ".join(words)})
    assert r.status_code == 409 and 'id="reopen_card-error">Word 4 (“abandom”) is not a card word.' in r.text
    assert 'value="XY1"' in r.text  # still kept
    assert len(site.clinic().history(card).to_doc()["visits"]) == 1  # nothing saved yet
    r = client.post(
        "/card/visit", data={"csrf_token": token, **draft, "reopen_card": card.code}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/card/history"
    last = site.clinic().history(card).to_doc()["visits"][-1]["entries"]
    assert last[0]["lot"] == "XY1" and last[1]["symptoms"] == ["fever"]


def test_a_first_visit_typed_while_the_card_closed_is_saved_as_the_first_visit(
    client: TestClient, site: WebSite, clock: MonotonicClock
) -> None:
    token = page_sign_in(client, "clinician")
    card, other = Card(bytes(range(1, 17))), Card(bytes(range(2, 18)))
    open_typed(client, token, card.code)
    client.post("/card/start-history", data={"csrf_token": token})
    assert 'name="first_visit" value="1"' in client.get("/card/visit").text
    clock.now += 5 * 60 + 1
    draft = {"date": "2026-11-20", "note_text": "first visit", "first_visit": "1"}
    r = client.post("/card/visit", data={"csrf_token": token, **draft})
    assert r.status_code == 409 and 'name="first_visit" value="1"' in r.text
    r = client.post(
        "/card/visit", data={"csrf_token": token, **draft, "reopen_card": card.code}, follow_redirects=False
    )
    assert r.status_code == 303
    assert site.clinic().history(card).to_doc()["visits"][0]["entries"][0]["text"] == "first visit"
    # A draft of a visit to a card with records, reopened on a card with none, is not a first visit there.
    open_typed(client, token, card.code)
    clock.now += 5 * 60 + 1
    draft = {"date": "2026-11-20", "note_text": "again"}
    r = client.post("/card/visit", data={"csrf_token": token, **draft, "reopen_card": other.code})
    assert r.status_code == 409 and "No records for this card at this site (or the PIN is wrong)." in r.text
    assert "again" in r.text and not site.clinic().has_records(other, None)
