"""JSON from people and their files, read strictly: every refusal is one clear :class:`InputError`.

Python's :func:`json.loads` accepts what a visit document never needs and fails
badly on hostile input: nesting 100 000 deep raises ``RecursionError``, a
5000-digit number ``ValueError`` (or takes quadratic time), ``1e999`` becomes
infinity, ``NaN`` is accepted, a repeated key silently keeps the last value and
an escaped lone surrogate (``"\\ud800"``) only fails later, when the text is
encoded. :func:`loads` refuses each of these with a message that says what and
where, before anything is stored.

>>> loads('{"dose": 1}', "entries document")
{'dose': 1}
>>> loads('{"dose": 1, "dose": 2}', "entries document")
Traceback (most recent call last):
...
haven.errors.InputError: The entries document is not valid JSON: the key 'dose' appears twice in one object.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from haven.errors import InputError

MAX_DEPTH = 32  # a visit document nests 5 levels; an API body 6
MAX_NUMBER_CHARS = 32  # the longest number Haven stores is a year or a dose
_SCAN_ABOVE = 500  # brackets; documents with more are scanned for depth before the (recursive) C parser

# A string (possibly unterminated) or one bracket: what the scan for the place of a refusal tells apart.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.S)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Refused(Exception):
    """Raised inside the decoder's hooks; :func:`loads` turns it into an :class:`InputError`."""


def loads(text: str | bytes, what: str | None = None) -> Any:
    """Parse ``text`` as strict JSON; ``what`` names it in errors ("entries document"; none: a bare reason)."""
    try:
        if isinstance(text, bytes):
            text = _decode(text)
        text = text.removeprefix("\ufeff")  # a byte-order mark is not content
        if not text.isascii() and (raw := _SURROGATE.search(text)):  # undecodable bytes, as Python keeps them
            raise _Refused(f"character {raw.start() + 1} is not UTF-8 text")
        brackets = text.count("[") + text.count("{")
        if brackets > _SCAN_ABOVE:  # so the C parser never recurses deeper than that, whatever the recursion limit
            _scan_depth(text)
        try:
            doc = _DECODER.decode(text)
        except RecursionError:  # a recursion limit set lower than _SCAN_ABOVE
            _scan_depth(text)
            raise
        # More brackets than the limit: only then can the document be too deep; count its levels.
        if brackets > MAX_DEPTH and _depth(doc) > MAX_DEPTH:
            _scan_depth(text)
        if "\\u" in text and _SURROGATE_ESCAPE.search(text):
            _check_strings(doc)
        return doc
    except _Refused as exc:
        reason = str(exc)
    except json.JSONDecodeError as exc:
        reason = f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
    prefix = f"The {what} is not" if what else "not"
    raise InputError(f"{prefix} valid JSON: {reason}.")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Refused(f"byte {exc.start + 1} is not UTF-8 text") from None


def _depth(doc: Any) -> int:
    """How many arrays and objects are nested in ``doc``, counted up to one past the limit (level by level)."""
    level = [doc] if isinstance(doc, dict | list) else []
    depth = 0
    while level and depth <= MAX_DEPTH:
        depth += 1
        level = [
            child
            for value in level
            for child in (value.values() if isinstance(value, dict) else value)
            if isinstance(child, dict | list)
        ]
    return depth


def _scan_depth(text: str) -> None:
    """Refuse ``text`` if it is nested too deep, saying where the limit is passed (a scan to that point)."""
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, match.start()) + 1
                column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep (line {line}, column {column})")
        elif token in "]}":
            depth -= 1


def _check_strings(doc: Any) -> None:
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _Refused("a string holds a lone surrogate escape (\\ud800 to \\udfff)") from None


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        seen: set[str] = set()
        key = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise _Refused(f"the key {key!r} appears twice in one object")
    return doc


def _number_text(text: str) -> str:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of {len(text)} characters (at most {MAX_NUMBER_CHARS})")
    return text


def _int(text: str) -> int:
    return int(_number_text(text))


def _float(text: str) -> float:
    value = float(_number_text(text))
    if not math.isfinite(value):
        raise _Refused(f"the number {text} is too large")
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_int=_int, parse_float=_float, parse_constant=_constant)
