"""The report page's network view: at the root's site, the whole network's totals and downloads, the same as
``haven report --network``; elsewhere no such choice, and a forged request for it refused, changing nothing."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from haven.site.site import Site
from haven.web import WebSettings, WebSite, create_app
from tests.helpers_clock import NOW, TODAY, MonotonicClock, seeded
from tests.helpers_site import ADMIN
from tests.sync.network import TEST, VAX1, Network, snapshot
from tests.sync.test_network_counts import _cli, _counting_network, _visits

OPTIONS = {"from": "2026-10-01", "to": "2026-11-30", "by": "month", "suppress_below": "5"}
NETWORK = {**OPTIONS, "scope": "network"}
REFUSAL = "This site cannot read network totals"
# The network's visits give no birth year: their counts are in the "unknown" age band.
UNKNOWN_BAND = {
    "orgUnit": "DiszpKrYNg8",
    "dataSet": "BfMAe6Itzgt",
    "vaccinations": {"comirnaty": {"dataElement": "s46m5MS0hxu", "categoryOptionCombos": {"1/unknown": "Prlt0C1RF0s"}}},
}


def counted_network(tmp_path: Path) -> Network:
    """Root, a and b: six doses at a and three at b in October (nine in the network), two tests at b."""
    net = _counting_network(tmp_path)
    _visits(net, "a", VAX1, 6, 1)
    _visits(net, "b", VAX1, 3, 2)
    _visits(net, "b", TEST, 2, 3)
    for name in ("a", "b"):
        net.import_("root", net.export(name))
    return net


@pytest.fixture
def net(tmp_path: Path) -> Network:
    return counted_network(tmp_path)


def web_site(site: Site) -> WebSite:
    """The web app's site over ``site``, on the tests' clock."""
    return WebSite(keys=site, today=lambda: TODAY, now=lambda: NOW, clock=MonotonicClock(), random_bytes=seeded(7))


def _client(site: Site) -> Iterator[tuple[TestClient, WebSite, str]]:
    web = web_site(site)
    with TestClient(create_app(WebSettings(), web), base_url="http://127.0.0.1") as client:
        token = client.get("/api/session").json()["csrf_token"]
        signed = client.post("/api/session", json={"name": "Ana", "passphrase": ADMIN}, headers={"X-CSRF-Token": token})
        assert signed.status_code == 200, signed.text
        yield client, web, str(signed.json()["csrf_token"])
    web.lock()


@pytest.fixture
def root(net: Network) -> Iterator[tuple[TestClient, WebSite, str]]:
    yield from _client(net.sites["root"])


@pytest.fixture
def member(net: Network) -> Iterator[tuple[TestClient, WebSite, str]]:
    yield from _client(net.sites["a"])


def grand_totals(html: str) -> dict[tuple[str, str], str]:
    """(period, section) -> the table's grand total as the page shows it."""
    found = {}
    for period, body in re.findall(r'id="period-([^"]+)">(.*?)</section>', html, re.S):
        for section, table in re.findall(r'data-section="([^"]+)">(.*?)</table>', body, re.S):
            found[(period, section)] = re.findall(r'<td class="num total">([^<]*)</td>', table)[-1]
    return found


def csv_totals(text: str) -> dict[tuple[str, str], str]:
    rows = csv.DictReader(io.StringIO(text))
    return {
        (r["period"], r["section"]): r["count"] or "x"
        for r in rows
        if r["item"] == "total" and r["age_band"] == "total"
    }


def _scope_choice(html: str) -> bool:
    return 'name="scope"' in html.split('id="report-export"', 1)[0]


def test_the_roots_page_shows_the_whole_networks_totals_and_downloads_as_haven_report_network(
    net: Network, root: tuple[TestClient, WebSite, str], tmp_path: Path
) -> None:
    client, web, token = root
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(UNKNOWN_BAND))
    own = client.get("/reports", params=OPTIONS)
    assert own.status_code == 200 and _scope_choice(own.text)
    assert 'id="no-report"' in own.text and 'id="report-network-note"' not in own.text  # the root saw no one
    page = client.get("/reports", params=NETWORK)
    assert page.status_code == 200 and "There is no per-site breakdown" in page.text
    assert 'value="network" checked' in page.text
    shown = grand_totals(page.text)
    assert shown == {("2026-10", "vaccinations"): "9", ("2026-11", "tests"): "x"}  # two tests: hidden
    got_csv = client.post("/reports/export", data={**NETWORK, "format": "csv", "csrf_token": token})
    got_dhis2 = client.post(
        "/reports/export",
        data={**NETWORK, "format": "dhis2", "csrf_token": token},
        files={"mapping": ("map.json", mapping.read_bytes(), "application/json")},
    )
    assert got_csv.status_code == 200 and got_dhis2.status_code == 200
    assert "haven-report-network-2026-10-01" in got_csv.headers["content-disposition"]
    with web.keys.unlock(ADMIN) as session:
        actions = [e.action for e, _ in session.audit.rows()]
    assert actions[-4:] == ["report.view"] * 4  # one entry per view and per download
    web.lock()
    common = ["report", "--network", "--from", OPTIONS["from"], "--to", OPTIONS["to"], "--by", "month"]
    cli_csv = _cli(net, "root", tmp_path, *common, "--format", "csv")
    assert cli_csv.returncode == 0, cli_csv.stderr
    assert got_csv.content == cli_csv.stdout.encode("utf-8") and csv_totals(cli_csv.stdout) == shown
    out = tmp_path / "network.dhis2.json"
    cli_dhis2 = _cli(net, "root", tmp_path, *common, "--format", "dhis2", "--dhis2-mapping", str(mapping),
                     "--out", str(out))  # fmt: skip
    assert cli_dhis2.returncode == 0, cli_dhis2.stderr
    assert got_dhis2.content == out.read_bytes() and b'"value": "9"' in got_dhis2.content


def test_a_member_site_offers_no_network_choice_and_refuses_a_forged_request_changing_nothing(
    net: Network, member: tuple[TestClient, WebSite, str]
) -> None:
    client, _, token = member
    page = client.get("/reports", params=OPTIONS)
    assert page.status_code == 200 and not _scope_choice(page.text)
    assert grand_totals(page.text) == {("2026-10", "vaccinations"): "6"}  # a's own counts only
    before = snapshot(net.sites["a"])
    forged = client.get("/reports", params=NETWORK)
    assert forged.status_code == 409 and forged.text.count(REFUSAL) == 1 and 'data-code="roster"' in forged.text
    posted = client.post("/reports/export", data={**NETWORK, "format": "csv", "csrf_token": token})
    assert posted.status_code == 409 and posted.headers["content-type"].startswith("text/html")
    assert posted.text.count(REFUSAL) == 1
    client.cookies.set("haven_lang", "ko")
    assert REFUSAL not in client.get("/reports", params=NETWORK).text  # said in the page's language
    assert snapshot(net.sites["a"]) == before  # the audit log included: no report.view for a refusal
