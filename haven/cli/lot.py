"""Lot register commands: ``haven lot add|list|retire`` (docs/lots.md)."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table as RichTable

from haven.cli.base import Context, common
from haven.core.catalogue import catalogue

PRODUCT = click.Choice(sorted(catalogue().products))


@click.group()
def lot() -> None:
    """The site's vaccine lots: the visit form picks from them; expired lots are refused."""


@lot.command("add")
@click.option("--product", required=True, type=PRODUCT, help="The product (see haven catalogue).")
@click.option("--lot", "number", required=True, help="The lot number as printed (1 to 40 characters).")
@click.option("--expiry", required=True, metavar="YYYY-MM-DD", help="The last day a dose of it may be given.")
@click.option("--doses", type=click.IntRange(1, 1_000_000), default=None, help="Doses received (optional).")
@common
def lot_add(ctx: Context, product: str, number: str, expiry: str, doses: int | None) -> None:
    """Add a lot to the register (coordinators only).

    \b
    Example:
      haven lot add --product mr --lot MR-2607 --expiry 2027-03-31 --doses 200
    """
    with ctx.app() as app:
        added = app.lots.add(product, number, expiry, doses)
    ctx.emit(added.to_doc(), lambda c: c.print(f"Added lot {added.lot} of {product}, expiring {expiry}."))


@lot.command("retire")
@click.option("--product", required=True, type=PRODUCT, help="The product of the lot.")
@click.option("--lot", "number", required=True, help="The lot number.")
@common
def lot_retire(ctx: Context, product: str, number: str) -> None:
    """Take a lot out of use (used up, damaged, recalled); it stays listed (coordinators only).

    \b
    Example:
      haven lot retire --product mr --lot MR-2607
    """
    with ctx.app() as app:
        done = app.lots.retire(product, number)
    ctx.emit(done.to_doc(), lambda c: c.print(f"Retired lot {done.lot} of {product}."))


@lot.command("list")
@common
def lot_list(ctx: Context) -> None:
    """List the register: each lot's expiry and status, and doses used (for coordinators, from the counters).

    \b
    Example:
      haven lot list --json
    """
    with ctx.app() as app:
        lines = app.lots.list()
    doc = {"lots": [line.to_doc() for line in lines]}

    def human(c: Console) -> None:
        grid = RichTable("product", "lot", "expiry", "status", "received", "used", title="Lots")
        for line in lines:
            x = line.lot
            used = "" if line.used is None else str(line.used)
            received = "" if x.received is None else str(x.received)
            grid.add_row(x.product, x.lot, x.expiry.isoformat(), line.status, received, used)
        c.print(grid)

    ctx.emit(doc, human)


def register(group: click.Group) -> None:
    group.add_command(lot)
