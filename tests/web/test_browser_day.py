"""The clinic's day in a real browser: opening a card from copied words or a photo, the certificate sheet in the
holder's language with its validity said before issuing, the verifier's seen-code warning, the day's work, the
return-date slip, and printing on A4 and 58/80 mm thermal rolls (print media, page size, nothing cut)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.web.conftest import VERIFIER_STRINGS as STRINGS
from tests.web.conftest import LiveServer
from tests.web.test_browser import broken_words, no_overflow, paste_and_check, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]
MM = 96 / 25.4  # CSS pixels per millimetre


@pytest.fixture
def page_in(browser: Any, live: LiveServer) -> Iterator[Any]:
    """A page factory: a fresh 360 px phone context in the given language."""
    contexts: list[Any] = []

    def make(locale: str = "en", width: int = 360) -> Any:
        ctx = browser.new_context(base_url=live.url, viewport={"width": width, "height": 740}, locale="en-US")
        ctx.add_cookies([{"name": "haven_lang", "value": locale, "url": live.url}])
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def new_card_with_a_visit(page: Any, live: LiveServer, test: bool = True) -> list[str]:
    """As a signed-in clinician: a new card, its first visit (a vaccination, and a test); the card's words."""
    page.goto("/")
    page.select_option("#language", "en")
    page.click("#new-card button[type=submit]")
    page.wait_for_url("**/card/print")
    words: list[str] = page.locator("#card-words li").all_inner_texts()
    page.click("#first-visit-link")
    page.select_option("#vac_product", "comirnaty")
    page.fill("#vac_dose", "1")
    if test:
        page.select_option("#test_test", "antigen")
        page.select_option("#test_result", "negative")
    page.click("#save-visit")
    page.wait_for_url("**/card/history")
    return words


def close_card(page: Any) -> None:
    page.goto("/card")
    page.click("#close-card")
    page.wait_for_load_state()


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_photo_errors_show_once_and_numbered_words_open_the_card_on_enter(
    page_in: Any, live: LiveServer, locale: str
) -> None:
    page = page_in(locale)
    sign_in(page, "clinician")
    words = new_card_with_a_visit(page, live, test=False)
    close_card(page)
    # "Read the photo" with no file: a clear error in the page's language, not a silent reload.
    page.click("#open-photo button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("main [role=alert]").count() == 1
    expected = "먼저 QR 코드 사진을 고른 다음 읽으세요." if locale == "ko" else "Choose a photo of the QR code first"
    assert expected in page.inner_text("#photo-error")
    assert page.evaluate("document.activeElement.id") == "photo"
    # A file that is not an image: its error once, beside the photo form only.
    page.set_input_files("#photo", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo"}])
    page.click("#open-photo button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("main [role=alert]").count() == 1 and page.is_visible("#photo-error")
    assert not page.locator("#card-error").count()
    # Words copied with their printed numbers, commas and a line break, full-width space: Enter opens the card.
    first = ", ".join(f"{n}. {w}" for n, w in enumerate(words[:7], 1))
    page.fill("#card", first + "\n" + "\u3000".join(f"{n}) {w}" for n, w in enumerate(words[7:], 8)))
    page.focus("#card")
    page.keyboard.press("Enter")
    page.wait_for_url("**/card")
    assert page.is_visible("#card-status")
    close_card(page)
    # Shift+Enter is still a new line, and a wrong word is still refused.
    page.fill("#card", " ".join(words[:12]))
    page.focus("#card")
    page.keyboard.press("Shift+Enter")
    assert page.url.rstrip("/") == live.url and page.input_value("#card").endswith("\n")
    page.keyboard.type(words[0] if words[0] != words[12] else words[1])
    page.keyboard.press("Enter")
    page.wait_for_selector("#card-error")


def test_the_sheet_in_the_holders_language_says_its_validity_and_the_verifier_warns_of_a_code_seen(
    page_in: Any, live: LiveServer
) -> None:
    page = page_in("en", 1000)
    sign_in(page, "clinician")
    new_card_with_a_visit(page, live)
    page.goto("/card/certificates")
    vaccination = page.locator("input[name=entry]:not([data-expires])")
    test = page.locator("input[name=entry][data-expires]")
    vaccination.check()
    note = page.locator("#sheet-validity")
    assert "The sheet will be valid until" in note.inner_text() and "warn" not in (note.get_attribute("class") or "")
    test.check()  # a test with the vaccination: the whole sheet's validity is cut, said before issuing
    expires = test.get_attribute("data-expires") or ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", expires)
    assert "A test is chosen" in note.inner_text() and expires in note.inner_text()
    assert "warn" in (note.get_attribute("class") or "")
    test.uncheck()
    assert "A test is chosen" not in note.inner_text()
    # The holder reads Chinese; the worker's page stays English.
    page.select_option("#sheet-language", "zh_Hans")
    page.fill("#count", "2")
    page.click("#issue-sheet")
    page.wait_for_selector("#sheet")
    about = page.locator("#sheet-about")
    assert about.get_attribute("lang") == "zh-Hans"
    assert "下面每个代码只用于一次核验" in about.inner_text()
    assert "certificates issued" in page.inner_text(".flash")  # the worker's own language around it
    code = page.locator(".stub").first.get_attribute("data-code")
    assert code
    # The verifier: the second check of the same code on this phone is warned of, with when it was first seen.
    phone = page_in("en")
    phone.goto("/verify")
    phone.wait_for_selector("body[data-ready=true]:not([data-trust=none])")
    assert phone.is_hidden("#seen-store")
    paste_and_check(phone, code)
    assert phone.get_attribute("#result", "data-state") == "valid" and phone.is_hidden("#seen-before")
    phone.click("#again")
    paste_and_check(phone, code)
    assert phone.is_visible("#seen-before")
    first = int(phone.get_attribute("#result", "data-seen-before") or "0")
    assert first > 0
    assert phone.inner_text("#seen-before").startswith("This phone has already checked this code, first on")
    phone.click(".lang-button[data-lang=zh]")
    assert phone.inner_text("#seen-before").startswith("本手机已查验过此码")
    # Kept only on this phone, as a digest: the code itself is nowhere in its storage.
    stored = phone.evaluate("JSON.stringify(localStorage)")
    assert code not in stored and "haven-verify-seen" in stored
    assert phone.is_visible("#seen-store")
    phone.click("#seen-clear")
    assert phone.is_hidden("#seen-store") and phone.is_hidden("#seen-before")
    phone.click("#again")
    paste_and_check(phone, code)
    assert phone.is_hidden("#seen-before")
    phone.click(".lang-button[data-lang=ko]")
    assert phone.inner_text("#seen-clear") == STRINGS["ko"]["seen-clear"]


def test_the_days_work_counts_without_a_list_of_people(page_in: Any, live: LiveServer) -> None:
    page = page_in("zh_Hans")
    sign_in(page, "clinician")
    new_card_with_a_visit(page, live)
    boss = page_in("zh_Hans")
    sign_in(boss, "coordinator")
    boss.goto("/today")
    assert boss.inner_text("h1") == "今日工作"
    visits = boss.locator("#today-visits td")
    assert int(visits.nth(0).inner_text()) >= 1 and visits.nth(1).inner_text() == "0"  # the site's; the coordinator's
    week = boss.inner_text("#week-table")
    assert "第 1 剂" in week or "1" in week
    assert "复必泰" in week or "Comirnaty" in week
    assert no_overflow(boss) and not broken_words(boss)
    # Counts only: no card, no words, no record, no hour.
    main = boss.inner_text("main")
    assert not re.search(r"\d\d:\d\d", main)
    # A clinician may not read it: they see their own day only.
    page.goto("/today")
    assert page.url.endswith("/today") is False or page.locator("#today-table").count() == 0
    # (>= 1: the live server is shared by this module's tests, as the coordinator's count above)
    assert int(page.inner_text("#own-visits td")) >= 1 and "我的今日" in page.inner_text("#today-own")
    assert no_overflow(page) and not broken_words(page)


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_the_return_date_slip_in_the_holders_language_says_only_when_to_come_back(
    page_in: Any, live: LiveServer, locale: str
) -> None:
    page = page_in("en")
    sign_in(page, "clinician")
    new_card_with_a_visit(page, live)
    page.goto("/card")
    page.click("#return-slip")
    page.wait_for_url("**/card/slip")
    with page.expect_navigation():
        page.select_option("#slip-language", locale)
    slip = page.inner_text("#slip")
    if locale == "ko":
        assert "다시 오세요" in slip and page.get_attribute("#slip", "lang") == "ko"
    else:
        assert "Come back from" in slip
    assert re.search(r"\d{4}-\d\d-\d\d", slip)
    assert no_overflow(page) and not broken_words(page)
    # Nothing clinical but the vaccine: the test taken at the same visit is not on it.
    assert "antigen" not in slip.lower() and "negative" not in slip.lower() and "음성" not in slip


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """The size (mm) of every page of a PDF Chromium printed."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    return [(round(float(w) / 72 * 25.4), round(float(h) / 72 * 25.4)) for w, h in boxes]


def inside(page: Any, selector: str) -> bool:
    """Every element of ``selector`` lies within the printed page's width and is not clipped."""
    return bool(
        page.evaluate(
            """(sel) => [...document.querySelectorAll(sel)].every((el) => {
                 const r = el.getBoundingClientRect();
                 return r.left >= 0 && r.right <= document.documentElement.clientWidth + 0.5 && r.width > 0
                   && el.scrollWidth <= el.clientWidth + 1;
               })""",
            selector,
        )
    )


def one_line_each(page: Any, selector: str) -> bool:
    """No word of ``selector`` breaks across lines."""
    return bool(
        page.evaluate(
            """(sel) => [...document.querySelectorAll(sel)].every((el) => el.getClientRects().length === 1
                 && el.getBoundingClientRect().height < parseFloat(getComputedStyle(el).lineHeight) * 1.5)""",
            selector,
        )
    )


@pytest.mark.parametrize(("paper", "size"), [("58", (58, 140)), ("80", (80, 160)), ("a4", (210, 297))])
def test_card_slip_and_sheet_print_on_a4_and_thermal_rolls(
    page_in: Any, live: LiveServer, paper: str, size: tuple[int, int]
) -> None:
    page = page_in("ko", 1000)
    sign_in(page, "clinician")
    new_card_with_a_visit(page, live, test=False)
    margin = {"58": 2, "80": 3, "a4": 10}[paper]
    printable = (size[0] - 2 * margin) * MM
    # The card: one page of the paper's size, the QR and every word inside it, no word broken.
    page.goto(f"/card/print?words=ko&paper={paper}")
    page.emulate_media(media="print")
    assert pdf_pages(page.pdf(prefer_css_page_size=True)) == [size]
    page.set_viewport_size({"width": int(printable), "height": 800})
    assert inside(page, "svg.qr") and inside(page, "#card-words li") and one_line_each(page, "#card-words li")
    qr = page.locator("svg.qr").bounding_box()
    # Scannable: on a roll the QR spans the paper; on A4 it keeps the wallet card's size (ID-1).
    assert qr and qr["width"] >= (30 * MM if paper == "a4" else printable - 2)
    # The slip: one page.
    page.set_viewport_size({"width": 1000, "height": 800})
    page.emulate_media(media="screen")
    page.goto(f"/card/slip?lang=ko&paper={paper}")
    page.emulate_media(media="print")
    assert pdf_pages(page.pdf(prefer_css_page_size=True)) == [size]
    page.set_viewport_size({"width": int(printable), "height": 800})
    assert inside(page, "#slip") and inside(page, ".slip-dates li")
    # The certificate sheet: 12 codes on one A4 page; on a roll, the instructions then one code a slip.
    page.set_viewport_size({"width": 1000, "height": 800})
    page.emulate_media(media="screen")
    page.goto("/card/certificates")
    page.locator("input[name=entry]").first.check()
    page.select_option("#sheet-paper", paper)
    page.fill("#count", "12")
    page.click("#issue-sheet")
    page.wait_for_selector("#sheet")
    page.emulate_media(media="print")
    pages = pdf_pages(page.pdf(prefer_css_page_size=True))
    assert pages == [size] * (1 if paper == "a4" else 13), pages
    page.set_viewport_size({"width": int(printable), "height": 800})
    assert inside(page, ".stub svg.qr")


def test_the_health_summary_with_the_longest_lot_number_stays_360px_wide(page_in: Any, live: LiveServer) -> None:
    page = page_in("ko")
    sign_in(page, "clinician")
    new_card_with_a_visit(page, live, test=False)
    page.goto("/card/visit")
    page.select_option("#vac_product", "hepb")
    page.fill("#vac_dose", "1")
    page.fill("#vac_lot", "Q" * 40)  # core/lots.py MAX_LOT
    page.click("#save-visit")
    page.wait_for_url("**/card/history")
    page.goto("/card/history/summary")
    assert "Q" * 40 in page.inner_text("#summary-vaccinations")
    assert no_overflow(page) and not broken_words(page), broken_words(page)
    page.emulate_media(media="print")  # on paper nothing scrolls: the whole table is printed
    box = "document.querySelector('#summary-vaccinations').parentElement"
    assert page.evaluate(f"getComputedStyle({box}).overflowX") == "visible"
    close_card(page)
