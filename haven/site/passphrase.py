"""Staff passphrases: normalising, refusing weak ones, and suggesting strong ones.

A passphrase is normalised before it reaches Argon2id: Unicode NFC, surrounding
whitespace dropped, inner runs of whitespace made one space. Case is kept.

Strength is the *smaller* of two estimates, in bits of guessing work:

* zxcvbn's (dictionaries, keyboard patterns, dates, repeats, l33t), which
  catches passwords people make up;
* a word-list estimate: when every word is from one of the BIP39 lists Haven
  ships (English, Korean, Chinese), an attacker who knows the list needs
  ``2048 ** distinct words`` guesses at most, whatever zxcvbn thinks of the
  words (for Korean and Chinese words this estimate is used alone).

A passphrase below :data:`MIN_BITS` (50 bits) is refused: five random words
(55 bits) pass, four (44 bits) do not. :func:`suggest` makes five random words.

>>> normalise("  grain   twenty head\\tairport swarm ")
'grain twenty head airport swarm'
>>> round(estimate_bits("grain twenty head airport swarm"))
55
>>> estimate_bits("password1") < MIN_BITS
True
"""

from __future__ import annotations

import functools
import math
import re
import secrets
import unicodedata

from mnemonic import Mnemonic
from zxcvbn import zxcvbn

from haven.errors import InputError, WeakPassphraseError

MIN_BITS = 50.0
MAX_LENGTH = 256
SUGGESTED_WORDS = 5
BITS_PER_LIST_WORD = 11.0  # log2(2048)
_ZXCVBN_MAX = 72  # zxcvbn refuses longer input; a prefix's estimate is a lower bound
WORD_LISTS = {"en": "english", "ko": "korean", "zh": "chinese_simplified"}


@functools.cache
def word_list(language: str = "en") -> tuple[str, ...]:
    return tuple(unicodedata.normalize("NFC", w) for w in Mnemonic(WORD_LISTS[language]).wordlist)


@functools.cache
def _word_sets() -> tuple[frozenset[str], ...]:
    return tuple(frozenset(word_list(lang)) for lang in WORD_LISTS)


def normalise(passphrase: str) -> str:
    """The canonical form that is hashed (NFC, single spaces, no surrounding whitespace)."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", passphrase)).strip()


def to_bytes(passphrase: str) -> bytes:
    return normalise(passphrase).encode("utf-8")


def _list_words_bits(text: str) -> tuple[str, float] | None:
    """(language, bits) when every word is from one list: 11 bits per distinct word."""
    words = text.split(" ")
    for language, words_of_list in zip(WORD_LISTS, _word_sets(), strict=True):
        if all(w.lower() in words_of_list for w in words):
            return language, BITS_PER_LIST_WORD * len({w.lower() for w in words})
    return None


def estimate_bits(passphrase: str) -> float:
    """log2 of the guesses an attacker who knows Haven's word lists needs (a conservative estimate).

    Korean and Chinese list words go by the list alone: zxcvbn has no dictionary
    for them and would count a Chinese word as one random character.
    """
    text = normalise(passphrase)
    if not text:
        return 0.0
    listed = _list_words_bits(text)
    if listed is not None and listed[0] != "en":
        return listed[1]
    bits = math.log2(max(1.0, float(zxcvbn(text[:_ZXCVBN_MAX])["guesses"])))
    return bits if listed is None else min(bits, listed[1])


def suggest(words: int = SUGGESTED_WORDS, language: str = "en") -> str:
    """``words`` different random words from a BIP39 list (just under 11 bits each).

    A draw that :func:`check` would refuse (zxcvbn can rate a few runs of very
    common English words low) is drawn again, so a suggestion is always accepted.
    """
    if language not in WORD_LISTS:
        raise InputError(f"Passphrase words come in {', '.join(sorted(WORD_LISTS))}, not {language!r}.")
    if words < SUGGESTED_WORDS:
        raise InputError(f"A suggested passphrase has at least {SUGGESTED_WORDS} words.")
    pool = word_list(language)
    while True:
        picked: list[str] = []
        while len(picked) < words:
            word = secrets.choice(pool)
            if word not in picked:
                picked.append(word)
        text = " ".join(picked)
        if estimate_bits(text) >= MIN_BITS:
            return text


def check(passphrase: str) -> str:
    """The normalised passphrase, or :class:`WeakPassphraseError` saying why it is refused."""
    text = normalise(passphrase)
    if len(text) > MAX_LENGTH:
        raise InputError(f"A staff passphrase has at most {MAX_LENGTH} characters.")
    bits = estimate_bits(text)
    if bits < MIN_BITS:
        raise WeakPassphraseError(
            f"This passphrase is too easy to guess (about {bits:.0f} bits; at least {MIN_BITS:.0f} are needed). "
            f"Use {SUGGESTED_WORDS} or more random words (haven staff passphrase-suggest).",
            bits=round(bits, 1),
            needed_bits=MIN_BITS,
        )
    return text
