"""Site commands: ``haven init`` and ``haven seizure-view``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click
from rich.console import Console
from rich.table import Table as RichTable

from haven.cert_services import bootstrap_trust
from haven.cli.base import Context, common
from haven.store.base import Table


@click.command()
@common
def init(ctx: Context) -> None:
    """Create a new site in the site folder.

    \b
    Example:
      haven init --home /srv/haven
    """
    store = ctx.folder.create()
    bootstrap_trust(store, dt.datetime.now(dt.UTC))  # a network of one: can issue and verify at once
    store.close()
    doc = {"home": str(ctx.home), "database": str(ctx.folder.db_path)}
    ctx.emit(doc, lambda c: c.print(f"Created a Haven site in [bold]{ctx.home}[/bold]."))


def _cell(value: Any, full: bool) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value).hex()
        return raw if full or len(raw) <= 32 else f"{raw[:32]}… ({len(value)} bytes)"
    return "NULL" if value is None else str(value)


def _json_cell(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"hex": bytes(value).hex()}
    return value


def seizure_doc(ctx: Context, tables: list[Table]) -> dict[str, Any]:
    return {
        "home": str(ctx.home),
        "files": [{"path": str(p.relative_to(ctx.home)), "bytes": p.stat().st_size} for p in ctx.folder.files()],
        "tables": [
            {"name": t.name, "columns": list(t.columns), "rows": [[_json_cell(v) for v in row] for row in t.rows]}
            for t in tables
        ],
    }


@click.command("seizure-view")
@click.option("--full", is_flag=True, help="Print long values whole instead of shortened.")
@common
def seizure_view(ctx: Context, full: bool) -> None:
    """Print every file, table and row as someone who seized this site's files (but no card) sees them.

    Anyone can audit the promise: no names, no clinical values, nothing that
    links two visits of one person.

    \b
    Example:
      haven seizure-view --full
    """
    with ctx.store() as store:
        tables = store.tables()
    doc = seizure_doc(ctx, tables)

    def human(c: Console) -> None:
        c.print(f"[bold]What someone holding the files of {ctx.home} but no card sees[/bold]\n")
        files = RichTable("file", "bytes", title="Files")
        for f in doc["files"]:
            files.add_row(f["path"], str(f["bytes"]))
        c.print(files)
        for t in tables:
            grid = RichTable(*t.columns, title=f"Table {t.name} ({len(t.rows)} rows)")
            for row in t.rows:
                grid.add_row(*(_cell(v, full) for v in row))
            c.print(grid)

    ctx.emit(doc, human)


def register(group: click.Group) -> None:
    group.add_command(init)
    group.add_command(seizure_view)
