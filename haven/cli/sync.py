"""Sync commands: membership (request, admit, remove), the roster, and bundles out and in (docs/sync.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from haven.cli.base import Context, check_output, common, unreadable, write_output
from haven.site.roles import Permission
from haven.sync.roster import Roster
from haven.sync.service import Sync


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise unreadable(what, path, exc) from None


def _roster_doc(sync: Sync, roster: Roster | None) -> dict[str, Any]:
    keys = sync.site_keys()
    own = None if keys is None else keys.member.site_id
    doc: dict[str, Any] = {"site": own, "member": False, "roster": None}
    if roster is not None:
        doc["roster"] = roster.to_doc()
        doc["member"] = own in doc["roster"]["members"]
    return doc


def _roster_command(ctx: Context, permission: Permission, act: Callable[[Sync], Roster | None]) -> None:
    """Unlock, let ``act`` read or change the roster, and show the roster it returns."""
    with ctx.session(permission) as session:
        service = Sync(session)
        doc = _roster_doc(service, act(service))
    ctx.emit(doc, lambda c: _show_roster(c, doc))


def _show_roster(c: Console, doc: dict[str, Any]) -> None:
    c.print(f"This site: {doc['site'] or '(no sync keys yet: haven sync request)'}")
    roster = doc["roster"]
    if roster is None:
        c.print("No network roster yet.")
        return
    c.print(
        f"Roster version {roster['version']}: {len(roster['members'])} member sites, {len(roster['removed'])} removed"
    )
    for site in roster["members"]:
        c.print(f"  {site}{'  (this site)' if site == doc['site'] else ''}")
    for site in roster["removed"]:
        c.print(f"  {site}  removed")


class _SyncGroup(click.Group):
    """``haven sync --hub URL`` is read as the hidden ``haven sync hub-sync URL``: the issue-given spelling of
    a hub sync, beside the bundle subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] == "--hub":
            args = ["hub-sync", *args[1:]]
        elif args and args[0].startswith("--hub="):
            args = ["hub-sync", args[0].split("=", 1)[1], *args[1:]]
        return super().parse_args(ctx, args)


@click.group(cls=_SyncGroup)
def sync() -> None:
    """Sync with the network's other sites: by bundle files (USB stick, any file channel), or through a hub
    with ``haven sync --hub URL`` (the same as ``haven hub sync URL``).
    """


@sync.command("hub-sync", hidden=True)
@click.argument("url", metavar="URL")
@common
def sync_hub(ctx: Context, url: str) -> None:
    """Sync this site with the network's hub, as ``haven hub sync URL`` does.

    \b
    Example:
      haven sync --hub https://hub.example.org:8443
    """
    from haven.cli.hub import run_sync

    run_sync(ctx, url)


@sync.command("request")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write the request.")
@common
def sync_request(ctx: Context, out: str) -> None:
    """Write this site's membership request for the root's coordinator (makes its sync keys if needed).

    \b
    Example:
      haven sync request --out clinic-b.request
    """
    check_output(out, "membership request")
    with ctx.session(Permission.SYNC) as session:
        service = Sync(session)
        data = service.request()
        keys = service.site_keys()
    assert keys is not None
    write_output(out, data, "membership request")
    doc = {"request_file": out, "site": keys.member.site_id}
    ctx.emit(doc, lambda c: c.print(f"Wrote the request of site {doc['site']} to {out}; read the id out to the root."))


@sync.command("export")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write the bundle.")
@click.option("--for", "for_site", default=None, metavar="SITE", help="Seal it to this member site alone.")
@click.option(
    "--have",
    "have",
    default=None,
    type=click.Path(dir_okay=False),
    help="A state file the receiver wrote (haven sync state): only the rows where it differs go in.",
)
@common
def sync_export(ctx: Context, out: str, for_site: str | None, have: str | None) -> None:
    """Write a bundle of this site's rows, signed by this site and sealed to the network (or one site).

    \b
    Example:
      haven sync export --out stick/bundle.haven
      haven sync export --out stick/bundle.haven --for 3f2a91c0 --have stick/state.haven
    """
    check_output(out, "bundle")
    wanted = None if have is None else _read(have, "state")
    with ctx.session(Permission.SYNC) as session:
        exported = Sync(session).export(for_site, wanted)
    write_output(out, exported.data, "bundle")
    doc = {"bundle_file": out, **exported.to_doc()}
    ctx.emit(doc, lambda c: c.print(f"Wrote {doc['rows']} rows ({doc['bytes']} bytes) to {out}."))


@sync.command("state")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write the state.")
@click.option("--for", "for_site", default=None, metavar="SITE", help="Seal it to this member site alone.")
@common
def sync_state(ctx: Context, out: str, for_site: str | None) -> None:
    """Write what this site holds (bucket digests, no rows), so a peer's export sends only what differs.

    \b
    Example:
      haven sync state --out stick/state.haven
    """
    check_output(out, "state")
    with ctx.session(Permission.SYNC) as session:
        data = Sync(session).state(for_site)
    write_output(out, data, "state")
    ctx.emit({"state_file": out, "bytes": len(data)}, lambda c: c.print(f"Wrote this site's state to {out}."))


@sync.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@common
def sync_import(ctx: Context, file: str) -> None:
    """Check a bundle whole, then merge its rows in one transaction (a bad bundle changes nothing).

    \b
    Example:
      haven sync import stick/bundle.haven
    """
    data = _read(file, "bundle")
    with ctx.session(Permission.SYNC) as session:
        result = Sync(session).import_bundle(data)
    doc = result.to_doc()
    ctx.emit(doc, lambda c: c.print(f"{doc['new']} new rows, {doc['already_present']} already here."))


@sync.group("roster")
def roster() -> None:
    """The network's roster of member sites (signed by the root; private to members)."""


@roster.command("show")
@common
def roster_show(ctx: Context) -> None:
    """Show this site's id and the roster it holds.

    \b
    Example:
      haven sync roster show --json
    """
    _roster_command(ctx, Permission.SYNC, lambda service: service.roster())


@roster.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@common
def roster_import(ctx: Context, file: str) -> None:
    """Adopt a roster signed by this network's root (an older one is refused).

    \b
    Example:
      haven sync roster import roster.cose
    """
    data = _read(file, "roster")
    _roster_command(ctx, Permission.SYNC, lambda service: service.import_roster(data))


@roster.command("export")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write the roster.")
@common
def roster_export(ctx: Context, out: str) -> None:
    """Write the roster this site holds, for a member that lacks it.

    \b
    Example:
      haven sync roster export --out roster.cose
    """
    check_output(out, "roster")
    with ctx.session(Permission.SYNC) as session:
        data = Sync(session).export_roster()
    write_output(out, data, "roster")
    ctx.emit({"roster_file": out}, lambda c: c.print(f"Wrote the roster to {out}."))


@click.group()
def network() -> None:
    """At the root's site: admit member sites to the network, and remove them."""


@network.command("admit")
@click.argument("file", type=click.Path(dir_okay=False))
@common
def network_admit(ctx: Context, file: str) -> None:
    """Admit the site whose membership request this is (the root's own site joins with the first).

    Compare the site id printed with the one its coordinator reads out.

    \b
    Example:
      haven network admit clinic-b.request
    """
    data = _read(file, "membership request")
    _roster_command(ctx, Permission.TRUST_MANAGE, lambda service: service.admit(data))


@network.command("remove")
@click.argument("site")
@common
def network_remove(ctx: Context, site: str) -> None:
    """Remove a member site (seized, closed): its bundles are refused, and the network key changes.

    \b
    Example:
      haven network remove 3f2a91c0
    """
    _roster_command(ctx, Permission.TRUST_MANAGE, lambda service: service.remove(site))


@network.command("counts-key")
@common
def network_counts_key(ctx: Context) -> None:
    """Make the network counts key: from then on every member seals each visit's counts to it too, and this
    site's coordinators read network totals (haven report --network). Carry the new roster to every member.

    \b
    Example:
      haven network counts-key
    """
    _roster_command(ctx, Permission.TRUST_MANAGE, lambda service: service.make_counts_key())


def register(group: click.Group) -> None:
    group.add_command(sync)
    group.add_command(network)
