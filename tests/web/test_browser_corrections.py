"""Correcting and voiding from the history page in a real browser, at 360 px, in English and Korean."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import LiveServer, screenshot_dir
from tests.web.test_browser import first_visit_form

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

WORDS = {
    "en": {"corrected": "Corrected on", "voided": "Voided on", "saved": "Entry corrected."},
    "ko": {"corrected": "정정됨", "voided": "무효 처리됨", "saved": "항목을 정정했습니다."},
}


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_correct_then_void_from_the_history_page(browser: Any, live: LiveServer, locale: str) -> None:
    ctx, page = first_visit_form(browser, live, locale)
    today = live.site.date_today().isoformat()
    page.fill("#date", today)
    page.select_option("#vac_product", "td")
    page.fill("#vac_dose", "1")
    page.fill("#vac_lot", "FJ8529")
    page.fill("#note_text", "seen")
    page.click("#save-visit")
    page.wait_for_url("**/card/history")
    page.locator("a[id^='correct-']").first.click()
    page.wait_for_url("**/card/correct?entry=*")
    assert page.input_value("#vac_lot") == "FJ8529"
    page.fill("#vac_lot", "FJ8530")
    page.fill("#reason", "lot misread")
    page.click("#save-correction")
    page.wait_for_url("**/card/history")
    words = WORDS[locale]
    assert words["saved"] in page.inner_text(".flash")
    vaccination = page.locator("li.entry.vaccination")
    assert "FJ8530" in vaccination.inner_text() and words["corrected"] in vaccination.inner_text()
    assert "FJ8529" in vaccination.locator("del.original").inner_text()  # the original, struck through
    # Void the note, with a reason: it stays, struck through, and says so.
    page.locator("summary[id^='void-']").nth(1).click()
    page.locator("details.void[open] input[name=reason]").fill("wrong card")
    page.locator("details.void[open] button[type=submit]").click()
    page.wait_for_url("**/card/history")
    note = page.locator("li.entry.note")
    assert words["voided"] in note.inner_text() and "wrong card" in note.inner_text()
    assert note.locator("del").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(screenshot_dir() / f"history-corrected-{locale}.png"), full_page=True)
    ctx.close()
