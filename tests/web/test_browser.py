"""The clinic and the verifier in a real browser: Debian's Chromium, driven by Playwright.

Every request each page makes is recorded and must stay on the server's own origin.
Screenshots of every page in Korean and Chinese, 360 px wide, go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from haven import qr
from haven.core.card import Card
from tests.web.conftest import PASSPHRASES, LiveServer, RequestLog, launch, screenshot_dir
from tests.web.fakecam import y4m_from_png

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]


@pytest.fixture
def context(browser: Any, live: LiveServer) -> Iterator[tuple[Any, RequestLog]]:
    log = RequestLog()
    ctx = browser.new_context(base_url=live.url, viewport={"width": 1000, "height": 800})
    ctx.on("request", log.record)
    yield ctx, log
    ctx.close()
    assert not log.foreign(live.url), f"requests to other hosts: {log.foreign(live.url)}"
    assert log.urls, "no request was recorded"


def sign_in(page: Any, role: str) -> None:
    page.goto("/sign-in")
    page.fill("#name", role)
    page.fill("#passphrase", PASSPHRASES[role])
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_load_state()


def test_clinic_flow(context: tuple[Any, RequestLog], live: LiveServer) -> None:
    ctx, log = context
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, "clinician")
    assert page.url.endswith("/") and page.is_visible("#open-words")

    # A new card, printed.
    page.select_option("#language", "en")
    page.click("#new-card button[type=submit]")
    page.wait_for_url("**/card/print")
    words = page.locator("#card-words li").all_inner_texts()
    assert len(words) == 13
    assert page.locator("svg.qr").count() == 1

    # Its first visit: a vaccination and a test.
    page.click("#first-visit-link")
    page.select_option("#vac_product", "comirnaty")
    page.fill("#vac_dose", "1")
    page.fill("#vac_lot", "FJ8529")
    page.select_option("#test_test", "antigen")
    page.select_option("#test_result", "negative")
    page.click("#save-visit")
    page.wait_for_url("**/card/history")
    assert "Visit recorded." in page.inner_text("main")

    # Close it; reopen it by typing the words.
    page.goto("/card")
    page.click("#close-card")
    page.wait_for_url(live.url + "/")
    page.fill("#card", " ".join(words))
    page.click("#open-form button[type=submit]")
    page.wait_for_url("**/card")
    assert "This card has records at this site." in page.inner_text("#card-status")

    # History and the next dose.
    page.click("#see-history")
    page.wait_for_url("**/card/history")
    visits = page.inner_text("#visits")
    assert "Comirnaty" in visits and "dose 1" in visits and "Rapid antigen test: Negative" in visits
    due = page.inner_text("#next-doses")
    assert "dose 2" in due and "Primary series" in due

    # Certificates: the seam says so until an issuer is connected.
    page.goto("/card/certificates")
    assert page.is_visible("#certificates-unavailable")
    assert not errors, errors
    assert any(u.endswith("/static/css/haven.css?v=" + live.app.state.haven.static_version) for u in log.urls)


def no_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize("locale", ["ko", "zh_Hans"])
def test_every_page_at_360px_in_korean_and_chinese(browser: Any, live: LiveServer, locale: str) -> None:
    log = RequestLog()
    ctx = browser.new_context(base_url=live.url, viewport={"width": 360, "height": 740}, device_scale_factor=1)
    ctx.on("request", log.record)
    ctx.add_cookies([{"name": "haven_lang", "value": locale, "url": live.url}])
    out = screenshot_dir()
    page = ctx.new_page()
    shots: list[str] = []

    def shot(name: str) -> None:
        assert page.evaluate("document.documentElement.lang") == {"ko": "ko", "zh_Hans": "zh-Hans"}[locale]
        assert no_overflow(page), f"{name} is wider than 360 px in {locale}"
        page.screenshot(path=str(out / f"{locale}-{len(shots) + 1:02d}-{name}.png"), full_page=True)
        shots.append(name)

    page.goto("/sign-in")
    shot("sign-in")
    sign_in(page, "clinician")
    shot("open-a-card")
    page.fill("#card", "abandon ability")
    page.click("#open-form button[type=submit]")
    shot("open-a-card-error")
    page.goto("/")
    page.select_option("#language", "zh" if locale == "zh_Hans" else "ko")
    page.click("#new-card button[type=submit]")
    page.wait_for_url("**/card/print")
    shot("print-card")
    page.click("#first-visit-link")
    shot("visit-form")
    page.select_option("#vac_product", "td")
    page.fill("#vac_dose", "12")
    page.click("#save-visit")
    shot("visit-form-error")
    page.fill("#vac_dose", "1")
    page.select_option("#test_test", "pcr")
    page.select_option("#test_result", "positive")
    page.click("#save-visit")
    page.wait_for_url("**/card/history")
    shot("history")
    page.goto("/card")
    shot("card")
    page.goto("/card/certificates")
    shot("certificates")
    page.goto("/nowhere")
    shot("not-found")
    page.goto("/card")
    page.click("#close-card")
    page.click("form[action='/sign-out'] button")
    sign_in(page, "coordinator")
    page.wait_for_url("**/counts")
    shot("counts")
    ctx.close()

    # The verifier chooses its language in the browser.
    vctx = browser.new_context(
        base_url=live.url, viewport={"width": 360, "height": 740}, locale="ko-KR" if locale == "ko" else "zh-CN"
    )
    vctx.on("request", log.record)
    vpage = vctx.new_page()
    page = vpage
    vpage.goto("/verify")
    vpage.wait_for_selector("body[data-ready=true]")
    vpage.fill("#paste", "not a certificate")
    vpage.click("#paste-form button")
    vpage.wait_for_selector("#result:not([hidden])")
    shot("verifier")
    vctx.close()
    assert len(shots) == 12
    assert not log.foreign(live.url), log.foreign(live.url)


def test_verifier_works_offline_and_explains_in_the_chosen_language(browser: Any, live: LiveServer) -> None:
    log = RequestLog()
    ctx = browser.new_context(base_url=live.url, viewport={"width": 360, "height": 740}, locale="en-US")
    ctx.on("request", log.record)
    page = ctx.new_page()
    page.goto("/verify")
    page.wait_for_selector("body[data-offline-ready=true]", timeout=15000)
    ctx.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert "Ready: this page now works without a connection." in page.inner_text("#offline-state")
    page.fill("#paste", "hello, world")
    page.click("#paste-form button")
    page.wait_for_selector("#result:not([hidden])")
    assert page.inner_text("#verdict") == "Not valid"
    assert page.inner_text("#reason") == "This is not a certificate's code, or it was damaged."
    assert page.get_attribute("#result", "data-reason") == "malformed"
    page.click(".lang-button[data-lang=ko]")
    assert page.inner_text("#verdict") == "유효하지 않음"
    page.click(".lang-button[data-lang=zh]")
    assert page.inner_text("#reason") == "这不是证明的代码，或者代码已损坏。"
    # Well-formed Base45 that this version cannot check is never called valid.
    page.fill("#paste", "%69 VD92EX0")  # RFC 9285: Base45 of "Hello!!"
    page.click("#paste-form button")
    page.wait_for_selector("#result[data-reason=unsupported]")
    assert page.inner_text("#verdict") == "无效"
    ctx.close()
    assert not log.foreign(live.url), log.foreign(live.url)


def test_camera_scans_a_card_on_the_clinic_page_and_in_the_verifier(
    playwright_instance: Any, live: LiveServer, tmp_path: Path
) -> None:
    card = Card.generate(secrets.token_bytes, "en")
    live.site.clinic().add_visit(card, [{"type": "note", "date": "2026-11-01", "text": "x"}], first_visit=True)
    video = y4m_from_png(qr.png(card.code), tmp_path / "card.y4m")
    camera = launch(
        playwright_instance,
        [
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    log = RequestLog()
    try:
        ctx = camera.new_context(base_url=live.url, viewport={"width": 400, "height": 800})
        ctx.grant_permissions(["camera"], origin=live.url)
        ctx.on("request", log.record)
        page = ctx.new_page()
        sign_in(page, "registrar")
        page.click("#open-camera .scanner-start")
        page.wait_for_url("**/card", timeout=20000)
        assert "This card has records at this site." in page.inner_text("#card-status")

        verifier = ctx.new_page()
        verifier.goto("/verify")
        verifier.wait_for_selector("body[data-ready=true]")
        verifier.click("#scan-button")
        verifier.wait_for_selector("#result:not([hidden])", timeout=20000)
        assert verifier.text_content("#scanned") == card.code
        assert verifier.get_attribute("#result", "data-reason") in ("malformed", "unsupported")
        assert float(verifier.get_attribute("body", "data-verdict-ms") or "inf") < 1000
        ctx.close()
    finally:
        camera.close()
    assert not log.foreign(live.url), log.foreign(live.url)
