"""Pages say errors in their own language from the error's class and structured details, never from its English."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import pytest

from haven import errors
from haven.core.card import parse_card
from haven.core.entries import visit_problems
from haven.errors import ENTRY_REASONS, CardError, EntryError, LockedOutError, RateLimitError
from haven.site.audit import Head
from haven.site.roles import Role
from haven.site.staff import check_name
from haven.web.messages import (
    AUDIT_PROBLEMS,
    CORRECTION_PROBLEMS,
    ENTRY_PROBLEMS,
    INPUT_PROBLEMS,
    WITNESS_PROBLEMS,
    error_message,
)
from haven.web.render import gettext_for
from tests.helpers_clock import TODAY

VAX = {"type": "vaccination", "product": "comirnaty", "date": "2026-10-01"}

# One visit document per translated entry problem, each refused for that problem alone.
REFUSED = {
    "required": [{"type": "test", "result": "negative", "date": "2026-10-01"}],
    "choice": [{**VAX, "dose": 1, "product": "no-such-vaccine"}],
    "whole-number": [{**VAX, "dose": "one"}],
    "range": [{**VAX, "dose": 0}],
    "date-format": [{**VAX, "dose": 1, "date": "01/10/2026"}],
    "date-invalid": [{**VAX, "dose": 1, "date": "2026-02-30"}],
    "date-future": [{**VAX, "dose": 1, "date": "2026-12-01"}],
    "date-too-early": [{**VAX, "dose": 1, "date": "1899-12-31"}],
    "too-long": [{**VAX, "dose": 1, "lot": "L" * 41}],
    "text": [{**VAX, "dose": 1, "lot": 7}],
    "no-entries": [],
    "birth-year-and-age-band": {"entries": [{**VAX, "dose": 1}], "holder": {"birth_year": 1990, "age_band": "18-29"}},
    "number": [{"type": "vitals", "date": "2026-10-01", "temperature_c": "warm"}],
    "decimals": [{"type": "weight", "date": "2026-10-01", "weight_kg": 60.125}],
    "no-measurement": [{"type": "vitals", "date": "2026-10-01"}],
    "pair": [{"type": "vitals", "date": "2026-10-01", "systolic_mmhg": 120}],
    "diastolic-high": [{"type": "vitals", "date": "2026-10-01", "systolic_mmhg": 80, "diastolic_mmhg": 90}],
    "after-entry": [
        {
            "type": "aefi",
            "date": "2026-10-01",
            "product": "td",
            "dose": 1,
            "vaccination_date": "2026-10-02",
            "serious": False,
        }
    ],
    "substance": [{"type": "allergy", "date": "2026-10-01", "substance": "egg", "substance_text": "eggs"}],
}
LOCALES = ("en", "ko", "zh_Hans")
TRANSLATED = {**ENTRY_PROBLEMS, **CORRECTION_PROBLEMS}  # a correction's problems are said as a visit's are


def refusal(problem: str) -> EntryError:
    [found] = visit_problems(REFUSED[problem], TODAY)
    assert found.problem == problem, (problem, found.reason)
    return found


def reworded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every English entry reason written another way (same details, other words, other order)."""
    for problem, template in ENTRY_REASONS.items():
        names = " ".join(f"[{name}]" for _, name, _, _ in string.Formatter().parse(template) if name)
        monkeypatch.setitem(ENTRY_REASONS, problem, f"refused ({problem}), see {names} again")


def test_every_translated_entry_problem_has_a_refused_example() -> None:
    assert set(ENTRY_PROBLEMS) == set(REFUSED) and set(ENTRY_PROBLEMS) <= set(ENTRY_REASONS)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("problem", sorted(REFUSED))
def test_rewording_an_english_reason_does_not_change_its_translation(
    problem: str, locale: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ = gettext_for(locale)
    before = refusal(problem)
    translated = error_message(before, _)
    reworded(monkeypatch)
    after = refusal(problem)
    assert after.reason != before.reason and after.reason.startswith("refused")
    assert error_message(after, _) == translated
    assert translated == _(ENTRY_PROBLEMS[problem]) % before.limits and translated != before.message


def test_the_translations_carry_the_details() -> None:
    ko, zh = gettext_for("ko"), gettext_for("zh_Hans")
    assert error_message(refusal("range"), ko) == "1부터 10 사이의 숫자를 입력하세요."
    future = error_message(refusal("date-future"), zh)
    assert "2026-11-29" in future and "today" not in future
    assert error_message(refusal("too-long"), gettext_for("en")) == "Write at most 40 characters."


@pytest.mark.parametrize("problem", sorted(ENTRY_REASONS))
@pytest.mark.parametrize("locale", LOCALES)
def test_every_entry_problem_has_a_message_in_every_language(problem: str, locale: str) -> None:
    names = [name for _, name, _, _ in string.Formatter().parse(ENTRY_REASONS[problem]) if name]
    limits: dict[str, Any] = {name: ("a", "b") if name == "options" else 3 for name in names}
    error = EntryError("entries[0].x", problem, **limits)
    text = error_message(error, gettext_for(locale))
    assert text and "%(" not in text
    assert (problem in TRANSLATED) is (text != error.message)  # untranslated problems keep the English


@pytest.mark.parametrize("locale", ["ko", "zh_Hans"])
def test_a_card_word_suggestion_comes_from_the_details(locale: str) -> None:
    typed = "abandon ability able about above absent absorb abstract absurd abusee access accident account"
    with pytest.raises(CardError) as caught:
        parse_card(typed)
    error = caught.value
    assert error.suggestion == "abuse"
    _ = gettext_for(locale)
    translated = error_message(error, _, typed)
    error.message = "Reworded: the tenth word is wrong."
    assert error_message(error, _, typed) == translated
    assert "“abuse”" in translated and "“abusee”" in translated and "Did you mean" not in translated


def test_waits_come_from_the_attributes() -> None:
    ko = gettext_for("ko")
    locked, limited = LockedOutError(29.6, 5), RateLimitError(17, "PIN attempts")
    locked.message = limited.message = "reworded"
    assert "30" in error_message(locked, ko) and "17" in error_message(limited, ko)
    assert error_message(errors.PinError("A PIN has at least 4 characters."), ko) == ko("A PIN has 4 to 64 characters.")


def test_the_entry_problems_table_in_the_docs_is_the_code() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "errors.md").read_text("utf-8")
    rows = re.findall(r"^\| `([a-z-]+)` \|\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|\s*(✓?)\s*\|$", text, re.M)
    assert [problem for problem, *_ in rows] == list(ENTRY_REASONS)
    for problem, limits, _reason, page in rows:
        names = {name for _, name, _, _ in string.Formatter().parse(ENTRY_REASONS[problem]) if name}
        assert set(re.findall(r"`(\w+)`", limits)) == names, problem
        assert (page == "✓") is (problem in TRANSLATED), problem


def test_a_wrong_word_among_numbered_words_is_named_as_typed() -> None:
    words = [
        "abandon",
        "ability",
        "able",
        "about",
        "above",
        "absent",
        "absorb",
        "abstract",
        "absurd",
        "abusee",
        "access",
        "accident",
        "account",
    ]
    typed = "\n".join(f"{n}. {w}," for n, w in enumerate(words, start=1))
    with pytest.raises(CardError) as caught:
        parse_card(typed)
    assert caught.value.details["position"] == 10
    text = error_message(caught.value, gettext_for("en"), typed)
    assert text.startswith("Word 10 (“abusee”) is not a card word.")


HAVEN = Path(__file__).resolve().parents[2] / "haven"


def test_every_audit_fault_and_witness_problem_the_code_raises_has_a_page_message() -> None:
    assert set(AUDIT_PROBLEMS) == set(errors.AUDIT_FAULTS)
    raised = set(re.findall(r'problem="([a-z-]+)"', (HAVEN / "site" / "audit.py").read_text("utf-8")))
    assert set(WITNESS_PROBLEMS) == raised
    # Every fault is made from its problem (AuditTamperedError.fault), never from a sentence of its own.
    for path in HAVEN.rglob("*.py"):
        if path.name != "errors.py":
            assert "AuditTamperedError(" not in path.read_text("utf-8"), path


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("problem", sorted(errors.AUDIT_FAULTS))
def test_every_audit_fault_has_a_message_in_every_language(problem: str, locale: str) -> None:
    names = [name for _, name, _, _ in string.Formatter().parse(errors.AUDIT_FAULTS[problem]) if name]
    fault = errors.AuditTamperedError.fault(problem, 17, **{name: 23 for name in names if name != "seq"})
    text = error_message(fault, gettext_for(locale))
    assert text and "%(" not in text and all(("17" if n == "seq" else "23") in text for n in names)
    # English is the command line's sentence; Korean and Chinese are their own.
    assert (text == fault.message) is (locale == "en"), text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("typed", ["7", "x:00", "7:abcd"])
def test_a_witnessed_head_that_does_not_parse_is_refused_in_every_language(typed: str, locale: str) -> None:
    with pytest.raises(errors.InputError) as caught:
        Head.parse(typed)
    assert caught.value.problem in WITNESS_PROBLEMS
    text = error_message(caught.value, gettext_for(locale))
    assert text == gettext_for(locale)(WITNESS_PROBLEMS[str(caught.value.problem)]) and text != caught.value.message


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("typed", [" ", "x" * 97, "a\x07b", None])
def test_a_refused_staff_name_or_no_role_is_said_in_every_language(typed: str | None, locale: str) -> None:
    with pytest.raises(errors.InputError) as caught:
        check_name(typed) if typed is not None else Role.parse([])
    assert caught.value.problem in INPUT_PROBLEMS
    text = error_message(caught.value, gettext_for(locale))
    assert text and "%(" not in text and (text == caught.value.message) is (locale == "en"), text
