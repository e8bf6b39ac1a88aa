"""Cards: the code and the 13 words encode the same secret; every slip is caught before any lookup."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haven.core.card import CODE_LENGTH, LANGUAGES, WORD_COUNT, Card, _wordlist, parse_card, parse_code, parse_words
from haven.errors import CardError

secrets16 = st.binary(min_size=16, max_size=16)
languages = st.sampled_from(sorted(LANGUAGES))


@given(secrets16, languages)
def test_words_and_code_open_the_same_card(secret: bytes, language: str) -> None:
    card = Card(secret, language)
    words = card.words()
    assert len(words) == WORD_COUNT
    assert all(w in _wordlist(language) for w in words)
    assert parse_card(" ".join(words)) == card
    assert parse_card(card.code) == card
    assert len(card.code) == CODE_LENGTH
    assert set(card.code) <= set(string.ascii_uppercase + "234567")


@given(secrets16)
def test_any_language_shows_the_same_secret(secret: bytes) -> None:
    card = Card(secret)
    for language in LANGUAGES:
        assert parse_words(card.words(language)).secret == secret


def test_chinese_words_may_be_typed_without_spaces() -> None:
    card = Card(bytes(range(16)), "zh")
    assert parse_card("".join(card.words())) == card


def test_korean_words_typed_composed_or_decomposed() -> None:
    import unicodedata

    card = Card(bytes(range(16)), "ko")
    typed = " ".join(unicodedata.normalize("NFD", w) for w in card.words())
    assert parse_card(typed) == card


def test_words_are_case_and_space_tolerant() -> None:
    card = Card(bytes(range(16)))
    assert parse_card("  " + "   ".join(w.upper() for w in card.words()) + "\n") == card


@settings(max_examples=25, deadline=None)
@given(secrets16, languages, st.data())
def test_every_single_word_substitution_is_refused(secret: bytes, language: str, data: st.DataObject) -> None:
    words = Card(secret, language).words()
    wordlist = _wordlist(language)
    for position in range(WORD_COUNT):
        # Exhaustive over positions; for each, a batch of random other words from the same list.
        for replacement in data.draw(st.lists(st.sampled_from(wordlist), min_size=40, max_size=40)):
            if replacement == words[position]:
                continue
            changed = list(words)
            changed[position] = replacement
            with pytest.raises(CardError) as err:
                parse_words(changed)
            assert err.value.details["problem"] == "checksum"


def test_every_substitution_of_every_word_for_one_card() -> None:
    """Exhaustive for one card: all 13 x 2047 substitutions."""
    words = Card(bytes(range(16))).words()
    refused = 0
    for position in range(WORD_COUNT):
        for replacement in _wordlist("en"):
            if replacement == words[position]:
                continue
            changed = list(words)
            changed[position] = replacement
            with pytest.raises(CardError):
                parse_words(changed)
            refused += 1
    assert refused == WORD_COUNT * 2047


@given(secrets16, languages)
def test_every_swap_of_neighbouring_words_is_refused(secret: bytes, language: str) -> None:
    words = Card(secret, language).words()
    for i in range(WORD_COUNT - 1):
        if words[i] == words[i + 1]:
            continue
        swapped = list(words)
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        with pytest.raises(CardError) as err:
            parse_words(swapped)
        assert err.value.details["problem"] == "checksum"


PRINTABLE = [chr(c) for c in range(0x21, 0x7F)] + [" ", "가", "的", "\u00e9"]


@settings(max_examples=30, deadline=None)
@given(secrets16)
def test_every_single_character_change_of_the_code_is_refused(secret: bytes) -> None:
    code = Card(secret).code
    for position in range(CODE_LENGTH):
        for ch in PRINTABLE:
            if ch == code[position]:
                continue
            changed = code[:position] + ch + code[position + 1 :]
            with pytest.raises(CardError):
                parse_card(changed)


@given(secrets16)
def test_dropped_or_added_character_is_refused(secret: bytes) -> None:
    code = Card(secret).code
    for position in range(CODE_LENGTH):
        with pytest.raises(CardError):
            parse_card(code[:position] + code[position + 1 :])
        with pytest.raises(CardError):
            parse_card(code[:position] + "A" + code[position:])


@pytest.mark.parametrize(
    ("text", "problem", "fragment"),
    [
        ("", None, "13 words"),
        ("abandon ability able", "count", "this has 3"),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZ23456", "length", "32 characters"),
        ("abcdefghijklmnopqrstuvwxyz234567", "character", "Character 1"),
    ],
)
def test_errors_name_the_problem(text: str, problem: str | None, fragment: str) -> None:
    with pytest.raises(CardError) as err:
        parse_card(text)
    assert fragment in err.value.message
    if problem:
        assert err.value.details["problem"] == problem


def test_misspelt_word_is_named_with_a_suggestion() -> None:
    words = Card(bytes(range(16))).words()
    wrong = list(words)
    wrong[3] = words[3][:-1] + ("x" if words[3][-1] != "x" else "y")
    with pytest.raises(CardError) as err:
        parse_words(wrong)
    assert "Word 4" in err.value.message
    assert err.value.details == {"problem": "unknown-word", "position": 4}
    assert "Did you mean" in err.value.message


def test_twelve_words_hint_at_the_check_word() -> None:
    words = Card(bytes(range(16))).words()
    with pytest.raises(CardError, match="check word"):
        parse_words(words[:12])


def test_mixed_languages_are_named() -> None:
    words = Card(bytes(range(16))).words()
    mixed = list(words)
    mixed[6] = Card(bytes(range(16)), "ko").words()[6]
    with pytest.raises(CardError) as err:
        parse_words(mixed)
    assert err.value.details["problem"] == "mixed-language"
    assert "Word 7" in err.value.message


def test_code_crc_failure_is_a_checksum_problem() -> None:
    code = Card(bytes(range(16))).code
    # Change a character to another valid code character.
    changed = ("B" if code[0] != "B" else "C") + code[1:]
    with pytest.raises(CardError) as err:
        parse_code(changed)
    assert err.value.details["problem"] == "checksum"


def test_secret_never_in_repr() -> None:
    card = Card(bytes(range(16)))
    assert bytes(range(16)).hex() not in repr(card)
    assert "secret" not in repr(card)


# What people, keyboards and chat apps put between a card's words or its code's groups.
SEPARATORS = ["-", ",", ", ", "，", "、", ";", "—", "\u200b", " \u200b", "\u3000"]


@settings(max_examples=20, deadline=None)
@given(secrets16, languages, st.sampled_from(SEPARATORS))
def test_separators_between_words_are_read_as_spaces(secret: bytes, language: str, separator: str) -> None:
    card = Card(secret, language)
    assert parse_card(separator.join(card.words())) == card


@given(secrets16, st.sampled_from([" ", "-", "  ", " - "]), st.sampled_from([4, 8]))
def test_a_code_written_in_groups_is_read(secret: bytes, separator: str, size: int) -> None:
    card = Card(secret)
    assert parse_card(separator.join(card.code[i : i + size] for i in range(0, CODE_LENGTH, size))) == card


def test_typing_slips_get_the_fix_not_a_count() -> None:
    card = Card(bytes(range(16)))
    code, words = card.code, card.words()
    grouped_short = " ".join(code[i : i + 4] for i in range(0, CODE_LENGTH, 4))[:-1]
    with pytest.raises(CardError) as err:
        parse_card(grouped_short)
    assert err.value.details == {"problem": "length"}
    assert "has 31 (not counting the spaces or hyphens between groups)" in err.value.message
    with pytest.raises(CardError) as err:
        parse_card(words[0][:3] + "\u200b" + words[0][3:] + " " + " ".join(words[1:]))
    assert "invisible characters (U+200B)" in err.value.message and err.value.details["problem"] == "count"
    with pytest.raises(CardError, match="capital letters"):
        parse_card(code.lower())


@settings(max_examples=3, deadline=None)
@given(secrets16, languages)
def test_a_changed_character_in_typed_words_is_still_refused(secret: bytes, language: str) -> None:
    """Separators are not characters of a word: a slip in the typed text cannot open another card."""
    card = Card(secret, language)
    typed = " ".join(card.words())
    alphabet = sorted({*SEPARATORS[:8], "a", "z", "가", "的", "e", "n", "o"})
    for position, old in enumerate(typed):
        for new in alphabet:
            if new == old:
                continue
            changed = typed[:position] + new + typed[position + 1 :]
            try:
                opened = parse_card(changed)
            except CardError:
                continue
            # Only a separator swapped for another, or a letter's case, may still open the card: the same one.
            assert opened == card and (old == " " or new.lower() == old.lower()), repr(changed)


# How words come back when copied from the printed card, a chat or a note: numbered, comma'd, on several lines,
# with full-width punctuation and spaces from Korean and Chinese keyboards.
NUMBERINGS = ["{n}. {w}", "{n}.{w}", "{n}) {w}", "({n}) {w}", "{n}：{w}", "{n}、{w}", "{n}．{w}", "{w}"]
JOINERS = [" ", ", ", "\n", "\r\n", "\u3000", "，", "。", " ; ", "  \n  "]


@settings(max_examples=60, deadline=None)
@given(secrets16, languages, st.sampled_from(NUMBERINGS), st.sampled_from(JOINERS), st.booleans())
def test_numbered_and_punctuated_words_read_back_to_the_same_card(
    secret: bytes, language: str, numbering: str, joiner: str, trailing: bool
) -> None:
    card = Card(secret, language)
    typed = joiner.join(numbering.format(n=n, w=w) for n, w in enumerate(card.words(), start=1))
    assert parse_card(typed + ("." if trailing else "")) == card
    assert parse_card("\u3000 " + typed.upper() + " \n") == card


@settings(max_examples=20, deadline=None)
@given(secrets16, languages, st.sampled_from(NUMBERINGS), st.integers(0, WORD_COUNT - 1))
def test_numbering_never_hides_a_wrong_word(secret: bytes, language: str, numbering: str, position: int) -> None:
    """Lenient in what is stripped, strict in what is a word: a changed word is still refused."""
    words = Card(secret, language).words()
    wordlist = _wordlist(language)
    words[position] = wordlist[(wordlist.index(words[position]) + 1) % len(wordlist)]
    with pytest.raises(CardError) as err:
        parse_card(" ".join(numbering.format(n=n, w=w) for n, w in enumerate(words, start=1)))
    assert err.value.details["problem"] == "checksum"


def test_a_digit_or_mark_inside_a_word_is_not_stripped() -> None:
    words = Card(bytes(range(16))).words()
    for glued in (words[0][:2] + "1" + words[0][2:], words[0][:2] + "." + words[0][2:]):
        with pytest.raises(CardError) as err:
            parse_card(" ".join([glued, *words[1:]]))
        assert err.value.details["problem"] in {"count", "unknown-word"}


def test_numbered_words_in_capitals_are_words_not_a_code() -> None:
    card = Card(bytes(range(16)))
    assert parse_card(" ".join(f"{n} {w.upper()}" for n, w in enumerate(card.words(), start=2))) == card
    grouped = " ".join(card.code[i : i + 4] for i in range(0, CODE_LENGTH, 4))
    assert parse_card(grouped) == card == parse_card(card.code)


def test_chinese_words_numbered_without_spaces() -> None:
    card = Card(bytes(range(16)), "zh")
    assert parse_card("".join(f"{n}.{w}" for n, w in enumerate(card.words(), start=1))) == card
    assert parse_card("、".join(card.words()) + "。") == card
