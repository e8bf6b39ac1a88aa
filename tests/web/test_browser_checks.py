"""The checks before saving in a real browser: the warnings above the form in the page's language, every
field kept, a required reason, "Save anyway", and the history that shows what was confirmed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import LiveServer
from tests.web.test_browser import broken_words, no_overflow, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

TEXTS = {
    "en": {
        "title": "Check before saving: nothing was saved yet.",
        "live": "is a live vaccine: it is not given during pregnancy.",
        "male": "The holder is recorded as male and as pregnant.",
        "required": "This is required.",
        "saved": "Saved despite a warning",
    },
    "ko": {
        "title": "저장하기 전에 확인하세요. 아직 아무것도 저장되지 않았습니다.",
        "live": "생백신이므로 임신 중에는 접종하지 않습니다.",
        "male": "소지자가 남성이면서 임신 중으로 기록되어 있습니다.",
        "required": None,
        "saved": "경고를 확인하고 저장함",
    },
}


def phone_page(browser: Any, live: LiveServer, locale: str) -> tuple[Any, Any]:
    """A 360 px browser context in ``locale`` and its page."""
    ctx = browser.new_context(base_url=live.url, viewport={"width": 360, "height": 740})
    ctx.add_cookies([{"name": "haven_lang", "value": locale, "url": live.url}])
    return ctx, ctx.new_page()


def first_visit_form(page: Any) -> None:
    """As a clinician: a new card, and its first visit's form."""
    sign_in(page, "clinician")
    page.click("#new-card button[type=submit]")
    page.wait_for_url("**/card/print")
    page.click("#first-visit-link")


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_a_visit_with_warnings_shows_them_keeps_the_form_and_saves_only_with_a_reason(
    browser: Any, live: LiveServer, locale: str
) -> None:
    texts = TEXTS[locale]
    ctx, page = phone_page(browser, live, locale)
    first_visit_form(page)
    page.select_option("#vac_product", "mr")
    page.fill("#vac_dose", "1")
    page.fill("#vac_lot", "MR-77")
    page.select_option("#holder_sex", "male")
    page.select_option("#holder_pregnant", "yes")
    page.click("#save-visit")
    page.wait_for_load_state()
    # The warnings, above the form, take focus; each links to its field; nothing typed is lost.
    assert page.evaluate("document.activeElement.id") == "error-summary"
    warnings = page.inner_text(".check-warnings")
    assert texts["title"] in warnings and texts["live"] in warnings and texts["male"] in warnings
    links = page.locator(".check-warnings a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == ["#holder_pregnant", "#vac_product"]
    assert page.input_value("#vac_lot") == "MR-77" and page.input_value("#vac_dose") == "1"
    assert page.input_value("#holder_sex") == "male" and page.input_value("#holder_pregnant") == "yes"
    assert no_overflow(page)
    # "Save anyway" without a reason saves nothing and asks for one beside its field.
    page.click("#save-anyway")
    page.wait_for_load_state()
    assert page.is_visible(".check-warnings") and page.is_visible("#confirm_reason-error")
    if texts["required"]:
        assert page.inner_text("#confirm_reason-error") == texts["required"]
    assert page.get_attribute("#confirm_reason", "aria-invalid") == "true"
    page.fill("#confirm_reason", "holder unsure; vaccinated on doctor's advice")
    page.click("#save-anyway")
    page.wait_for_url("**/card/history")
    visits = page.inner_text("#visits")
    assert texts["saved"] in visits and "holder unsure; vaccinated on doctor's advice" in visits
    assert "MR-77" in visits
    ctx.close()


def test_the_lots_page_and_the_lot_pick_list_at_360px_in_chinese(browser: Any, live: LiveServer) -> None:
    ctx, page = phone_page(browser, live, "zh_Hans")
    sign_in(page, "coordinator")
    page.goto("/lots")
    page.select_option("#product", "td")
    page.fill("#lot", "TD-360")
    page.fill("#expiry", "2099-12-31")
    page.fill("#received", "abc")
    page.click("#add-lot")
    page.wait_for_load_state()
    assert page.inner_text("#received-error") == "收到剂数为1至1000000的整数。"
    assert page.input_value("#lot") == "TD-360"  # what was typed is kept
    page.fill("#received", "100")
    page.click("#add-lot")
    page.wait_for_url("**/lots")
    assert "已添加批号。" in page.inner_text("main") and "TD-360" in page.inner_text("#lots-table")
    assert no_overflow(page) and not broken_words(page)
    page.click("form[action='/sign-out'] button")
    first_visit_form(page)
    assert page.get_attribute("#vac_lot", "list") == "lots-all"
    page.select_option("#vac_product", "td")  # the list follows the vaccine chosen
    assert page.get_attribute("#vac_lot", "list") == "lots-td"
    assert page.eval_on_selector_all("#lots-td option", "os => os.map(o => o.value)") == ["TD-360"]
    page.select_option("#vac_product", "mr")
    assert page.get_attribute("#vac_lot", "list") == "lots-all"
    ctx.close()
