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
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from haven.reports.tables import Table

WIDTH = 360  # a phone's width: the chart is drawn 1:1 there, and scales up elsewhere
LEFT, RIGHT = 8, 44  # room for the count after the longest bar
PLOT_WIDTH = WIDTH - LEFT - RIGHT
LABEL, BAR, GAP = 15, 16, 8  # each row: its label on a line of its own (any language's length fits), its bar
TOP, BOTTOM = 50, 96  # the title's two lines above; the axis, its label and the legend below
COLOUR, TEXT = "#2b6cb0", "#1a202c"
HIDDEN_NOTE = "hidden (a small count, or one hidden to protect it)"


@dataclass(frozen=True)
class ChartWords:
    """The words a chart shows, in one language (English by default, as the terminal and files use)."""

    heading: Callable[[Table], tuple[str, str]]  # the title's two lines: section and period, then its dates
    row: Callable[[str, tuple[str, str]], str]  # a row's label, from its section and (item, detail)
    axis: str = "count in the period (all age bands)"
    legend: str = "total of the row"
    hidden: str = "x: hidden"
    hidden_note: str = f"x: {HIDDEN_NOTE}"


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


def heading(table: Table) -> tuple[str, str]:
    period = table.period
    return f"{table.section.capitalize()}, {period.label}", f" ({period.start.isoformat()} to {period.end.isoformat()})"


ENGLISH = ChartWords(heading=heading, row=row_label)


def table_svg(table: Table, words: ChartWords = ENGLISH) -> str:
    """The chart of ``table``'s row totals, with its section and period in the title."""
    largest = max((t for t in table.row_totals if t is not None), default=0)
    step = axis_step(max(largest, 1))
    top = step * max(1, math.ceil(max(largest, 1) / step))
    pitch = LABEL + BAR + GAP
    height = TOP + len(table.rows) * pitch + BOTTOM
    first, second = words.heading(table)
    title = first + second
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="12" fill="{TEXT}">',
        f"<title>{escape(title)}</title>",
        # One text, two lines: the whole title reads as one string, and each line fits a phone.
        f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{escape(first)}'
        f'<tspan x="{LEFT}" dy="18" font-size="12" font-weight="normal">{escape(second)}</tspan></text>',
    ]
    for n, (row, total) in enumerate(zip(table.rows, table.row_totals, strict=True)):
        y, label = TOP + n * pitch, escape(words.row(table.section, row))
        parts.append(f'<text class="row-label" x="{LEFT}" y="{y + LABEL - 4}">{label}</text>')
        bar_y = y + LABEL
        if total is None:
            parts.append(f'<text x="{LEFT}" y="{bar_y + BAR - 4}" font-style="italic">{escape(words.hidden)}</text>')
            continue
        length = PLOT_WIDTH * total / top
        parts.append(
            f'<rect class="bar" x="{LEFT}" y="{bar_y}" width="{length:.1f}" height="{BAR}" fill="{COLOUR}">'
            f"<title>{label}: {total}</title></rect>"
        )
        parts.append(f'<text x="{LEFT + length + 4:.1f}" y="{bar_y + BAR - 4}">{total}</text>')
    axis_y = TOP + len(table.rows) * pitch
    right = LEFT + PLOT_WIDTH
    parts.append(f'<line x1="{LEFT}" y1="{axis_y}" x2="{right}" y2="{axis_y}" stroke="{TEXT}"/>')
    for tick in range(0, top + 1, step):
        x = LEFT + PLOT_WIDTH * tick / top
        parts.append(f'<line class="tick" x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 5}" stroke="{TEXT}"/>')
        parts.append(f'<text x="{x:.1f}" y="{axis_y + 18}" text-anchor="middle">{tick}</text>')
    parts.append(
        f'<text class="axis-label" x="{LEFT + PLOT_WIDTH / 2:.0f}" y="{axis_y + 36}" text-anchor="middle">'
        f"{escape(words.axis)}</text>"
    )
    legend_y = axis_y + 52
    parts.append(f'<g class="legend"><rect x="{LEFT}" y="{legend_y}" width="12" height="12" fill="{COLOUR}"/>')
    parts.append(f'<text x="{LEFT + 18}" y="{legend_y + 10}">{escape(words.legend)}</text>')
    parts.append(f'<text x="{LEFT}" y="{legend_y + 30}" font-style="italic">{escape(words.hidden_note)}</text></g>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
