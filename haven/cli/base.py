"""What every command shares: ``--json``, ``--home``, unlocking the site, output, and error handling.

Every command reaches site data through :meth:`Context.session` (or its thin
form :meth:`Context.store`): that is the one place where the staff passphrase
is read (``--passphrase-file``, else ``$HAVEN_PASSPHRASE``, else a hidden
prompt on a terminal), the site unlocked, and the staff member's role checked.
"""

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

from haven.app import App
from haven.cli import outputs
from haven.core import strictjson
from haven.core.card import Card, parse_card
from haven.errors import HavenError, InputError
from haven.exit_codes import exit_code
from haven.site.config import SecuritySettings
from haven.site.folder import SiteFolder
from haven.site.roles import Permission
from haven.site.site import Site, UnlockedSite
from haven.store.base import Store

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_HOME = Path.home() / ".haven"


@dataclass
class Context:
    """Settings for one command: where the site is, how to speak, where the passphrase comes from."""

    home: Path
    json: bool
    passphrase_file: str | None = None

    @property
    def folder(self) -> SiteFolder:
        return SiteFolder(self.home)

    def site(self) -> Site:
        return Site(self.folder, SecuritySettings.from_env())

    def unlock_passphrase(self, settings: SecuritySettings) -> str:
        """The staff passphrase that unlocks the site: file, environment, or a hidden prompt."""
        if self.passphrase_file is not None:
            return read_secret_file(self.passphrase_file, "passphrase")
        if settings.passphrase is not None:
            return settings.passphrase.reveal()
        if sys.stdin.isatty():
            return str(click.prompt("Staff passphrase", hide_input=True, err=True))
        raise InputError(
            "This command unlocks the site and needs a staff passphrase: run it in a terminal to be asked, "
            "or give --passphrase-file (or HAVEN_PASSPHRASE) in scripts."
        )

    @contextlib.contextmanager
    def session(self, permission: Permission | None = None) -> Iterator[UnlockedSite]:
        """The site unlocked by a staff passphrase, for one command; ``permission`` is checked first."""
        site = self.site()
        site.check_present()
        secret = self.unlock_passphrase(site.settings)
        session = site.unlock(secret, on_wait=say_wait)
        try:
            for warning in session.warnings:
                click.echo(f"haven: warning: {warning}", err=True)
            if session.weak_kdf:
                click.echo(
                    "haven: warning: this site's passphrase keys were made with test parameters and are cheap "
                    "to guess; make a new site for real use.",
                    err=True,
                )
            if permission is not None:
                session.require(permission)
            yield session
        finally:
            session.close()

    @contextlib.contextmanager
    def app(self, permission: Permission | None = None) -> Iterator[App]:
        """The application at the unlocked site (see :meth:`session`). Every use case checks its own
        permission; ``permission`` only refuses early, before the command asks for more input."""
        with self.session(permission) as session:
            yield App(session)

    @contextlib.contextmanager
    def store(self, permission: Permission | None = None) -> Iterator[Store]:
        """This site's store, unlocked for one command (see :meth:`session`)."""
        with self.session(permission) as session:
            yield session.store

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


def say_wait(seconds: float, failures: int) -> None:
    click.echo(f"haven: {failures} wrong passphrases in a row; waiting {seconds:g} s before trying.", err=True)


def read_secret_file(path: str, what: str) -> str:
    """A passphrase from a file (or '-' for standard input): its first line, without the line break."""
    text = read_text_arg(path, what)
    return text.splitlines()[0] if text.strip() else ""


def read_new_passphrase(path: str | None, who: str, env: str | None = None) -> str:
    """A new passphrase: from ``path``, else ``env`` (if the command allows it), else asked twice."""
    if path is not None:
        return read_secret_file(path, "passphrase")
    if env is not None:
        return env
    if sys.stdin.isatty():
        return str(click.prompt(f"New passphrase for {who}", hide_input=True, confirmation_prompt=True, err=True))
    raise InputError(
        f"A passphrase for {who} is needed: run this in a terminal to be asked, give --passphrase-file, "
        "or --generate-passphrase."
    )


PASSPHRASE_FILE_HELP = (
    "File holding your staff passphrase (for scripts and tests; people should let Haven ask). "
    "Default: $HAVEN_PASSPHRASE, else a hidden prompt."
)


def _common(func: F, unlock: bool) -> F:
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
        own = kwargs.pop("unlock_passphrase_file", None) if unlock else None
        ctx = Context(
            home=resolve_home(home or parent.get("home")),
            json=as_json or bool(parent.get("json")),
            passphrase_file=own or parent.get("passphrase_file"),
        )
        return func(ctx, *args, **kwargs)

    if unlock:
        wrapper = click.option(
            "--passphrase-file",
            "unlock_passphrase_file",
            type=click.Path(dir_okay=False, allow_dash=True),
            default=None,
            help=PASSPHRASE_FILE_HELP,
        )(wrapper)
    return wrapper  # type: ignore[return-value]


def common(func: F) -> F:
    """Add ``--json``, ``--home`` and ``--passphrase-file`` to a command and pass a :class:`Context`."""
    return _common(func, unlock=True)


def common_no_unlock(func: F) -> F:
    """Like :func:`common` without ``--passphrase-file``: for commands that never unlock the site, or
    whose own ``--passphrase-file`` sets a new passphrase (the unlock one then comes from
    ``haven --passphrase-file``, ``$HAVEN_PASSPHRASE`` or the prompt)."""
    return _common(func, unlock=False)


def read_text_arg(value: str, what: str) -> str:
    """The text of FILE, or of standard input for ``-``."""
    if value == "-":
        return read_stdin(sys.stdin.read, what)
    try:
        return Path(value).read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"The {what} file {value!r} is not UTF-8 text (byte {exc.start + 1}).") from None
    except OSError as exc:
        raise unreadable(what, value, exc) from None


def unreadable(what: str, name: str, exc: OSError) -> InputError:
    """The one line for an input file that cannot be opened."""
    if isinstance(exc, FileNotFoundError):
        return InputError(f"The {what} file {name!r} does not exist.")
    if isinstance(exc, IsADirectoryError):
        return InputError(f"The {what} file {name!r} is a folder, not a file.")
    return InputError(f"The {what} file {name!r} cannot be read: {exc.strerror or exc}.")


def read_stdin(read: Callable[[], str], what: str) -> str:
    """``read()`` from standard input, with bytes that are not UTF-8 as one clear error."""
    try:
        return read()
    except UnicodeDecodeError as exc:
        raise InputError(f"The {what} on standard input is not UTF-8 text (byte {exc.start + 1}).") from None


def check_output(path: str | None, what: str) -> None:
    """Refuse an output path that cannot be written, before anything is stored or issued."""
    if path is None:
        return
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise InputError(f"Cannot write the {what} to {path!r}: the folder {str(folder)!r} does not exist.")
    if target.is_dir():
        raise InputError(f"Cannot write the {what} to {path!r}: it is a folder.")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise InputError(f"Cannot write the {what} to {path!r}: permission denied.")


def write_output(path: str, data: bytes, what: str) -> None:
    """Write ``data`` to ``path`` whole or not at all, readable by its owner only (:mod:`haven.cli.outputs`)."""
    check_output(path, what)
    outputs.write({path: data})


def read_json_arg(value: str, what: str) -> Any:
    """The JSON document in FILE (or standard input for ``-``), read strictly (haven/core/strictjson.py)."""
    return strictjson.loads(read_text_arg(value, what), f"{what} document")


CARD_PROMPT = "Card words or code"


def read_secret_line(prompt: str, confirm: bool = False) -> str:
    """One secret from standard input: asked without echo on a terminal, else the next line of the stream.

    Secrets come this way (or from a file), never as command arguments: those land in the shell history
    and the process list. When several options read standard input, the lines are taken in the order
    the command reads them (card, then PIN), and ``-`` for the entries or a certificate takes the rest.
    """
    if sys.stdin.isatty():
        return str(click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True))
    return read_stdin(sys.stdin.readline, prompt.lower()).rstrip("\r\n")


def card_arg(value: str | None) -> Card:
    """A card from ``--card``: ``-`` (or no --card on a terminal) reads it from standard input."""
    if value is None:
        if not sys.stdin.isatty():
            raise InputError(
                "This command needs the holder's card: give --card - and the card's words or code as the first "
                "line of standard input (or run it in a terminal to be asked)."
            )
        value = "-"
    if value == "-":
        value = read_secret_line(CARD_PROMPT)
    return parse_card(value)


def pin_arg(path: str | None, new: bool = False) -> str | None:
    """The holder's PIN from ``--pin-file``: a file's text, or ``-`` for the next line of standard input
    (on a terminal, asked without echo; a ``new`` PIN twice)."""
    if path is None:
        return None
    if path == "-":
        return read_secret_line("Holder's PIN", confirm=new)
    return read_text_arg(path, "PIN").strip("\r\n")


def pin_option(func: F) -> F:
    return click.option(
        "--pin-file",
        type=click.Path(dir_okay=False, allow_dash=True),
        default=None,
        help="File holding the holder's PIN, if the holder set one; '-' reads it from standard input "
        "(hidden prompt on a terminal).",
    )(func)


def card_option(func: F) -> F:
    return click.option(
        "--card",
        "card_text",
        default=None,
        metavar="CARD|-",
        help="'-': read the card's 13 words or its code from standard input (first line). Without --card, a "
        "terminal asks for them without showing them. Words typed here land in the shell history and the "
        "process list.",
    )(func)


def card_options(func: F) -> F:
    """``--card`` and ``--pin-file``."""
    return card_option(pin_option(func))


def fail(exc: HavenError, as_json: bool) -> int:
    """Report a Haven error: one line on stderr (and the JSON error with --json); its exit code."""
    if as_json:
        click.echo(json.dumps({"error": exc.to_dict()}, ensure_ascii=False))
    click.echo(f"haven: {exc.message}", err=True)
    return exit_code(exc)
