"""``haven hub``: run a network hub on PostgreSQL (init, roster, serve, seizure-view)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from haven.cli.base import Context, common, common_no_unlock, unreadable
from haven.errors import InputError
from haven.hub import RESHUFFLE_AFTER_S

DATABASE_HELP = (
    "The hub's PostgreSQL database, as a libpq URL (postgresql://user@host:port/name); default $HAVEN_HUB_DATABASE. "
    "Give a password through PGPASSFILE, not in the URL."
)


def database_option(func: Any) -> Any:
    return click.option("--database", "database", default=None, metavar="URL", help=DATABASE_HELP)(func)


def _url(database: str | None) -> str:
    url = database or os.environ.get("HAVEN_HUB_DATABASE")
    if not url:
        raise InputError("Which database? Give --database URL (or set HAVEN_HUB_DATABASE).")
    return url


def _read_roster(path: str) -> bytes:
    if path == "-":
        return bytes(sys.stdin.buffer.read())
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise unreadable("roster", path, exc) from None


@click.group()
def hub() -> None:
    """Run the network's hub: one PostgreSQL database of every member's sealed rows.

    \b
    Example:
      haven hub init --database postgresql://haven@127.0.0.1/hub --roster roster.cose
      haven hub serve --database postgresql://haven@127.0.0.1/hub --port 8443
    """


@hub.command()
@database_option
@click.option(
    "--roster", "roster_path", required=True, metavar="FILE", help="The network's roster, as its root signed it."
)
@common_no_unlock
def init(ctx: Context, database: str | None, roster_path: str) -> None:
    """Create (or bring up to date) the hub's tables and take the network's roster.

    The first roster pins the root that signed it: compare the printed root with the one the
    network's coordinators hold. Later rosters (haven hub roster) must be signed by that root.

    \b
    Example:
      haven hub init --database postgresql://haven@127.0.0.1/hub --roster roster.cose
    """
    from haven.hub.roster import root_fingerprint, take_roster
    from haven.store.hub import HubStore

    db = HubStore(_url(database))
    try:
        version = db.schema_version()  # (the store brings its schema up to date when it opens)
        roster = take_roster(db, _read_roster(roster_path))
    finally:
        db.close()
    doc = {
        "schema": version,
        "roster_version": roster.version,
        "members": len(roster.members),
        "removed": len(roster.removed),
        "root": root_fingerprint(roster),
    }
    ctx.emit(
        doc,
        lambda c: c.print(
            f"The hub's database is ready (schema {version}); roster version {roster.version}: "
            f"{len(roster.members)} member sites, {len(roster.removed)} removed. Root key id {doc['root']}."
        ),
    )


@hub.command("roster")
@database_option
@click.argument("roster_path", metavar="FILE")
@common_no_unlock
def roster_command(ctx: Context, database: str | None, roster_path: str) -> None:
    """Take a newer roster (after a site was admitted or removed); a running hub uses it at once.

    \b
    Example:
      haven hub roster --database postgresql://haven@127.0.0.1/hub roster.cose
    """
    from haven.hub.roster import take_roster
    from haven.store.hub import HubStore

    db = HubStore(_url(database))
    try:
        roster = take_roster(db, _read_roster(roster_path))
    finally:
        db.close()
    doc = {"roster_version": roster.version, "members": len(roster.members), "removed": len(roster.removed)}
    ctx.emit(
        doc,
        lambda c: c.print(
            f"Roster version {roster.version}: {len(roster.members)} member sites, {len(roster.removed)} removed."
        ),
    )


@hub.command()
@database_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8443, show_default=True, help="Port to listen on.")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True), default=None, help="TLS certificate (PEM).")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True), default=None, help="Its private key (PEM).")
@click.option(
    "--reshuffle-after",
    "reshuffle_s",
    type=click.FloatRange(0.1, 3600),
    default=RESHUFFLE_AFTER_S,
    show_default=True,
    metavar="SECONDS",
    help="Rewrite the rows in locator order once pushes have been quiet this long.",
)
@common_no_unlock
def serve(
    ctx: Context,
    database: str | None,
    host: str,
    port: int,
    tls_cert: str | None,
    tls_key: str | None,
    reshuffle_s: float,
) -> None:
    """Serve the hub's sync API to member sites (HTTPS with --tls-cert and --tls-key).

    Requests must be signed by a current member of the roster; the hub keeps no log of them.

    \b
    Example:
      haven hub serve --database postgresql://haven@127.0.0.1/hub --host 0.0.0.0 --tls-cert hub.pem --tls-key hub.key
    """
    import uvicorn

    from haven.hub.server import Hub, Reshuffler, create_hub_app
    from haven.store.hub import HubStore

    if (tls_cert is None) != (tls_key is None):
        raise InputError("TLS needs both --tls-cert and --tls-key.")
    db = HubStore(_url(database))
    hub_state = Hub(db, reshuffler=Reshuffler(db, settle_s=reshuffle_s))
    hub_state.roster()  # refuse to start without one
    scheme = "https" if tls_cert else "http"
    doc = {"url": f"{scheme}://{host}:{port}/", "members": len(hub_state.roster().members)}
    ctx.emit(
        doc, lambda c: c.print(f"The hub is serving at {doc['url']} ({doc['members']} member sites). Stop with Ctrl-C.")
    )
    uvicorn.run(
        create_hub_app(hub_state),
        host=host,
        port=port,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        access_log=False,
        log_level="warning",
        proxy_headers=False,
        limit_concurrency=256,
        timeout_keep_alive=30,
    )


def run_sync(ctx: Context, url: str) -> None:
    """Pull and push through the hub at ``url``: ``haven hub sync URL`` and ``haven sync --hub URL``."""
    from haven.hub.client import sync_site

    with ctx.session() as session:
        done = sync_site(session, url)
    doc = done.to_doc()
    ctx.emit(
        doc,
        lambda c: c.print(
            f"Synced with {url}: {done.pulled} rows pulled, {done.pushed} pushed "
            f"({done.bytes_sent} bytes sent, {done.bytes_received} received)."
        ),
    )


@hub.command("sync")
@click.argument("url", metavar="URL")
@common
def sync_command(ctx: Context, url: str) -> None:
    """Sync this site with the network's hub: pull the rows it lacks, push the rows the hub lacks.

    The cost follows what differs; a sync cut short loses nothing and the next one resumes. Needs
    a coordinator's passphrase (it signs with the site's sync key) and the site admitted to the network.

    \b
    Example:
      haven hub sync https://hub.example.org:8443
    """
    run_sync(ctx, url)


@hub.command("seizure-view")
@database_option
@click.option("--full", is_flag=True, help="Print long values whole instead of shortened.")
@common_no_unlock
def seizure_view(ctx: Context, database: str | None, full: bool) -> None:
    """Print what someone who seized the hub's database sees, table by table, with PostgreSQL's row
    places (ctid) and inserting transactions (xmin), and what they tell.

    \b
    Example:
      haven hub seizure-view --database postgresql://haven@127.0.0.1/hub --json
    """
    from haven.app.seizure import rows_doc as tables_doc
    from haven.cli.site import print_tables
    from haven.hub.seizure import analyse
    from haven.store.hub import HubStore

    db = HubStore(_url(database))
    try:
        tables = db.physical_tables()
        findings = analyse(db, tables)
    finally:
        db.close()
    doc = {
        "findings": findings,
        "tables": tables_doc(tables),
    }

    def human(c: Console) -> None:
        c.print("[bold]What someone holding the hub's database sees[/bold]\n")
        for line in findings["summary"]:
            c.print(f"- {line}")
        print_tables(c, tables, full)

    ctx.emit(doc, human)


def register(group: click.Group) -> None:
    group.add_command(hub)
