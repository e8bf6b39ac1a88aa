"""Seizure and coercion commands: ``haven panic``, ``haven audit ...``, ``haven site ...``."""

from __future__ import annotations

import sys
import time
from typing import Any

import click
from rich.console import Console
from rich.table import Table as RichTable

from haven.cli.base import Context, common, common_no_unlock
from haven.errors import InputError
from haven.site.audit import Head
from haven.site.roles import Permission


@click.command()
@click.option("--yes", is_flag=True, help="Do not ask: erase at once (for a hotkey or a script).")
@common_no_unlock
def panic(ctx: Context, yes: bool) -> None:
    """Erase the site's keys now, without a passphrase: nothing here can be opened again.

    Every key slot is overwritten in place and synced, the database removed, and
    the folder left looking like a fresh, locked site. It takes well under 2 s
    (no key derivation). Records come back only from other sites.

    \b
    Example:
      haven panic --yes
    """
    site = ctx.site()
    site.check_present()
    if not yes:
        if not sys.stdin.isatty():
            raise InputError("haven panic erases the site for good: add --yes to do it without being asked.")
        click.confirm("Erase every key of this site now? Its data cannot be recovered here", abort=True, err=True)
    start = time.monotonic()
    site.panic()
    seconds = time.monotonic() - start
    ctx.emit(
        {"erased": True, "seconds": round(seconds, 3)},
        lambda c: c.print(f"Erased the site's keys in {seconds:.2f} s. Nothing here opens any more."),
    )


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
    with ctx.session(Permission.AUDIT_VIEW) as session:
        rows = session.audit.rows()
        names = session.staff_table().names()
        session.record("audit.view")
    if last is not None:
        rows = rows[-last:]
    entries: list[dict[str, Any]] = [
        {
            "seq": e.seq,
            "at": e.at,
            "staff": names.get(e.staff) or "(removed)",
            "action": e.action,
            "count": e.count,
            "hash": digest.hex(),
        }
        for e, digest in rows
    ]

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
    with ctx.session(Permission.AUDIT_VIEW) as session:
        head = session.audit.verify(heads)
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
    with ctx.session(Permission.AUDIT_VIEW) as session:
        head = session.audit.verify()
    ctx.emit({"head": str(head), "seq": head.seq, "hash": head.hash.hex()}, lambda c: c.print(str(head)))


@click.group("site")
def site_group() -> None:
    """Site-wide security settings."""


@site_group.command("show")
@common_no_unlock
def site_show(ctx: Context) -> None:
    """Show what the site's files say without a passphrase: Argon2id cost, erase limit, failures in a row.

    \b
    Example:
      haven site show --json
    """
    site = ctx.site()
    site.check_present()
    header, _ = site.slots_file.read()
    doc: dict[str, Any] = {
        "home": str(ctx.home),
        "kdf": header.params.to_doc(),
        "kdf_meets_floor": header.params.meets_floor(),
        "erase_after": header.erase_after,
        "wrong_passphrases_in_a_row": site.failures(),
    }

    def human(c: Console) -> None:
        k = header.params
        c.print(f"Argon2id: {k.memory_kib // 1024} MiB, {k.time_cost} passes, {k.parallelism} lanes")
        c.print(f"Erase after wrong passphrases in a row: {header.erase_after or 'never'}")
        c.print(f"Wrong passphrases in a row now: {doc['wrong_passphrases_in_a_row']}")

    ctx.emit(doc, human)


@site_group.command("set")
@click.option(
    "--erase-after",
    type=click.IntRange(min=0),
    required=True,
    help="Erase the site after this many wrong passphrases in a row (3 or more; 0: never).",
)
@common
def site_set(ctx: Context, erase_after: int) -> None:
    """Change a site setting (coordinators only).

    \b
    Example:
      haven site set --erase-after 10
    """
    with ctx.session(Permission.SITE_CONFIGURE) as session:
        session.set_erase_after(erase_after)
    ctx.emit(
        {"erase_after": erase_after},
        lambda c: c.print(f"Erase after {erase_after} wrong passphrases." if erase_after else "Never erase."),
    )


def register(group: click.Group) -> None:
    group.add_command(panic)
    group.add_command(audit)
    group.add_command(site_group)
