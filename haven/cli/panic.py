"""``haven panic``: erase the site's keys now, without a passphrase."""

from __future__ import annotations

import sys
import time

import click

from haven.cli.base import Context, common_no_unlock
from haven.errors import InputError


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


def register(group: click.Group) -> None:
    group.add_command(panic)
