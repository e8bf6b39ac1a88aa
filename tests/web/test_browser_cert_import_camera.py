"""A vaccination added from the certificate a holder brings, read by the camera on /card/history/import.

Chromium's fake camera shows the QR code of an EU DCC signed by a document signer the site trusts (as
tests/web/test_history_take_away.py signs and trusts it); the page's shared scanner reads it, the preview
shows it, and once the holder says it is theirs the history holds the dose. At 360 px, in English and Korean.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from haven.cert_services import Certificates
from haven.certs import issuers
from haven.cli.issuer_files import read_shc_issuer
from haven.core.card import Card
from haven.core.entries import entry_to_doc
from haven.web.i18n import translations
from tests.certkit import SHC, SHC_JWKS
from tests.web.conftest import PASSPHRASES, LiveServer, launch, live_server, screenshot_dir, unlocked
from tests.web.foreign_cases import read
from tests.web.test_browser import camera_browser, sign_in
from tests.web.test_browser_formats import FAKE_DETECTOR
from tests.web.test_history_take_away import DOSE_2, DSCS, SIGNER, dcc

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

FIRST_DOSE = [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server whose site trusts the EU DCC's document signer and the SMART Health Cards' issuer."""
    for server in live_server(tmp_path_factory.mktemp("import-camera")):
        certificates = Certificates(unlocked(server.site).store)
        certificates.add_issuer(issuers.load_signers(DSCS[id(SIGNER)]))
        certificates.add_issuer(read_shc_issuer(SHC_JWKS))
        yield server


def open_import_page(page: Any, card: Card) -> None:
    """Sign in as a clinician, open ``card`` by its code, and go from its history to the import page."""
    sign_in(page, "clinician", PASSPHRASES["clinician"])
    page.fill("#card", card.code)
    page.click("#open-form button[type=submit]")
    page.wait_for_url("**/card")
    page.goto("/card/history")
    page.click("#import-certificate")
    page.wait_for_url("**/card/history/import")


def history_card(live: LiveServer) -> Card:
    card = Card.generate(secrets.token_bytes, "en")
    unlocked(live.site).clinic().add_visit(card, FIRST_DOSE, first_visit=True)
    return card


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_a_clinician_adds_the_dose_the_camera_reads_from_the_holders_eu_dcc_at_360px(
    playwright_instance: Any, live: LiveServer, tmp_path: Path, locale: str
) -> None:
    _ = translations(locale).gettext
    card = history_card(live)
    camera = camera_browser(playwright_instance, dcc(SIGNER, DOSE_2), tmp_path)
    try:
        ctx = camera.new_context(base_url=live.url, viewport={"width": 360, "height": 740}, device_scale_factor=1)
        ctx.grant_permissions(["camera"], origin=live.url)
        ctx.add_cookies([{"name": "haven_lang", "value": locale, "url": live.url}])
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        open_import_page(page, card)
        page.click("#import-scan .scanner-start")
        page.wait_for_selector("#import-verdict", timeout=20000)  # read, posted, checked: the preview
        assert page.inner_text("#import-verdict").startswith(_("Valid certificate"))
        assert "Erika Muster" in page.inner_text("#import-holder")
        facts = page.inner_text("#import-preview .import-facts")
        assert _("dose %(n)s") % {"n": 2} in facts and "2026-10-29" in facts
        page.screenshot(path=str(screenshot_dir() / f"cert-import-camera-{locale}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone

        page.check("#import-confirm")
        page.click("#import-save")
        page.wait_for_url("**/card/history")
        assert _("The certificate's vaccinations were added to the history.") in page.inner_text("main")
        visits = page.inner_text("#visits")
        assert _("dose %(n)s") % {"n": 2} in visits and "2026-10-29" in visits
        assert not errors, errors
        ctx.close()
    finally:
        camera.close()
    stored = [[entry_to_doc(e) for e in v.visit.entries] for v in live.site.clinic().history(card).visits]
    assert stored[-1] == [
        {"type": "vaccination", "product": "comirnaty", "dose": 2, "date": "2026-10-29", "verified_external": "eu-dcc"}
    ]


def test_a_smart_health_card_of_two_qr_codes_is_scanned_code_by_code_then_previewed_whole(
    playwright_instance: Any, live: LiveServer
) -> None:
    """The page's scanner keeps a multi-QR card's chunks, in any order, until every one is read (as /verify does)."""
    digits = read(SHC / "example-00-f-qr-code-numeric-value-0.txt").removeprefix("shc:/")
    half = len(digits) // 4 * 2  # two digits a character
    chunks = [f"shc:/1/2/{digits[:half]}", f"shc:/2/2/{digits[half:]}"]
    card = history_card(live)
    browser = launch(playwright_instance, ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"])
    try:
        ctx = browser.new_context(base_url=live.url, viewport={"width": 360, "height": 740})
        page = ctx.new_page()
        page.add_init_script(FAKE_DETECTOR % json.dumps([chunks[1], chunks[0]]))
        open_import_page(page, card)
        page.click("#import-scan .scanner-start")
        page.wait_for_selector("#import-verdict", timeout=20000)  # one chunk alone would be refused
        facts = page.locator("#import-preview .import-facts li").all_inner_texts()
        assert len(facts) == 3 and all("Spikevax" in f for f in facts), facts
        # With one of the two read, the page says so and looks for the other.
        waiting = ctx.new_page()
        waiting.add_init_script(FAKE_DETECTOR % json.dumps([chunks[1]]))
        waiting.goto("/card/history/import")
        waiting.click("#import-scan .scanner-start")
        status = waiting.locator("#import-scan .scanner-status")
        status.filter(has_text="Part 1 of 2 read. Scan the next QR code of this card.").wait_for(timeout=20000)
        assert waiting.url.endswith("/card/history/import") and waiting.locator("#import-verdict").count() == 0
    finally:
        browser.close()
