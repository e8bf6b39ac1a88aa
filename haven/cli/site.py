"""Site commands: ``haven init`` and ``haven seizure-view``."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import click
from rich.console import Console
from rich.table import Table as RichTable

from haven.cli.base import Context, common, common_no_unlock, read_new_passphrase, read_secret_file
from haven.errors import SiteError
from haven.site import passphrase as pp
from haven.site.attempts import AttemptCounter
from haven.site.kdf import params_for_new_site
from haven.site.keyslots import KeySlotFile
from haven.site.roles import ALL_ROLES, Permission, Role
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
    help="File holding the admin's passphrase (default: $HAVEN_PASSPHRASE, else asked twice).",
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
        secret = read_new_passphrase(passphrase_file, admin, env)
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


def _json_cell(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"hex": bytes(value).hex()}
    return value


def _files(ctx: Context) -> list[dict[str, Any]]:
    return [{"path": str(p.relative_to(ctx.home)), "bytes": p.stat().st_size} for p in ctx.folder.files()]


# The opening of every PKCS#8 P-256 private key Haven writes (RFC 5915 inside RFC 5208): never printed.
PKCS8_P256 = bytes.fromhex("308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420")


def refuse_private_keys(tables: list[Table]) -> None:
    """Stop rather than print a private key: stored keys are wrapped, so one in the clear is a fault."""
    for t in tables:
        for row in t.rows:
            if any(isinstance(v, (bytes, bytearray, memoryview)) and PKCS8_P256 in bytes(v) for v in row):
                raise SiteError(f"Table {t.name} holds a private key in the clear; seizure-view does not print it.")


def tables_doc(tables: list[Table]) -> list[dict[str, Any]]:
    """Every table and row as JSON (bytes as hex), for a seizure view."""
    return [
        {"name": t.name, "columns": list(t.columns), "rows": [[_json_cell(v) for v in row] for row in t.rows]}
        for t in tables
    ]


def print_tables(c: Console, tables: list[Table], full: bool) -> None:
    """Every table and row as a grid, long values shortened unless ``full``."""
    for t in tables:
        grid = RichTable(*t.columns, title=f"Table {t.name} ({len(t.rows)} rows)")
        for row in t.rows:
            grid.add_row(*(_cell(v, full) for v in row))
        c.print(grid)


def seizure_doc(ctx: Context, tables: list[Table]) -> dict[str, Any]:
    refuse_private_keys(tables)
    return {"home": str(ctx.home), "files": _files(ctx), "tables": tables_doc(tables)}


def entropy_bits_per_byte(data: bytes) -> float:
    """Shannon entropy of the byte histogram (8.0 for uniformly random bytes)."""
    if not data:
        return 0.0
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in Counter(data).values())


def raw_doc(ctx: Context) -> dict[str, Any]:
    """What someone holding the files but no passphrase (and no card) can read."""
    files = []
    for path in ctx.folder.files():
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SiteError(f"The site's file {path} cannot be read: {exc.strerror}.") from None
        files.append(
            {
                "path": str(path.relative_to(ctx.home)),
                "bytes": len(data),
                "first_bytes": data[:16].hex(),
                "entropy_bits_per_byte": round(entropy_bits_per_byte(data), 3),
            }
        )
    doc: dict[str, Any] = {"home": str(ctx.home), "files": files}
    slots = KeySlotFile(ctx.folder.keyslots_path)
    if slots.exists():
        header, _ = slots.read()
        doc["keyslots_header"] = {"kdf": header.params.to_doc(), "erase_after": header.erase_after}
        doc["wrong_passphrases_in_a_row"] = AttemptCounter(ctx.folder.attempts_path).read()
    return doc


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
        rdoc = raw_doc(ctx)

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
    with ctx.session(Permission.SEIZURE_VIEW) as session:
        tables = session.store.tables()
        session.record("seizure.view")
    doc = seizure_doc(ctx, tables)

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


def register(group: click.Group) -> None:
    group.add_command(init)
    group.add_command(seizure_view)
