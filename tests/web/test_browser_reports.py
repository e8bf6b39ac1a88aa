"""In Chromium at 360 px: the report page's chart in Chinese, with axis labels and a legend, and adding a
vaccination from a holder's EU certificate in Korean, from the history page to the stored visit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from haven.cert_services import Certificates
from haven.certs import issuers
from haven.core.card import Card
from tests.web.conftest import PASSPHRASES, LiveServer, screenshot_dir, unlocked
from tests.web.foreign_cases import make_dsc, signed_hc1
from tests.web.test_report_page import record_people

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

PHONE = {"width": 360, "height": 740}
SIGNER = ec.derive_private_key(0x5EED, ec.SECP256R1())
DSC = make_dsc(SIGNER)


def sign_in(page: Any, name: str) -> None:
    page.goto("/sign-in")
    page.fill("#name", name)
    page.fill("#passphrase", PASSPHRASES[name])
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_load_state()


def fits_the_phone(page: Any) -> bool:
    return bool(page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"))


def test_the_report_chart_in_chinese_has_its_period_axis_labels_and_a_legend_at_360_px(
    browser: Any, live: LiveServer
) -> None:
    record_people(unlocked(live.site))
    ctx = browser.new_context(base_url=live.url, viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    sign_in(page, "coordinator")
    page.goto("/reports")
    page.fill("#report-from", "2026-11-01")
    page.fill("#report-to", "2026-11-30")
    page.select_option("#report-by", "month")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector(".report-chart svg")
    chart = page.locator(".report-chart svg").first
    texts = chart.locator("text").all_text_contents()
    assert texts[0].startswith("接种，2026-11") and "（2026-11-02至2026-11-29）" in texts[0]
    assert "期间计数（所有年龄组）" in texts and "行合计" in texts  # the axis's label and the legend
    assert any(t.startswith("x：已隐藏（") for t in texts) and "0" in texts
    box = chart.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert fits_the_phone(page)
    page.screenshot(path=str(screenshot_dir() / "report-zh-360.png"), full_page=True)
    assert page.locator("#download-csv").is_visible() and page.locator("#download-dhis2").is_visible()
    ctx.close()


def test_a_vaccination_from_an_eu_certificate_is_added_in_korean_at_360_px(browser: Any, live: LiveServer) -> None:
    site = unlocked(live.site)
    card = Card(bytes(range(60, 76)))
    first = [{"type": "test", "test": "antigen", "result": "negative", "date": "2026-10-01"}]
    site.clinic().add_visit(card, first, first_visit=True)
    Certificates(site.store).add_issuer(issuers.load_signers(DSC))
    now = int(dt.datetime.now(dt.UTC).timestamp())
    vaccination = {"v": [{"tg": "840539006", "mp": "EU/1/20/1528", "dn": 1, "sd": 2, "dt": "2026-10-08"}]}
    hcert = {"ver": "1.3.0", "nam": {"fn": "Muster", "gn": "Erika"}, "dob": "1990-01-01", **vaccination}
    text = signed_hc1(SIGNER, DSC, {1: "XK", 4: now + 86400 * 300, 6: now - 86400, -260: {1: hcert}})
    ctx = browser.new_context(base_url=live.url, viewport=PHONE, locale="ko-KR")
    page = ctx.new_page()
    sign_in(page, "clinician")
    page.fill("#card", card.code)
    page.click("#open-form button[type=submit]")
    page.wait_for_url("**/card")
    page.goto("/card/history")
    page.click("#import-certificate")
    page.fill("#certificate-text", text)
    page.click("form[action='/card/history/import/check'] >> text=증명서 확인")
    page.wait_for_selector("#import-preview")
    holder = page.locator("#import-holder")
    assert "Erika Muster" in holder.inner_text() and "1990-01-01" in holder.inner_text()
    verdict_size = page.locator("#import-verdict").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert float(holder.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) < verdict_size
    preview = page.locator("#import-preview").inner_text()
    assert "1차" in preview and "2026-10-08" in preview
    assert fits_the_phone(page)
    page.screenshot(path=str(screenshot_dir() / "import-ko-360.png"), full_page=True)
    page.check("#import-confirm")
    page.click("#import-save")
    page.wait_for_url("**/card/history")
    assert "증명서의 예방접종이 기록에 추가되었습니다." in page.locator(".flash").inner_text()
    assert "Muster" not in page.content()
    ctx.close()
    stored = [e for v in site.clinic().history(card).visits for e in v.visit.entries]
    assert [(e.type, getattr(e, "dose", None)) for e in stored][-1] == ("vaccination", 1)
