"""Report charts: an SVG with its period, an axis with a scale, a legend, and no bar for a hidden total."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from haven.core.aggregates import AggregateKey
from haven.reports.charts import table_svg
from haven.reports.tables import build_report

SVG = "{http://www.w3.org/2000/svg}"


def _texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_a_chart_has_its_period_an_axis_a_legend_and_no_bar_for_a_hidden_total() -> None:
    counts = {
        AggregateKey(202645, 1, 1, 1, 4): 40,  # comirnaty dose 1, 18-29
        AggregateKey(202645, 1, 1, 1, 5): 23,  # 30-39
        AggregateKey(202645, 1, 1, 2, 4): 3,  # comirnaty dose 2: three people in all, hidden with its total
        AggregateKey(202645, 1, 2, 1, 4): 12,
        AggregateKey(202645, 1, 2, 1, 5): 8,
    }
    (table,) = build_report(counts, dt.date(2026, 11, 2), dt.date(2026, 11, 8)).tables
    root = ET.fromstring(table_svg(table))
    texts = _texts(root)
    assert texts[0] == "Vaccinations, 2026-W45 (2026-11-02 to 2026-11-08)"
    assert root.find(f"{SVG}title") is not None and root.get("role") == "img"
    shown = [t for t in table.row_totals if t is not None]
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert len(bars) == len(shown) < len(table.rows)  # a hidden row total has no bar, whose length would tell it
    assert texts.count("x: hidden") == len(table.rows) - len(shown)
    # Bars are to scale: lengths in proportion to the totals they show.
    widths = [float(b.get("width", "0")) for b in bars]
    assert abs(widths[0] / widths[-1] - shown[0] / shown[-1]) < 0.01
    ticks = [t for t in root.iter(f"{SVG}line") if t.get("class") == "tick"]
    assert len(ticks) >= 3 and "0" in texts and "count in the period (all age bands)" in texts
    assert "total of the row" in texts and any(t.startswith("x: hidden (") for t in texts)  # the legend


def test_labels_are_escaped() -> None:
    (table,) = build_report({AggregateKey(202645, 3, 3, 0, 0): 6}, dt.date(2026, 11, 2), dt.date(2026, 11, 8)).tables
    ET.fromstring(table_svg(table))  # well-formed XML
    assert "treatment severe" in _texts(ET.fromstring(table_svg(table)))
