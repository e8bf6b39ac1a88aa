"""schemathesis against /openapi.json: whatever it sends, signed in or not, no 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from haven.core.card import Card
from haven.web import WebSettings, WebSite, create_app
from tests.helpers_clock import NOW, TODAY
from tests.web.conftest import make_keys, sign_in


@dataclass
class Credentials:
    session: str
    csrf: str


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[schemathesis.BaseSchema, Credentials]]:
    site = WebSite(keys=make_keys(tmp_path / "site"), today=lambda: TODAY, now=lambda: NOW)
    app = create_app(WebSettings(allowed_hosts=("testserver",)), site)  # the host schemathesis' client sends
    with TestClient(app, base_url="http://127.0.0.1") as client:
        token = sign_in(client, "clinician")
        card = Card(bytes(range(16)))
        client.post("/api/cards/open", json={"card": card.code}, headers={"X-CSRF-Token": token})
        credentials = Credentials(client.cookies["haven_session"], token)
        yield schemathesis.openapi.from_asgi("/openapi.json", app), credentials


def test_no_server_errors(api: tuple[schemathesis.BaseSchema, Credentials]) -> None:
    """Every operation, fuzzed from its schema: signed in as a clinician with a card open, and signed out.

    (Driven through Hypothesis directly: schemathesis' pytest plugin does not run on this pytest.)
    """
    schema, credentials = api
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    # Signing out ends the session the other operations use: fuzz it last.
    operations.sort(key=lambda op: (op.method.upper(), op.path) == ("DELETE", "/api/session"))
    seen: dict[tuple[str, str], set[int]] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
        )
        def fuzz(case: schemathesis.Case) -> None:
            signed_in = case.call(
                headers={"X-CSRF-Token": credentials.csrf}, cookies={"haven_session": credentials.session}
            )
            assert signed_in.status_code < 500, (case.method, case.path, signed_in.status_code, signed_in.text[:300])
            seen.setdefault((case.method.upper(), case.path), set()).add(signed_in.status_code)
            anonymous = case.call()
            assert anonymous.status_code < 500, (case.method, case.path, anonymous.status_code)

        fuzz()
    # The signed-in calls really were signed in: staff reads succeeded.
    assert 200 in seen[("GET", "/api/history")] or 404 in seen[("GET", "/api/history")]
    assert 200 in seen[("GET", "/api/cards/open")]
