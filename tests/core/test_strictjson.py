"""JSON from people is read strictly: hostile input gets one clear line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haven.core import strictjson
from haven.core.card import Card
from haven.errors import InputError

DEEP = "[" * 100_000 + "]" * 100_000

HOSTILE = [
    (DEEP, "nested more than 32 levels deep (line 1, column 33)"),
    ("[" * 100_000, "nested more than 32 levels deep"),
    ('{"a": ' * 50_000 + "1" + "}" * 50_000, "nested more than 32 levels deep"),
    ("[" * 400 + "]" * 400, "nested more than 32 levels deep (line 1, column 33)"),  # parsed, then counted
    ("[" * 33 + "]" * 33, "nested more than 32 levels deep"),
    ("[" + "9" * 5000 + "]", "a number of 5000 characters (at most 32)"),
    ("[0." + "1" * 5000 + "]", "a number of 5002 characters"),
    ("[1e999]", "the number 1e999 is too large"),
    ("[NaN]", "NaN is not a JSON number"),
    ("[-Infinity]", "-Infinity is not a JSON number"),
    ('{"dose": 1, "dose": 2}', "the key 'dose' appears twice in one object"),
    ('["\\udc00"]', "lone surrogate"),
    ("[1,]", "Expecting value (line 1, column 4)"),
    ('"unterminated [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[', "Unterminated string"),
]


@pytest.mark.parametrize(("text", "reason"), HOSTILE)
def test_hostile_json_is_one_clear_input_error(text: str, reason: str) -> None:
    with pytest.raises(InputError) as err:
        strictjson.loads(text, "entries document")
    assert err.value.message.startswith("The entries document is not valid JSON: ")
    assert reason in err.value.message and "\n" not in err.value.message


def test_bytes_must_be_utf8_and_a_bom_is_not_content() -> None:
    with pytest.raises(InputError, match="byte 3 is not UTF-8 text"):
        strictjson.loads(b'["\xc3\x28"]', "request body")
    assert strictjson.loads("\ufeff[1]") == [1]
    assert strictjson.loads(b"\xef\xbb\xbf[1]") == [1]


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    doc = {"note": "[" * 1000 + "{" * 1000, "nested": [[[[{"a": [1]}]]]]}
    assert strictjson.loads(json.dumps(doc)) == doc
    wide = [[[]]] * 1000  # many brackets, little depth
    assert strictjson.loads(json.dumps(wide)) == wide
    deepest = "[" * 32 + "]" * 32
    assert strictjson.loads(deepest) == json.loads(deepest)


documents = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(documents)
def test_every_ordinary_document_reads_as_json_loads_reads_it(doc: Any) -> None:
    text = json.dumps(doc, ensure_ascii=False)
    assert strictjson.loads(text) == json.loads(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from('[]{}",:0123456789e.-\\u NaInfity tr\ud800\n')))
def test_any_text_parses_or_is_an_input_error(text: str) -> None:
    try:
        strictjson.loads(text)
    except InputError as exc:
        assert exc.message.startswith("not valid JSON: ")


# The CLI and the import use the same loader: each case is one line on stderr and exit 2.
CLI_CASES = [case for case in HOSTILE if case[0] in (DEEP, "[" + "9" * 5000 + "]", '{"dose": 1, "dose": 2}')]
VAX = {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}


@pytest.mark.parametrize(("text", "reason"), CLI_CASES)
def test_visit_add_refuses_hostile_entries_in_one_line(run_cli: Any, text: str, reason: str) -> None:
    assert run_cli("init", "--admin", "amal").code == 0
    card = Card(bytes(range(16))).code
    result = run_cli("visit", "add", "--card", "-", "--first-visit", "--entries", "-", stdin=f"{card}\n{text}")
    assert result.code == 2
    assert result.err.strip() == f"haven: The entries document is not valid JSON: {reason}."


@pytest.mark.parametrize(("text", "reason"), CLI_CASES)
def test_import_refuses_a_hostile_line_in_one_line(run_cli: Any, tmp_path: Path, text: str, reason: str) -> None:
    assert run_cli("init", "--admin", "amal").code == 0
    good = json.dumps({"card": Card(bytes(range(16))).code, "entries": [VAX]})
    (tmp_path / "visits.jsonl").write_text(f"{good}\n{text}\n", "utf-8")
    result = run_cli("visit", "import", str(tmp_path / "visits.jsonl"), "--workers", "0")
    assert result.code == 2
    assert result.err.strip().startswith(f"haven: Line 2: not valid JSON: {reason}.")
    assert len(result.err.strip().splitlines()) == 1


def test_trust_files_from_an_operator_are_read_strictly(tmp_path: Path) -> None:
    """A JWKS (or its revocation lists) given to `trust add-issuer`."""
    from haven.cli.issuer_files import read_shc_issuer

    (tmp_path / "jwks.json").write_text('{"keys": ' + DEEP + "}", "utf-8")
    with pytest.raises(InputError, match=r"^The JWKS file .* is not valid JSON: nested more than 32 levels deep"):
        read_shc_issuer(tmp_path / "jwks.json")


def test_an_import_file_saved_with_a_byte_order_mark_is_read(run_cli: Any, tmp_path: Path) -> None:
    assert run_cli("init", "--admin", "amal").code == 0
    line = json.dumps({"card": Card(bytes(range(16))).code, "entries": [VAX]})
    (tmp_path / "visits.jsonl").write_text(f"\ufeff{line}\n", "utf-8")  # as Windows Notepad saves UTF-8
    result = run_cli("visit", "import", str(tmp_path / "visits.jsonl"), "--workers", "0", "--json")
    assert (result.code, result.json()) == (0, {"imported": 1, "already_imported": 0}), result.err
