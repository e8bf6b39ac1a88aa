"""The visit page says after saving when the pull from the site's hub did not happen, as the CLI warns."""

from __future__ import annotations

import secrets

import pytest
from fastapi.testclient import TestClient

from haven.hub import pull_credential
from haven.hub.pull import HUB_SETTING
from haven.sync.roster import SiteKeys
from haven.web.site import WebSite
from tests.web.conftest import free_port, unlocked
from tests.web.test_pages import page_sign_in

VISIT = {"date": "2026-11-01", "vac_product": "comirnaty", "vac_dose": "1"}
HUB_DOWN = {
    "en": "Visit recorded, but the hub did not answer: it was recorded from this clinic&#39;s records only.",
    "ko": "방문을 기록했지만 허브가 응답하지 않아 이 진료소의 기록만으로 기록했습니다.",
    "zh_Hans": "已记录就诊，但中心服务器没有响应：仅根据本诊所的记录进行了记录。",
}
UNPULLED = {
    "en": "Visit recorded, but the pull from the hub failed",
    "ko": "방문을 기록했지만 허브에서 가져오지 못해",
    "zh_Hans": "已记录就诊，但未能从中心服务器拉取：",
}


def _save_a_first_visit(client: TestClient, language: str) -> str:
    token = page_sign_in(client, "clinician")
    client.cookies.set("haven_lang", language)
    r = client.post("/cards/new", data={"language": "en", "pin": "", "pin_again": "", "csrf_token": token})
    assert r.url.path == "/card/print", r.text
    r = client.post("/card/visit", data={"csrf_token": token, **VISIT})
    assert r.url.path == "/card/history", r.text
    return r.text


def _remember_hub(site: WebSite, credential: bool) -> None:
    store = unlocked(site).store
    store.put_setting(HUB_SETTING, f"http://127.0.0.1:{free_port()}".encode())  # nothing listens there
    if credential:
        pull_credential.store_new(store, SiteKeys.generate(secrets.token_bytes), secrets.token_bytes)


@pytest.mark.parametrize("language", ["en", "ko", "zh_Hans"])
def test_with_the_hub_unreachable_the_saved_visit_says_so(client: TestClient, site: WebSite, language: str) -> None:
    _remember_hub(site, credential=True)
    page = _save_a_first_visit(client, language)
    assert HUB_DOWN[language] in page
    assert site.store.count() == 1  # stored all the same


@pytest.mark.parametrize("language", ["en", "ko", "zh_Hans"])
def test_without_a_pull_credential_the_saved_visit_says_it_was_not_pulled(
    client: TestClient, site: WebSite, language: str
) -> None:
    _remember_hub(site, credential=False)
    page = _save_a_first_visit(client, language)
    assert UNPULLED[language] in page and "Visit recorded." not in page


def test_without_a_hub_the_saved_visit_says_only_that_it_was_recorded(client: TestClient, site: WebSite) -> None:
    page = _save_a_first_visit(client, "en")
    assert "Visit recorded." in page and "hub" not in page
