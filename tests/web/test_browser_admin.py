"""The coordinator pages in a real browser: Korean and Chinese at 360 px, by keyboard, every field labelled.

Screenshots go to test-artifacts/screenshots/ (admin-<locale>-*.png).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.web.conftest import PASSPHRASES, LiveServer, RequestLog, screenshot_dir
from tests.web.test_browser import broken_words, no_overflow, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

UNLABELLED = """() => [...document.querySelectorAll("main input:not([type=hidden]), main select")]
  .filter((el) => el.labels.length === 0).map((el) => el.id || el.name)"""


def phone_page(
    browser: Any, live: LiveServer, locale: str, prefix: str
) -> tuple[Any, Any, Callable[[str], None], RequestLog]:
    """A 360 px wide browser context in ``locale`` that records its requests, its page, and ``shot(name)``:
    checks the page (nothing wider than the screen, no word broken, every field labelled) and saves a
    screenshot as ``<prefix>-<locale>-NN-<name>.png``."""
    log = RequestLog()
    ctx = browser.new_context(base_url=live.url, viewport={"width": 360, "height": 740}, device_scale_factor=1)
    ctx.on("request", log.record)
    ctx.add_cookies([{"name": "haven_lang", "value": locale, "url": live.url}])
    out = screenshot_dir()
    page = ctx.new_page()
    shots = 0

    def shot(name: str) -> None:
        nonlocal shots
        assert no_overflow(page), f"{name} is wider than 360 px in {locale}"
        assert not broken_words(page), f"{name} breaks words in {locale}: {broken_words(page)}"
        assert not page.evaluate(UNLABELLED), f"{name} has fields without a label"
        shots += 1
        page.screenshot(path=str(out / f"{prefix}-{locale}-{shots:02d}-{name}.png"), full_page=True)

    return ctx, page, shot, log


@pytest.mark.parametrize("locale", ["ko", "zh_Hans"])
def test_the_staff_page_at_360px_in_korean_and_chinese(browser: Any, live: LiveServer, locale: str) -> None:
    ctx, page, shot, log = phone_page(browser, live, locale, "admin")
    sign_in(page, "coordinator")
    page.wait_for_url("**/counts")
    page.click("nav[aria-label] a[href='/admin/staff']")
    page.wait_for_url("**/admin/staff")
    shot("staff")
    member = f"dana-{locale}"
    # By keyboard: the name, a role, the confirming passphrase, Enter submits.
    page.focus("#add-name")
    page.keyboard.type(member)
    page.focus("input[name=role][value=registrar]")
    page.keyboard.press("Space")
    page.focus("#add-your-passphrase")
    page.keyboard.type(PASSPHRASES["coordinator"])
    page.keyboard.press("Enter")
    page.wait_for_selector("#new-passphrase")
    secret = page.inner_text("#new-passphrase")
    assert len(secret.split()) >= 5
    shot("passphrase-shown-once")
    page.goto("/admin/staff")
    assert secret not in page.content()
    page.select_option("#remove-name", member)
    page.check("#remove-confirm")
    page.fill("#remove-your-passphrase", "not my passphrase at all")
    page.click("#remove-form button[type=submit]")
    page.wait_for_selector("#remove-error")
    assert page.get_attribute("#remove-your-passphrase", "aria-describedby") == "remove-error"
    shot("remove-refused")
    page.select_option("#remove-name", member)
    page.check("#remove-confirm")
    page.fill("#remove-your-passphrase", PASSPHRASES["coordinator"])
    page.click("#remove-form button[type=submit]")
    page.wait_for_selector(".flash")
    assert f'<option value="{member}">' not in page.content()
    shot("removed")
    page.goto("/admin/trust")
    shot("trust")
    page.goto("/admin/audit")
    page.wait_for_selector("#audit-verdict[data-ok=true]")
    shot("audit")
    ctx.close()
    assert not log.foreign(live.url), log.foreign(live.url)
