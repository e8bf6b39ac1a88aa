"""The visit form's clinical sections (vital signs, weight, allergy, AEFI), through the test client."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from haven.core.entries import REACTIONS
from haven.web import clinical_forms
from haven.web.site import WebSite
from tests.web.test_pages import page_sign_in, post_visit

DAY = "2026-11-20"
FILLED = {
    "date": DAY,
    "vit_temperature": "38,4",  # a decimal comma is read as a point
    "vit_pulse": "110",
    "vit_systolic": "118",
    "vit_diastolic": "76",
    "wt_weight": "8.45",
    "wt_muac": "121",
    "al_substance": "penicillin",
    "al_reactions": ["urticaria", "angioedema"],
    "al_severity": "moderate",
    "aefi_product": "penta",
    "aefi_dose": "1",
    "aefi_vaccination_date": "2026-11-19",
    "aefi_serious": "no",
    "aefi_category": "product-related",
    "aefi_reactions": ["fever"],
    "aefi_outcome": "recovering",
}


def test_every_clinical_section_saves_and_the_history_shows_it(client: TestClient, site: WebSite) -> None:
    token = page_sign_in(client, "clinician")
    client.post("/cards/new", data={"language": "en", "csrf_token": token})
    r = client.post("/card/visit", data={"csrf_token": token, **FILLED}, follow_redirects=True)
    assert r.status_code == 200 and r.url.path == "/card/history", r.text[:2000]
    visits = r.text[r.text.index('id="visits"') :]
    text = re.sub(r"<[^>]+>", "", visits)
    assert "Vital signs" in text and "38.4 °C" in text and "118/76 mmHg" in text
    assert "8.45 kg" in text and "MUAC: 121 mm" in text
    assert "Breaths a minute" not in text and "SpO2" not in text and "Height" not in text  # not measured
    assert "Allergy" in text and "Penicillin" in text and "Hives (urticaria)" in text
    assert "Pentavalent vaccine (DTwP-HepB-Hib)" in text and "Vaccine product-related reaction" in text
    assert "Not serious" in text and "Recovering" in text
    assert len(site.store.tallies()) == 1  # one visit, its AEFI counted


def test_a_clinical_section_refused_keeps_what_was_typed_with_the_reason_beside_each_field(
    client: TestClient, site: WebSite
) -> None:
    fields = {
        "date": DAY,
        "vit_systolic": "120",  # without the diastolic pressure
        "wt_weight": "abc",
        "al_reactions": "rash",  # a reaction, no substance
        "aefi_product": "penta",
        "aefi_dose": "1",
        "aefi_vaccination_date": "2026-11-21",  # after the event
    }
    _, html = post_visit(client, "clinician", fields)
    assert 'id="vit_systolic-error">Give both blood pressures, systolic and diastolic.' in html
    assert 'id="wt_weight-error">Enter a number.' in html
    assert 'id="al_substance-error">Choose one, or clear the other fields of this section.' in html
    assert 'id="aefi_vaccination_date-error">The vaccine was given after this date' in html
    assert 'id="aefi_serious-error">This is required.' in html
    assert 'value="abc"' in html and re.search(r'value="rash" checked', html)
    summary = html[html.index('id="error-summary"') : html.index("</div>", html.index('id="error-summary"'))]
    hrefs = re.findall(r'href="#(\w+)"', summary)
    assert hrefs == ["vit_systolic", "wt_weight", "al_substance", "aefi_vaccination_date", "aefi_serious"]
    assert site.store.tallies() == []


def test_the_form_in_korean_names_the_new_sections(client: TestClient) -> None:
    token = page_sign_in(client, "clinician")
    client.post("/cards/new", data={"language": "en", "csrf_token": token})
    client.cookies.set("haven_lang", "ko")
    html = client.get("/card/visit").text
    for text in ("활력 징후", "체중과 성장", "알레르기", "예방접종 후 이상반응 (AEFI)", "백신 제품 관련 반응"):
        assert text in html, text


def test_each_result_option_names_the_tests_that_give_it(client: TestClient) -> None:
    token = page_sign_in(client, "clinician")
    client.post("/cards/new", data={"language": "en", "csrf_token": token})
    html = client.get("/card/visit").text
    assert 'value="malaria-pf" data-tests="malaria-rdt"' in html
    assert 'value="negative" data-tests="antigen pcr malaria-rdt"' in html


def test_the_form_offers_only_reactions_the_entries_accept() -> None:
    assert set(clinical_forms.ALLERGY_REACTIONS) | set(clinical_forms.AEFI_REACTIONS) <= set(REACTIONS)


def test_a_negative_measurement_is_refused_for_its_range_as_the_command_line_says(client: TestClient) -> None:
    fields = {"date": DAY, "wt_weight": "-3", "vit_temperature": "-1,5"}
    _, html = post_visit(client, "clinician", fields)
    assert 'id="wt_weight-error">Enter a number from 0.3 to 350.' in html and 'value="-3"' in html
    assert 'id="vit_temperature-error">Enter a number from 30 to 45.' in html
