"""Pages of the day (server side, no browser): the photo form's errors, the sheet's validity said before issuing
and its words in the holder's language, the return-date slip, the day's work, buttons that need the script."""

from __future__ import annotations

from html.parser import HTMLParser

from fastapi.testclient import TestClient

from haven.core.card import Card
from haven.web.site import WebSite
from tests.web.test_pages import RecordingIssuer, ids, open_typed, page_sign_in, record

VACCINATION = {"type": "vaccination", "product": "td", "dose": 1, "date": "2026-11-20"}
TEST = {"type": "test", "test": "pcr", "result": "positive", "date": "2026-11-28"}


def test_read_the_photo_without_a_file_says_so_once_in_the_pages_language(client: TestClient) -> None:
    token = page_sign_in(client, "registrar")
    client.cookies.set("haven_lang", "zh_Hans")
    for files in (None, {"photo": ("", b"", "application/octet-stream")}):
        r = client.post("/cards/open-photo", data={"csrf_token": token}, files=files)
        assert r.status_code == 400 and r.text.count('role="alert"') == 1
        assert "请先选择二维码照片，再读取。" in r.text and 'id="photo-error"' in r.text
    r = client.post("/cards/open-photo", data={"csrf_token": token}, files={"photo": ("a.txt", b"hi", "text/plain")})
    assert r.status_code == 400 and r.text.count('role="alert"') == 1 and 'id="card-error"' not in r.text


def test_the_form_says_that_a_test_cuts_the_whole_sheets_validity(client: TestClient, site: WebSite) -> None:
    card = Card(bytes(range(4, 20)))
    record(site, card, [VACCINATION, TEST], first=True)
    vaccination, test = ids(site, card)
    token = page_sign_in(client, "clinician")
    open_typed(client, token, card.code)
    page = client.get("/card/certificates").text
    # The week of 2026-11-29 starts on the 23rd: vaccinations a year from then; a test 72 hours from its day.
    assert "The sheet will be valid until 2027-11-23 00:00 UTC." in page
    assert 'data-expires="2026-12-01 00:00 UTC"' in page
    assert "A sheet with this test is valid until 2026-12-01 00:00 UTC." in page
    # Without the script, the page shown again says it for what was chosen.
    r = client.post("/card/certificates", data={"csrf_token": token, "entry": [vaccination, test], "count": "0"})
    assert r.status_code == 400
    assert "A test is chosen: the whole sheet, vaccinations included, will be valid only until 2026-12-01" in r.text


def test_the_sheet_prints_in_the_holders_language(client: TestClient, site: WebSite) -> None:
    site.certificates = RecordingIssuer()
    card = Card(bytes(range(4, 20)))
    record(site, card, [VACCINATION], first=True)
    token = page_sign_in(client, "clinician")
    open_typed(client, token, card.code)
    [vaccination] = ids(site, card)
    data = {"csrf_token": token, "entry": [vaccination], "count": "2", "language": "ko", "paper": "58"}
    r = client.post("/card/certificates", data=data)
    assert r.status_code == 200 and 'lang="ko"' in r.text and "paper-58" in r.text
    assert "아래의 각 코드는 한 번의 확인용입니다." in r.text and "2027-01-01 00:00 UTC까지 유효" in r.text
    assert "certificates issued" in r.text  # the worker's page around it stays English
    r = client.post("/card/certificates", data={**data, "language": "xx", "paper": "A3"})
    assert r.status_code == 200 and "Each code below is for one check" in r.text and "paper-a4" in r.text


def test_the_slip_says_when_to_come_back_and_nothing_else(client: TestClient, site: WebSite) -> None:
    card = Card(bytes(range(4, 20)))
    record(site, card, [VACCINATION, TEST], first=True)
    token = page_sign_in(client, "registrar")
    open_typed(client, token, card.code)
    assert 'href="/card/slip"' in client.get("/card").text
    r = client.get("/card/slip", params={"lang": "zh_Hans"})
    assert r.status_code == 200
    slip = r.text[r.text.index('<article class="slip"') : r.text.index("</article>")]
    assert 'lang="zh-Hans"' in slip and "复诊日期" in slip and "请于" in slip and "2026-12-18" in slip
    for clinical in ("PCR", "pcr", "阳性", "Positive", "positive"):
        assert clinical not in slip
    assert card.code not in r.text and not any(w in slip for w in card.words())


def own_visits(client: TestClient) -> str:
    r = client.get("/today")
    assert r.status_code == 200 and "You, today" in r.text and 'id="today-table"' not in r.text
    return r.text[r.text.index('id="own-visits"') :].split("</tr>")[0]


def record_visits(client: TestClient, role: str, n: int) -> str:
    token = page_sign_in(client, role)
    for _ in range(n):
        client.post("/cards/new", data={"language": "en", "csrf_token": token})
        fields = {"csrf_token": token, "date": "2026-11-29", "vac_product": "td", "vac_dose": "1", "first_visit": "1"}
        assert client.post("/card/visit", data=fields).status_code == 200
    return token


def test_every_recording_member_sees_their_own_day_only(client: TestClient, site: WebSite) -> None:
    token = record_visits(client, "clinician", 2)
    assert 'href="/today"' in client.get("/").text
    assert ">2</td>" in own_visits(client)
    client.post("/sign-out", data={"csrf_token": token})
    token = record_visits(client, "registrar", 1)
    assert 'href="/today"' in client.get("/").text
    assert ">1</td>" in own_visits(client)
    client.cookies.set("haven_lang", "ko")
    assert "오늘의 나" in client.get("/today").text
    client.post("/sign-out", data={"csrf_token": token})
    page_sign_in(client, "ana")  # another clinician: none of theirs
    client.cookies.set("haven_lang", "zh_Hans")
    page = client.get("/today").text
    assert "我的今日" in page and ">0</td>" in page[page.index('id="own-visits"') :].split("</tr>")[0]


def test_the_days_work_is_for_coordinators_and_counts_without_people(client: TestClient, site: WebSite) -> None:
    token = record_visits(client, "clinician", 1)
    client.post("/sign-out", data={"csrf_token": token})
    page_sign_in(client, "coordinator")
    r = client.get("/today")
    assert r.status_code == 200 and "<h1>Today&#39;s work</h1>" in r.text
    row = r.text[r.text.index('id="today-visits"') :].split("</tr>")[0]
    assert ">1</td>" in row and ">0</td>" in row  # the site recorded one visit today; the coordinator none
    assert "dose 1" in r.text and "2026-W48" in r.text


def test_the_days_work_names_an_adverse_event_in_the_pages_language(client: TestClient, site: WebSite) -> None:
    aefi = {"type": "aefi", "product": "td", "dose": 1, "vaccination_date": "2026-11-29", "date": "2026-11-29"}
    record(site, Card(bytes(range(7, 23))), [{**aefi, "serious": False, "category": "coincidental"}], first=True)
    page_sign_in(client, "coordinator")
    client.cookies.set("haven_lang", "ko")
    page = client.get("/today")
    assert page.status_code == 200 and "우연히 동반된 사건" in page.text, page.text[:300]


class ScriptButtons(HTMLParser):
    """The ``type="button"`` buttons of a page (they act only by script) that show without it: not hidden
    themselves nor inside a hidden element."""

    VOID = frozenset(
        {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
    )

    def __init__(self) -> None:
        super().__init__()
        self.open: list[bool] = []  # for each open element: whether it or one around it is hidden
        self.shown: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        hidden = (self.open[-1] if self.open else False) or any(name == "hidden" for name, _ in attrs)
        if tag == "button" and ("type", "button") in attrs and not hidden:
            self.shown.append(dict(attrs).get("class") or "")
        if tag not in self.VOID:
            self.open.append(hidden)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.open:
            self.open.pop()


def script_buttons_shown(html: str) -> list[str]:
    parser = ScriptButtons()
    parser.feed(html)
    return parser.shown


def test_buttons_that_need_the_script_are_hidden_until_it_runs(client: TestClient, site: WebSite) -> None:
    site.certificates = RecordingIssuer()
    card = Card(bytes(range(4, 20)))
    record(site, card, [VACCINATION], first=True)
    token = page_sign_in(client, "clinician")
    home = client.get("/").text
    assert 'class="scanner-start' in home and script_buttons_shown(home) == []  # the camera, with its panel
    open_typed(client, token, card.code)
    [vaccination] = ids(site, card)
    sheet = client.post("/card/certificates", data={"csrf_token": token, "entry": [vaccination], "count": "1"})
    pages = {path: client.get(path).text for path in ("/card/print", "/card/slip", "/card/history/summary")}
    pages |= {"/card/history/import": client.get("/card/history/import").text, "sheet": sheet.text}
    for path, html in pages.items():
        assert "<button" in html and script_buttons_shown(html) == [], path
    assert 'id="import-scan" hidden' in pages["/card/history/import"] and 'id="open-camera" hidden' in home
