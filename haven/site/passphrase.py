"""Staff passphrases: normalising, refusing weak ones, and suggesting strong ones.

A passphrase is normalised before it reaches Argon2id: Unicode NFC, surrounding
whitespace dropped, inner runs of whitespace made one space. Case is kept.

Strength is the *smaller* of several estimates, in bits of guessing work for
an attacker who knows Haven (see :func:`estimate`):

* zxcvbn's (dictionaries, keyboard patterns, dates, l33t), with Haven's own
  words (:data:`SITE_WORDS`, the staff name) known to it;
* the same with repeats folded ("clinic clinic2 clinic3", a phrase typed
  twice) and well-known example phrases taken out, plus the few bits they add;
* a word-list estimate: when every word is from one of the BIP39 lists Haven
  ships (English, Korean, Chinese), 11 bits per distinct word, but only 2 for
  a word within two places of the one before it in the list (a run such as
  the list's first five words).

A passphrase below :data:`MIN_BITS` (50 bits) is refused, with the reason:
five random words (55 bits) pass, four (44 bits) do not. :func:`suggest` makes
five random words.

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
from dataclasses import dataclass

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


def normalise(passphrase: str) -> str:
    """The canonical form that is hashed (NFC, single spaces, no surrounding whitespace)."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", passphrase)).strip()


def to_bytes(passphrase: str) -> bytes:
    return normalise(passphrase).encode("utf-8")


# Words an attacker who knows the machine runs Haven tries first: the program, the place, the roles.
SITE_WORDS = (
    "haven", "clinic", "shelter", "hospital", "health", "doctor", "nurse", "staff", "admin", "coordinator",
    "clinician", "registrar", "passphrase", "password", "secret", "card", "vaccine", "camp",
)  # fmt: skip
# Well-known example phrases (comics, typing drills, documentation): each counts as one guess among a few hundred.
FAMOUS_PHRASES = (
    "correct horse battery staple",
    "the quick brown fox jumps over the lazy dog",
    "lorem ipsum dolor sit amet",
    "to be or not to be",
    "may the force be with you",
    "all your base are belong to us",
    "hello world",
    "open sesame",
    "let me in",
    "i love you",
    "trust no one",
    "in god we trust",
)
FAMOUS_PHRASE_BITS = 8.0
REPEATED_WORD_BITS = 4.0  # a word that repeats an earlier one (give or take digits): which one, and a suffix
NEIGHBOUR_BITS = 2.0  # a list word at most NEIGHBOUR_SPAN places from the one before it
NEIGHBOUR_SPAN = 2


@dataclass(frozen=True)
class Estimate:
    """Bits of guessing work, and why they are this few (the model that gave the fewest)."""

    bits: float
    reason: str


def _zxcvbn_bits(text: str, known: tuple[str, ...]) -> float:
    if not text:
        return 0.0
    return math.log2(max(1.0, float(zxcvbn(text[:_ZXCVBN_MAX], user_inputs=list(known))["guesses"])))


def _stem(token: str) -> str:
    """A word without its case, digits and punctuation ("Clinic2!" -> "clinic"); digits alone stay."""
    letters = re.sub(r"[\d\W_]+", "", token.casefold())
    return letters or token


def _fold_repeats(tokens: list[str]) -> tuple[list[str], float]:
    """The words once each, and the few bits the repeats add: a phrase said twice, clinic clinic2 clinic3."""
    extra = 0.0
    lowered = [t.casefold() for t in tokens]
    for period in range(1, len(tokens) // 2 + 1):
        if len(tokens) % period == 0 and lowered == lowered[:period] * (len(tokens) // period):
            extra += math.log2(len(tokens) // period)
            tokens = tokens[:period]
            break
    kept: list[str] = []
    seen: set[str] = set()
    for token in tokens:
        stem = _stem(token)
        if stem in seen:
            extra += REPEATED_WORD_BITS
        else:
            seen.add(stem)
            kept.append(token)
    return kept, extra


def _strip_famous(text: str) -> tuple[str, float]:
    """The text without well-known phrases (compared on letters and spaces), each counted as one guess."""
    spaced = " " + " ".join(re.sub(r"[^\w ]+", " ", text.casefold()).split()) + " "
    extra = 0.0
    for phrase in FAMOUS_PHRASES:
        while f" {phrase} " in spaced:
            spaced = spaced.replace(f" {phrase} ", " ", 1)
            extra += FAMOUS_PHRASE_BITS
    return spaced.strip(), extra


def _list_words_bits(tokens: list[str]) -> tuple[str, float] | None:
    """(language, bits) when every word is from one list: 11 bits per distinct word, 2 for a list neighbour."""
    words = [w.casefold() for w in tokens]
    for language in WORD_LISTS:
        index = _word_index(language)
        if all(w in index for w in words):
            bits, seen, previous = 0.0, set(), None
            for w in words:
                if w not in seen:
                    near = previous is not None and abs(index[w] - previous) <= NEIGHBOUR_SPAN
                    bits += NEIGHBOUR_BITS if near else BITS_PER_LIST_WORD
                    seen.add(w)
                previous = index[w]
            return language, bits
    return None


def _mixed_bits(tokens: list[str], known: tuple[str, ...]) -> float | None:
    """English list words at 11 bits each (2 for a list neighbour), every other word by zxcvbn on its own."""
    index = _word_index("en")
    if not any(t.casefold() in index for t in tokens):
        return None
    bits, previous = 0.0, None
    for token in tokens:
        position = index.get(token.casefold())
        if position is None:
            bits += _zxcvbn_bits(token, known)
        else:
            near = previous is not None and abs(position - previous) <= NEIGHBOUR_SPAN
            bits += NEIGHBOUR_BITS if near else BITS_PER_LIST_WORD
        previous = position
    return bits


def _in_a_list(word: str) -> bool:
    return any(word in _word_index(language) for language in WORD_LISTS)


@functools.cache
def _word_index(language: str) -> dict[str, int]:
    return {w.casefold(): i for i, w in enumerate(word_list(language))}


def estimate(passphrase: str, known: tuple[str, ...] = ()) -> Estimate:
    """The guessing work for an attacker who knows Haven, its word lists and ``known`` (e.g. the staff name).

    The smallest of: zxcvbn on the whole (Haven's own words known to it); zxcvbn on the
    phrase with repeats folded and famous phrases taken out, plus the few bits they add;
    and, when every word is from one BIP39 list, 11 bits per distinct word (2 for a word
    next to the one before it in the list). Korean and Chinese list words go by the list
    alone: zxcvbn has no dictionary for them and would count a Chinese word as one character.
    """
    text = normalise(passphrase)
    if not text:
        return Estimate(0.0, "it is empty")
    # A name that is itself a list word ("Grain") is left to the list estimate, so that a
    # generated passphrase never fails because of the name of the person it is for.
    named = (w for k in known for w in normalise(k).casefold().split(" ") if w and not _in_a_list(w))
    words = (*SITE_WORDS, *named)
    tokens = text.split(" ")
    listed = _list_words_bits(tokens)
    if listed is not None and listed[0] != "en":
        return Estimate(listed[1], _LIST_REASON)
    candidates = [Estimate(_zxcvbn_bits(text, words), "it is made of common words, names or patterns")]
    folded, repeat_bits = _fold_repeats(tokens)
    if repeat_bits:
        bits = _zxcvbn_bits(" ".join(folded), words) + repeat_bits
        candidates.append(Estimate(bits, _REPEAT_REASON))
    rest, famous_bits = _strip_famous(text)
    if famous_bits:
        candidates.append(Estimate(_zxcvbn_bits(rest, words) + famous_bits, "it contains a well-known phrase"))
    if listed is not None:
        candidates.append(Estimate(listed[1], _LIST_REASON))
    else:
        mixed = _mixed_bits(folded, words)
        if mixed is not None:
            reason = _REPEAT_REASON if repeat_bits else "it has too few random words; the others are easy to guess"
            candidates.append(Estimate(mixed + repeat_bits, reason))
    return min(candidates, key=lambda e: e.bits)


_REPEAT_REASON = "it repeats a word or the whole phrase"
_LIST_REASON = "it has too few random words, or words that sit next to each other in the word list"


def estimate_bits(passphrase: str, known: tuple[str, ...] = ()) -> float:
    """log2 of the guesses an attacker who knows Haven's word lists needs (a conservative estimate)."""
    return estimate(passphrase, known).bits


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


def check(passphrase: str, known: tuple[str, ...] = ()) -> str:
    """The normalised passphrase, or :class:`WeakPassphraseError` saying why it is refused.

    ``known``: words an attacker would try for this account (its staff name).
    """
    text = normalise(passphrase)
    if len(text) > MAX_LENGTH:
        raise InputError(f"A staff passphrase has at most {MAX_LENGTH} characters.")
    found = estimate(text, known)
    if found.bits < MIN_BITS:
        raise WeakPassphraseError(
            f"This passphrase is too easy to guess: {found.reason} (about {found.bits:.0f} bits; "
            f"at least {MIN_BITS:.0f} are needed). Use {SUGGESTED_WORDS} or more words picked at random, "
            "not made up: haven staff passphrase-suggest draws them.",
            bits=round(found.bits, 1),
            needed_bits=MIN_BITS,
            reason=found.reason,
        )
    return text
