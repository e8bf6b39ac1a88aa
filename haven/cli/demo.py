"""``haven demo``: a demo site with a few holders and their visits."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.rule import Rule

from haven.app import App
from haven.app.demo import TOUR_STAFF, DemoSite, build_demo
from haven.cli.base import Context
from haven.cli.visits import print_history
from haven.core.card import parse_card
from haven.core.clock import utc_today
from haven.errors import CardError, NoRecordsError
from haven.site.config import SecuritySettings
from haven.site.folder import SiteFolder


@click.command()
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for the demo site (default: a new temporary folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def demo(home: str | None, as_json: bool) -> None:
    """Create a demo site, register three holders, record visits and print a history.

    \b
    Example:
      haven demo
    """
    folder = SiteFolder(Path(home) if home else Path(tempfile.mkdtemp(prefix="haven-demo-")))
    ctx = Context(home=folder.home, json=as_json)
    if SecuritySettings.from_env().kdf_profile == "calibrated" and not as_json:
        click.echo("Calibrating passphrase keys on this machine (a few seconds)...", err=True)
    tour: dict[str, Any] = {}

    def show(app: App, made: DemoSite) -> None:
        """What the tour shows: the first holder's history, two refusals, and what is stored."""
        first = made.holders[0]
        tour["history"] = app.visits.history(parse_card(" ".join(first["words"])))
        wrong = list(first["words"])
        wrong[4], wrong[5] = wrong[5], wrong[4]
        try:
            parse_card(" ".join(wrong))
            tour["refusal"] = "accepted (the two swapped words were equal)"
        except CardError as exc:
            tour["refusal"] = exc.message
        try:
            app.visits.history(parse_card(" ".join(made.holders[1]["words"])), pin="0000")
            tour["wrong_pin"] = "opened"
        except NoRecordsError as exc:
            tour["wrong_pin"] = exc.message
        tour["tables"] = app.seizure.tables()

    made = build_demo(folder, utc_today(), then=show)
    holders, history, refusal, wrong_pin = made.holders, tour["history"], tour["refusal"], tour["wrong_pin"]
    secret = made.accounts[0]["passphrase"]
    tables = tour["tables"]

    doc: dict[str, Any] = {
        "home": str(folder.home),
        "staff": {"name": TOUR_STAFF, "passphrase": secret},
        "holders": holders,
        "history": history.to_doc(),
        "swapped_words": refusal,
        "wrong_pin": wrong_pin,
        "stored_rows": {t.name: len(t.rows) for t in tables if t.name != "sqlite_master"},
    }

    def human(c: Console) -> None:
        c.print(Rule("Haven demo site"))
        c.print(f"Site folder: [bold]{folder.home}[/bold]  (try: haven --home {folder.home} seizure-view)")
        c.print(
            f"Registered {len(holders)} holders (words in English, Korean and Chinese) and recorded their visits.\n"
        )
        for h in holders:
            pin = f"  PIN {h['pin']}" if h["pin"] else ""
            c.print(f"[{h['language']}] {' '.join(h['words'])}{pin}")
        c.print(Rule("The first holder comes back and types the 13 words"))
        print_history(c, history)
        c.print(Rule("Mistakes are caught before any lookup"))
        c.print(f"Two neighbouring words swapped: {refusal}")
        c.print(f"Second holder, wrong PIN: {wrong_pin}")
        c.print(Rule("What a seized copy holds"))
        rows = doc["stored_rows"]
        what = {
            "records": "sealed visits: a random locator, a random id and ciphertext each",
            "tallies": "counters by week, product or test and age band, sealed to coordinators, one size each",
            "settings": "keys wrapped under role keys (a passphrase without the role opens none), the audit public key",
        }
        for name, n in rows.items():
            if name in what:
                c.print(f"table {name}: {n} rows, {what[name]}; no name, and nothing that links two visits")
        c.print(
            f"table staff: {rows.get('staff', 0)} staff account, table audit: {rows.get('audit', 0)} entries "
            "(who did what, never to whom), both sealed so that only a coordinator's passphrase opens them. "
            "Without a passphrase, the whole file is random bytes (SQLCipher)."
        )
        c.print(Rule("Staff"))
        c.print(f"Staff account [bold]{TOUR_STAFF}[/bold], passphrase: [bold]{secret}[/bold]")
        c.print(f"Without a passphrase, see for yourself: haven --home {folder.home} seizure-view --raw")
        c.print(f"With it (type it when asked): haven --home {folder.home} seizure-view")
        c.print(
            f"History from the command line: haven --home {folder.home} history  "
            "(type the first holder's words when asked: they are not shown, and never put them after --card, "
            "where the shell history and the process list would keep them)"
        )

    ctx.emit(doc, human)


def register(group: click.Group) -> None:
    group.add_command(demo)
