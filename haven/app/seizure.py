"""The seizure view: exactly what a seized copy of the site shows, with a staff passphrase or without one.

With a passphrase (any role) it is every table and row as an SQLCipher shell would show them; a
private key in the clear there would be a fault, so it is refused rather than printed. Without one
(:func:`raw_view`), it is the files' sizes, first bytes and byte entropy, and the key slot header.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from haven.app.actions import Action
from haven.app.usecase import Area, use_case
from haven.errors import SiteError
from haven.site.attempts import AttemptCounter
from haven.site.folder import SiteFolder
from haven.site.keyslots import KeySlotFile
from haven.site.roles import Permission
from haven.store.base import Table

# The opening of every PKCS#8 P-256 private key Haven writes (RFC 5915 inside RFC 5208): never printed.
PKCS8_P256 = bytes.fromhex("308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420")


def refuse_private_keys(tables: list[Table]) -> None:
    """Stop rather than print a private key: stored keys are wrapped, so one in the clear is a fault."""
    for t in tables:
        for row in t.rows:
            if any(isinstance(v, (bytes, bytearray, memoryview)) and PKCS8_P256 in bytes(v) for v in row):
                raise SiteError(f"Table {t.name} holds a private key in the clear; seizure-view does not print it.")


def entropy_bits_per_byte(data: bytes) -> float:
    """Shannon entropy of the byte histogram (8.0 for uniformly random bytes)."""
    if not data:
        return 0.0
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in Counter(data).values())


def _json_cell(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"hex": bytes(value).hex()}
    return value


def files_doc(folder: SiteFolder) -> list[dict[str, Any]]:
    return [{"path": str(p.relative_to(folder.home)), "bytes": p.stat().st_size} for p in folder.files()]


def rows_doc(tables: list[Table]) -> list[dict[str, Any]]:
    """Every table and row as JSON (bytes as hex), for a seizure view (a site's or a hub's)."""
    return [
        {"name": t.name, "columns": list(t.columns), "rows": [[_json_cell(v) for v in row] for row in t.rows]}
        for t in tables
    ]


def tables_doc(folder: SiteFolder, tables: list[Table]) -> dict[str, Any]:
    """``haven seizure-view --json``: the files and every table, bytes as hex."""
    refuse_private_keys(tables)
    return {"home": str(folder.home), "files": files_doc(folder), "tables": rows_doc(tables)}


def raw_view(folder: SiteFolder) -> dict[str, Any]:
    """What someone holding the files but no passphrase (and no card) can read."""
    files = []
    for path in folder.files():
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SiteError(f"The site's file {path} cannot be read: {exc.strerror}.") from None
        files.append(
            {
                "path": str(path.relative_to(folder.home)),
                "bytes": len(data),
                "first_bytes": data[:16].hex(),
                "entropy_bits_per_byte": round(entropy_bits_per_byte(data), 3),
            }
        )
    doc: dict[str, Any] = {"home": str(folder.home), "files": files}
    slots = KeySlotFile(folder.keyslots_path)
    if slots.exists():
        header, _ = slots.read()
        doc["keyslots_header"] = {"kdf": header.params.to_doc(), "erase_after": header.erase_after}
        doc["wrong_passphrases_in_a_row"] = AttemptCounter(folder.attempts_path).read()
    return doc


class Seizure(Area):
    @use_case(Permission.SEIZURE_VIEW, Action.SEIZURE_VIEW)
    def tables(self) -> list[Table]:
        """Every table and row as a passphrase holder without cards reads them (private keys refused)."""
        tables = self.site.store.tables()
        refuse_private_keys(tables)
        self.viewed(Action.SEIZURE_VIEW)
        return tables
