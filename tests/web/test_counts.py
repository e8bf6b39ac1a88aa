"""/counts from sealed tallies: a registrar's visits count, only a coordinator reads them, and a fold keeps them."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from haven.web.site import WebSite
from tests.web.conftest import sign_in

TEST = {"type": "test", "test": "antigen", "result": "negative", "date": "2026-11-24"}
TD = {"type": "vaccination", "product": "td", "dose": 1, "date": "2026-11-24"}


def _visits(registrar: TestClient, token: str, visits: list[list[dict[str, object]]]) -> None:
    h = {"X-CSRF-Token": token}
    for entries in visits:
        assert registrar.post("/api/cards", json={}, headers=h).status_code == 200
        assert registrar.post("/api/visits", json={"visit": entries, "first_visit": True}, headers=h).status_code == 200


def _week(coordinator: TestClient) -> dict[str, str]:
    doc = coordinator.get("/api/counts", params={"week": "2026-W48"}).json()
    return {f"{r['kind']} {r['key']}": r["shown"] for r in doc["rows"]}


def test_a_coordinator_counts_a_registrars_visits_suppressed_before_and_after_a_fold(
    app: FastAPI, client: TestClient, site: WebSite
) -> None:
    with TestClient(app, base_url="http://127.0.0.1") as registrar:
        token = sign_in(registrar, "registrar")
        _visits(registrar, token, [[TEST, TD]] + [[TEST]] * 5)
        assert registrar.get("/api/counts").status_code == 403
        assert len(site.store.tallies()) == 6  # one sealed tally per visit
        sign_in(client, "coordinator")
        assert _week(client) == {"test antigen negative": "6", "vaccination td": "<5"}
        assert len(site.store.tallies()) == 1  # folded into one when the coordinator read them
        _visits(registrar, token, [[TD]] * 4)
        assert len(site.store.tallies()) == 5
        page = client.get("/counts?week=2026-W48")
        assert page.status_code == 200 and ">6</td>" in page.text and ">5</td>" in page.text
        assert len(site.store.tallies()) == 1
        assert _week(client) == {"test antigen negative": "6", "vaccination td": "5"}
        assert client.get("/api/counts", params={"week": "2026-W48"}).json()["unreadable"] == 0
