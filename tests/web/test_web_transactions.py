"""The web app's "saved" is true: a visit and its audit entry commit together, and two staff
signed in at once, adding to one card, never get the same index."""

from __future__ import annotations

import secrets
import threading

from fastapi import FastAPI
from fastapi.testclient import TestClient

from haven.core.card import Card
from haven.web.site import Site
from tests.test_transactions import VISIT, _fail_audit, _heal_audit, _indexes
from tests.web.conftest import sign_in


def test_a_web_visit_whose_audit_entry_fails_is_not_stored(client: TestClient, site: Site) -> None:
    h = {"X-CSRF-Token": sign_in(client, "registrar")}
    assert client.post("/api/cards", json={"language": "en"}, headers=h).status_code == 200
    _fail_audit(site.store)
    r = client.post("/api/visits", json={"visit": VISIT}, headers=h)
    assert r.status_code == 507 and r.json()["error"]["code"] == "store-full"
    assert site.store.count() == 0
    _heal_audit(site.store)
    assert client.post("/api/visits", json={"visit": VISIT}, headers=h).json()["index"] == 0
    assert site.store.count() == 1


def test_two_web_sessions_adding_to_one_card_get_distinct_indexes(client: TestClient, app: FastAPI, site: Site) -> None:
    card = Card(secrets.token_bytes(16))
    site.clinic().add_visit(card, VISIT, first_visit=True)
    second = TestClient(app, base_url="http://127.0.0.1")  # another browser: its own session cookie
    sessions = []
    for c, who in ((client, "registrar"), (second, "ana")):
        h = {"X-CSRF-Token": sign_in(c, who)}
        assert c.post("/api/cards/open", json={"card": card.code}, headers=h).status_code == 200
        sessions.append((c, h))
    start = threading.Barrier(2)
    answers: list[int] = []
    failures: list[str] = []

    def add(c: TestClient, h: dict[str, str]) -> None:
        start.wait()
        for _ in range(10):
            r = c.post("/api/visits", json={"visit": VISIT}, headers=h)
            if r.status_code != 200:
                failures.append(r.text)
                return
            answers.append(r.json()["index"])

    threads = [threading.Thread(target=add, args=session) for session in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert sorted(answers) == list(range(1, 21))
    assert _indexes(site.store, card) == list(range(21))
