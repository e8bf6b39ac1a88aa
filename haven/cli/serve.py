"""``haven serve``: the web app (clinic pages, JSON API and the offline verifier) on uvicorn."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from haven.cli.base import Context, resolve_home
from haven.errors import SiteError
from haven.site.folder import SiteFolder
from haven.store.sqlite import SQLiteStore

DEMO_STAFF = (("registrar", "registrar"), ("clinician", "clinician"), ("coordinator", "coordinator"))


def demo_site(
    folder: SiteFolder, today: dt.date
) -> tuple[SQLiteStore, Any, list[dict[str, str]], list[dict[str, Any]]]:
    """A new demo site: the ``haven demo`` holders and visits, and one staff account per role."""
    from haven.cli.demo import demo_visits
    from haven.core.card import Card
    from haven.services import Clinic
    from haven.web.auth import MemoryStaffDirectory, Role, demo_passphrase

    store = folder.create()
    clinic = Clinic(store, today=lambda: today)
    holders = []
    for language, pin, visits in demo_visits(today):
        card = Card.generate(secrets.token_bytes, language)
        for n, visit in enumerate(visits):
            clinic.add_visit(card, visit, pin=pin, first_visit=n == 0)
        holders.append({"words": card.words(language), "qr": card.code, "language": language, "pin": pin})
    staff = MemoryStaffDirectory()
    accounts = []
    for name, role in DEMO_STAFF:
        passphrase = demo_passphrase()
        staff.add(name, Role(role), passphrase)
        accounts.append({"name": name, "role": role, "passphrase": passphrase})
    return store, staff, accounts, holders


def site_staff(folder: SiteFolder) -> Any:
    """The site's staff accounts (key slots and passphrases): not on this site yet."""
    raise SiteError(
        f"The site in {folder.home} has no staff accounts the web app can use yet. "
        "Run 'haven serve --demo' for a demo clinic with demo staff."
    )


@click.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1; 0.0.0.0 for the clinic's LAN).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port to listen on (default 8000).")
@click.option(
    "--demo",
    is_flag=True,
    help="Serve a new demo site (demo holders, one staff account per role) and print the sign-in.",
)
@click.option(
    "--secure-cookies/--no-secure-cookies",
    default=None,
    help="Mark the session cookie Secure (default: when the request came over https).",
)
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    default=None,
    help="Site folder (default: $HAVEN_HOME, else ~/.haven; with --demo, a new temporary folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the URL and the demo sign-in as JSON, then serve.")
@click.pass_context
def serve(
    click_ctx: click.Context,
    host: str | None,
    port: int | None,
    demo: bool,
    secure_cookies: bool | None,
    home: str | None,
    as_json: bool,
) -> None:
    """Serve the clinic pages, the JSON API and the offline verifier (/verify).

    Sessions live in this one process: run one server per site. Other settings
    come from HAVEN_WEB_* variables (docs/web.md).

    \b
    Example:
      haven serve --demo --port 8000
    """
    import uvicorn

    from haven.services import utc_today
    from haven.web import Site, WebSettings, create_app

    parent = click_ctx.find_root().obj or {}
    home = home or parent.get("home")
    ctx = Context(home=resolve_home(home), json=as_json or bool(parent.get("json")))
    settings = WebSettings.from_env(os.environ, host=host, port=port, secure_cookies=secure_cookies)
    if demo:
        folder = SiteFolder(Path(home).expanduser() if home else Path(tempfile.mkdtemp(prefix="haven-web-demo-")))
        store, staff, accounts, holders = demo_site(folder, utc_today())
    else:
        folder = ctx.folder
        store = folder.open()
        staff = site_staff(folder)
        accounts, holders = [], []
    shown = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    url = f"http://{shown}:{settings.port}/"
    doc = {"url": url, "verify": url + "verify", "home": str(folder.home), "staff": accounts, "holders": holders}

    def human(c: Console) -> None:
        c.print(f"Haven is serving the site in [bold]{folder.home}[/bold] at [bold]{url}[/bold]")
        c.print(f"Public verifier: {url}verify")
        if accounts:
            c.print("\n[bold]Demo sign-in[/bold] (staff name, then passphrase):")
            for a in accounts:
                c.print(f"  {a['name']:<12} {a['passphrase']}   ({a['role']})")
            c.print("\n[bold]Demo cards[/bold] (type the words on the 'Open a card' page):")
            for h in holders:
                pin = f"   PIN {h['pin']}" if h["pin"] else ""
                c.print(escape(f"  [{h['language']}] {' '.join(h['words'])}{pin}"))
        c.print("\nStop with Ctrl-C. Every session and open card ends with the server.")

    ctx.emit(doc, human)
    app = create_app(settings, Site(store=store, staff=staff))
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, access_log=False, log_level="warning")
    finally:
        store.close()


def register(group: click.Group) -> None:
    group.add_command(serve)
