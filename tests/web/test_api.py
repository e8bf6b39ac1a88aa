"""The JSON API: the clinic flow end to end, errors as documented, and the OpenAPI description."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from haven.cert_services import TRUST_LIST, Certificates
from haven.certs.trust import parse_trust_list
from haven.core.card import parse_card
from haven.web.site import WebSite
from tests.web.conftest import sign_in


def test_clinic_flow_through_the_api(client: TestClient, site: WebSite) -> None:
    token = sign_in(client, "clinician")
    h = {"X-CSRF-Token": token}
    new = client.post("/api/cards", json={"language": "ko"}, headers=h).json()
    assert len(new["words"]) == 13 and len(new["qr"]) == 32
    assert client.get("/api/cards/open").json() == {"has_records": False, "new": True, "words_language": "ko"}
    visit = [
        {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-11-01"},
        {"type": "test", "test": "antigen", "result": "negative", "date": "2026-11-01"},
    ]
    added = client.post("/api/visits", json={"visit": visit}, headers=h)
    assert added.status_code == 200 and added.json() == {"index": 0, "entries": 2, "first_visit": True, "stored": True}
    assert client.delete("/api/cards/open", headers=h).status_code == 204
    assert client.get("/api/history").status_code == 409
    opened = client.post("/api/cards/open", json={"card": " ".join(new["words"])}, headers=h)
    assert opened.json()["has_records"] is True
    history = client.get("/api/history").json()
    assert [e["type"] for e in history["visits"][0]["entries"]] == ["vaccination", "test"]
    assert history["next_due"][0]["dose"] == 2 and history["next_due"][0]["earliest"] == "2026-11-22"
    assert site.clinic().history(parse_card(new["qr"])).to_doc() == history


def test_an_unknown_card_needs_first_visit(client: TestClient) -> None:
    from haven.core.card import Card

    token = sign_in(client, "registrar")
    h = {"X-CSRF-Token": token}
    client.post("/api/cards/open", json={"card": Card(bytes(16)).code}, headers=h)
    r = client.post("/api/visits", json={"visit": [{"type": "note", "date": "2026-11-01", "text": "x"}]}, headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "no-records"
    r = client.post(
        "/api/visits",
        json={"visit": [{"type": "note", "date": "2026-11-01", "text": "x"}], "first_visit": True},
        headers=h,
    )
    assert r.status_code == 200


def test_errors_are_typed(client: TestClient) -> None:
    token = sign_in(client, "registrar")
    h = {"X-CSRF-Token": token}
    r = client.post("/api/cards/open", json={"card": "zebra zebra"}, headers=h)
    assert r.status_code == 400
    assert r.json()["error"] == {
        "code": "invalid-card",
        "message": "A card has 13 words; this has 2.",
        "details": {"problem": "count"},
    }
    client.post("/api/cards", json={}, headers=h)
    r = client.post("/api/visits", json={"visit": [{"type": "test", "test": "pcr", "date": "2026-11-01"}]}, headers=h)
    assert r.status_code == 422
    assert r.json()["error"]["details"] == {"field": "entries[0].result", "reason": "is required"}
    r = client.post("/api/visits", json={"not": "a visit"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad-input"
    r = client.post("/api/cards", json={"pin": "12"}, headers=h)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid-pin"


def test_public_operations(client: TestClient) -> None:
    assert client.get("/api/health").json()["status"] == "ok"
    cat = client.get("/api/catalogue").json()
    assert "comirnaty" in {p["key"] for p in cat["products"]}
    assert cat["tests"] == ["antigen", "pcr", "hiv-rdt", "syphilis-rdt", "hbsag-rdt", "malaria-rdt", "tb-xpert"]
    assert cat["test_results"]["antigen"] == ["positive", "negative", "invalid"]
    assert cat["test_results"]["hiv-rdt"] == ["reactive", "non-reactive", "invalid"]


def test_trust_list_is_the_sites_signed_list_and_is_served_alike_while_locked(
    client: TestClient, site: WebSite
) -> None:
    r = client.get("/api/trust-list")
    assert r.status_code == 200 and r.headers["content-type"] == "application/cbor"
    listed = parse_trust_list(r.content, None)
    assert r.content == Certificates(site.store).export_list() and listed.network == "standalone"
    site.lock()
    locked = client.get("/api/trust-list")
    # The same answer, byte for byte and header for header: it does not tell locked from unlocked.
    assert (locked.status_code, locked.content) == (200, r.content)

    def headers(answer: httpx.Response) -> dict[str, str]:
        return {k: v for k, v in answer.headers.items() if k != "date"}

    assert headers(locked) == headers(r)


def test_a_site_without_a_trust_list_says_so(client: TestClient, site: WebSite) -> None:
    site.store.put_setting(TRUST_LIST, b"")  # as if none: the stored value is empty
    site.store.delete_setting(TRUST_LIST)
    r = client.get("/api/trust-list")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not-found"


def test_openapi_tags_public_and_staff_and_describes_auth(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    ops = {(m.upper(), p): op for p, item in doc["paths"].items() for m, op in item.items()}
    public = {k for k, op in ops.items() if "public" in op.get("tags", [])}
    assert public == {
        ("GET", "/api/health"),
        ("GET", "/api/catalogue"),
        ("GET", "/api/trust-list"),
        ("GET", "/api/session"),
        ("POST", "/api/session"),
    }
    for key, op in ops.items():
        if key not in public:
            assert op["tags"] == ["staff"], key
            schemes = {name for requirement in op["security"] for name in requirement}
            assert schemes == {"APIKeyCookie", "APIKeyHeader"}, key
    schemes = doc["components"]["securitySchemes"]
    assert schemes["APIKeyCookie"]["name"] == "haven_session" and schemes["APIKeyHeader"]["name"] == "X-CSRF-Token"
    # Pages are not API operations; nothing in the description loads from elsewhere.
    assert not any(p in doc["paths"] for p in ("/", "/card", "/verify"))
    assert client.get("/docs").status_code == 404


def test_a_visit_the_checks_warn_about_needs_confirm_and_keeps_it(client: TestClient) -> None:
    token = sign_in(client, "clinician")
    h = {"X-CSRF-Token": token}
    client.post("/api/cards", json={}, headers=h)
    dose_1 = [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-11-01"}]
    assert client.post("/api/visits", json={"visit": dose_1}, headers=h).status_code == 200
    again = [{**dose_1[0], "date": "2026-11-02"}]
    r = client.post("/api/visits", json={"visit": again}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "needs-confirmation"
    assert r.json()["error"]["details"]["warnings"] == [
        {
            "code": "dose-already-given",
            "field": "entries[0].dose",
            "details": {"product": "comirnaty", "dose": 1, "recorded": 1},
        }
    ]
    assert len(client.get("/api/history").json()["visits"]) == 1
    r = client.post("/api/visits", json={"visit": again, "confirm": "first dose record was a mistake"}, headers=h)
    assert r.status_code == 200
    (_, second) = client.get("/api/history").json()["visits"]
    assert second["confirmed"] == {"reason": "first dose record was a mistake", "warnings": ["dose-already-given"]}
