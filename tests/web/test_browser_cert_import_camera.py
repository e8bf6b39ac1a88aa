"""A vaccination added from the certificate a holder brings, read by the camera on /card/history/import.

Chromium's fake camera shows the QR code of an EU DCC signed by a document signer the site trusts (as
tests/web/test_history_take_away.py signs and trusts it); the page's shared scanner reads it, the preview
shows it, and once the holder says it is theirs the history holds the dose. At 360 px, in English and Korean.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from haven.cert_services import Certificates
from haven.certs import issuers
from haven.core.card import Card
from haven.core.entries import entry_to_doc
from haven.web.i18n import translations
from tests.web.conftest import PASSPHRASES, LiveServer, live_server, screenshot_dir, unlocked
from tests.web.test_browser import camera_browser, sign_in
from tests.web.test_history_take_away import DOSE_2, DSCS, SIGNER, dcc

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

FIRST_DOSE = [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server whose site trusts the certificate's document signer."""
    for server in live_server(tmp_path_factory.mktemp("import-camera")):
        Certificates(unlocked(server.site).store).add_issuer(issuers.load_signers(DSCS[id(SIGNER)]))
        yield server


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_a_clinician_adds_the_dose_the_camera_reads_from_the_holders_eu_dcc_at_360px(
    playwright_instance: Any, live: LiveServer, tmp_path: Path, locale: str
) -> None:
    _ = translations(locale).gettext
    card = Card.generate(secrets.token_bytes, "en")
    site = unlocked(live.site)
    site.clinic().add_visit(card, FIRST_DOSE, first_visit=True)
    camera = camera_browser(playwright_instance, dcc(SIGNER, DOSE_2), tmp_path)
    try:
        ctx = camera.new_context(base_url=live.url, viewport={"width": 360, "height": 740}, device_scale_factor=1)
        ctx.grant_permissions(["camera"], origin=live.url)
        ctx.add_cookies([{"name": "haven_lang", "value": locale, "url": live.url}])
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        sign_in(page, "clinician", PASSPHRASES["clinician"])
        page.fill("#card", card.code)
        page.click("#open-form button[type=submit]")
        page.wait_for_url("**/card")
        page.goto("/card/history")
        page.click("#import-certificate")
        page.wait_for_url("**/card/history/import")

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
    stored = [[entry_to_doc(e) for e in v.visit.entries] for v in site.clinic().history(card).visits]
    assert stored[-1] == [
        {"type": "vaccination", "product": "comirnaty", "dose": 2, "date": "2026-10-29", "verified_external": "eu-dcc"}
    ]
