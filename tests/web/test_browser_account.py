"""Your account in a real browser at 360 px, in English and Korean: a member changes their own passphrase,
then signs in again with the new one (the old one no longer works).

Screenshots go to test-artifacts/screenshots/ (account-<locale>-*.png).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import PASSPHRASES, LiveServer
from tests.web.test_browser import sign_in
from tests.web.test_browser_admin import phone_page

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

MEMBER = {"en": "registrar", "ko": "clinician"}  # one each: the module shares its server
NEW = {"en": "velvet orchard humble rescue galaxy", "ko": "ripple mango voyage clever timber"}


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_a_member_changes_their_passphrase_and_signs_in_with_the_new_one_at_360px(
    browser: Any, live: LiveServer, locale: str
) -> None:
    ctx, page, shot, log = phone_page(browser, live, locale, "account")
    name, new = MEMBER[locale], NEW[locale]
    sign_in(page, name)
    page.click("nav[aria-label] a[href='/account']")
    page.wait_for_url("**/account")
    assert page.get_attribute("html", "lang") == ("ko" if locale == "ko" else "en")
    shot("form")
    page.fill("#your-passphrase", PASSPHRASES[name])
    page.fill("#new-passphrase", new)
    page.fill("#new-passphrase-again", new)
    page.click("#account-submit")
    page.wait_for_selector(".flash")
    assert new not in page.content()
    shot("changed")
    page.click("form[action='/sign-out'] button[type=submit]")
    page.wait_for_load_state()
    sign_in(page, name)  # the old passphrase
    page.wait_for_selector("#sign-in-error")
    shot("old-refused")
    sign_in(page, name, new)
    page.wait_for_selector("a[href='/account']")
    assert "/sign-in" not in page.url
    ctx.close()
    assert not log.foreign(live.url), log.foreign(live.url)
