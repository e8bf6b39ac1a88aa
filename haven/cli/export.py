"""Export commands: ``haven export fhir`` (a holder's history as a FHIR document, at their request)."""

from __future__ import annotations

import contextlib
from typing import Any

import click
from rich.console import Console

from haven.cli import outputs
from haven.cli.base import Context, card_arg, card_options, check_output, common, pin_arg
from haven.export.fhir import bundle_bytes


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
@click.option(
    "--profile",
    type=click.Choice(("ips", "ddcc")),
    default="ips",
    show_default=True,
    help="ips: the whole history as an International Patient Summary; ddcc: its COVID-19 vaccinations "
    "and tests as WHO DDCC:VS and DDCC:TR documents.",
)
@common
def export_fhir(ctx: Context, card_text: str | None, pin_file: str | None, out: str, profile: str) -> None:
    """Write the holder's history as a FHIR R4 International Patient Summary, for the holder to carry.

    The Patient in it has no name, birth date or identifier; notes are left out. With --profile ddcc,
    the COVID-19 vaccinations and tests as WHO DDCC documents instead.

    \b
    Example:
      haven export fhir --card - --out summary.json    # the card on stdin
      haven export fhir --card - --profile ddcc --out ddcc.json
    """
    check_output(out, "FHIR export")  # before the card is asked for
    card = card_arg(card_text)
    pin = pin_arg(pin_file)
    # Written aside first, in place only once its audit entry is stored: no export goes unrecorded.
    with ctx.app() as app, contextlib.ExitStack() as placed:

        def keep(bundle: dict[str, Any]) -> None:
            placed.enter_context(outputs.staged({out: bundle_bytes(bundle)}))

        result, bundle = app.export.fhir(card, pin, profile=profile, keep=keep)
    if result.unreadable:
        click.echo(
            f"haven: warning: {result.unreadable} record(s) under this card could not be opened (damaged) "
            "and are not in the export.",
            err=True,
        )
    doc: dict[str, object] = {"out": out, "resources": len(bundle["entry"]), "visits": len(result.visits)}
    if profile == "ddcc":  # the entries are documents: count the resources in them too
        doc["documents"] = doc["resources"]
        doc["resources"] = sum(len(d["resource"]["entry"]) for d in bundle["entry"])

    def human(c: Console) -> None:
        documents = f" in {doc['documents']} DDCC documents" if profile == "ddcc" else ""
        c.print(f"Wrote {doc['resources']} FHIR resources{documents} ({doc['visits']} visits) to {out}.")

    ctx.emit(doc, human)


def register(group: click.Group) -> None:
    group.add_command(export)
