"""Card commands: ``haven card new`` and ``haven card qr``."""

from __future__ import annotations

import secrets
from typing import Any

import click
from rich.console import Console

from haven import qr
from haven.cli import outputs
from haven.cli.base import (
    Context,
    card_arg,
    card_option,
    check_output,
    common,
    common_no_unlock,
    pin_arg,
    read_json_arg,
)
from haven.cli.visits import confirm_option
from haven.core.card import LANGUAGES, Card
from haven.core.keys import normalise_pin


def card_doc(card: Card, language: str) -> dict[str, Any]:
    return {"words": card.words(language), "language": language, "qr": card.code}


def _check_images(svg_path: str | None, png_path: str | None) -> None:
    check_output(svg_path, "QR code")
    check_output(png_path, "QR code")


def _images(card: Card, svg_path: str | None, png_path: str | None, doc: dict[str, Any]) -> dict[str, bytes]:
    """The QR image files asked for (path -> bytes), named in ``doc``."""
    files: dict[str, bytes] = {}
    if svg_path:
        files[svg_path] = qr.svg(card.code).encode("utf-8")
        doc["qr_svg"] = svg_path
    if png_path:
        files[png_path] = qr.png(card.code)
        doc["qr_png"] = png_path
    return files


def _print_card(c: Console, card: Card, language: str, show_qr: bool) -> None:
    words = card.words(language)
    c.print("[bold]Card words[/bold] (the last one is the check word):")
    for row in range(0, len(words), 4):
        c.print("   ".join(f"{i + 1:>2}. {w}" for i, w in enumerate(words[row : row + 4], start=row)))
    c.print(f"\n[bold]Card code[/bold] (the QR): {card.code}")
    if show_qr:
        c.print(qr.terminal(card.code))
    c.print("Give the card to the holder. Haven keeps no copy: without it the records cannot be opened.")


image_options = [
    click.option("--qr-svg", type=click.Path(dir_okay=False), default=None, help="Write the card's QR code as SVG."),
    click.option("--qr-png", type=click.Path(dir_okay=False), default=None, help="Write the card's QR code as PNG."),
]


@click.group()
def card() -> None:
    """Holder cards: the key to a holder's records."""


@card.command("new")
@click.option(
    "--words-language",
    type=click.Choice(sorted(LANGUAGES)),
    default="en",
    show_default=True,
    help="Language of the 13 words.",
)
@click.option(
    "--pin-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="File holding a PIN the holder chose (checked now, asked at every visit); '-' reads it from standard "
    "input (asked twice, hidden, on a terminal).",
)
@click.option(
    "--entries",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="Record the holder's first visit now, from this entries file ('-' for standard input).",
)
@confirm_option
@click.option("--show-qr/--no-show-qr", default=True, help="Draw the QR code in the terminal.")
@image_options[0]
@image_options[1]
@common
def card_new(
    ctx: Context,
    words_language: str,
    pin_file: str | None,
    entries: str | None,
    confirm: str | None,
    show_qr: bool,
    qr_svg: str | None,
    qr_png: str | None,
) -> None:
    """Make a new card (and optionally record the first visit with it).

    Nothing is stored until a visit is recorded; no name or other detail of the
    person is asked.

    \b
    Example:
      haven card new --words-language ko
    """
    _check_images(qr_svg, qr_png)  # before anything is stored
    pin = pin_arg(pin_file, new=True)
    if pin is not None:
        normalise_pin(pin)
    new = Card.generate(secrets.token_bytes, words_language)
    doc = card_doc(new, words_language)
    doc["pin"] = pin is not None
    # The images are written aside first and put in place after the visit is stored: a missing
    # folder or a full disk stores nothing, and no record is left that no card can open.
    with outputs.staged(_images(new, qr_svg, qr_png, doc)):
        if entries is not None:
            visit_doc = read_json_arg(entries, "entries")
            with ctx.app() as app:
                doc["visit"] = app.visits.add(new, visit_doc, pin=pin, first_visit=True, confirm=confirm).to_doc()

    def human(c: Console) -> None:
        _print_card(c, new, words_language, show_qr)
        if "visit" in doc:
            c.print(f"First visit recorded ({doc['visit']['entries']} entries).")

    ctx.emit(doc, human)


@card.command("qr")
@card_option
@image_options[0]
@image_options[1]
@click.option(
    "--words-language",
    type=click.Choice(sorted(LANGUAGES)),
    default=None,
    help="Show the words in this language (the same card, other words).",
)
@common_no_unlock
def card_qr(
    ctx: Context,
    card_text: str | None,
    qr_svg: str | None,
    qr_png: str | None,
    words_language: str | None,
) -> None:
    """Show a card again: its code, its words (in any card language) and its QR code.

    \b
    Example:
      haven card qr --words-language zh    # asks for the card, hidden
    """
    _check_images(qr_svg, qr_png)
    the_card = card_arg(card_text)
    language = words_language or the_card.language
    doc = card_doc(the_card, language)
    outputs.write(_images(the_card, qr_svg, qr_png, doc))
    ctx.emit(doc, lambda c: _print_card(c, the_card, language, True))


def register(group: click.Group) -> None:
    group.add_command(card)
