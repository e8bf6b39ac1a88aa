"""Hostile or malformed request bodies get one clear, documented refusal: never a 500, never an undocumented code."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from haven.web import handlers
from tests.web.conftest import ROOT

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"card": ' + DEEP + "}", "nested more than 32 levels deep"),
        ("[" * 100_000, "nested more than 32 levels deep"),
        ('{"card": ' + "9" * 5000 + "}", "a number of 5000 characters"),
        ('{"card": 1e999}', "the number 1e999 is too large"),
        ('{"card": NaN}', "NaN is not a JSON number"),
        ('{"card": "a", "card": "b"}', "the key 'card' appears twice"),
        ('{"card": "\\ud800"}', "lone surrogate"),
        (b'{"card": "\xff"}', "byte 11 is not UTF-8 text"),
        ('{"card": [1', "Expecting"),
    ],
)
def test_hostile_json_bodies_get_a_clear_400(
    client: TestClient, signed_in: Callable[[str], str], body: str | bytes, reason: str
) -> None:
    token = signed_in("registrar")
    r = client.post(
        "/api/cards/open", content=body, headers={"X-CSRF-Token": token, "Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "bad-input"
    assert error["message"].startswith("The request body is not valid JSON: ") and reason in error["message"]


def test_strict_bodies_still_work(client: TestClient, signed_in: Callable[[str], str]) -> None:
    token = signed_in("registrar")
    r = client.post("/api/cards", json={"language": "en"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and len(r.json()["words"]) == 13


def test_framework_refusals_have_documented_codes(client: TestClient, signed_in: Callable[[str], str]) -> None:
    documented = (ROOT / "docs" / "web.md").read_text("utf-8")
    errors_section = documented.split("## Errors", 1)[1].split("\n## ", 1)[0]
    for code in {*handlers.FRAMEWORK_CODES.values(), handlers.OTHER_REFUSAL}:
        assert re.search(rf"`{code}` \d{{3}}|`{code}` with", errors_section), f"{code} is not in docs/web.md"
    token = signed_in("registrar")
    limit: int = client.app.state.haven.settings.upload_max_bytes  # type: ignore[attr-defined]

    def too_large() -> Iterator[bytes]:  # streamed (no Content-Length), so the route's reading refuses it
        yield b"{"
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536
        yield b"}"

    seen = {
        client.get("/api/no-such-thing").json()["error"]["code"],
        client.put("/api/health", headers={"X-CSRF-Token": token}).json()["error"]["code"],
        client.post(
            "/api/cards/open",
            content=too_large(),
            headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
        ).json()["error"]["code"],
    }
    assert seen == {"not-found", "method-not-allowed", "too-large"}


def test_card_messages_name_the_word_typed_between_separators() -> None:
    """Pages rebuild card errors from what was typed: split the way the card's parser splits it."""
    from haven.core.card import Card, parse_card
    from haven.errors import CardError
    from haven.web.messages import error_message

    words = Card(bytes(range(16))).words()
    for separator in ("-", "，", "\u200b", " "):
        typed = separator.join([words[0], words[1] + "x", *words[2:]])
        with pytest.raises(CardError) as err:
            parse_card(typed)
        assert error_message(err.value, lambda s: s, typed).startswith(f"Word 2 (“{words[1]}x”) is not a card word.")
    code = Card(bytes(range(16))).code
    grouped = " ".join(code[i : i + 4] for i in range(0, 32, 4))[:-1]
    with pytest.raises(CardError) as err:
        parse_card(grouped)
    assert error_message(err.value, lambda s: s, grouped) == "A card code has 32 characters; this one has 31."
