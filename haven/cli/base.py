"""What every command shares: ``--json`` and ``--home``, output, and error handling."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from haven.core.card import Card, parse_card
from haven.errors import HavenError, InputError
from haven.site.folder import SiteFolder
from haven.store.sqlite import SQLiteStore

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_HOME = Path.home() / ".haven"


@dataclass
class Context:
    """Settings for one command: where the site is and how to speak."""

    home: Path
    json: bool

    @property
    def folder(self) -> SiteFolder:
        return SiteFolder(self.home)

    @contextlib.contextmanager
    def store(self) -> Iterator[SQLiteStore]:
        """This site's store, open for one command: the one place commands get at site data."""
        store = self.folder.open()
        try:
            yield store
        finally:
            store.close()

    def emit(self, doc: Any, human: Callable[[Console], None]) -> None:
        """Print ``doc`` as JSON with ``--json``, else the human rendering."""
        if self.json:
            click.echo(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=False))
        else:
            human(console())


def console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def resolve_home(option: str | None) -> Path:
    if option:
        return Path(option).expanduser()
    env = os.environ.get("HAVEN_HOME")
    return Path(env).expanduser() if env else DEFAULT_HOME


def common(func: F) -> F:
    """Add ``--json`` and ``--home`` to a command and pass a :class:`Context`."""

    @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON (shapes in docs/cli.md).")
    @click.option(
        "--home",
        type=click.Path(file_okay=False),
        default=None,
        help="Site folder (default: $HAVEN_HOME, else ~/.haven).",
    )
    @click.pass_context  # type: ignore[arg-type]
    @functools.wraps(func)
    def wrapper(click_ctx: click.Context, *args: Any, as_json: bool, home: str | None, **kwargs: Any) -> Any:
        parent = click_ctx.find_root().obj or {}
        ctx = Context(
            home=resolve_home(home or parent.get("home")),
            json=as_json or bool(parent.get("json")),
        )
        return func(ctx, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def read_text_arg(value: str, what: str) -> str:
    """The text of FILE, or of standard input for ``-``."""
    if value == "-":
        return sys.stdin.read()
    try:
        return Path(value).read_text("utf-8")
    except FileNotFoundError:
        raise InputError(f"The {what} file {value!r} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"The {what} file {value!r} cannot be read: {exc}.") from None


def read_json_arg(value: str, what: str) -> Any:
    text = read_text_arg(value, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"The {what} are not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None


def card_arg(value: str) -> Card:
    """A card from the words or the code, or ``-`` to read them from standard input."""
    if value == "-":
        value = sys.stdin.readline()
    return parse_card(value)


def pin_arg(path: str | None) -> str | None:
    if path is None:
        return None
    return read_text_arg(path, "PIN").strip("\r\n")


def pin_option(func: F) -> F:
    return click.option(
        "--pin-file",
        type=click.Path(dir_okay=False, allow_dash=True),
        default=None,
        help="File holding the holder's PIN, if the holder set one.",
    )(func)


def card_option(func: F) -> F:
    return click.option(
        "--card",
        "card_text",
        required=True,
        metavar="CARD",
        help="The card's 13 words (space-separated) or its code; '-' reads them from standard input.",
    )(func)


def card_options(func: F) -> F:
    """``--card`` and ``--pin-file``."""
    return card_option(pin_option(func))


def fail(exc: HavenError, as_json: bool) -> int:
    """Report a Haven error: one line on stderr (and the JSON error with --json)."""
    if as_json:
        click.echo(json.dumps({"error": exc.to_dict()}, ensure_ascii=False))
    click.echo(f"haven: {exc.message}", err=True)
    return exc.exit_code
