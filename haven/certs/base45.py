"""Base45 (RFC 9285): bytes as text for a QR code's alphanumeric mode.

Strict on decoding: every character must be in the alphabet, the length must
not leave one character over, and no group may exceed what it can encode, so
each text has exactly one meaning.

>>> encode(b"ietf!")
'QED8WEX0'
>>> decode("QED8WEX0")
b'ietf!'
"""

from __future__ import annotations

from haven.errors import MalformedCertificate

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


def encode(data: bytes) -> str:
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        e, n = divmod(n, 45 * 45)
        d, c = divmod(n, 45)
        out += (ALPHABET[c], ALPHABET[d], ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += (ALPHABET[c], ALPHABET[d])
    return "".join(out)


def decode(text: str) -> bytes:
    """Bytes from Base45 text; :class:`MalformedCertificate` if it is not exactly that."""
    if len(text) % 3 == 1:
        raise MalformedCertificate("The text has a length no Base45 text can have.")
    try:
        values = [_VALUE[c] for c in text]
    except KeyError:
        raise MalformedCertificate("The text has characters outside Base45.") from None
    out = bytearray()
    for i in range(0, len(values) - 2, 3):
        n = values[i] + values[i + 1] * 45 + values[i + 2] * 45 * 45
        if n > 0xFFFF:
            raise MalformedCertificate("The text is not valid Base45 (a group is out of range).")
        out += n.to_bytes(2, "big")
    if len(values) % 3 == 2:
        n = values[-2] + values[-1] * 45
        if n > 0xFF:
            raise MalformedCertificate("The text is not valid Base45 (the last group is out of range).")
        out.append(n)
    return bytes(out)


def encoded_length(n_bytes: int) -> int:
    """Characters Base45 needs for ``n_bytes`` bytes.

    >>> encoded_length(146)
    219
    """
    return n_bytes // 2 * 3 + (2 if n_bytes % 2 else 0)
