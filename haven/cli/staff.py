"""Staff commands: ``haven staff add|remove|list|passwd|passphrase-suggest``."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table as RichTable

from haven.cli.base import Context, common, common_no_unlock, read_new_passphrase, read_secret_file
from haven.errors import InputError
from haven.site import passphrase as pp
from haven.site.roles import Permission, Role

ROLE_CHOICE = click.Choice(["registrar", "clinician", "coordinator"])


@click.group()
def staff() -> None:
    """Staff accounts: each holds its own key slot for the site master key."""


def _duress(path: str | None) -> str | None:
    return None if path is None else read_secret_file(path, "duress passphrase")


@staff.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=ROLE_CHOICE, help="A role (repeat for several).")
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="File holding the NEW member's passphrase (default: asked twice). Yours comes from "
    "$HAVEN_PASSPHRASE, 'haven --passphrase-file' or the prompt.",
)
@click.option(
    "--duress-passphrase-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="File holding the new member's duress passphrase (erases the site wherever it is typed).",
)
@click.option("--generate-passphrase", is_flag=True, help="Make a five-word passphrase for them; printed once.")
@common_no_unlock
def staff_add(
    ctx: Context,
    name: str,
    roles: tuple[str, ...],
    passphrase_file: str | None,
    duress_passphrase_file: str | None,
    generate_passphrase: bool,
) -> None:
    """Add a staff member (coordinators only).

    \b
    Example:
      HAVEN_PASSPHRASE="$MINE" haven staff add Min --role clinician --passphrase-file min.txt
    """
    role = Role.parse(roles)
    secret = pp.suggest() if generate_passphrase else None
    duress = _duress(duress_passphrase_file)
    with ctx.app(Permission.STAFF_MANAGE) as app:  # refused before the new passphrase is asked for
        if secret is None:
            secret = read_new_passphrase(passphrase_file, name)
        member = app.staff.add(name, role, secret, duress)
    doc: dict[str, Any] = {"added": member.to_doc()}
    if generate_passphrase:
        doc["passphrase"] = secret

    def human(c: Console) -> None:
        c.print(f"Added {member.name} ({', '.join(member.roles.names())}).")
        if generate_passphrase:
            c.print(f"Their passphrase (shown once): [bold]{secret}[/bold]")

    ctx.emit(doc, human)


@staff.command("remove")
@click.argument("name")
@common
def staff_remove(ctx: Context, name: str) -> None:
    """Remove a staff member: their passphrases stop working at once, and their name is forgotten.

    \b
    Example:
      haven staff remove Min
    """
    with ctx.app() as app:
        app.staff.remove(name)
    ctx.emit({"removed": name}, lambda c: c.print(f"Removed {name}; their key slots are overwritten."))


@staff.command("list")
@common
def staff_list(ctx: Context) -> None:
    """List staff names and roles (coordinators only; the list lives only inside the encrypted database).

    \b
    Example:
      haven staff list --json
    """
    with ctx.app() as app:
        members = app.staff.list()
    doc = {"staff": [m.to_doc() for m in members]}

    def human(c: Console) -> None:
        grid = RichTable("name", "roles", "added", title="Staff")
        for m in members:
            grid.add_row(m.name, ", ".join(m.roles.names()), m.added)
        c.print(grid)

    ctx.emit(doc, human)


@staff.command("passwd")
@click.argument("name", required=False)
@click.option(
    "--new-passphrase-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="File holding the new passphrase (default: asked twice).",
)
@click.option(
    "--duress-passphrase-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="Also set a new duress passphrase from this file.",
)
@click.option("--no-duress", is_flag=True, help="Remove your duress passphrase.")
@click.option("--generate-passphrase", is_flag=True, help="Make a five-word passphrase; printed once.")
@common
def staff_passwd(
    ctx: Context,
    name: str | None,
    new_passphrase_file: str | None,
    duress_passphrase_file: str | None,
    no_duress: bool,
    generate_passphrase: bool,
) -> None:
    """Change your passphrase, or (coordinators) reset NAME's.

    The old passphrase stops working at once. Your duress passphrase is kept
    unless you set a new one or give --no-duress; resetting someone else's
    passphrase drops their duress passphrase unless you give a new one.

    \b
    Example:
      haven staff passwd --new-passphrase-file new.txt
    """
    if no_duress and duress_passphrase_file:
        raise InputError("Give --duress-passphrase-file or --no-duress, not both.")
    duress = _duress(duress_passphrase_file)
    secret = pp.suggest() if generate_passphrase else None
    with ctx.app() as app:
        if secret is None:
            secret = read_new_passphrase(new_passphrase_file, name or app.member.name)
        member = app.staff.change_passphrase(secret, name=name, duress=duress, clear_duress=no_duress)
    doc: dict[str, Any] = {"changed": member.name}
    if generate_passphrase:
        doc["passphrase"] = secret

    def human(c: Console) -> None:
        c.print(f"New passphrase set for {member.name}; the old one no longer opens the site.")
        if generate_passphrase:
            c.print(f"It is (shown once): [bold]{secret}[/bold]")

    ctx.emit(doc, human)


@staff.command("passphrase-suggest")
@click.option(
    "--words", type=click.IntRange(min=pp.SUGGESTED_WORDS, max=24), default=pp.SUGGESTED_WORDS, show_default=True
)
@click.option(
    "--language", type=click.Choice(sorted(pp.WORD_LISTS)), default="en", show_default=True, help="Word list."
)
@common_no_unlock
def passphrase_suggest(ctx: Context, words: int, language: str) -> None:
    """Print a passphrase of random words (11 bits each) from the BIP39 list.

    \b
    Example:
      haven staff passphrase-suggest --words 6
    """
    secret = pp.suggest(words, language)
    bits = pp.BITS_PER_LIST_WORD * words
    ctx.emit({"passphrase": secret, "words": words, "bits": bits}, lambda c: c.print(secret))


def register(group: click.Group) -> None:
    group.add_command(staff)
