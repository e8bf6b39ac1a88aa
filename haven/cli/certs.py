"""Certificate commands: ``haven cert issue``, ``haven cert verify``, ``haven cert import``."""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click
from rich.console import Console

from haven.cert_services import (
    NO_TRUST_SETTINGS,
    WHAT,
    TrustSettings,
    start_verify_worker,
    trust_from_settings,
    verify_in_worker,
)
from haven.certs import sheet
from haven.certs.batch import MAX_BATCH, VACCINATION_VALIDITY_DAYS
from haven.certs.bulk import BulkVerifier
from haven.certs.issuers import ExternalIssuer
from haven.certs.result import Trust, refusal_doc
from haven.certs.verify import verify
from haven.cli import outputs
from haven.cli.base import Context, card_arg, card_options, check_output, common, read_stdin
from haven.cli.issuer_files import read_issuer_specs
from haven.errors import CertificateError, InputError, MalformedCertificate
from haven.exit_codes import exit_code

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor


def parse_at(value: str | None) -> dt.datetime | None:
    """``--at``: an ISO 8601 time (a date means its midnight UTC; no zone means UTC)."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--at {value!r} is not an ISO 8601 time (2026-11-29 or 2026-11-29T10:00:00Z).") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def issuer_options(func: Any) -> Any:
    func = click.option(
        "--issuer-cert",
        "issuer_certs",
        multiple=True,
        metavar="FILE",
        help="Also trust this EU DCC signer (X.509, DER or PEM) or SMART Health Card issuer JWKS "
        "([ISSUER_URL=]FILE; a crl/<kid>.json beside it is its revocation list). Repeatable.",
    )(func)
    return click.option(
        "--at", "at", default=None, metavar="ISO_TIME", help="Check validity at this time instead of now."
    )(func)


@click.group()
def cert() -> None:
    """Certificates: issue one-time certificates, verify any (Haven, EU DCC, SMART Health Card), import."""


@cert.command("issue")
@card_options
@click.option("--count", default=10, show_default=True, help=f"How many one-time certificates (1-{MAX_BATCH}).")
@click.option("--what", type=click.Choice(WHAT), default="vaccination", show_default=True, help="What they state.")
@click.option(
    "--valid-days", default=VACCINATION_VALIDITY_DAYS, show_default=True, help="Validity (a test shortens it)."
)
@click.option(
    "--sheet",
    "sheet_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write a printable sheet: .html, .png or .pdf (by its extension).",
)
@common
def cert_issue(
    ctx: Context,
    card_text: str | None,
    pin_file: str | None,
    count: int,
    what: str,
    valid_days: int,
    sheet_path: str | None,
) -> None:
    """Issue a batch of one-time certificates of the holder's vaccinations and/or latest test.

    Each certificate has its own random id and signature: show each one once.
    They state facts only (no name, birth date, clinic or place). This site
    keeps no record of what it issued.

    \b
    Example:
      haven cert issue --count 10 --sheet sheet.html    # asks for the card, hidden
    """
    from haven.cli.base import pin_arg

    card = card_arg(card_text)
    pin = pin_arg(pin_file)
    kind = Path(sheet_path).suffix.lower().lstrip(".") if sheet_path else None
    if kind is not None and kind not in sheet.FORMATS:
        raise InputError(f"--sheet must end in one of: {', '.join('.' + f for f in sheet.FORMATS)}.")
    check_output(sheet_path, "sheet")  # before anything is issued
    # The sheet is written aside, the audit entry committed, then the sheet put in place:
    # the log never counts certificates that a full disk kept from the sheet.
    with ctx.app() as app, contextlib.ExitStack() as placed:

        def keep(stubs: list[str]) -> None:
            if sheet_path and kind:
                placed.enter_context(outputs.staged({sheet_path: sheet.render(stubs, kind)}))

        stubs = app.certificates.issue(card, pin, count=count, what=what, valid_days=valid_days, keep=keep)
    doc: dict[str, Any] = {"certificates": stubs}
    if sheet_path and kind:
        doc["sheet"] = sheet_path

    def human(c: Console) -> None:
        for i, s in enumerate(stubs, start=1):
            c.print(f"{i:>3}. {s}")
        if sheet_path:
            c.print(f"Printable sheet: {sheet_path}")

    ctx.emit(doc, human)


def _result(text: str, trust: Trust, at: dt.datetime) -> tuple[dict[str, Any], int]:
    try:
        return verify(text, trust, at).to_doc(), 0
    except CertificateError as exc:
        return refusal_doc(exc), exit_code(exc)


def _print_result(c: Console, doc: dict[str, Any]) -> None:
    fmt = {"haven": "Haven", "eu-dcc": "EU DCC", "shc": "SMART Health Card"}.get(doc["format"] or "", "unknown")
    if doc["valid"]:
        c.print(f"[green bold]VALID[/green bold] {fmt} certificate")
    else:
        c.print(f"[red bold]NOT VALID[/red bold] ({doc['reason']}) {fmt} certificate: {doc.get('message', '')}")
    facts = doc.get("facts") or {}
    for v in facts.get("vaccinations", []):
        c.print(
            f"  vaccination: {v.get('disease')} {v.get('product') or v.get('product_code')} "
            f"dose {v.get('dose')} of {v.get('of')} on {v.get('date')}"
        )
    for t in facts.get("tests", []):
        c.print(f"  test: {t.get('disease')} {t.get('test')} {t.get('result')} on {t.get('date')}")
    for r in facts.get("recoveries", []):
        c.print(f"  recovery: {r.get('disease')} valid {r.get('valid_from')} to {r.get('valid_until')}")
    if facts.get("expires_at"):
        c.print(f"  issued {facts.get('issued_at')}, expires {facts.get('expires_at')}")
    for w in doc.get("warnings", []):
        c.print(f"  [yellow]{w}[/yellow]")


def trust_settings(ctx: Context) -> TrustSettings:
    """The site's stored trust settings; none where there is no site (external issuers only)."""
    if not ctx.folder.exists():
        return NO_TRUST_SETTINGS
    with ctx.app() as app:
        return app.certificates.trust_settings()


@cert.command("verify")
@issuer_options
@click.option(
    "--image", type=click.Path(dir_okay=False, exists=True), default=None, help="Read the QR code in a photo."
)
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="With '-': worker processes that verify, each taking a share of every batch of lines (0: none).",
)
@click.argument("text", required=False)
@common
def cert_verify(
    ctx: Context, at: str | None, issuer_certs: tuple[str, ...], image: str | None, workers: int, text: str | None
) -> int:
    """Verify a certificate offline: Haven's, an EU DCC (HC1:) or a SMART Health Card (shc:/).

    TEXT is the QR code's text (a multi-part SMART Health Card: its chunks on
    one line, separated by spaces). With '-', one certificate per line is read
    from standard input and one JSON result per line is printed. Exit status 0
    only when every certificate is valid; otherwise the reason's exit code.

    \b
    Example:
      haven cert verify --json "$STUB"
      haven cert verify --issuer-cert dsc.pem --at 2021-06-01 "HC1:..."
      haven cert verify - < scanned.txt
      haven cert verify --workers 4 - < scanned.txt > results.jsonl
    """
    moment = parse_at(at) or dt.datetime.now(dt.UTC)
    settings = trust_settings(ctx)
    extra = read_issuer_specs(issuer_certs)
    trust = trust_from_settings(settings, extra)
    if image is not None:
        from haven.certs.image import decode_image

        text = decode_image(Path(image).read_bytes())
    if text is None:
        raise InputError("Give the certificate's text, '-' to read lines from standard input, or --image FILE.")
    if text == "-" and workers > 0:
        with _worker_pool(workers, settings, extra, moment) as pool:
            return _verify_lines(functools.partial(_verify_in_workers, pool, workers))
    if text == "-":
        return _verify_lines(BulkVerifier(trust, moment).results)
    doc, code = _result(text.rstrip("\r\n"), trust, moment)
    ctx.emit(doc, lambda c: _print_result(c, doc))
    return code


Results = list[tuple[str, int]]  # JSON result lines (no newline) and exit codes, one per certificate


def _verify_lines(verify_batch: Callable[[list[str]], Results]) -> int:
    """Bulk mode: one JSON result per input line.

    Results are written per batch of lines already read and flushed before
    waiting for more input, so a consumer feeding one line at a time gets each
    result at once, while a file or a full pipe costs one write per batch.
    """
    first_failure = 0
    out = sys.stdout
    for lines in _line_batches(sys.stdin):
        results = verify_batch([text for text in lines if text])
        if results:
            written = [line for line, _ in results]
            written.append("")  # the last result's newline
            out.write("\n".join(written))
            first_failure = first_failure or next((code for _, code in results if code), 0)
        out.flush()
    return first_failure


@contextlib.contextmanager
def _worker_pool(
    jobs: int, settings: TrustSettings, extra: tuple[ExternalIssuer, ...], moment: dt.datetime
) -> Iterator[ProcessPoolExecutor]:
    """Worker processes, each with the trust rebuilt from the same settings (spawned: no state is shared)."""
    import multiprocessing  # here: only --workers pays for importing process pools
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=start_verify_worker, initargs=(settings, extra, moment)
    ) as pool:
        yield pool


def _verify_in_workers(pool: ProcessPoolExecutor, jobs: int, texts: list[str]) -> Results:
    """One batch, in ``jobs`` shares verified side by side, results in input order."""
    share = max(1, -(-len(texts) // jobs))
    futures = [pool.submit(verify_in_worker, texts[i : i + share]) for i in range(0, len(texts), share)]
    return [result for future in futures for result in future.result()]


READ_SIZE = 1 << 18  # a pipe gives at most its buffer (64 kB) per read; a file gives this much


def _line_batches(stream: TextIO) -> Iterator[list[str]]:
    """The lines of a text stream, in batches of what could be read without waiting.

    Reads the binary buffer in large chunks (one read returns what is there)
    and decodes them as the text stream would (its encoding and errors). Lines
    end at a line feed, as standard input splits them on POSIX, and trailing
    carriage returns are dropped. A stream without a binary buffer is read line by line.
    """
    buffer = getattr(stream, "buffer", None)
    if buffer is None or not hasattr(buffer, "read1"):
        for line in stream:
            yield [line.rstrip("\r\n")]
        return
    decoder = codecs.getincrementaldecoder(stream.encoding or "utf-8")(stream.errors or "strict")
    pending = ""
    while True:
        chunk = buffer.read1(READ_SIZE)
        text = pending + decoder.decode(chunk, final=not chunk)
        lines = text.split("\n")
        pending = lines.pop()
        if not chunk and pending:
            lines.append(pending)
        if "\r" in text:
            lines = [line.rstrip("\r") for line in lines]
        yield lines
        if not chunk:
            return


@cert.command("import")
@card_options
@issuer_options
@click.option("--first-visit", is_flag=True, help="Start this card's history with the imported vaccinations.")
@click.argument("text")
@common
def cert_import(
    ctx: Context,
    card_text: str | None,
    pin_file: str | None,
    at: str | None,
    issuer_certs: tuple[str, ...],
    first_visit: bool,
    text: str,
) -> None:
    """Verify a certificate, then add its vaccinations to the holder's history as verified-external.

    A certificate that does not verify is refused whole. TEXT may be '-' to read it from standard input.

    \b
    Example:
      haven cert import --issuer-cert dsc.pem "HC1:..."    # asks for the card, hidden
    """
    from haven.cli.base import pin_arg

    card = card_arg(card_text)
    pin = pin_arg(pin_file)
    if text == "-":
        text = read_stdin(sys.stdin.readline, "certificate")
    text = text.rstrip("\r\n")
    if not text:
        raise MalformedCertificate("No certificate was given.")
    extra = read_issuer_specs(issuer_certs)  # files read here, at the edge
    with ctx.app() as app:
        result = app.certificates.import_certificate(
            card, text, pin=pin, at=parse_at(at), extra=extra, first_visit=first_visit
        )

    def human(c: Console) -> None:
        c.print(f"Imported {result['imported']} vaccination(s) from a verified {result['format']} certificate.")
        for s in result["skipped"]:
            c.print(
                f"  skipped {s['vaccination'].get('product_code') or s['vaccination'].get('product')}: {s['reason']}"
            )

    ctx.emit(result, human)


def register(group: click.Group) -> None:
    group.add_command(cert)
