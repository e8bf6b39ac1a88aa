"""In Chromium at 360 px, at the network root's site: a coordinator picks "The whole network" on /reports, sees
the network's table and chart, and downloads the CSV ``haven report --network`` writes, byte for byte."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from haven.web import WebSettings, create_app
from haven.web.i18n import translations
from haven.web.routes.reports import SCOPE_NAMES, SECTION_TITLES
from tests.helpers_site import ADMIN
from tests.sync.test_network_counts import _cli
from tests.web.conftest import screenshot_dir, serve
from tests.web.test_report_page_network import NETWORK, OPTIONS, counted_network, web_site

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

PHONE = {"width": 360, "height": 740}
NOTE = (
    "Totals over every site of the network, from the counts each member seals to the network. There is no per-site "
    "breakdown: each site's own report has that."
)


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
def test_the_root_coordinator_picks_the_whole_network_and_downloads_haven_report_networks_csv(
    browser: Any, tmp_path: Path, locale: str
) -> None:
    _ = translations(locale).gettext
    net = counted_network(tmp_path)
    common = ["report", "--network", "--from", OPTIONS["from"], "--to", OPTIONS["to"], "--by", OPTIONS["by"]]
    cli = _cli(net, "root", tmp_path, *common, "--format", "csv")
    assert cli.returncode == 0, cli.stderr
    web = web_site(net.sites["root"])
    with contextlib.contextmanager(serve)(create_app(WebSettings(), web)) as url:
        ctx = browser.new_context(base_url=url, viewport=PHONE, device_scale_factor=1, accept_downloads=True)
        ctx.add_cookies([{"name": "haven_lang", "value": locale, "url": url}])
        page = ctx.new_page()
        page.goto("/sign-in")
        page.fill("#name", "Ana")
        page.fill("#passphrase", ADMIN)
        page.click("form[action='/sign-in'] button[type=submit]")
        page.wait_for_load_state()

        page.goto("/reports")
        page.fill("#report-from", OPTIONS["from"])
        page.fill("#report-to", OPTIONS["to"])
        page.select_option("#report-by", OPTIONS["by"])
        scope = page.locator("#report-scope")
        assert scope.locator("legend").inner_text() == _("Counts of")
        assert [t.strip() for t in scope.locator("label").all_inner_texts()] == [_(n) for n in SCOPE_NAMES.values()]
        page.get_by_label(_(SCOPE_NAMES["network"])).check()
        page.click("#report-form button[type=submit]")
        page.wait_for_selector("#report-network-note")
        assert page.url.endswith("scope=" + NETWORK["scope"]) and _(NOTE) in page.inner_text("#report-network-note")
        october = page.locator("#period-2026-10")
        totals = october.locator('table[data-section="vaccinations"] td.total').all_inner_texts()
        assert totals[-1] == "9"  # six doses at a and three at b
        chart = october.locator(".report-chart svg").first
        assert str(chart.locator("text").first.text_content()).startswith(_(SECTION_TITLES["vaccinations"]))
        box = chart.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(screenshot_dir() / f"report-network-{locale}-360.png"), full_page=True)

        with page.expect_download() as download:
            page.click("#download-csv")
        assert "haven-report-network-2026-10-01" in download.value.suggested_filename
        assert Path(download.value.path()).read_bytes() == cli.stdout.encode("utf-8")
        ctx.close()
    web.lock()
