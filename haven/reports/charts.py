"""A report table as an SVG bar chart people can read: its period, axis, scale and legend (pure).

One horizontal bar per row, as long as the row's total; a hidden total gets no bar and says so, since
its length would give it away. Labels come from the catalogue and Haven's own words, escaped anyway.

>>> import datetime as dt
>>> from haven.core.aggregates import AggregateKey
>>> from haven.reports.tables import build_report
>>> table = build_report({AggregateKey(202648, 2, 1, 2, 4): 7}, dt.date(2026, 11, 23), dt.date(2026, 11, 29)).tables[0]
>>> svg = table_svg(table)
>>> svg.startswith("<svg") and "2026-W48" in svg and "antigen negative" in svg
True
"""

from __future__ import annotations

import math
from html import escape

from haven.reports.tables import Table

WIDTH = 640
LABEL_WIDTH = 190  # room for "comirnaty dose 3" and the like
PLOT_WIDTH = WIDTH - LABEL_WIDTH - 60
BAR, GAP = 18, 6
TOP, BOTTOM = 48, 78  # the title above; the axis, its label and the legend below
COLOUR, TEXT = "#2b6cb0", "#1a202c"
HIDDEN_NOTE = "hidden (a small count, or one hidden to protect it)"


def axis_step(largest: int) -> int:
    """A round tick step (1, 2 or 5 times a power of ten) giving at most five steps up to ``largest``.

    >>> [axis_step(n) for n in (1, 4, 9, 23, 480, 1000)]
    [1, 1, 2, 5, 100, 200]
    """
    if largest <= 5:
        return 1
    power = int(10 ** int(math.log10(largest / 5)))
    return next(step * power for step in (1, 2, 5, 10) if largest / (step * power) <= 5)


def row_label(section: str, row: tuple[str, str]) -> str:
    item, detail = row
    return f"{item} dose {detail}" if section == "vaccinations" else f"{item} {detail}"


def table_svg(table: Table) -> str:
    """The chart of ``table``'s row totals, with its section and period in the title."""
    largest = max((t for t in table.row_totals if t is not None), default=0)
    step = axis_step(max(largest, 1))
    top = step * max(1, math.ceil(max(largest, 1) / step))
    height = TOP + len(table.rows) * (BAR + GAP) + BOTTOM
    period = table.period
    title = f"{table.section.capitalize()}, {period.label} ({period.start.isoformat()} to {period.end.isoformat()})"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="12" fill="{TEXT}">',
        f"<title>{escape(title)}</title>",
        f'<text x="8" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for n, (row, total) in enumerate(zip(table.rows, table.row_totals, strict=True)):
        y, label = TOP + n * (BAR + GAP), escape(row_label(table.section, row))
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR - 5}" text-anchor="end">{label}</text>')
        if total is None:
            parts.append(f'<text x="{LABEL_WIDTH + 4}" y="{y + BAR - 5}" font-style="italic">x: hidden</text>')
            continue
        length = PLOT_WIDTH * total / top
        parts.append(
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR}" fill="{COLOUR}">'
            f"<title>{label}: {total}</title></rect>"
        )
        parts.append(f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + BAR - 5}">{total}</text>')
    axis_y = TOP + len(table.rows) * (BAR + GAP)
    right = LABEL_WIDTH + PLOT_WIDTH
    parts.append(f'<line x1="{LABEL_WIDTH}" y1="{axis_y}" x2="{right}" y2="{axis_y}" stroke="{TEXT}"/>')
    for tick in range(0, top + 1, step):
        x = LABEL_WIDTH + PLOT_WIDTH * tick / top
        parts.append(f'<line class="tick" x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 5}" stroke="{TEXT}"/>')
        parts.append(f'<text x="{x:.1f}" y="{axis_y + 18}" text-anchor="middle">{tick}</text>')
    parts.append(
        f'<text x="{LABEL_WIDTH + PLOT_WIDTH / 2:.0f}" y="{axis_y + 36}" text-anchor="middle">'
        "count in the period (all age bands)</text>"
    )
    legend_y = axis_y + 56
    parts.append(f'<rect x="8" y="{legend_y}" width="12" height="12" fill="{COLOUR}"/>')
    parts.append(f'<text x="26" y="{legend_y + 10}">total of the row</text>')
    parts.append(f'<text x="150" y="{legend_y + 10}" font-style="italic">x: {HIDDEN_NOTE}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
