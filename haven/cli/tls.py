"""``haven tls init``: the clinic's own CA and the server certificate that ``haven serve --tls-cert`` uses."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import ssl
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from haven import qr
from haven.cli import outputs
from haven.cli.base import console
from haven.errors import InputError
from haven.web import tls

CA, CA_KEY, SERVER, SERVER_KEY = "ca.pem", "ca-key.pem", "server.pem", "server-key.pem"


def check_server_files(cert: str | None, key: str | None) -> bool:
    """Whether to serve https: ``--tls-cert`` and ``--tls-key`` both or neither, a matching pair, checked
    before anything is printed or served (uvicorn would stop with a traceback)."""
    if cert is None and key is None:
        return False
    if cert is None or key is None:
        raise InputError("Give --tls-cert and --tls-key together (the server certificate and its key).")
    try:
        # No passphrase prompt for an encrypted key (uvicorn would ask on the terminal): it is refused.
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key, password=lambda: b"")
    except FileNotFoundError as exc:
        raise InputError(f"The TLS file {exc.filename!r} does not exist.") from None
    except (ssl.SSLError, OSError) as exc:
        why = str(getattr(exc, "reason", None) or exc.strerror or "unreadable").lower().replace("_", " ")
        raise InputError(
            f"--tls-cert {cert!r} and --tls-key {key!r} are not a PEM certificate and its unencrypted key ({why})."
        ) from None
    return True


def _authority(folder: Path, names: tls.Names, clinic: str, now: dt.datetime) -> tuple[tls.Issued, bool]:
    """The CA already in ``folder`` (phones keep trusting it), else a new one; and whether it is new."""
    cert_path, key_path = folder / CA, folder / CA_KEY
    if not cert_path.exists() and not key_path.exists():
        return tls.make_authority(names, clinic, now, secrets.token_bytes), True
    try:
        authority = tls.Issued.load(cert_path.read_bytes(), key_path.read_bytes())
    except OSError as exc:
        raise InputError(f"The clinic's CA in {str(folder)!r} cannot be read ({exc.strerror}).") from None
    if not tls.covers(authority.certificate, names):
        raise InputError(
            f"The clinic's CA in {str(folder)!r} was made for other names; give the same --name/--ip, "
            "or make a new CA in another folder (and install it on the phones again)."
        )
    return authority, False


@click.group("tls")
def tls_group() -> None:
    """https for phones on the clinic's network: the clinic's own CA and server certificate."""


@tls_group.command("init")
@click.option("--name", "names", multiple=True, metavar="NAME", help="A host name phones use (like clinic.local).")
@click.option("--ip", "ips", multiple=True, metavar="ADDRESS", help="An IP address phones use (like 192.168.1.10).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder for the four files.")
@click.option("--clinic", default="Haven clinic", show_default=True, help="The clinic's name in the CA's name.")
@click.option("--json", "as_json", is_flag=True, help="Print the files and the CA's fingerprint as JSON.")
@click.pass_context
def init(
    click_ctx: click.Context, names: tuple[str, ...], ips: tuple[str, ...], out: str, clinic: str, as_json: bool
) -> None:
    """Make the clinic's CA (ca.pem, to install on each phone) and a server certificate for the
    laptop's names and addresses (server.pem, server-key.pem), then print the CA's SHA-256
    fingerprint and its QR code, to compare on each phone. Run again with the same folder to
    renew the server certificate under the same CA (nothing to install again).

    \b
    Example:
      haven tls init --name clinic.local --ip 192.168.1.10 --out tls
      haven serve --host 0.0.0.0 --tls-cert tls/server.pem --tls-key tls/server-key.pem
    """
    parent = click_ctx.find_root().obj or {}
    as_json = as_json or bool(parent.get("json"))
    wanted = tls.Names.parse(names, ips)
    folder = Path(out)
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise InputError(f"The folder {out!r} cannot be made ({exc.strerror}); nothing was written.") from None
    now = dt.datetime.now(dt.UTC)
    authority, new = _authority(folder, wanted, clinic, now)
    server = tls.make_server(authority, wanted, now, secrets.token_bytes)
    files = {str(folder / SERVER): server.certificate_pem(), str(folder / SERVER_KEY): server.key_pem()}
    if new:
        files |= {str(folder / CA): authority.certificate_pem(), str(folder / CA_KEY): authority.key_pem()}
    outputs.write(files)  # owner-only files: the keys above all
    fingerprint = tls.fingerprint(authority.certificate)
    doc: dict[str, Any] = {
        "ca": str(folder / CA),
        "ca_key": str(folder / CA_KEY),
        "cert": str(folder / SERVER),
        "key": str(folder / SERVER_KEY),
        "new_ca": new,
        "fingerprint": fingerprint,
        "names": list(wanted.dns),
        "ips": [str(ip) for ip in wanted.ips],
        "expires": server.certificate.not_valid_after_utc.date().isoformat(),
    }
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    _print(console(), doc)


def _print(c: Console, doc: dict[str, Any]) -> None:
    made = "Made the clinic's CA" if doc["new_ca"] else "Kept the clinic's CA"
    c.print(f"{made}: [bold]{doc['ca']}[/bold] (install it on each phone; keep {doc['ca_key']} on this laptop only)")
    c.print(f"Server certificate: {doc['cert']} and its key {doc['key']}, valid until {doc['expires']}")
    c.print(f"\n[bold]CA fingerprint (SHA-256)[/bold], to compare on each phone:\n{doc['fingerprint']}")
    c.print(qr.terminal(doc["fingerprint"]))
    hosts = "".join(f" --allowed-host {name}" for name in doc["names"])
    c.print(
        f"Serve it: haven serve --host 0.0.0.0 --tls-cert {doc['cert']} --tls-key {doc['key']}{hosts}", soft_wrap=True
    )


def register(group: click.Group) -> None:
    group.add_command(tls_group)
