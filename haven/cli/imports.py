"""Reading a ``haven visit import`` file, and where an import of it got to.

Resuming: every committed batch also stores, in the same transaction, the site
setting ``import.<id>`` = (visits committed from the file, a MAC of the file up
to the last of them). Importing a file whose first line and committed prefix
match skips that prefix, so a rerun after a kill (or after fixing a bad line
past it) adds each visit once; one whose committed lines changed is refused
rather than imported twice. The id and the MAC key come from the file's first
line through Argon2id with the PIN parameters: the line may hold a PIN, and the
setting must not be a faster way to guess it than the records are. Nothing in
the setting is a card, a locator or a record id. Standard input cannot be read
twice, so it is never resumed.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from argon2.low_level import Type, hash_secret_raw

from haven.app.clinic import iter_jsonl
from haven.cli.base import unreadable
from haven.core.card import Card, parse_card
from haven.core.keys import PIN_MEMORY_KIB, PIN_PARALLELISM, PIN_TIME_COST
from haven.errors import HavenError, InputError
from haven.store.base import Store

BOM = b"\xef\xbb\xbf"
SETTING = "import."


def _raw_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of every line, without the byte-order mark some editors write first."""
    for number, raw in enumerate(stream, start=1):
        yield number, raw.removeprefix(BOM) if number == 1 else raw


@dataclass
class Source:
    """An import file's lines as text, each decoded strictly, with the progress hashes a rerun matches."""

    stream: IO[bytes]
    name: str
    resumable: bool
    batch: int = 1
    skip: int = 0
    setting: str = ""
    key: bytes = field(default=b"", repr=False)
    digests: dict[int, bytes] = field(default_factory=dict)  # visits read -> MAC of their lines

    def text_lines(self) -> Iterator[str]:
        hasher = hmac.new(self.key, digestmod=hashlib.sha256)
        count = 0
        for number, raw in _raw_lines(self.stream):
            if raw.strip():
                hasher.update(raw)  # blank lines are not part of what was imported
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"Line {number}: not UTF-8 text (byte {exc.start + 1} of the line); save the file as UTF-8.",
                    line=number,
                ) from None
            if not text.strip():
                yield text
                continue
            count += 1
            if count <= self.skip:
                yield "\n"  # already imported: keep the numbering, skip the parsing
                continue
            if (count - self.skip) % self.batch == 0:
                self.digests[count] = hasher.digest()
            yield text
        self.digests[count] = hasher.digest()

    def close(self) -> None:
        self.stream.close()


def check_batch(batch: int) -> None:
    if batch < 1:
        raise InputError(f"--batch is a number of visits per transaction, 1 or more (not {batch}).")


def open_source(name: str, stdin: IO[str]) -> Source:
    if name == "-":
        buffer = getattr(stdin, "buffer", None)  # a text stream without one (a test's) is read whole
        return Source(buffer or io.BytesIO(stdin.read().encode()), name, resumable=False)
    try:
        return Source(open(name, "rb"), name, resumable=True)
    except OSError as exc:
        raise unreadable("import", name, exc) from None


def _first_line(path: str) -> bytes:
    with open(path, "rb") as f:
        return next((raw for _, raw in _raw_lines(f) if raw.strip()), b"")


def _job_key(first_line: bytes) -> bytes:
    return hash_secret_raw(
        first_line,
        b"haven/v1/import-progress",
        time_cost=PIN_TIME_COST,
        memory_cost=PIN_MEMORY_KIB,
        parallelism=PIN_PARALLELISM,
        hash_len=32,
        type=Type.ID,
    )


def _prefix_digest(path: str, key: bytes, count: int) -> bytes | None:
    """The MAC of the file up to its ``count``-th non-blank line (None if it has fewer)."""
    hasher, seen = hmac.new(key, digestmod=hashlib.sha256), 0
    with open(path, "rb") as f:
        for _, raw in _raw_lines(f):
            if raw.strip():
                hasher.update(raw)
                seen += 1
                if seen == count:
                    return hasher.digest()
    return None


def prepare(source: Source, store: Store, batch: int) -> None:
    """Find how much of this file an earlier run committed; the import then skips it."""
    source.batch = batch
    if not source.resumable:
        return
    try:
        source.key = _job_key(_first_line(source.name))
        source.setting = SETTING + hashlib.sha256(source.key).hexdigest()[:32]
        saved = store.get_setting(source.setting)
        if saved is not None and len(saved) == 40:
            (count,) = struct.unpack(">Q", saved[:8])
            if _prefix_digest(source.name, source.key, count) != saved[8:]:
                # Importing it from the start would store those visits twice.
                raise InputError(
                    f"The first {count} visits of a file starting with this line were imported here before, "
                    "and those lines have changed since. Remove the lines already imported and import the rest."
                )
            source.skip = count
    except OSError as exc:
        raise InputError(f"The import file {source.name!r} cannot be read: {exc.strerror}.") from None


def save(source: Source, store: Store, committed: int) -> None:
    """Record, inside the batch's own transaction, that ``committed`` visits of the file are stored."""
    count = source.skip + committed
    store.put_setting(source.setting, struct.pack(">Q", count) + source.digests.pop(count))


def items(source: Source, lines: list[int]) -> Iterator[tuple[Card, Any, str | None]]:
    """(card, visit document, PIN) of every line not yet imported; ``lines`` gets their line numbers."""
    cards: dict[str, Card] = {}  # an import file names each card many times; parse each once
    for _, doc in iter_jsonl(source.text_lines(), lines):
        if not isinstance(doc, dict) or "card" not in doc:
            raise InputError("Each line is an object with 'card' and 'entries'.")
        text = str(doc["card"])
        card = cards.get(text) or cards.setdefault(text, parse_card(text))
        pin = doc.get("pin")
        if pin is not None and not isinstance(pin, str):
            raise InputError("'pin' must be text.")
        # Everything but the card and the PIN is the visit, checked as `visit add` checks it:
        # an unknown key ("Pin", "hodler") is refused, never dropped.
        yield card, {k: v for k, v in doc.items() if k not in ("card", "pin")}, pin


def explain(exc: HavenError, lines: list[int], source: Source, imported: int) -> None:
    """Say, in the error, which line failed (if a line did) and where to go on from."""
    item = exc.details.pop("item", None)
    line = exc.details.get("line")
    if line is None and item is not None:
        line = lines[item] if item < len(lines) else (lines[-1] + 1 if lines else 1)
    resume = lines[imported] if imported < len(lines) else line
    done = f"{source.skip + imported} visits of this file are imported"
    if source.resumable:
        again = f"import the file again: it resumes at line {resume}"
    else:
        again = f"import again from line {resume}"
    if line is None:  # a storage error: no line is to blame
        exc.message = f"{exc.message} {done}; {again}."
    else:
        text = exc.message.removeprefix(f"Line {line}: ")
        exc.message = f"Line {line}: {text} {done}; after fixing that line, {again}."
        exc.details["line"] = line
    exc.details.update(imported=imported, already_imported=source.skip)
    if resume is not None:
        exc.details["resume_from_line"] = resume
