"""The open card's page as the worker meets it: a card with no records, the visit dates, the doses due."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from haven.core.card import Card
from haven.errors import StoreFullError
from haven.site.audit import AuditLog
from haven.site.site import Site
from haven.web.site import WebSite
from tests.web.conftest import PASSPHRASES
from tests.web.test_pages import open_typed, page_sign_in, record

NOTE = [{"type": "note", "date": "2026-11-01", "text": "seen"}]
DOSE_1 = [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-11-02"}]


def test_a_card_with_no_records_offers_checking_again_before_a_new_history(client: TestClient) -> None:
    """A wrong PIN finds nothing too: the main button checks the card again; a history starts only on a second page."""
    token = page_sign_in(client, "clinician")
    status, html = open_typed(client, token, Card(bytes(range(16))).code, pin="9999")
    assert status == 200
    panel = html[html.index('id="first-visit"') :]
    assert panel.index('id="check-again"') < panel.index('id="start-history"')
    assert 'action="/card/start-history"' not in html  # no one-click start from the card page
    assert 'href="/card/start-history"' in html and "Check the words and PIN again" in html

    step = client.get("/card/start-history")
    assert step.status_code == 200
    assert "A wrong PIN looks the same as a new holder: no records." in step.text
    assert "splits their records in two" in step.text and 'action="/card/start-history"' in step.text
    assert client.get("/card/visit", follow_redirects=False).headers["location"] == "/card"  # not started yet
    started = client.post("/card/start-history", data={"csrf_token": token}, follow_redirects=False)
    assert started.headers["location"] == "/card/visit"
    # Once started (or for a card with records) the second step is not offered again.
    assert client.get("/card/start-history", follow_redirects=False).headers["location"] == "/card"

    r = client.post("/card/close", data={"csrf_token": token}, follow_redirects=True)
    assert r.url.path == "/" and "Card closed." in r.text


def test_the_second_step_speaks_korean_and_chinese(client: TestClient) -> None:
    token = page_sign_in(client, "registrar")
    open_typed(client, token, Card(bytes(range(16))).code)
    client.cookies.set("haven_lang", "ko")
    assert "단어와 PIN 다시 확인" in client.get("/card").text
    assert "PIN이 틀려도 새 소지자와 똑같이 보입니다." in client.get("/card/start-history").text
    client.cookies.set("haven_lang", "zh_Hans")
    assert "再次核对词语和 PIN" in client.get("/card").text
    assert "PIN 输错时和新持卡人看起来一样：没有记录。" in client.get("/card/start-history").text


def test_the_visit_heading_shows_the_visit_date_and_when_it_was_recorded_later(
    client: TestClient, site: WebSite
) -> None:
    card = Card(bytes(range(3, 19)))
    today = site.date_today().isoformat()
    record(site, card, NOTE, first=True)  # a paper record typed in weeks later
    record(site, card, [{"type": "note", "date": today, "text": "today"}])
    token = page_sign_in(client, "clinician")
    open_typed(client, token, card.code)
    html = client.get("/card/history").text
    found = re.findall(r"<h3>(.*?)</h3>", html, re.S)
    headings = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", h)).strip() for h in found]
    # The visit entered today shows only its date; the older one its date, then the day it was typed in.
    assert headings == [f"Visit 2 · {today}", f"Visit 1 · 2026-11-01 (recorded later, on {today})"]
    client.cookies.set("haven_lang", "ko")
    assert f"({today}에 나중에 입력됨)" in re.sub(r"<[^>]+>", "", client.get("/card/history").text)


def test_a_registrar_sees_the_dose_due_but_not_the_history(client: TestClient, site: WebSite, keys: Site) -> None:
    card = Card(bytes(range(4, 20)))
    record(site, card, DOSE_1, first=True)
    token = page_sign_in(client, "registrar")
    _, html = open_typed(client, token, card.code)
    due = html[html.index('id="next-doses"') :]
    assert "Comirnaty" in due and "dose 2" in due and "from 2026-11-23" in due
    assert "/card/history" not in html and client.get("/card/history").status_code == 403
    client.cookies.set("haven_lang", "zh_Hans")
    assert "第 2 剂" in client.get("/card").text
    with keys.unlock(PASSPHRASES["coordinator"]) as coordinator:  # the reading is in the audit log, by whom
        registrar = next(m for m in coordinator.staff_table().active() if m.name == "registrar")
        actions = [e.action for e, _ in coordinator.audit.rows() if e.staff == registrar.id]
    assert actions == ["schedule.view"] * 2  # one per card page shown


def test_a_clinician_reads_the_doses_due_in_the_history_only(client: TestClient, site: WebSite) -> None:
    card = Card(bytes(range(5, 21)))
    record(site, card, DOSE_1, first=True)
    token = page_sign_in(client, "clinician")
    _, html = open_typed(client, token, card.code)
    assert 'id="next-doses"' not in html and 'href="/card/history"' in html
    assert "dose 2" in client.get("/card/history").text


def test_on_a_full_disk_the_card_page_still_opens_without_the_unlogged_doses(
    client: TestClient, site: WebSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = Card(bytes(range(6, 22)))
    record(site, card, DOSE_1, first=True)
    token = page_sign_in(client, "registrar")

    def full(*args: Any) -> None:
        raise StoreFullError("The disk is full.")

    monkeypatch.setattr(AuditLog, "append", full)
    status, html = open_typed(client, token, card.code)
    assert status == 200 and "This card has records at this site." in html
    assert 'id="next-doses"' not in html and 'id="add-visit"' in html
