"""Audit commands: ``haven audit show|verify|head`` (who did what, never to whom, hash-chained)."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table as RichTable

from haven.cli.base import Context, common
from haven.site.audit import Head


@click.group()
def audit() -> None:
    """The audit log: who did what (never to whom), hash-chained."""


@audit.command("show")
@click.option("--last", type=click.IntRange(min=1), default=None, help="Only the last N entries.")
@common
def audit_show(ctx: Context, last: int | None) -> None:
    """Print the audit log (coordinators only).

    \b
    Example:
      haven audit show --last 20
    """
    with ctx.app() as app:
        entries = app.audit.show(last)

    def human(c: Console) -> None:
        grid = RichTable("seq", "hour (UTC)", "staff", "action", "count", title="Audit log")
        for e in entries:
            grid.add_row(str(e["seq"]), e["at"], e["staff"], e["action"], str(e["count"]))
        c.print(grid)

    ctx.emit({"entries": entries}, human)


@audit.command("verify")
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    metavar="SEQ:HASH",
    help="A head printed earlier by 'haven audit head' (repeatable): the log must still pass through it.",
)
@common
def audit_verify(ctx: Context, witnesses: tuple[str, ...]) -> None:
    """Recompute the hash chain: any edited, removed, inserted or reordered entry fails (exit 12).

    \b
    Example:
      haven audit verify --witness 41:9f3a...
    """
    heads = tuple(Head.parse(w) for w in witnesses)
    with ctx.app() as app:
        head = app.audit.verify(heads)
    doc = {"ok": True, "entries": head.seq, "head": str(head)}
    ctx.emit(doc, lambda c: c.print(f"The audit log checks out: {head.seq} entries, head {head}."))


@audit.command("head")
@common
def audit_head(ctx: Context) -> None:
    """Print the current head (SEQ:HASH): write it down or send it elsewhere, to check against later.

    \b
    Example:
      haven audit head
    """
    with ctx.app() as app:
        head = app.audit.verify()
    ctx.emit({"head": str(head), "seq": head.seq, "hash": head.hash.hex()}, lambda c: c.print(str(head)))


def register(group: click.Group) -> None:
    group.add_command(audit)
