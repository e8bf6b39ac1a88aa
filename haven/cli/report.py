"""``haven report``: the counters over a period, small cells suppressed, as a table, CSV or DHIS2 JSON."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table as RichTable

from haven.cli import outputs
from haven.cli.base import Context, check_output, common, read_json_arg
from haven.errors import InputError
from haven.reports.csv import to_csv
from haven.reports.dhis2 import Mapping, data_value_set
from haven.reports.periods import BY, parse_date, periods
from haven.reports.tables import DEFAULT_THRESHOLD, Report, Shown, Table, check_threshold

FORMATS = ("table", "csv", "dhis2")
HIDDEN = "x"  # a suppressed entry, small or hidden to protect a small one: the two look alike
BAR_WIDTH = 24


@click.command("report")
@click.option("--from", "start", required=True, help="First day of the report, YYYY-MM-DD (its week counts whole).")
@click.option("--to", "end", required=True, help="Last day of the report, YYYY-MM-DD (its week counts whole).")
@click.option("--by", type=click.Choice(BY), default="week", show_default=True, help="One column of tables per...")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format.")
@click.option(
    "--dhis2-mapping",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="JSON file mapping Haven's cells to DHIS2 data elements (needed for --format dhis2; docs/reports.md).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the report to this file (owner-readable only) instead of the terminal.",
)
@click.option(
    "--suppress-below",
    type=int,
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Hide counts from 1 to N-1, and what would give them back (1: hide nothing).",
)
@click.option(
    "--network",
    is_flag=True,
    help="Totals over every site of the network (at the root's site, with the network counts key).",
)
@common
def report(
    ctx: Context,
    start: str,
    end: str,
    by: str,
    fmt: str,
    dhis2_mapping: str | None,
    out: str | None,
    suppress_below: int,
    network: bool,
) -> None:
    """Report the anonymous counters to a programme: by product, dose, test, result and age band.

    Counts from 1 to N-1 are hidden, with the other cells needed so that no total gives them back.
    Coordinators only. --network sums the network tallies every member site seals to the network counts
    key (no per-site breakdown: a site's own report has that).

    \b
    Example:
      haven report --from 2026-11-01 --to 2026-11-30 --by month
      haven report --network --from 2026-11-01 --to 2026-11-30 --by week
      haven report --from 2026-11-01 --to 2026-11-30 --format dhis2 --dhis2-mapping map.json --out dhis2.json
    """
    first, last = parse_date(start, "from"), parse_date(end, "to")
    periods(first, last, by)  # a bad range or threshold is refused before the site is unlocked
    check_threshold(suppress_below)
    if fmt == "dhis2" and dhis2_mapping is None:
        raise InputError("A DHIS2 report needs --dhis2-mapping FILE (a sample is in docs/dhis2-mapping.json).")
    if fmt != "dhis2" and dhis2_mapping is not None:
        raise InputError("--dhis2-mapping is for --format dhis2 only.")
    mapping = Mapping.parse(read_json_arg(dhis2_mapping, "DHIS2 mapping")) if dhis2_mapping else None
    check_output(out, "report")
    rendered: dict[str, Any] = {"unmapped": []}

    def render_report(result: Report) -> dict[str, bytes]:
        if fmt == "csv":
            text = to_csv(result)
        elif fmt == "dhis2":
            assert mapping is not None
            payload, rendered["unmapped"] = data_value_set(result, mapping)
            text = json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
        else:
            text = render_text(result) if out else ""
        rendered["text"] = text
        return {out: text.encode("utf-8")} if out else {}

    # A file is written aside first, in place only once its audit entry is stored.
    with (
        ctx.app() as app,
        contextlib.ExitStack() as placed,
        Progress(
            TextColumn("report"),
            BarColumn(),
            MofNCompleteColumn(),
            disable=ctx.json or not sys.stderr.isatty(),
            console=Console(stderr=True),
            transient=True,
        ) as bar,
    ):
        task = bar.add_task("report", total=None)
        result = app.reports.report(
            first,
            last,
            by,
            suppress_below,
            on_period=lambda n, of: bar.update(task, completed=n, total=of),
            keep=lambda made: placed.enter_context(outputs.staged(render_report(made))),
            network=network,
        )
    text, unmapped = rendered["text"], rendered["unmapped"]
    if unmapped:
        first_missing = " ".join(part for part in unmapped[0] if part)
        click.echo(
            f"haven: warning: {len(unmapped)} shown cell(s) are not in the DHIS2 mapping and were left out "
            f"(the first: {first_missing}).",
            err=True,
        )
    if out:
        doc = {"out": out, "format": fmt, "tables": len(result.tables), "unmapped": len(unmapped)}
        ctx.emit(doc, lambda c: c.print(f"Wrote the {fmt} report ({len(result.tables)} tables) to {out}."))
    elif fmt == "table":
        ctx.emit(to_doc(result), lambda c: render(c, result))
    else:  # CSV or DHIS2 JSON on standard output: the document itself, with or without --json
        click.echo(text, nl=False)


def to_doc(result: Report) -> dict[str, Any]:
    """The report as JSON: every table with its shown entries (``null`` where suppressed)."""
    return {
        "from": result.start.isoformat(),
        "to": result.end.isoformat(),
        "by": result.by,
        "suppress_below": result.threshold,
        "periods": [
            {"period": p.label, "start": p.start.isoformat(), "end": p.end.isoformat(), "dhis2": p.dhis2}
            for p in result.periods
        ],
        "tables": [
            {
                "period": t.period.label,
                "section": t.section,
                "row_names": list(t.row_names),
                "rows": [list(r) for r in t.rows],
                "columns": list(t.columns),
                "cells": [list(r) for r in t.cells],
                "row_totals": list(t.row_totals),
                "column_totals": list(t.column_totals),
                "total": t.total,
            }
            for t in result.tables
        ],
    }


def render_text(result: Report) -> str:
    buffer = io.StringIO()
    render(Console(file=buffer, width=160, color_system=None, highlight=False), result)
    return buffer.getvalue()


def render(c: Console, result: Report) -> None:
    c.print(
        f"Counts from {result.start.isoformat()} to {result.end.isoformat()} by {result.by} "
        f"(whole ISO weeks; counts from 1 to {result.threshold - 1} and what would give them back "
        f"are shown as {HIDDEN})."
        if result.threshold > 1
        else f"Counts from {result.start.isoformat()} to {result.end.isoformat()} by {result.by}, none hidden."
    )
    if not result.tables:
        c.print("No counts in this period.")
    for table in result.tables:
        c.print(_rich_table(table))


def _rich_table(table: Table) -> RichTable:
    period = table.period
    title = f"{table.section}, {period.label} ({period.start.isoformat()} to {period.end.isoformat()})"
    out = RichTable(title=title, title_justify="left")
    for name in table.row_names:
        out.add_column(name)
    for band in table.columns:
        out.add_column(band, justify="right")
    out.add_column("total", justify="right", style="bold")
    out.add_column("", no_wrap=True)
    widest = max((v for v in table.row_totals if v is not None), default=0)
    for (item, detail), cells, total in zip(table.rows, table.cells, table.row_totals, strict=True):
        out.add_row(item, detail, *(_shown(v) for v in cells), _shown(total), _bar(total, widest))
    out.add_row("total", "", *(_shown(v) for v in table.column_totals), _shown(table.total), "", style="bold")
    return out


def _shown(value: Shown) -> str:
    return HIDDEN if value is None else str(value)


def _bar(value: Shown, widest: int) -> str:
    """A bar as long as the row's total against the longest shown one; none for a hidden total."""
    if value is None or not widest:
        return ""
    return "█" * max(1, round(BAR_WIDTH * value / widest)) if value else ""


def register(group: click.Group) -> None:
    group.add_command(report)
