"""The lots page and the visit form's lot field: coordinators add and retire lots, others only view; the
form offers the chosen vaccine's lots in use, refuses an expired one beside its field, in the page's language."""

from __future__ import annotations

from fastapi.testclient import TestClient

from haven.web.site import WebSite
from tests.web.test_pages import page_sign_in

TODAY_FIELDS = {"vac_product": "td", "vac_dose": "1"}


def add(client: TestClient, token: str, **fields: str) -> tuple[int, str]:
    r = client.post("/lots", data={"csrf_token": token, **fields})
    return r.status_code, r.text


def test_a_coordinator_adds_and_retires_lots_and_sees_doses_used(client: TestClient, site: WebSite) -> None:
    token = page_sign_in(client, "coordinator")
    assert "No lot is registered yet" in client.get("/lots").text
    code, text = add(client, token, product="td", lot="TD-1", expiry="2099-12-31", received="50")
    assert code == 200 and "Lot added." in text and "TD-1" in text
    code, text = add(client, token, product="td", lot="TD-1", expiry="2099-12-31")
    assert code == 422 and "This lot of this vaccine is already in the register." in text
    code, text = add(client, token, product="td", lot="TD-2", expiry="31/12/2099")
    assert code == 422 and 'id="expiry-error"' in text and 'value="TD-2"' in text  # kept, error beside it
    r = client.post("/lots/retire", data={"csrf_token": token, "product": "td", "lot": "TD-1"})
    assert r.status_code == 200 and "Lot retired" in r.text
    assert '<th scope="col" class="num">Used</th>' in r.text


def test_others_view_the_lots_in_their_language_without_managing_them(client: TestClient, site: WebSite) -> None:
    token = page_sign_in(client, "coordinator")
    add(client, token, product="mr", lot="MR-9", expiry="2099-12-31")
    client.post("/sign-out", data={"csrf_token": token})
    token = page_sign_in(client, "registrar")
    client.cookies.set("haven_lang", "ko")
    page = client.get("/lots").text
    assert "백신 로트" in page and "MR-9" in page and "사용 중" in page
    assert 'action="/lots"' not in page and "/lots/retire" not in page and "사용량" not in page
    assert (
        client.post(
            "/lots", data={"csrf_token": token, "product": "mr", "lot": "X", "expiry": "2099-01-01"}
        ).status_code
        == 403
    )


def test_the_visit_form_offers_lots_in_use_and_refuses_an_expired_one(client: TestClient, site: WebSite) -> None:
    token = page_sign_in(client, "coordinator")
    add(client, token, product="td", lot="TD-OK", expiry="2099-12-31")
    add(client, token, product="td", lot="TD-OLD", expiry="2020-01-31")
    client.post("/sign-out", data={"csrf_token": token})
    token = page_sign_in(client, "clinician")
    client.cookies.set("haven_lang", "zh_Hans")
    client.post("/cards/new", data={"language": "en", "csrf_token": token})
    form = client.get("/card/visit").text
    assert '<datalist id="lots-td"><option value="TD-OK"></option></datalist>' in form
    assert "TD-OLD" not in form
    today = site.date_today().isoformat()
    r = client.post("/card/visit", data={"csrf_token": token, "date": today, "vac_lot": "TD-OLD", **TODAY_FIELDS})
    assert r.status_code == 422
    assert "批号TD-OLD已于2020-01-31过期：请使用未过期的批号。" in r.text and 'id="vac_lot-error"' in r.text
    assert 'value="TD-OLD"' in r.text and 'list="lots-td"' in r.text
    assert client.get("/api/cards/open").json()["has_records"] is False  # nothing stored


def test_an_expiry_that_is_no_day_is_said_so_in_the_pages_language(client: TestClient, site: WebSite) -> None:
    token = page_sign_in(client, "coordinator")
    code, text = add(client, token, product="td", lot="TD-3", expiry="2099-02-30")
    assert code == 422 and "There is no such day: check the expiry date" in text and 'value="2099-02-30"' in text
    client.cookies.set("haven_lang", "ko")
    code, text = add(client, token, product="td", lot="TD-3", expiry="2099-02-30")
    assert code == 422 and "없는 날짜입니다" in text
    client.cookies.set("haven_lang", "en")
    assert "No lot is registered yet" in client.get("/lots").text  # nothing was stored
