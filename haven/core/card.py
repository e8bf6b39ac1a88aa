"""The holder's card: a 128-bit secret shown as a QR code and as 13 words.

The card *is* the key to its holder's records; nothing about the person is on
it. Two views of the same secret:

* **Card code** (the QR payload): 32 characters of RFC 4648 Base32 (A-Z, 2-7,
  all in the QR alphanumeric mode) encoding the secret and a CRC-32 of it.
  A CRC-32 detects every burst of up to 32 bits, so any changed character (a
  5-bit burst) is caught.
* **Words**: 12 BIP39 words (English, Korean or Simplified Chinese) encoding
  the secret plus BIP39's 4-bit checksum, then one check word ``c`` chosen so
  that ``sum(ALPHA^(i+1) * w_i for i in 0..12) == 0`` in GF(2^11). A wrong
  word ``i`` shifts the sum by ``ALPHA^(i+1) * e != 0``; swapping distinct
  neighbours ``i, i+1`` shifts it by ``ALPHA^(i+1) * (ALPHA + 1) * (w_i + w_(i+1))
  != 0``. So every single wrong word and every neighbour swap is refused
  before any lookup, where BIP39's checksum alone misses one wrong word in 16.

>>> card = Card(bytes(range(16)))
>>> parse_card(card.code) == card == parse_card(" ".join(card.words("en")))
True
"""

from __future__ import annotations

import base64
import binascii
import difflib
import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache

from haven.core import gf2048
from haven.errors import CardError

SECRET_BYTES = 16
WORD_COUNT = 13
CODE_LENGTH = 32
_CRC_DOMAIN = b"haven/v1/card"

LANGUAGES: dict[str, str] = {"en": "english", "ko": "korean", "zh": "chinese_simplified"}
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "ko": "Korean", "zh": "Simplified Chinese"}

_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CODE_CHARS = frozenset(_BASE32)
_TO_INT_DIGITS = str.maketrans(_BASE32, "0123456789abcdefghijklmnopqrstuv")
_LOOKS_LIKE_CODE = re.compile(r"^[\x21-\x7e]{16,}$")
# Invisible characters that copying text between apps leaves between words.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
# What people, keyboards and input methods put between words or groups of the code: white space, hyphens and
# dashes, commas and semicolons (ASCII, full-width, the ideographic comma) and the invisible characters.
_SEPARATORS = re.compile(f"[\\s,;\\-\u2010\u2011\u2013\u2014\uff0c\uff1b\u3001{_INVISIBLE}]+")
# A card word is a run of letters (no word on any list holds anything else): between words, whatever is not a
# letter is read as a separator, so words copied with their printed numbers ("1. rice 2. ..."), punctuation of any
# width or line breaks are read, while a word with a character changed is still a different word, and refused.
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Card:
    """A holder's card. The secret never appears in reprs or logs."""

    secret: bytes = field(repr=False)
    language: str = field(default="en", compare=False)

    def __post_init__(self) -> None:
        if len(self.secret) != SECRET_BYTES:
            raise ValueError("a card secret is 16 bytes")
        if self.language not in LANGUAGES:
            raise ValueError(f"unknown word language {self.language!r}")

    @classmethod
    def generate(cls, random_bytes: Callable[[int], bytes], language: str = "en") -> Card:
        """A new card from ``random_bytes`` (``secrets.token_bytes`` outside tests)."""
        return cls(random_bytes(SECRET_BYTES), language)

    @property
    def code(self) -> str:
        """The QR payload: Base32 of secret || CRC-32, 32 characters."""
        crc = binascii.crc32(_CRC_DOMAIN + self.secret).to_bytes(4, "big")
        return base64.b32encode(self.secret + crc).decode("ascii")

    def words(self, language: str | None = None) -> list[str]:
        """The 13 words (12 for the secret, then the check word), NFC-normalised."""
        wordlist = _wordlist(language or self.language)
        indices = _secret_to_indices(self.secret)
        indices.append(_check_index(indices))
        return [wordlist[i] for i in indices]


def parse_card(text: str) -> Card:
    """Read a card from its code or its words; raise :class:`CardError` naming the problem.

    Separators are not characters of the code or of any word, so reading them is safe: a changed,
    dropped or added character still changes a word or the code's length, and is refused.
    """
    text = unicodedata.normalize("NFC", text)
    invisible = sorted({f"U+{ord(ch):04X}" for ch in text if ch in _INVISIBLE})
    try:
        return _parse_parts(text)
    except CardError as exc:
        if not invisible or exc.details.get("problem") == "checksum":
            raise
        note = (
            f" The text holds invisible characters ({', '.join(invisible)}), read as spaces: if one was inside "
            "a word, type the words again."
        )
        raise CardError(exc.message + note, suggestion=exc.suggestion, **exc.details) from None


def typed_parts(text: str) -> list[str]:
    """The words (or groups of the code) of typed card text, split as :func:`parse_card` splits them."""
    text = unicodedata.normalize("NFC", text)
    parts = [part for part in _SEPARATORS.split(text) if part]
    return parts if _is_code(parts) else _words_in(text)


def _words_in(text: str) -> list[str]:
    """The letter runs of ``text``; a run of Chinese characters (typed without spaces) is one word each."""
    words: list[str] = []
    for run in _WORD.findall(text):
        words.extend(run if all(_is_han(ch) for ch in run) else [run])
    return words


def _is_code(parts: list[str]) -> bool:
    """Whether the separated parts are a card code, whole or in groups ("ABCD EFGH ..." or "ABCD-EFGH-...")."""
    joined = "".join(parts)
    if len(joined) == CODE_LENGTH and _CODE_CHARS.issuperset(joined):
        return True  # 13 words are longer than a code, even in capitals
    words = _words_in(" ".join(parts))
    if not parts or (len(words) > 1 and all(_language_of(w.lower()) for w in words)):
        return False  # words, perhaps in capitals or numbered ("2 RICE 3 ...")
    if len(parts) == 1:
        return bool(_LOOKS_LIKE_CODE.match(parts[0]))
    return _CODE_CHARS.issuperset(joined) and (len(joined) == CODE_LENGTH or any(ch.isdigit() for ch in joined))


def _parse_parts(text: str) -> Card:
    parts = [part for part in _SEPARATORS.split(text) if part]
    if not parts:
        raise CardError("Enter the card's 13 words or its card code.")
    if not _is_code(parts):
        return parse_words(_words_in(text))
    joined = "".join(parts)
    if len(parts) > 1 and len(joined) != CODE_LENGTH:
        raise CardError(
            f"A card code has {CODE_LENGTH} characters; this one has {len(joined)} "
            "(not counting the spaces or hyphens between groups).",
            problem="length",
        )
    return parse_code(joined)


def parse_code(code: str) -> Card:
    """Read a card from its 32-character code (strict: upper case, no separators)."""
    if len(code) != CODE_LENGTH:
        raise CardError(
            f"A card code has {CODE_LENGTH} characters; this one has {len(code)}.",
            problem="length",
        )
    if not _CODE_CHARS.issuperset(code):
        position, ch = next((i, c) for i, c in enumerate(code, start=1) if c not in _CODE_CHARS)
        case = " Card codes are written in capital letters." if ch.upper() in _CODE_CHARS else ""
        raise CardError(
            f"Character {position} ({ch!r}) cannot be in a card code (only A-Z and 2-7).{case}",
            problem="character",
            position=position,
        )
    # RFC 4648 Base32 without padding is a base-32 numeral: int() decodes it in C.
    raw = int(code.translate(_TO_INT_DIGITS), 32).to_bytes(SECRET_BYTES + 4, "big")
    secret, crc = raw[:SECRET_BYTES], raw[SECRET_BYTES:]
    if binascii.crc32(_CRC_DOMAIN + secret).to_bytes(4, "big") != crc:
        raise CardError(
            "This card code does not check out: a character is wrong. Scan it again or type the words.",
            problem="checksum",
        )
    return Card(secret)


def parse_words(words: Sequence[str]) -> Card:
    """Read a card from its 13 words in one of the card languages."""
    words = [unicodedata.normalize("NFC", w).strip().lower() for w in words]
    if len(words) != WORD_COUNT:
        hint = " The last word on the card is the check word." if len(words) == WORD_COUNT - 1 else ""
        raise CardError(
            f"A card has {WORD_COUNT} words; this has {len(words)}.{hint}",
            problem="count",
        )
    language = _language_of(words[0])
    if language is None:
        raise CardError(
            f"Word 1 ({words[0]!r}) is not a card word in English, Korean or Simplified Chinese.",
            problem="unknown-word",
            position=1,
        )
    index = _word_index(language)
    indices: list[int] = []
    for position, word in enumerate(words, start=1):
        if word not in index:
            other = _language_of(word)
            if other is not None:
                raise CardError(
                    f"Word {position} ({word!r}) is {LANGUAGE_NAMES[other]}, but the card's words are "
                    f"{LANGUAGE_NAMES[language]}; a card's words are all in one language.",
                    problem="mixed-language",
                    position=position,
                )
            close = difflib.get_close_matches(word, _wordlist(language), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise CardError(
                f"Word {position} ({word!r}) is not on the {LANGUAGE_NAMES[language]} word list.{hint}",
                problem="unknown-word",
                position=position,
                suggestion=close[0] if close else None,
            )
        indices.append(index[word])
    if _weighted_sum(indices) != 0:
        raise CardError(
            "These words do not check out: a word is wrong or two neighbouring words are swapped. "
            "Read them again from the card.",
            problem="checksum",
        )
    secret = _indices_to_secret(indices[:-1])
    if secret is None:
        raise CardError(
            "These words do not check out: more than one word is wrong. Read them again from the card.",
            problem="checksum",
        )
    return Card(secret, language)


def _weighted_sum(indices: Sequence[int]) -> int:
    total = 0
    for position, value in enumerate(indices):
        total ^= gf2048.mul(gf2048.power(position + 1), value)
    return total


def _check_index(indices: Sequence[int]) -> int:
    # Solve sum(ALPHA^(i+1) w_i, i=0..11) + ALPHA^13 c = 0 for c.
    return gf2048.mul(_weighted_sum(indices), gf2048.inverse(gf2048.power(len(indices) + 1)))


def _secret_to_indices(secret: bytes) -> list[int]:
    checksum = hashlib.sha256(secret).digest()[0] >> 4
    bits = int.from_bytes(secret, "big") << 4 | checksum
    return [(bits >> (11 * (11 - i))) & 0x7FF for i in range(12)]


def _indices_to_secret(indices: Sequence[int]) -> bytes | None:
    bits = 0
    for value in indices:
        bits = bits << 11 | value
    secret = (bits >> 4).to_bytes(SECRET_BYTES, "big")
    if hashlib.sha256(secret).digest()[0] >> 4 != bits & 0xF:
        return None
    return secret


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


@cache
def _wordlist(language: str) -> tuple[str, ...]:
    from mnemonic import Mnemonic

    if language not in LANGUAGES:
        raise ValueError(f"unknown word language {language!r}")
    words = tuple(unicodedata.normalize("NFC", w) for w in Mnemonic(LANGUAGES[language]).wordlist)
    assert len(words) == gf2048.ORDER and len(set(words)) == gf2048.ORDER
    return words


@cache
def _word_index(language: str) -> dict[str, int]:
    return {word: i for i, word in enumerate(_wordlist(language))}


def _language_of(word: str) -> str | None:
    for language in LANGUAGES:
        if word in _word_index(language):
            return language
    return None
