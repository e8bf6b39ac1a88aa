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

from functools import lru_cache

from haven.errors import MalformedCertificate

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
# bytes.translate table: an alphabet character's value, 255 for anything else.
_TRANSLATE = bytes(_VALUE.get(chr(i), 255) for i in range(256))


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
    """Bytes from Base45 text; :class:`MalformedCertificate` if it is not exactly that.

    Every verification starts here, so the arithmetic runs on whole byte
    strings (:func:`_pairs`). Anything the fast path does not accept goes to
    the reference decoder, which says what is wrong.
    """
    try:
        values = text.encode("ascii").translate(_TRANSLATE)
    except UnicodeEncodeError:
        return _decode_slowly(text)
    rest = len(values) % 3
    if rest == 1 or 255 in values:
        return _decode_slowly(text)
    if rest:
        values += _WEIGHTLESS
    pairs = _pairs(values, _text_masks(len(values) // 3))
    if pairs is None or (rest and pairs[-2]):
        return _decode_slowly(text)
    return pairs[:-2] + pairs[-1:] if rest else pairs


_WEIGHTLESS = b"\x00"  # a third character worth 0 makes a final pair of characters a group (its top byte must be 0)
_PADDING = ("", "\x00", "0")  # by length % 3: none, a character outside the alphabet (refused), a weightless one


def decode_many(texts: list[str]) -> list[bytes] | None:
    """:func:`decode` of every text, computed for all of them at once; None if any is not plain Base45.

    One big-integer computation for a whole batch saves most of the per-text
    interpreter work. On None, decode the texts one by one: that says which
    is wrong and why.
    """
    try:
        values = "".join([t + _PADDING[len(t) % 3] for t in texts]).encode("ascii").translate(_TRANSLATE)
    except UnicodeEncodeError:
        return None
    if 255 in values:
        return None
    pairs = _pairs(values, _masks(len(values) // 3))
    if pairs is None:
        return None
    out = []
    start = 0
    for text in texts:
        size = len(text)
        end = start + (size + 1) // 3 * 2
        if size % 3:
            if pairs[end - 2]:
                return None  # a final pair of characters above 255
            out.append(pairs[start : end - 2] + pairs[end - 1 : end])
        else:
            out.append(pairs[start:end])
        start = end
    return out


def _pairs(values: bytes, masks: tuple[int, int, int]) -> bytes | None:
    """Two bytes for each group of three character values; None if a group is above 65535.

    The values, read as one big integer with a 24-bit field per group, are
    masked apart and recombined as ``a + 45 b + 2025 c`` for all groups at once
    (no field can carry into the next: 44 * 2071 < 2**24); a group above 65535
    shows as a non-zero top byte of its field.
    """
    low, mid, top = masks
    number = int.from_bytes(values, "big")
    # A group's first character is the top byte of its field and weighs 1; the third weighs 45 * 45.
    total = ((number & top) >> 16) + 45 * ((number & mid) >> 8) + 2025 * (number & low)
    if total & top:
        return None
    fields = bytearray(total.to_bytes(len(values), "big"))
    del fields[::3]  # every field's top byte, zero: two bytes per group remain
    return bytes(fields)


def _masks(groups: int) -> tuple[int, int, int]:
    """Masks of the low, middle and top byte of every 24-bit field."""
    low = int.from_bytes(b"\x00\x00\xff" * groups, "big")
    return low, low << 8, low << 16


_text_masks = lru_cache(maxsize=64)(_masks)  # one text: a few lengths, each stub length has one set


def _decode_slowly(text: str) -> bytes:
    """The reference decoder (RFC 9285 section 4.2), used to say exactly what is wrong."""
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
