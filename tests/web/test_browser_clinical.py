"""The visit form's clinical sections in a real browser (Debian's Chromium), in Korean, 360 px wide."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import LiveServer, RequestLog, screenshot_dir
from tests.web.test_browser import no_overflow, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]


def test_vital_signs_weight_allergy_and_aefi_in_korean_at_360px(browser: Any, live: LiveServer) -> None:
    log = RequestLog()
    ctx = browser.new_context(base_url=live.url, viewport={"width": 360, "height": 740})
    ctx.add_cookies([{"name": "haven_lang", "value": "ko", "url": live.url}])
    ctx.on("request", log.record)
    page = ctx.new_page()
    errors: list[str] = []
    # The refused form answers 422 (the browser logs that status): any other console error fails the test.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "422" not in m.text else None)
    sign_in(page, "clinician")
    page.click("#new-card button[type=submit]")
    page.wait_for_url("**/card/print")
    page.click("#first-visit-link")
    for legend in ("활력 징후", "체중과 성장", "알레르기", "예방접종 후 이상반응 (AEFI)"):
        assert page.locator("legend", has_text=legend).count() == 1, legend
    assert page.inner_text("label[for=vit_temperature]") == "체온 (°C)"

    # The result list offers only the chosen test's results.
    page.select_option("#test_test", "malaria-rdt")
    offered = page.eval_on_selector_all("#test_result option:not([hidden])", "os => os.map(o => o.value)")
    assert offered == ["", "negative", "invalid", "malaria-pf", "malaria-non-pf"]
    page.select_option("#test_result", "malaria-pf")

    # A blood pressure without its other half, and an AEFI with no seriousness: both named, nothing lost.
    page.fill("#vit_temperature", "38.4")
    page.fill("#vit_systolic", "118")
    page.fill("#wt_weight", "8.45")
    page.fill("#wt_muac", "121")
    page.select_option("#al_substance", "penicillin")
    page.check("input[name=al_reactions][value=urticaria]")
    page.select_option("#aefi_product", "penta")
    page.fill("#aefi_dose", "1")
    page.fill("#aefi_vaccination_date", live.site.date_today().isoformat())
    page.check("input[name=aefi_reactions][value=fever]")
    page.select_option("#aefi_category", "product-related")
    page.click("#save-visit")
    page.wait_for_load_state()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    summary = page.inner_text("#error-summary")
    assert "수축기와 이완기 혈압을 모두 입력하세요." in summary and "중대함" in summary
    hrefs = page.eval_on_selector_all("#error-summary a", "as => as.map(a => a.getAttribute('href'))")
    assert hrefs == ["#vit_systolic", "#aefi_serious"]
    assert page.input_value("#wt_weight") == "8.45" and page.is_checked("input[name=al_reactions][value=urticaria]")
    assert no_overflow(page)

    page.fill("#vit_diastolic", "76")
    page.select_option("#aefi_serious", "no")
    page.select_option("#aefi_outcome", "recovering")
    page.click("#save-visit")
    page.wait_for_url("**/card/history")
    visits = page.inner_text("#visits")
    for text in (
        "활력 징후",
        "38.4 °C",
        "118/76 mmHg",
        "8.45 kg",
        "페니실린",
        "두드러기",
        "5가 백신 (DTwP-HepB-Hib)",
        "백신 제품 관련 반응",
        "중대하지 않음",
        "회복 중",
        "말라리아 신속진단검사",
        "열대열원충 (단독 또는 혼합)",
    ):
        assert text in visits, text
    assert "맥박" not in visits and "SpO2" not in visits  # measurements not taken are not shown
    assert no_overflow(page)
    page.screenshot(path=str(screenshot_dir() / "clinical-history-ko.png"), full_page=True)
    ctx.close()
    assert not errors, errors
    assert not log.foreign(live.url), log.foreign(live.url)
