"""Pages typeset as each language expects: list and label punctuation, plural forms, notes, the holder's facts."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from haven.core.card import Card
from haven.web.site import WebSite
from tests.web.test_pages import ids, open_typed, page_sign_in, record

CONSULTATION = {
    "type": "consultation",
    "date": "2026-11-01",
    "severity": "mild",
    "symptoms": ["fever", "cough"],
    "medicines": ["paracetamol", "ORS"],
}


def history_html(client: TestClient, site: WebSite, doc: object, lang: str = "en") -> str:
    card = Card(bytes(range(2, 18)))
    record(site, card, doc, first=True)
    token = page_sign_in(client, "clinician")
    client.cookies.set("haven_lang", lang)
    open_typed(client, token, card.code)
    r = client.get("/card/history")
    assert r.status_code == 200
    return r.text


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_chinese_joins_lists_and_labels_with_full_width_marks(client: TestClient, site: WebSite) -> None:
    vaccination = {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01", "lot": "FJ8529"}
    html = history_html(client, site, [CONSULTATION, vaccination], "zh_Hans")
    assert '<span class="unbroken">2026-10-01</span>' in html  # a date is never split at its hyphens
    shown = text_of(html)
    assert "症状：发热、咳嗽" in shown and "药物：paracetamol、ORS" in shown
    assert "问诊，2026-11-01：轻症" in shown
    assert re.search(r"接种：[^，]+，第 ?1 ?剂，2026-10-01，", shown), shown
    assert not re.search(r"[\u4e00-\u9fff][:,] ", shown), shown  # no half-width mark after a Chinese word


@pytest.mark.parametrize(("lang", "expected"), [("en", "Symptoms: Fever, Cough"), ("ko", "증상: 발열, 기침")])
def test_english_and_korean_keep_latin_marks(client: TestClient, site: WebSite, lang: str, expected: str) -> None:
    assert expected in text_of(history_html(client, site, [CONSULTATION], lang))


def test_a_note_is_one_item_with_its_text(client: TestClient, site: WebSite) -> None:
    html = history_html(client, site, [{"type": "note", "date": "2026-11-01", "text": "seen today\nback in a week"}])
    item = re.search(r'<li class="entry note">(.*?)</li>', html, re.S)
    assert item is not None
    # Label, date and text on one line: no line break leaving the bullet alone above the note.
    assert re.fullmatch(
        r'\s*<strong>Note</strong>, 2026-11-01: <span class="note">seen today\nback in a week</span>\s*', item.group(1)
    ), item.group(1)


@pytest.mark.parametrize(
    ("holder", "facts"),
    [
        ({"sex": "female"}, "Female"),
        ({"sex": "female", "pregnant": True}, "Female · Pregnant"),
        ({"age_band": "30-39", "sex": "male"}, "Age 30-39 · Male"),
        ({"birth_year": 1990}, "Born 1990"),
    ],
)
def test_the_holders_facts_have_no_stray_separator(
    client: TestClient, site: WebSite, holder: dict[str, object], facts: str
) -> None:
    html = history_html(client, site, {"holder": holder, "entries": [CONSULTATION]})
    found = re.search(r'<p class="facts">(.*?)</p>', html, re.S)
    assert found is not None and found.group(1) == facts


def test_no_facts_no_line(client: TestClient, site: WebSite) -> None:
    assert 'class="facts"' not in history_html(client, site, [CONSULTATION])


@pytest.mark.parametrize(
    ("lang", "count", "expected"),
    [
        ("en", 1, "1 certificate issued. Print the sheet now: it is not kept anywhere"),
        ("en", 3, "3 certificates issued. Print the sheet now: they are not kept anywhere"),
        ("ko", 1, "증명서 1장을 발급했습니다."),
        ("zh_Hans", 3, "已签发 3 份证明。"),
    ],
)
def test_the_sheet_counts_in_each_languages_plural(
    client: TestClient, site: WebSite, lang: str, count: int, expected: str
) -> None:
    card = Card(bytes(range(3, 19)))
    record(site, card, [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}], first=True)
    (entry,) = ids(site, card)
    token = page_sign_in(client, "clinician")
    client.cookies.set("haven_lang", lang)
    open_typed(client, token, card.code)
    r = client.post("/card/certificates", data={"csrf_token": token, "entry": [entry], "count": str(count)})
    assert r.status_code == 200 and expected in r.text


def test_korean_names_the_button_and_the_heading_apart(client: TestClient, site: WebSite) -> None:
    html = history_html(client, site, [CONSULTATION], "ko")
    heading = re.search(r'<section class="panel" id="visits">\s*<h2>([^<]+)</h2>', html)
    button = re.search(r'<a class="button" href="/card/visit">([^<]+)</a>', html)
    assert heading is not None and button is not None
    assert heading.group(1) != button.group(1), heading.group(1)


def test_every_page_has_a_skip_link_in_its_language(client: TestClient) -> None:
    client.cookies.set("haven_lang", "zh_Hans")
    html = client.get("/sign-in").text
    body = html.split("<body", 1)[1]
    assert re.search(r'^[^>]*>\s*<a class="skip-link[^"]*" href="#main">跳到正文</a>', body), body[:200]
    assert '<main id="main" tabindex="-1">' in html
