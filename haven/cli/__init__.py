"""The ``haven`` command: parse, call one service, turn errors into messages and exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import click

from haven.cli import (
    audit,
    cards,
    certs,
    demo,
    export,
    hub,
    lot,
    panic,
    report,
    serve,
    site,
    staff,
    sync,
    tls,
    trust,
    visits,
)
from haven.cli.base import fail
from haven.errors import HavenError, InputError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--home", type=click.Path(file_okay=False), default=None, help="Site folder for every subcommand.")
@click.option("--json", "as_json", is_flag=True, help="JSON output for every subcommand.")
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="File holding the staff passphrase that unlocks the site, for every subcommand (scripts, tests).",
)
@click.version_option(package_name="haven", prog_name="haven")
@click.pass_context
def cli(ctx: click.Context, home: str | None, as_json: bool, passphrase_file: str | None) -> None:
    """Haven: health records and certificates for people without papers.

    A holder's card (its QR code or its 13 words) is the key to their records;
    without it, the site's files reveal nothing about anyone.

    \b
    Example:
      haven init --admin Ana
      haven card new
      haven visit add --first-visit --entries visit.json    # asks for the card, hidden
      printf '%s\\n' "$card" | haven history --card -        # in scripts: the card on stdin
    """
    ctx.obj = {"home": home, "json": as_json, "passphrase_file": passphrase_file}


# Each command module adds its commands; a new one joins this list.
COMMANDS = (site, cards, visits, lot, export, report, certs, trust, staff, sync, hub, audit, panic, serve, tls, demo)
for module in COMMANDS:
    module.register(cli)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: one line per error, a distinct exit code per error class, no traceback for mistakes."""
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args
    try:
        result = cli.main(args=args, prog_name="haven", standalone_mode=False)
    except HavenError as exc:
        return fail(exc, as_json)
    except click.exceptions.Abort:
        click.echo("haven: stopped.", err=True)
        return 130
    except click.UsageError as exc:  # a bad option or argument: one line, like every error, and where to look
        where = f"{exc.ctx.command_path} --help" if exc.ctx else "haven --help"
        message = " ".join(exc.format_message().split())
        click.echo(f"haven: {message} (see '{where}')", err=True)
        if as_json:
            click.echo(json.dumps({"error": InputError(message).to_dict()}, ensure_ascii=False))
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("haven: stopped.", err=True)
        return 130
    except BrokenPipeError:
        return 0
    return result if isinstance(result, int) else 0


def run() -> None:
    sys.exit(main())
