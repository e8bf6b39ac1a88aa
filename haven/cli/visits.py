"""Visit commands: ``haven visit add``, ``import``, ``correct`` and ``void``, ``haven history``, ``haven catalogue``."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table as RichTable

from haven.cli import imports
from haven.cli.base import Context, card_arg, card_options, common, common_no_unlock, pin_arg, read_json_arg
from haven.core.catalogue import catalogue
from haven.core.history import History
from haven.errors import HavenError
from haven.site.roles import Permission

HISTORY_NOT_AUDITED = "haven: warning: the disk is full, so this reading is not in the audit log. Free some space."


@click.group()
def visit() -> None:
    """Record visits: vaccinations, tests, treatments and notes."""


def confirm_option(func: Any) -> Any:
    """``--confirm REASON``: store a visit the checks before saving warn about (docs/cli.md)."""
    return click.option(
        "--confirm",
        "confirm",
        default=None,
        metavar="REASON",
        help="Save a visit the checks warn about (dose interval, dose order, pregnancy...), with why "
        "(1 to 80 characters, kept in the sealed record); without it such a visit is refused.",
    )(func)


@visit.command("add")
@card_options
@click.option(
    "--entries",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="JSON file of the visit's entries ('-' for standard input); see docs/entries.md.",
)
@click.option(
    "--first-visit",
    is_flag=True,
    help="Start this card's history here: without it, a card with no records here is refused.",
)
@confirm_option
@common
def visit_add(
    ctx: Context, card_text: str | None, pin_file: str | None, entries: str, first_visit: bool, confirm: str | None
) -> None:
    """Record one visit for the card's holder, whole or not at all.

    \b
    Example:
      haven visit add --entries visit.json    # asks for the card, hidden
      haven visit add --entries visit.json --confirm "dose 1 card seen, given abroad"
    """
    card = card_arg(card_text)
    pin = pin_arg(pin_file)
    doc = read_json_arg(entries, "entries")
    with ctx.app() as app:
        added = app.visits.add(card, doc, pin=pin, first_visit=first_visit, confirm=confirm)
    warning = added.hub.warning() if added.hub is not None else None
    if warning is not None:
        click.echo(warning, err=True)
    ctx.emit(
        added.to_doc(),
        lambda c: c.print(f"Recorded visit {added.index + 1} ({added.entries} entries)."),
    )


@visit.command("correct")
@click.argument("entry")
@card_options
@click.option(
    "--entry",
    "entry_file",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="JSON file of the entry as it should be, whole, of the same type ('-' for standard input).",
)
@click.option("--reason", default=None, help="Why it is corrected (kept in the holder's sealed record).")
@common
def visit_correct(
    ctx: Context, entry: str, card_text: str | None, pin_file: str | None, entry_file: str, reason: str | None
) -> None:
    """Amend the entry ENTRY (its id in 'haven history', such as 0.1a2b3c4d.0): a new record of the holder's
    that replaces it; the history shows both versions.

    \b
    Example:
      haven visit correct 0.1a2b3c4d.0 --entry fixed.json --reason "lot misread"
    """
    card = card_arg(card_text)
    pin = pin_arg(pin_file)
    doc = read_json_arg(entry_file, "entry")
    with ctx.app() as app:
        done = app.visits.correct(card, entry, doc, reason, pin=pin)
    ctx.emit(done.to_doc(), lambda c: c.print(f"Corrected entry {entry}."))


@visit.command("void")
@click.argument("entry")
@card_options
@click.option("--reason", required=True, help="Why the entry is void (kept in the holder's sealed record).")
@common
def visit_void(ctx: Context, entry: str, card_text: str | None, pin_file: str | None, reason: str) -> None:
    """Void the entry ENTRY (its id in 'haven history'): it stays in the history, shown as voided, and no
    longer counts for doses due, certificates or exports.

    \b
    Example:
      haven visit void 0.1a2b3c4d.1 --reason "recorded on the wrong card"
    """
    card = card_arg(card_text)
    pin = pin_arg(pin_file)
    with ctx.app() as app:
        done = app.visits.void(card, entry, reason, pin=pin)
    ctx.emit(done.to_doc(), lambda c: c.print(f"Voided entry {entry}."))


@visit.command("import")
@click.argument("source", type=click.Path(allow_dash=True))  # a folder: refused in one line by imports
@click.option("--batch", default=50000, show_default=True, help="Visits per transaction (1 or more).")
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=None,
    help="Worker processes that validate and seal (default: one fewer than the CPUs; 0: none).",
)
@common
def visit_import(ctx: Context, source: str, batch: int, workers: int | None) -> None:
    """Import many visits from a JSON Lines file, one visit per line.

    Each line: {"card": WORDS-OR-CODE, "entries": [...], "holder": {...}, "pin": "..."}
    ("holder" and "pin" optional). Cards without records start a history.
    Importing the same file again resumes after what is already imported.

    \b
    Example:
      haven visit import register-2026-11.jsonl
    """
    imports.check_batch(batch)
    stream = imports.open_source(source, sys.stdin)
    lines: list[int] = []  # line number of every visit handed to the import, in order
    done = {"n": 0}
    try:
        with (
            ctx.app(Permission.VISIT_IMPORT) as app,
            Progress(
                TextColumn("importing"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                disable=ctx.json or not sys.stderr.isatty(),
                console=Console(stderr=True),
            ) as bar,
        ):
            task = bar.add_task("import", total=None)
            store = app.site.store
            imports.prepare(stream, store, batch)

            def progress(n: int) -> None:
                done["n"] = n
                bar.update(task, completed=stream.skip + n)

            try:
                if workers is None:
                    workers = max(0, (os.cpu_count() or 1) - 1)
                store.tune_for_bulk()
                total = app.visits.import_visits(
                    imports.items(stream, lines),
                    batch=batch,
                    progress=progress,
                    workers=workers,
                    checkpoint=(lambda n: imports.save(stream, store, n)) if stream.resumable else None,
                )
            except HavenError as exc:
                imports.explain(exc, lines, stream, exc.details.get("imported", done["n"]))
                raise
    finally:
        if stream.resumable:
            stream.close()
    before = stream.skip
    skipped = f" ({before} were imported from this file before)" if before else ""
    ctx.emit({"imported": total, "already_imported": before}, lambda c: c.print(f"Imported {total} visits{skipped}."))


# The measurements of vital signs and weight entries, with their units, in the terminal's words.
UNITS = {
    "temperature_c": ("temperature", " °C"),
    "pulse_per_min": ("pulse", "/min"),
    "respiratory_rate_per_min": ("breaths", "/min"),
    "spo2_percent": ("SpO2", "%"),
    "weight_kg": ("weight", " kg"),
    "height_cm": ("height", " cm"),
    "muac_mm": ("MUAC", " mm"),
}
CLINICAL = ("vitals", "weight", "allergy", "aefi")


def _clinical(entry: dict[str, Any]) -> tuple[str, list[str]]:
    kind = entry["type"]
    found = [f"{label} {entry[name]}{unit}" for name, (label, unit) in UNITS.items() if name in entry]
    if "systolic_mmhg" in entry:
        found.append(f"blood pressure {entry['systolic_mmhg']}/{entry['diastolic_mmhg']} mmHg")
    if kind == "vitals":
        return "vital signs", found
    if kind == "weight":
        return "weight and growth", found
    reactions = [", ".join(r.replace("-", " ") for r in entry.get("reactions", []))]
    if kind == "allergy":
        what = "allergy to " + (entry.get("substance") or entry.get("substance_text", ""))
        return what + (f", {entry['severity']}" if entry.get("severity") else ""), reactions
    what = f"AEFI after {catalogue().product(entry['product']).name}, dose {entry['dose']}"
    found = [f"given {entry['vaccination_date']}", "serious" if entry["serious"] else "not serious"]
    found += [entry.get("category", "not yet classified"), entry.get("outcome", "")]
    return what, found + reactions


def describe_entry(entry: dict[str, Any]) -> tuple[str, str]:
    """(what, details) of an entry document, in words for the terminal."""
    kind = entry["type"]
    extra = [f"lot {entry['lot']}"] if entry.get("lot") else []
    if entry.get("verified_external"):
        extra.append(f"from a verified {entry['verified_external']} certificate")
    if kind == "vaccination":
        what = f"{catalogue().product(entry['product']).name}, dose {entry['dose']}"
    elif kind == "test":
        what = f"{entry['test']} test: {entry['result']}"
        extra += [f"{entry['sample']} sample"] if entry.get("sample") else []
    elif kind in ("treatment", "consultation"):
        what = kind + (f", {entry['severity']}" if entry.get("severity") else "")
        extra += [", ".join(entry.get("symptoms", []))] if entry.get("symptoms") else []
        extra += ["given " + ", ".join(entry["medicines"])] if entry.get("medicines") else []
        extra += [f"referred to {entry['referral']}"] if entry.get("referral") else []
    elif kind in CLINICAL:
        what, found = _clinical(entry)
        extra += found
    else:
        what = "note"
        extra.append(entry.get("text", ""))
    if entry.get("note"):
        extra.append(entry["note"])
    return what, "; ".join(x for x in extra if x)


def entry_ref(visit: dict[str, Any], n: int) -> str:
    """The entry's id, as ``haven visit correct`` and ``void`` take it (haven.core.history.entry_id)."""
    return f"{visit['index']}.{visit['record']}.{n}"


def correction_note(entry: dict[str, Any]) -> str:
    """How a corrected or voided entry is marked (docs/entries.md, "Corrections")."""
    for key, label in (("voided", "VOIDED"), ("corrected", "corrected")):
        said = entry.get(key)
        if said:
            why = f": {said['reason']}" if said.get("reason") else ""
            was = ""
            if key == "corrected":
                first, _ = describe_entry(said["original"])
                was = f" (was {first}, {said['original']['date']})"
            return f"{label} on {said['on']}{why}{was}"
    return ""


def print_history(c: Console, history: History) -> None:
    doc = history.to_doc()
    if doc["holder"]:
        c.print("Holder: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in doc["holder"].items()))
    grid = RichTable("visit", "date", "what", "details", "entry", title="History")
    for v in doc["visits"]:
        for n, entry in enumerate(v["entries"]):
            what, details = describe_entry(entry)
            details = "; ".join(x for x in (details, correction_note(entry)) if x)
            grid.add_row(str(v["index"] + 1) if n == 0 else "", entry["date"], what, details, entry_ref(v, n))
    c.print(grid)
    if history.next_due:
        due = RichTable("vaccine", "dose", "earliest", "recommended by", "status", title="Next doses")
        for d in history.next_due:
            name = catalogue().product(d.product).name
            kind = "booster, for high-priority groups" if d.kind == "booster" else d.kind
            warn = f" [red]{d.caution}[/red]" if d.caution else ""
            due.add_row(
                name, f"{d.dose} ({kind})", d.earliest.isoformat(), d.recommended_by.isoformat(), d.status + warn
            )
        c.print(due)
    else:
        c.print("No dose due.")
    if history.unreadable:
        c.print(f"[yellow]{history.unreadable} record(s) under this card could not be opened (damaged).[/yellow]")


@click.command()
@card_options
@common
def history(ctx: Context, card_text: str | None, pin_file: str | None) -> None:
    """Show the card holder's history and the next doses due.

    \b
    Example:
      haven history --json    # asks for the card, hidden
    """
    card = card_arg(card_text)
    pin = pin_arg(pin_file)
    with ctx.app() as app:
        # Reading needs no space but its audit entry does: on a full disk the doses due still show.
        result = app.visits.history(card, pin, on_unaudited=lambda: click.echo(HISTORY_NOT_AUDITED, err=True))
    ctx.emit(result.to_doc(), lambda c: print_history(c, result))


@click.command("catalogue")
@common_no_unlock
def catalogue_command(ctx: Context) -> None:
    """List the vaccines, tests and results Haven knows, with their codes and schedules.

    \b
    Example:
      haven catalogue --json
    """
    cat = catalogue()
    doc = {
        "products": [
            {
                "key": p.key,
                "name": p.name,
                "series": p.series,
                "diseases": list(p.diseases),
                "doses": p.schedule.doses,
                "codes": p.codes,
            }
            for p in cat.products.values()
        ],
        "tests": sorted(cat.tests),
        "results": sorted(cat.results),
        "test_results": {t.key: list(t.results) for t in cat.tests.values()},
    }

    def human(c: Console) -> None:
        grid = RichTable("product", "name", "series", "doses", title="Vaccines")
        for p in cat.products.values():
            grid.add_row(p.key, p.name, p.series, str(p.schedule.doses))
        c.print(grid)
        c.print("Tests: " + ", ".join(sorted(cat.tests)) + "; results: " + ", ".join(sorted(cat.results)))

    ctx.emit(doc, human)


def register(group: click.Group) -> None:
    group.add_command(visit)
    group.add_command(history)
    group.add_command(catalogue_command)
