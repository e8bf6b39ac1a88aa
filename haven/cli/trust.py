"""Trust commands: the network's root, epoch keys, revocation, and the trust list's export and import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table as RichTable

from haven.cert_services import DEFAULT_LABEL, NAMES_THIS_SITE
from haven.certs import base45, cose
from haven.certs.trust import EPOCH_MAX_DAYS, EPOCH_WEEKS
from haven.cli.base import Context, check_output, common, read_text_arg, write_output
from haven.cli.certs import parse_at
from haven.cli.issuer_files import read_issuer
from haven.errors import HavenError, InputError
from haven.site.roles import Permission


def _show(c: Console, doc: dict[str, Any]) -> None:
    c.print(f"Network [bold]{doc['network']}[/bold], trust list version {doc['sequence']} of {doc['issued_at']}")
    c.print(f"Root key fingerprint: {doc['root_fingerprint']}")
    grid = RichTable("kid", "label", "from", "to", "status", "held here", title="Certificate signing keys")
    for k in doc["keys"]:
        held = {True: "yes", False: "", None: "?"}[k["held"]]
        grid.add_row(k["kid"], k["label"], k["not_before"], k["not_after"], k["status"], held)
    c.print(grid)
    c.print(f"Revoked keys: {len(doc['revoked_keys'])}; revoked certificates: {doc['revoked_certificates']}")
    c.print("This site holds the root key." if doc["holds_root"] else "The root key is kept elsewhere.")
    if doc["names_this_site"]:
        c.print(f"[bold]{NAMES_THIS_SITE}[/bold]")


def _passphrase(path: str) -> str:
    return read_text_arg(path, "passphrase").strip("\r\n")


@click.group()
def trust() -> None:
    """The network's trust list: root key, epoch signing keys, revocations, export and import."""


@trust.command("show")
@common
def trust_show(ctx: Context) -> None:
    """Show the trust list this site verifies against, and which keys it holds.

    \b
    Example:
      haven trust show --json
    """
    with ctx.app() as app:
        doc = app.trust.show()
    ctx.emit(doc, lambda c: _show(c, doc))


@trust.command("standalone")
@click.option("--replace", is_flag=True, help="Replace this site's trust list and keys.")
@common
def trust_standalone(ctx: Context, replace: bool) -> None:
    """Issue certificates alone, without a network: every certificate then names this clinic.

    This site becomes the root of a network of one. Its epoch keys are its own,
    so the key id in each certificate tells whoever checks it that this clinic
    issued it. Join a network instead (haven trust join) wherever that matters.

    \b
    Example:
      haven trust standalone
    """
    with ctx.app() as app:
        doc = app.trust.standalone(replace=replace)
    ctx.emit(doc, lambda c: _show(c, doc))


@trust.command("root")
@click.option("--network", required=True, help="A name people recognise for the network.")
@click.option("--label", default=DEFAULT_LABEL, show_default=True, help="Programme or region of the first key.")
@click.option("--replace", is_flag=True, help="Replace this site's trust list and keys by a new network.")
@common
def trust_root(ctx: Context, network: str, label: str, replace: bool) -> None:
    """Create a network's root key here, with a first epoch key and a signed trust list.

    Its epoch keys are made ahead, four weeks each, on week boundaries; export
    them to the network's sites (export-key). Until they sign at other sites
    too, certificates signed here name this site. Keep the root's site offline.

    \b
    Example:
      haven trust root --network "North clinics" --label north --replace
    """
    with ctx.app() as app:
        doc = app.trust.create_root(network, label, replace=replace)
    ctx.emit(doc, lambda c: _show(c, doc))


@trust.command("new-key")
@click.option("--label", required=True, help="Programme or region the key signs for (never one clinic).")
@click.option(
    "--days",
    default=EPOCH_WEEKS * 7,
    show_default=True,
    help=f"Epoch length (7-{EPOCH_MAX_DAYS} days, in whole weeks).",
)
@click.option("--start", default=None, metavar="ISO_TIME", help="Start of the epoch: its week's Monday (default: now).")
@common
def trust_new_key(ctx: Context, label: str, days: int, start: str | None) -> None:
    """Make an epoch signing key (at the root's site) and list it in a new trust list version.

    \b
    Example:
      haven trust new-key --label north --start 2026-12-01
    """
    with ctx.app() as app:
        key = app.trust.new_key(label, days, parse_at(start))
    doc = key.trusted().to_doc()
    ctx.emit(
        doc, lambda c: c.print(f"New signing key {doc['kid']} for {label}: {doc['not_before']} to {doc['not_after']}.")
    )


@trust.command("rotate")
@click.option("--label", default=DEFAULT_LABEL, show_default=True, help="Programme or region whose key to rotate.")
@common
def trust_rotate(ctx: Context, label: str) -> None:
    """Replace the label's current signing key now (its certificates stay valid until they expire).

    \b
    Example:
      haven trust rotate --label north
    """
    with ctx.app() as app:
        key = app.trust.rotate(label)
    doc = key.trusted().to_doc()
    ctx.emit(doc, lambda c: c.print(f"Signing with key {doc['kid']} from now to {doc['not_after']}."))


@trust.command("revoke")
@click.option("--kid", default=None, help="Revoke a signing key (hex id): every certificate it signed.")
@click.option("--certificate", default=None, metavar="TEXT", help="Revoke one Haven certificate (its one-time id).")
@common
def trust_revoke(ctx: Context, kid: str | None, certificate: str | None) -> None:
    """Revoke a key or a certificate, in a new trust list version (root only).

    \b
    Example:
      haven trust revoke --kid 0c4b15512be91401
      haven trust revoke --certificate "$STUB"
    """
    if (kid is None) == (certificate is None):
        raise InputError("Give exactly one of --kid and --certificate.")
    with ctx.app() as app:
        if kid is not None:
            try:
                kid_bytes = bytes.fromhex(kid)
            except ValueError:
                raise InputError("--kid is the key id in hex (16 characters).") from None
            new = app.trust.revoke(kid=kid_bytes)
            what = f"key {kid}"
        else:
            assert certificate is not None
            new = app.trust.revoke(cti=_cti_of(certificate))
            what = "the certificate"
    ctx.emit(
        {"revoked": what, "sequence": new.sequence},
        lambda c: c.print(f"Revoked {what}; trust list is now version {new.sequence}. Export it to the network."),
    )


def _cti_of(text: str) -> bytes:
    from haven.certs.claims import decode_claims

    try:
        signed = cose.decode_sign1(base45.decode(text.strip()), canonical=True)
        return decode_claims(signed.payload).cti
    except HavenError:
        raise InputError("That is not a Haven certificate.") from None


@trust.command("export")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="File to write the trust list to.")
@common
def trust_export(ctx: Context, out: str) -> None:
    """Write the signed trust list to a file, for the network's other sites and verifiers.

    \b
    Example:
      haven trust export --out trust-list.cose
    """
    check_output(out, "trust list")
    with ctx.app() as app:
        data = app.trust.export_list()
    write_output(out, data, "trust list")
    ctx.emit({"trust_list": out, "bytes": len(data)}, lambda c: c.print(f"Wrote {out} ({len(data)} bytes)."))


@trust.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@common
def trust_import(ctx: Context, file: str) -> None:
    """Take a newer trust list of this site's network (signed by its root; older versions are refused).

    \b
    Example:
      haven trust import trust-list.cose
    """
    with ctx.app() as app:
        doc = app.trust.update_list(Path(file).read_bytes())
    ctx.emit(doc, lambda c: _show(c, doc))


@trust.command("join")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--root-fingerprint", required=True, help="The root key's fingerprint, read out by its keeper (spaces optional)."
)
@common
def trust_join(ctx: Context, file: str, root_fingerprint: str) -> None:
    """Join a network: adopt its trust list after checking its root key's fingerprint.

    A standalone network this site chose earlier (haven trust standalone) is left behind.

    \b
    Example:
      haven trust join trust-list.cose --root-fingerprint "3f2a 91c0 ..."
    """
    with ctx.app() as app:
        doc = app.trust.join(Path(file).read_bytes(), root_fingerprint)
    ctx.emit(doc, lambda c: _show(c, doc))


key_passphrase_option = click.option(
    "--key-passphrase-file",
    "key_passphrase_file",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="File holding the passphrase that encrypts the exported key (at least 12 characters).",
)


@trust.command("export-key")
@click.option("--kid", required=True, help="The signing key to export (hex id).")
@key_passphrase_option
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
@common
def trust_export_key(ctx: Context, kid: str, key_passphrase_file: str, out: str) -> None:
    """Write an epoch signing key for another site of the network, encrypted under a passphrase.

    \b
    Example:
      haven trust export-key --kid 0c4b15512be91401 --key-passphrase-file pass.txt --out north-dec.key
    """
    try:
        kid_bytes = bytes.fromhex(kid)
    except ValueError:
        raise InputError("--kid is the key id in hex.") from None
    check_output(out, "signing key")
    with ctx.app(Permission.TRUST_MANAGE) as app:  # refused before the key's passphrase is read
        data = app.trust.export_key(kid_bytes, _passphrase(key_passphrase_file))
    write_output(out, data, "signing key")
    ctx.emit({"key_file": out, "kid": kid}, lambda c: c.print(f"Wrote signing key {kid} to {out}."))


@trust.command("import-key")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@key_passphrase_option
@common
def trust_import_key(ctx: Context, file: str, key_passphrase_file: str) -> None:
    """Take an epoch signing key from the network (it must be in this site's trust list).

    \b
    Example:
      haven trust import-key north-dec.key --key-passphrase-file pass.txt
    """
    with ctx.app(Permission.TRUST_MANAGE) as app:  # refused before the key's passphrase is read
        key = app.trust.import_key(Path(file).read_bytes(), _passphrase(key_passphrase_file))
    doc = key.trusted().to_doc()
    ctx.emit(doc, lambda c: c.print(f"This site can now sign with key {doc['kid']} ({doc['label']})."))


@trust.command("add-issuer")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--iss", default=None, help="For a SMART Health Card JWKS: the issuer URL it belongs to.")
@common
def trust_add_issuer(ctx: Context, file: str, iss: str | None) -> None:
    """Trust an EU DCC signer certificate (X.509 DER/PEM) or a SMART Health Card issuer's JWKS.

    A JWKS is bound to its issuer URL (--iss, or the URL its keys' certificates
    name); its crl/<kid>.json files beside it are read as revocation lists.

    \b
    Example:
      haven trust add-issuer dsc-de.pem
      haven trust add-issuer --iss https://spec.smarthealth.cards/examples/issuer jwks.json
    """
    issuer = read_issuer(Path(file), iss)  # the file is read here, at the edge
    with ctx.app() as app:
        doc = app.trust.add_issuer(issuer)
    ctx.emit(doc, lambda c: c.print(f"Now trusting {doc['format']} issuer: {doc.get('iss') or doc.get('signers')}"))


def register(group: click.Group) -> None:
    group.add_command(trust)
