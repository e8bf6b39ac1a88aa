"""``haven serve``: the web app (clinic pages, JSON API and the offline verifier) on uvicorn.

The server starts **locked**: it needs no passphrase to start and holds no key
until a staff member signs in through the site's key slots (docs/web.md).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from haven.app.demo import build_demo
from haven.cli.base import Context, resolve_home
from haven.core.clock import utc_today
from haven.site.config import SecuritySettings
from haven.site.folder import SiteFolder
from haven.site.site import Site


@click.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1; 0.0.0.0 for the clinic's LAN).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port to listen on (default 8000).")
@click.option(
    "--demo",
    is_flag=True,
    help="Create a real, encrypted demo site (demo holders, one staff account per role), print the sign-in, serve it.",
)
@click.option(
    "--auto-lock",
    "auto_lock_minutes",
    type=click.IntRange(1, 24 * 60),
    default=None,
    help="Lock (forget the site's key) after this many minutes without a staff request (default 30).",
)
@click.option(
    "--secure-cookies/--no-secure-cookies",
    default=None,
    help="Mark the session cookie Secure (default: when the request came over https).",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    metavar="ADDRESS",
    help="A reverse proxy (IP address or network) whose X-Forwarded-For/-Proto to believe; repeatable (default none).",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="A host name to answer besides localhost and the --host address; repeatable.",
)
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    default=None,
    help="Site folder (default: $HAVEN_HOME, else ~/.haven; with --demo, a new temporary folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the URL (and the demo sign-in) as JSON, then serve.")
@click.pass_context
def serve(
    click_ctx: click.Context,
    host: str | None,
    port: int | None,
    demo: bool,
    auto_lock_minutes: int | None,
    secure_cookies: bool | None,
    trusted_proxies: tuple[str, ...],
    allowed_hosts: tuple[str, ...],
    home: str | None,
    as_json: bool,
) -> None:
    """Serve the clinic pages, the JSON API and the offline verifier (/verify).

    The server starts locked and needs no passphrase: the first staff member to
    sign in (name and passphrase, through the site's key slots) opens the site;
    it locks again when the last one signs out, or after --auto-lock minutes
    without a staff request. Sessions live in this one process: run one server
    per site. Other settings come from HAVEN_WEB_* variables (docs/web.md).

    \b
    Example:
      haven serve --demo --port 8000
      haven serve --home /srv/haven --host 0.0.0.0
    """
    import uvicorn

    from haven.web import WebSettings, WebSite, create_app

    parent = click_ctx.find_root().obj or {}
    home = home or parent.get("home")
    ctx = Context(home=resolve_home(home), json=as_json or bool(parent.get("json")))
    settings = WebSettings.from_env(
        os.environ,
        host=host,
        port=port,
        secure_cookies=secure_cookies,
        auto_lock_s=auto_lock_minutes * 60 if auto_lock_minutes else None,
        trusted_proxies=trusted_proxies or None,
        allowed_hosts=allowed_hosts or None,
    )
    security = SecuritySettings.from_env()
    accounts: list[dict[str, str]] = []
    holders: list[dict[str, Any]] = []
    duress: dict[str, str] | None = None
    if demo:
        folder = SiteFolder(Path(home).expanduser() if home else Path(tempfile.mkdtemp(prefix="haven-web-demo-")))
        if security.kdf_profile == "calibrated" and not ctx.json:
            click.echo("Making an encrypted demo site: calibrating passphrase keys on this machine...", err=True)
        made = build_demo(folder, utc_today(), security, per_role=True)
        keys, accounts, duress, holders = made.site, made.accounts, made.duress, made.holders
    else:
        folder = ctx.folder
        keys = Site(folder, security)
        keys.check_present()
    shown = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    url = f"http://{shown}:{settings.port}/"
    doc: dict[str, Any] = {"url": url, "verify": url + "verify", "home": str(folder.home), "locked": True}
    if demo:
        doc.update(staff=accounts, duress=duress, holders=holders)

    def human(c: Console) -> None:
        c.print(f"Haven is serving the site in [bold]{folder.home}[/bold] at [bold]{url}[/bold]")
        c.print(f"Public verifier: {url}verify")
        c.print("The server is locked: the first staff member to sign in opens the site.")
        if accounts:
            c.print("\n[bold]Demo sign-in[/bold] (staff name, then passphrase):")
            for a in accounts:
                c.print(f"  {a['name']:<12} {a['passphrase']}   ({a['role']})")
            if duress:
                c.print(
                    f"  Duress passphrase of {duress['name']}: {duress['passphrase']}  "
                    "(try it: it erases this demo site and opens an empty one)"
                )
            c.print("\n[bold]Demo cards[/bold] (type the words on the 'Open a card' page):")
            for h in holders:
                pin = f"   PIN {h['pin']}" if h["pin"] else ""
                c.print(escape(f"  [{h['language']}] {' '.join(h['words'])}{pin}"))
        c.print("\nStop with Ctrl-C. Every session and open card ends with the server.")

    ctx.emit(doc, human)
    app = create_app(settings, WebSite(keys=keys))
    # Proxy headers are the app's to believe (only from settings.trusted_proxies), never uvicorn's default.
    uvicorn.run(app, host=settings.host, port=settings.port, access_log=False, log_level="warning", proxy_headers=False)


def register(group: click.Group) -> None:
    group.add_command(serve)
