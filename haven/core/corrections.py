"""Corrections: a later record that amends or voids an entry of an earlier visit.

Records are sealed and never rewritten, so a mistake is put right by a new record of the holder's,
sealed like any visit (a site, a hub or a bundle sees one more record of one more holder, nothing
that ties it to the record it corrects). It names its target by the target visit's full random
record id and the entry's position in it: ids are unique across sites, so the name survives a merge
where two visits share an index. A correction of a correction names the correction it supersedes.

Which version wins is a function of the set of records only, so every site that holds the same records
shows the same facts, whatever order sync brought them in (:func:`resolve`): the corrections of one
entry form a tree under the entry (each the child of the one it supersedes); from the entry, take the
child recorded latest (ties: the greater record id), then its latest child, and so on. The last one
taken says what the entry is now: amended to its replacement, or voided.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from haven.core.entries import Entry, entry_to_doc, parse_entry
from haven.errors import EntryError

AMEND, VOID = "amend", "void"
KINDS = (AMEND, VOID)
RECORD_ID_BYTES = 16  # a record's random id (haven/core/records.py, which builds on this module)
MAX_REASON = 200


@dataclass(frozen=True)
class Correction:
    """Amend (``replacement`` set) or void entry ``entry`` of the visit whose record id is ``target``.

    ``supersedes``: the record id of the correction of the same entry this one replaces (None: it
    corrects the entry as first recorded).
    """

    target: bytes
    entry: int
    kind: str
    replacement: Entry | None = None
    reason: str | None = None
    supersedes: bytes | None = None


@dataclass(frozen=True)
class Made:
    """A correction as read from its record: the record's id and the day it was recorded."""

    id: bytes
    recorded_on: dt.date
    correction: Correction


@dataclass(frozen=True)
class EntryState:
    """An entry now: its current value (None once voided), as first recorded, the winning correction and
    the value it replaced (what a voided entry was)."""

    original: Entry
    current: Entry | None
    last: Made | None = None
    before: Entry | None = None

    @property
    def voided(self) -> bool:
        return self.current is None

    @property
    def head(self) -> bytes | None:
        """The record id a further correction supersedes (None: the entry is uncorrected)."""
        return None if self.last is None else self.last.id


def resolve(original: Entry, made: Iterable[Made]) -> EntryState:
    """The entry now, from every correction of it (any order: the result depends on the set only)."""
    made = list(made)
    children: dict[bytes | None, list[Made]] = defaultdict(list)
    ids = {m.id for m in made}
    for m in made:
        # A correction whose superseded one is not here (yet) hangs under the entry itself.
        parent = m.correction.supersedes if m.correction.supersedes in ids else None
        children[parent].append(m)
    current: Entry | None = original
    before: Entry | None = None
    last: Made | None = None
    node: bytes | None = None
    seen: set[bytes] = set()
    while children.get(node):
        last = max(children[node], key=lambda m: (m.recorded_on, m.id))
        if last.id in seen:  # a cycle cannot be written, only forged; stop rather than loop
            break
        seen.add(last.id)
        before = current or before
        current = last.correction.replacement if last.correction.kind == AMEND else None
        node = last.id
    return EntryState(original, current, last, before)


def resolve_all(
    entries: Mapping[tuple[bytes, int], Entry], corrections: Iterable[Made]
) -> dict[tuple[bytes, int], EntryState]:
    """Every entry (by record id and position) now; corrections naming no entry here are left aside."""
    by_target: dict[tuple[bytes, int], list[Made]] = defaultdict(list)
    for m in corrections:
        by_target[(m.correction.target, m.correction.entry)].append(m)
    return {key: resolve(entry, by_target.get(key, [])) for key, entry in entries.items()}


# ---------------------------------------------------------------- documents


def correction_to_doc(correction: Correction) -> dict[str, Any]:
    """The sealed form: ``{"target", "entry", "kind", "replacement"?, "reason"?, "supersedes"?}``."""
    doc: dict[str, Any] = {"target": correction.target, "entry": correction.entry, "kind": correction.kind}
    if correction.replacement is not None:
        doc["replacement"] = entry_to_doc(correction.replacement)
    if correction.reason is not None:
        doc["reason"] = correction.reason
    if correction.supersedes is not None:
        doc["supersedes"] = correction.supersedes
    return doc


def parse_correction(doc: Any, today: dt.date, trusted: bool = False) -> Correction:
    """A correction document as sealed (record ids as bytes); raise :class:`EntryError` naming the field."""
    if not isinstance(doc, Mapping):
        raise EntryError("correction", "object")
    extra = sorted(set(doc) - {"target", "entry", "kind", "replacement", "reason", "supersedes"})
    if extra:
        raise EntryError(f"correction.{extra[0]}", "unknown-field")
    target, supersedes = doc.get("target"), doc.get("supersedes")
    for name, value in (("target", target), ("supersedes", supersedes)):
        if (value is not None or name == "target") and not (isinstance(value, bytes) and len(value) == RECORD_ID_BYTES):
            raise EntryError(f"correction.{name}", "object")
    position, kind = doc.get("entry"), doc.get("kind")
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise EntryError("correction.entry", "whole-number")
    if kind not in KINDS:
        raise EntryError("correction.kind", "choice", options=KINDS)
    replacement = None
    if kind == AMEND:
        replacement = parse_entry(doc.get("replacement"), "replacement", today, trusted)
    elif doc.get("replacement") is not None:
        raise EntryError("replacement", "unknown-field")
    reason = parse_reason(doc.get("reason"), required=kind == VOID)
    assert isinstance(target, bytes)
    return Correction(target, position, kind, replacement, reason, supersedes)


def parse_reason(value: Any, required: bool) -> str | None:
    """Why an entry is corrected: text up to MAX_REASON characters, required to void."""
    if value is not None and not isinstance(value, str):
        raise EntryError("reason", "text")
    text = (value or "").strip()
    if not text:
        if required:
            raise EntryError("reason", "required")
        return None
    if len(text) > MAX_REASON:
        raise EntryError("reason", "too-long", limit=MAX_REASON)
    return text


def check_amend(state: EntryState, doc: Any, today: dt.date) -> Entry:
    """Validate a replacement for an entry, as a new entry of the same type (EntryError otherwise)."""
    replacement = parse_entry(doc, "replacement", today)
    was = entry_to_doc(state.current or state.original)["type"]
    if entry_to_doc(replacement)["type"] != was:
        raise EntryError("replacement.type", "other-type", type=was)
    if getattr(state.original, "verified_external", None):
        raise EntryError("replacement", "from-certificate")
    if not state.voided and entry_to_doc(replacement) == entry_to_doc(state.current or state.original):
        raise EntryError("replacement", "unchanged")  # a correction must correct: no record of nothing
    return replacement


def check_void(state: EntryState) -> None:
    if state.voided:
        raise EntryError("entry", "already-voided")
