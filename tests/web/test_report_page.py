"""The web report page: totals over a chosen period with small cells hidden as `haven report` hides them,
readable charts, and CSV and DHIS2 downloads that are the command line's bytes for the same options."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from haven.core.card import Card
from haven.web.site import WebSite
from tests.web.conftest import PASSPHRASES, csrf_of, sign_in

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "docs" / "dhis2-mapping.json"
WEEK_45 = "2026-11-04"
# Comirnaty dose 1 for six 18-29 year olds (who also test negative), seven 30-39 and two 60-69 year olds.
PEOPLE = [2000] * 6 + [1990] * 7 + [1960] * 2
OPTIONS = {"from": "2026-11-01", "to": "2026-11-30", "by": "month", "suppress_below": "5"}
SVG = "{http://www.w3.org/2000/svg}"


def record_people(site: WebSite) -> None:
    for n, born in enumerate(PEOPLE):
        entries: list[dict[str, Any]] = [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": WEEK_45}]
        if n < 6:
            entries.append({"type": "test", "test": "antigen", "result": "negative", "date": WEEK_45})
        visit = {"holder": {"birth_year": born}, "entries": entries}
        site.clinic().add_visit(Card(bytes([n + 1]) * 16), visit, first_visit=True)


def rows_of(html: str, section: str) -> list[list[str]]:
    table = html.split(f'data-section="{section}"', 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table)]


def audit_actions(site: WebSite) -> list[str]:
    with site.keys.unlock(PASSPHRASES["coordinator"]) as coordinator:  # only a coordinator reads them
        return [e.action for e, _ in coordinator.audit.rows()]


@pytest.fixture
def coordinator(client: TestClient, site: WebSite) -> str:
    record_people(site)
    sign_in(client, "coordinator")
    return csrf_of(client.get("/reports").text)


def test_the_report_page_totals_a_month_and_hides_small_cells_as_haven_report_does(
    client: TestClient, site: WebSite, coordinator: str
) -> None:
    page = client.get("/reports", params=OPTIONS)
    assert page.status_code == 200
    vaccinations = rows_of(page.text, "vaccinations")
    assert vaccinations[0] == ["Product", "18-29", "30-39", "60-69", "Total"]
    # The two 60-69 year olds are hidden, and so is the cell of six that would give them back by subtraction.
    assert vaccinations[1] == ["Comirnaty (Pfizer-BioNTech BNT162b2; tozinameran), dose 1", "x", "7", "x", "15"]
    assert vaccinations[2] == ["Total", "x", "7", "x", "15"]
    assert ">2<" not in page.text.split('data-section="vaccinations"', 1)[1].split("</table>", 1)[0]
    assert rows_of(page.text, "tests")[1] == ["Rapid antigen test: Negative", "6", "6"]
    assert "2026-11 " in page.text and "2026-11-02" in page.text and "2026-11-29" in page.text
    assert audit_actions(site)[-1] == "report.view"


def test_the_charts_have_a_title_with_the_period_axis_labels_a_legend_and_no_bar_for_a_hidden_total(
    client: TestClient, coordinator: str
) -> None:
    page = client.get("/reports", params={**OPTIONS, "suppress_below": "8"})
    charts = [ET.fromstring(svg) for svg in re.findall(r"<svg.*?</svg>", page.text, re.S)]
    assert len(charts) == 2
    texts = ["".join(t.itertext()) for t in charts[1].iter(f"{SVG}text")]
    assert texts[0] == "Tests, 2026-11 (2026-11-02 to 2026-11-29)"
    assert "Count in the period (all age bands)" in texts and "Total of the row" in texts
    assert "x: hidden" in texts  # six tests, under the threshold of 8: no bar, whose length would tell
    assert not [r for r in charts[1].iter(f"{SVG}rect") if r.get("class") == "bar"]
    vaccination_texts = ["".join(t.itertext()) for t in charts[0].iter(f"{SVG}text")]
    # The brand without its brackets: one line on a phone.
    assert "Comirnaty, dose 1" in vaccination_texts and "15" in vaccination_texts
    assert [t for t in charts[0].iter(f"{SVG}line") if t.get("class") == "tick"]


def test_the_page_speaks_the_chosen_language(client: TestClient, coordinator: str) -> None:
    client.cookies.set("haven_lang", "zh_Hans")
    page = client.get("/reports", params=OPTIONS).text
    assert "期间计数（所有年龄组）" in page and "行合计" in page and "检测，2026-11" in page


def test_the_downloads_are_the_bytes_haven_report_writes_for_the_same_options(
    client: TestClient,
    site: WebSite,
    coordinator: str,
    run_cli: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site_files = sorted(p.name for p in (tmp_path / "site").iterdir())
    csv = client.post("/reports/export", data={**OPTIONS, "format": "csv", "csrf_token": coordinator})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["cache-control"] == "no-store" and "attachment" in csv.headers["content-disposition"]
    dhis2 = client.post(
        "/reports/export",
        data={**OPTIONS, "format": "dhis2", "csrf_token": coordinator},
        files={"mapping": ("map.json", MAPPING.read_bytes(), "application/json")},
    )
    assert dhis2.status_code == 200 and dhis2.headers["x-haven-unmapped-cells"] == "0"
    assert audit_actions(site)[-2:] == ["report.view", "report.view"]
    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == site_files  # nothing written beside the site
    site.lock()
    monkeypatch.setenv("HAVEN_PASSPHRASE", PASSPHRASES["coordinator"])
    common = ["report", "--from", OPTIONS["from"], "--to", OPTIONS["to"], "--by", "month"]
    for fmt, got, extra in (("csv", csv, []), ("dhis2", dhis2, ["--dhis2-mapping", str(MAPPING)])):
        out = tmp_path / f"cli.{fmt}"
        result = run_cli(*common, "--format", fmt, *extra, "--out", str(out))
        assert result.code == 0, result.err
        assert got.content == out.read_bytes(), fmt
    assert b'"value": "7"' in dhis2.content and b'"value": "2"' not in dhis2.content


def test_bad_options_and_a_bad_mapping_are_one_line_each_and_download_nothing(
    client: TestClient, site: WebSite, coordinator: str
) -> None:
    before = len(audit_actions(site))
    page = client.get("/reports", params={**OPTIONS, "from": "2026-12-01"})
    assert page.status_code == 400 and "The last day is before the first day." in page.text
    page = client.get("/reports", params={**OPTIONS, "from": "1 Nov"})
    assert page.status_code == 400 and "Enter a date as YYYY-MM-DD." in page.text
    page = client.get("/reports", params={**OPTIONS, "suppress_below": "0"})
    assert page.status_code == 400 and "Hide counts below a whole number from 1 to 1000." in page.text
    assert len(audit_actions(site)) == before  # refused before any count was read
    bad = client.post(
        "/reports/export",
        data={**OPTIONS, "format": "dhis2", "csrf_token": coordinator},
        files={"mapping": ("map.json", b'{"orgUnit": "nope"}', "application/json")},
    )
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/html")
    assert bad.text.count("This is not a DHIS2 mapping file Haven can read") == 1


def test_only_coordinators_see_the_report(client: TestClient, site: WebSite) -> None:
    token = sign_in(client, "clinician")
    assert client.get("/reports", params=OPTIONS).status_code == 403
    r = client.post("/reports/export", data={**OPTIONS, "format": "csv", "csrf_token": token})
    assert r.status_code == 403


def test_the_weekly_counts_chart_names_each_bar_and_has_an_axis_and_a_legend(
    client: TestClient, coordinator: str
) -> None:
    page = client.get("/counts", params={"week": "2026-W45"}).text
    chart = ET.fromstring(re.findall(r'<svg class="chart".*?</svg>', page, re.S)[0])
    labels = ["".join(t.itertext()) for t in chart.iter(f"{SVG}text") if "chart-label" in (t.get("class") or "")]
    assert labels[:2] == ["Comirnaty (Pfizer-BioNTech BNT162b2; tozinameran)", "Rapid antigen test: Negative"]
    assert not {"1", "2", "3"} & set(labels)  # named bars, never numbered ones
    assert "Count this week" in labels and {"Vaccination", "Test", "Care"} <= set(labels)
    assert 'href="/reports"' in page


def test_adverse_events_have_their_own_table_on_the_report_page_in_every_language(
    client: TestClient, site: WebSite, coordinator: str
) -> None:
    """Five coincidental events and one anxiety-related: the one is hidden, so the five are too (the total shows)."""
    for n, category in enumerate(["coincidental"] * 5 + ["anxiety-related"]):
        aefi = {"type": "aefi", "product": "comirnaty", "dose": 1, "vaccination_date": WEEK_45, "date": WEEK_45}
        visit = {"holder": {"birth_year": 2000}, "entries": [{**aefi, "serious": False, "category": category}]}
        site.clinic().add_visit(Card(bytes([n + 100]) * 16), visit, first_visit=True)
    words = {
        "en": ("Adverse events following immunization", "Vaccine", "Coincidental event"),
        "ko": ("예방접종 후 이상반응", "백신", "우연히 동반된 사건"),
        "zh_Hans": ("疑似预防接种异常反应", "疫苗", "偶合事件"),
    }
    for lang, (title, vaccine, coincidental) in words.items():
        client.cookies.set("haven_lang", lang)
        page = client.get("/reports", params=OPTIONS)
        assert page.status_code == 200, page.text[:300]
        head, *rows, totals = rows_of(page.text, "aefi")
        assert head[0] == vaccine and totals[1:] == ["6", "6"]
        assert title in page.text
        assert len(rows) == 2 and all(row[1:] == ["x", "x"] for row in rows)
        assert any(row[0].endswith(coincidental) for row in rows), rows
        counts = client.get("/counts", params={"week": "2026-W45"})
        assert counts.status_code == 200 and coincidental in counts.text, counts.text[:300]
    client.cookies.delete("haven_lang")
