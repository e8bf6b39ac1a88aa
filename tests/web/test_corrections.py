"""Correcting and voiding from the history page and the JSON API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from haven.core.card import Card
from haven.core.history import entry_id
from haven.web.site import WebSite
from tests.web.conftest import csrf_of, sign_in

CARD = Card(bytes(range(2, 18)))
DOSE = {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-11-01", "lot": "FJ8529"}
TEST = {"type": "test", "test": "antigen", "result": "positive", "date": "2026-11-01"}


def opened(client: TestClient, site: WebSite, role: str = "clinician") -> tuple[str, list[str]]:
    """Sign in, open the card (one visit: a dose and a test); the CSRF token and the entry ids."""
    site.clinic().add_visit(CARD, [DOSE, TEST], first_visit=True)
    sign_in(client, role)
    token = csrf_of(client.get("/").text)
    client.post("/cards/open", data={"card": " ".join(CARD.words()), "pin": "", "csrf_token": token})
    visit = site.clinic().history(CARD).visits[0]
    return token, [entry_id(visit, 0), entry_id(visit, 1)]


def test_the_history_page_corrects_and_voids_and_shows_both_versions(client: TestClient, site: WebSite) -> None:
    token, (dose, test) = opened(client, site)
    page = client.get("/card/history").text
    assert f'href="/card/correct?entry={dose}"' in page and f'value="{test}"' in page
    form = client.get("/card/correct", params={"entry": dose}).text
    assert 'value="FJ8529"' in form and 'name="vac_dose" inputmode="numeric" size="3" value="1"' in form
    fields = {"csrf_token": token, "entry": dose, "date": "2026-11-01", "vac_product": "comirnaty"}
    r = client.post("/card/correct", data={**fields, "vac_dose": "1", "vac_lot": "FJ8530", "reason": "lot misread"})
    assert r.url.path == "/card/history" and "Entry corrected." in r.text
    assert "lot FJ8530" in r.text and '<del class="original">' in r.text and "Corrected on 2026-11-29" in r.text
    r = client.post("/card/void", data={"csrf_token": token, "entry": test, "reason": "wrong card"})
    assert "Entry voided." in r.text and "Voided on 2026-11-29" in r.text and "wrong card" in r.text
    assert "Rapid antigen test" in r.text  # a voided entry shows, struck through, never hidden
    assert [e.type for e in site.clinic().history(CARD).visits[0].visit.entries] == ["vaccination"]


def test_a_test_is_corrected_on_a_form_of_its_own_type(client: TestClient, site: WebSite) -> None:
    token, (_, test) = opened(client, site)
    form = client.get("/card/correct", params={"entry": test}).text
    assert 'id="test_result"' in form and 'id="vac_product"' not in form
    fields = {"csrf_token": token, "entry": test, "date": "2026-11-01", "test_test": "antigen"}
    r = client.post("/card/correct", data={**fields, "test_result": "negative", "reason": "read wrong"})
    assert r.url.path == "/card/history"
    (_, now) = site.clinic().history(CARD).visits[0].visit.entries
    assert now.result == "negative"  # type: ignore[union-attr]


def test_a_refused_correction_comes_back_with_its_error_and_stores_nothing(client: TestClient, site: WebSite) -> None:
    token, (dose, test) = opened(client, site)
    before = site.store.count()
    fields = {"csrf_token": token, "entry": dose, "date": "2026-11-01", "vac_product": "comirnaty"}
    r = client.post("/card/correct", data={**fields, "vac_dose": "0"})
    assert r.status_code == 422 and "Dose number: Enter a number from 1 to 10." in r.text
    r = client.post("/card/void", data={"csrf_token": token, "entry": test, "reason": " "})
    assert r.status_code == 422 and "This is required." in r.text
    assert site.store.count() == before


def test_a_correction_that_changes_nothing_is_refused_in_the_pages_language(client: TestClient, site: WebSite) -> None:
    token, (dose, _) = opened(client, site)
    before = site.store.count()
    fields = {"csrf_token": token, "entry": dose, "date": "2026-11-01", "vac_product": "comirnaty", "vac_dose": "1"}
    r = client.post("/card/correct", data={**fields, "vac_lot": "FJ8529", "reason": "checked"})
    assert r.status_code == 422 and "Nothing is changed: correct a field" in r.text
    assert 'value="checked"' in r.text  # what was typed comes back
    client.cookies.set("haven_lang", "ko")
    r = client.post("/card/correct", data={**fields, "vac_lot": "FJ8529", "reason": "checked"})
    assert r.status_code == 422 and "바뀐 것이 없습니다" in r.text
    client.cookies.set("haven_lang", "zh_Hans")
    r = client.post("/card/correct", data={**fields, "vac_lot": "FJ8529", "reason": "checked"})
    assert r.status_code == 422 and "没有任何改动" in r.text
    r = client.post(
        "/api/corrections",
        json={"entry": dose, "kind": "amend", "replacement": DOSE, "reason": "checked"},
        headers={"X-CSRF-Token": token},
    )
    details = r.json()["error"]["details"]
    assert r.status_code == 422 and details["field"] == "replacement" and details["reason"].startswith("is the same")
    assert site.store.count() == before
    assert "corrected" not in client.get("/api/history").json()["visits"][0]["entries"][0]


def test_the_api_corrects_and_voids(client: TestClient, site: WebSite) -> None:
    token, (dose, test) = opened(client, site)
    headers = {"X-CSRF-Token": token}
    r = client.post(
        "/api/corrections",
        json={"entry": dose, "kind": "amend", "replacement": {**DOSE, "dose": 2}, "reason": "dose misread"},
        headers=headers,
    )
    assert r.status_code == 200 and r.json() == {"entry": dose, "kind": "amend", "index": 1, "stored": True}
    r = client.post("/api/corrections", json={"entry": test, "kind": "void"}, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "reason"
    r = client.post("/api/corrections", json={"entry": test, "kind": "void", "reason": "x"}, headers=headers)
    assert r.status_code == 200
    entries = client.get("/api/history").json()["visits"][0]["entries"]
    assert entries[0]["dose"] == 2 and entries[0]["corrected"]["original"]["dose"] == 1
    assert entries[1]["voided"]["reason"] == "x"


def test_a_registrar_sees_no_correct_button_and_is_refused(client: TestClient, site: WebSite) -> None:
    token, (dose, _) = opened(client, site, "registrar")
    r = client.post("/card/void", data={"csrf_token": token, "entry": dose, "reason": "no"})
    assert r.status_code == 403
    r = client.post(
        "/api/corrections", json={"entry": dose, "kind": "void", "reason": "no"}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 403
    assert len(site.clinic().history(CARD).visits[0].visit.entries) == 2
