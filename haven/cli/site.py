"""Site commands: ``haven init``, ``haven site show|set`` and ``haven seizure-view``."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table as RichTable

from haven.app.seizure import raw_view, tables_doc
from haven.cli.base import Context, common, common_no_unlock, read_new_passphrase, read_secret_file
from haven.errors import InputError, SiteError
from haven.site import passphrase as pp
from haven.site.kdf import params_for_new_site
from haven.site.roles import ALL_ROLES, Role
from haven.store.base import Table


@click.command()
@click.option(
    "--admin",
    required=True,
    metavar="NAME",
    help="The first staff member: a coordinator who may also register and treat (a pseudonym is best).",
)
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(["registrar", "clinician", "coordinator"]),
    help="The admin's roles (repeat; default all three). Coordinator is always included.",
)
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help=(
        "File holding the admin's passphrase "
        "(default: haven --passphrase-file, then $HAVEN_PASSPHRASE, else asked twice)."
    ),
)
@click.option(
    "--duress-passphrase-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="File holding the admin's duress passphrase: typed anywhere, it erases the site and opens an empty one.",
)
@click.option("--generate-passphrase", is_flag=True, help="Make a five-word passphrase for the admin; printed once.")
@click.option(
    "--erase-after",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Erase the site after this many wrong passphrases in a row (0: never).",
)
@common_no_unlock
def init(
    ctx: Context,
    admin: str,
    roles: tuple[str, ...],
    passphrase_file: str | None,
    duress_passphrase_file: str | None,
    generate_passphrase: bool,
    erase_after: int,
) -> None:
    """Create a new site: master key, encrypted database, and the admin's key slot.

    Argon2id is calibrated on this machine first (at least 0.5 s and 256 MiB
    per passphrase attempt; a few seconds).

    \b
    Example:
      haven init --home /srv/haven --admin Ana --generate-passphrase
    """
    site = ctx.site()
    if site.folder.exists():
        raise SiteError(f"A Haven site already exists in {ctx.home}.")
    if generate_passphrase:
        secret = pp.suggest()
    else:
        env = site.settings.passphrase.reveal() if site.settings.passphrase else None
        # init's own --passphrase-file, else haven --passphrase-file (what a script gives every command)
        secret = read_new_passphrase(passphrase_file or ctx.passphrase_file, admin, env)
    pp.check(secret)
    duress = read_secret_file(duress_passphrase_file, "duress passphrase") if duress_passphrase_file else None
    if duress is not None:
        pp.check(duress)
    if site.settings.kdf_profile == "calibrated" and not ctx.json:
        click.echo("Calibrating passphrase keys on this machine (a few seconds)...", err=True)
    calibration = params_for_new_site(site.settings.kdf_profile)
    admin_roles = Role.parse(roles) | Role.COORDINATOR if roles else ALL_ROLES
    with site.create(
        admin, secret, roles=admin_roles, duress=duress, calibration=calibration, erase_after=erase_after
    ) as session:
        doc: dict[str, Any] = {
            "home": str(ctx.home),
            "database": str(ctx.folder.db_path),
            "admin": session.staff.to_doc(),
            "kdf": {**calibration.params.to_doc(), "seconds": round(calibration.seconds, 3)},
            "erase_after": erase_after,
        }
    if generate_passphrase:
        doc["passphrase"] = secret

    def human(c: Console) -> None:
        c.print(f"Created a Haven site in [bold]{ctx.home}[/bold] for {session.staff.name}.")
        k = calibration.params
        c.print(
            f"Each passphrase attempt costs Argon2id {k.memory_kib // 1024} MiB x {k.time_cost} passes "
            f"x {k.parallelism} lanes (about {calibration.seconds:.2f} s on this machine when idle)."
        )
        if generate_passphrase:
            c.print(f"Passphrase for {session.staff.name} (shown once; learn it, then destroy any copy):")
            c.print(f"  [bold]{secret}[/bold]")

    ctx.emit(doc, human)


def _cell(value: Any, full: bool) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value).hex()
        return raw if full or len(raw) <= 32 else f"{raw[:32]}… ({len(value)} bytes)"
    return "NULL" if value is None else str(value)


def print_tables(c: Console, tables: list[Table], full: bool) -> None:
    """Every table and row as a grid, long values shortened unless ``full``."""
    for t in tables:
        grid = RichTable(*t.columns, title=f"Table {t.name} ({len(t.rows)} rows)")
        for row in t.rows:
            grid.add_row(*(_cell(v, full) for v in row))
        c.print(grid)


@click.command("seizure-view")
@click.option("--full", is_flag=True, help="Print long values whole instead of shortened.")
@click.option("--raw", is_flag=True, help="No passphrase: show only what the files themselves reveal.")
@common
def seizure_view(ctx: Context, full: bool, raw: bool) -> None:
    """Print every file, table and row as someone who seized this site sees them, without any card.

    By default you unlock the site, so this shows what anyone holding a staff
    passphrase (coerced, or an informant) can read with an SQLCipher shell:
    counters, staff accounts and audit entries sealed to coordinators, keys
    wrapped under role keys, and holder records still sealed under their cards.
    With --raw, no passphrase: sizes and random-looking bytes.

    \b
    Example:
      haven seizure-view --full
      haven seizure-view --raw --json
    """
    if raw:
        rdoc = raw_view(ctx.folder)

        def human_raw(c: Console) -> None:
            c.print(f"[bold]What someone holding the files of {ctx.home}, but no passphrase and no card, sees[/bold]\n")
            grid = RichTable("file", "bytes", "first bytes", "entropy (bits/byte)", title="Files")
            for f in rdoc["files"]:
                grid.add_row(f["path"], str(f["bytes"]), f["first_bytes"], str(f["entropy_bits_per_byte"]))
            c.print(grid)
            if "keyslots_header" in rdoc:
                k = rdoc["keyslots_header"]
                c.print(f"Readable: the Argon2id cost {k['kdf']}, erase after {k['erase_after'] or 'never'}, ")
                c.print(f"and {rdoc['wrong_passphrases_in_a_row']} wrong passphrases in a row. Nothing else.")

        ctx.emit(rdoc, human_raw)
        return
    with ctx.app() as app:
        tables = app.seizure.tables()
    doc = tables_doc(ctx.folder, tables)

    def human(c: Console) -> None:
        c.print(
            f"[bold]What someone holding the files of {ctx.home} and a staff passphrase, but no card, sees[/bold]\n"
        )
        files = RichTable("file", "bytes", title="Files")
        for f in doc["files"]:
            files.add_row(f["path"], str(f["bytes"]))
        c.print(files)
        print_tables(c, tables, full)

    ctx.emit(doc, human)


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
    default=None,
    help="Erase the site after this many wrong passphrases in a row (3 or more; 0: never).",
)
@click.option(
    "--hub",
    metavar="URL",
    default=None,
    help="Remember the network's hub: each visit is recorded after a pull from it ('': forget it).",
)
@common
def site_set(ctx: Context, erase_after: int | None, hub: str | None) -> None:
    """Change a site setting (coordinators only).

    \b
    Example:
      haven site set --erase-after 10
      haven site set --hub https://hub.example.org:8443
    """
    if erase_after is None and hub is None:
        raise InputError("Give a setting to change: --erase-after N or --hub URL.")
    doc: dict[str, Any] = {}
    lines: list[str] = []
    with ctx.app() as app:
        if erase_after is not None:
            app.settings.set_erase_after(erase_after)
            doc["erase_after"] = erase_after
            lines.append(f"Erase after {erase_after} wrong passphrases." if erase_after else "Never erase.")
        if hub is not None:
            app.settings.set_hub(hub)
            doc["hub"] = hub or None
            lines.append(f"Visits are recorded after a pull from {hub}." if hub else "No hub remembered.")
    ctx.emit(doc, lambda c: c.print("\n".join(lines)))


def register(group: click.Group) -> None:
    group.add_command(init)
    group.add_command(site_group)
    group.add_command(seizure_view)
