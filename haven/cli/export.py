"""Export commands: ``haven export fhir`` (a holder's history as a FHIR document, at their request)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import click
from rich.console import Console

from haven.cli import outputs
from haven.cli.base import Context, card_arg, card_options, check_output, common, pin_arg


@click.group()
def export() -> None:
    """A holder's history in formats other health systems read (docs/export.md)."""


@export.command("fhir")
@card_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    required=True,
    help="Write the FHIR R4 Bundle (JSON) to this file, readable by its owner only.",
)
@common
def export_fhir(ctx: Context, card_text: str | None, pin_file: str | None, out: str) -> None:
    """Write the holder's history as a FHIR R4 International Patient Summary, for the holder to carry.

    The Patient in it has no name, birth date or identifier; notes are left out.

    \b
    Example:
      haven export fhir --card - --out summary.json    # the card on stdin
    """
    check_output(out, "FHIR export")  # before the card is asked for
    card = card_arg(card_text)
    pin = pin_arg(pin_file)
    # Written aside first, in place only once its audit entry is stored: no export goes unrecorded.
    with ctx.app() as app, contextlib.ExitStack() as placed:

        def keep(bundle: dict[str, Any]) -> None:
            data = (json.dumps(bundle, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
            placed.enter_context(outputs.staged({out: data}))

        result, bundle = app.export.fhir(card, pin, keep=keep)
    if result.unreadable:
        click.echo(
            f"haven: warning: {result.unreadable} record(s) under this card could not be opened (damaged) "
            "and are not in the export.",
            err=True,
        )
    doc = {"out": out, "resources": len(bundle["entry"]), "visits": len(result.visits)}

    def human(c: Console) -> None:
        c.print(f"Wrote {doc['resources']} FHIR resources ({doc['visits']} visits) to {out}.")

    ctx.emit(doc, human)


def register(group: click.Group) -> None:
    group.add_command(export)
