"""Strict CBOR reading for certificates: one meaning per byte string.

cbor2 is lenient by default (trailing bytes are ignored, duplicate map keys
and indefinite lengths are accepted). A certificate parser must not be: two
different byte strings that decode to the same claims would let a stub be
altered without touching its signature's meaning, and a lenient parser is a
larger attack surface. Every failure is a :class:`MalformedCertificate`.
"""

from __future__ import annotations

import io
from typing import Any

import cbor2

from haven.errors import MalformedCertificate

MAX_DEPTH = 16


def loads(data: bytes, what: str = "certificate", canonical: bool = False) -> Any:
    """Decode exactly one CBOR item filling all of ``data``.

    With ``canonical`` the bytes must also be the deterministic encoding
    (RFC 8949 section 4.2.1) of what they decode to: Haven's own formats
    require it; external formats (EU DCC, SHC) are read as their issuers wrote them.
    """
    stream = io.BytesIO(data)
    try:
        decoder = cbor2.CBORDecoder(
            stream,
            allow_indefinite=not canonical,
            allow_duplicate_keys=False,
            max_depth=MAX_DEPTH,
        )
        value = decoder.decode()
    except Exception as exc:  # cbor2 raises many kinds on hostile input; all mean "unreadable"
        raise MalformedCertificate(f"The {what} is not valid CBOR.") from exc
    if stream.tell() != len(data):
        raise MalformedCertificate(f"The {what} has bytes after its end.")
    if canonical:
        try:
            again = dumps(value)
        except Exception as exc:
            raise MalformedCertificate(f"The {what} holds values Haven does not write.") from exc
        if again != data:
            raise MalformedCertificate(f"The {what} is not in canonical CBOR.")
    return value


def dumps(value: Any) -> bytes:
    """Deterministic encoding (shortest forms, map keys sorted by their encoding)."""
    return cbor2.dumps(value, canonical=True)


def is_array(value: Any, length: int | None = None) -> bool:
    return isinstance(value, (list, tuple)) and (length is None or len(value) == length)
