"""Roles on every staff route, CSRF on every state change, cookies, headers, rate limits, sessions."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from haven.site.roles import Permission, allowed
from haven.web import WebSettings, WebSite, create_app
from haven.web.app import api_routes
from haven.web.deps import UNSAFE
from tests.helpers_clock import MonotonicClock
from tests.web.conftest import PASSPHRASES, ROLES, csrf_of, sign_in


def staff_routes(app: FastAPI) -> list[tuple[str, str, Permission | None]]:
    """(method, path, permission) of every route behind a staff dependency."""
    out = []
    for route in api_routes(app):
        stack = list(route.dependant.dependencies)
        while stack:
            dep = stack.pop()
            if hasattr(dep.call, "permission"):
                for method in sorted(route.methods or ()):
                    out.append((method, route.path, dep.call.permission))
                break
            stack.extend(dep.dependencies)
    return out


def unsafe_routes(app: FastAPI) -> list[tuple[str, str]]:
    return [(m, r.path) for r in api_routes(app) for m in sorted(r.methods or ()) if m in UNSAFE]


def call(client: TestClient, method: str, path: str, token: str | None = None) -> int:
    headers = {"X-CSRF-Token": token} if token else {}
    r = client.request(method, path, headers=headers, follow_redirects=False)
    return r.status_code


def test_every_staff_page_and_operation_is_behind_a_role(app: FastAPI) -> None:
    routes = staff_routes(app)
    paths = {p for _, p, _ in routes}
    # Everything a signed-in person uses is covered, pages and API alike.
    for path in ("/", "/card", "/card/visit", "/card/history", "/counts", "/api/visits", "/api/history", "/api/counts"):
        assert path in paths
    every = {(m, r.path) for r in api_routes(app) for m in r.methods or ()}
    public = every - {(m, p) for m, p, _ in routes}
    assert public == {
        ("GET", "/sign-in"),
        ("POST", "/sign-in"),
        ("POST", "/language"),
        ("GET", "/verify"),
        ("GET", "/verify/sw.js"),
        ("GET", "/verify/foreign-trust"),
        ("GET", "/api/health"),
        ("GET", "/api/catalogue"),
        ("GET", "/api/trust-list"),
        ("GET", "/api/session"),
        ("POST", "/api/session"),
    }


def test_every_staff_route_refuses_a_signed_out_request(app: FastAPI, client: TestClient) -> None:
    client.get("/api/session")  # an anonymous session, so CSRF cannot be what refuses it
    for method, path, _ in staff_routes(app):
        r = client.request(method, path, follow_redirects=False)
        if path.startswith("/api/"):
            assert r.status_code == 401, (method, path, r.text)
            assert r.json()["error"]["code"] == "auth"
        else:
            assert r.status_code == 303 and r.headers["location"] == "/sign-in", (method, path, r.status_code)


@pytest.mark.parametrize("name", sorted(ROLES))
def test_every_staff_route_refuses_a_wrong_role(app: FastAPI, client: TestClient, name: str) -> None:
    """Every account (one per role, and one with two roles) against every route it may not use."""
    token = sign_in(client, name)
    checked = 0
    for method, path, permission in staff_routes(app):
        if permission is None or allowed(ROLES[name], permission):
            continue
        r = client.request(method, path, headers={"X-CSRF-Token": token}, follow_redirects=False)
        assert r.status_code == 403, (name, method, path, r.status_code)
        if path.startswith("/api/"):
            assert r.json()["error"]["code"] == "permission-denied"
        checked += 1
    assert checked > 0


def test_every_state_change_refuses_a_missing_or_wrong_csrf_token(app: FastAPI, client: TestClient) -> None:
    routes = unsafe_routes(app)
    assert len(routes) >= 15
    for method, path in routes:
        needed = next((perm for m, p, perm in staff_routes(app) if (m, p) == (method, path)), None)
        who = next((n for n, roles in ROLES.items() if needed is None or allowed(roles, needed)), "clinician")
        sign_in(client, who)
        for token in (None, "not-the-token"):
            r = client.request(method, path, headers={"X-CSRF-Token": token} if token else {}, follow_redirects=False)
            assert r.status_code == 403, (method, path, token, r.status_code, r.text[:200])
            if path.startswith("/api/"):
                assert r.json()["error"]["code"] == "csrf"


def test_a_form_with_the_token_in_a_field_is_accepted(client: TestClient) -> None:
    page = client.get("/sign-in")
    r = client.post(
        "/sign-in",
        data={
            "name": "clinician",
            "passphrase": "copper lantern meadow violet anchor",
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_the_app_refuses_to_start_with_an_unprotected_state_change(app: FastAPI) -> None:
    from haven.web import app as app_module

    @app.post("/api/unprotected")
    def unprotected() -> None: ...

    with pytest.raises(RuntimeError, match="/api/unprotected has no CSRF check"):
        app_module._check_every_state_change_is_protected(app)


# ---------------------------------------------------------------- sessions and cookies


def test_session_cookie_is_httponly_strict_and_rotated_on_sign_in(client: TestClient) -> None:
    r = client.get("/sign-in")
    first = r.headers["set-cookie"]
    assert "HttpOnly" in first and "SameSite=Strict" in first and "Path=/" in first
    assert "Secure" not in first  # plain http on loopback; see the https test
    before = client.cookies["haven_session"]
    sign_in(client, "registrar")
    assert client.cookies["haven_session"] != before
    # The old id is dead: fixing a session id before sign-in gains nothing.
    other = TestClient(client.app, base_url="http://127.0.0.1", cookies={"haven_session": before})
    assert other.get("/api/session").json()["signed_in"] is False


def test_cookies_are_secure_over_https(app: FastAPI) -> None:
    with TestClient(app, base_url="https://127.0.0.1") as secure_client:
        r = secure_client.get("/sign-in")
    assert "Secure" in r.headers["set-cookie"]
    assert r.headers["strict-transport-security"].startswith("max-age=")


def test_sign_out_ends_the_session(client: TestClient) -> None:
    token = sign_in(client, "clinician")
    assert client.delete("/api/session", headers={"X-CSRF-Token": token}).status_code == 204
    assert client.get("/api/history").status_code == 401


def test_sessions_and_open_cards_time_out(client: TestClient, clock: MonotonicClock) -> None:
    token = sign_in(client, "clinician")
    new = client.post("/api/cards", json={"language": "en"}, headers={"X-CSRF-Token": token})
    assert new.status_code == 200
    clock.now += 5 * 60 + 1  # the card's idle timeout
    r = client.get("/api/cards/open")
    assert r.status_code == 409 and r.json()["error"]["code"] == "no-open-card"
    clock.now += 30 * 60 + 1  # the session's
    assert client.get("/api/session").json()["signed_in"] is False


def test_the_card_is_never_in_a_cookie_or_a_url(client: TestClient) -> None:
    token = sign_in(client, "registrar")
    page = client.get("/")
    r = client.post("/cards/new", data={"language": "en", "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.headers["location"] == "/card/print"
    printed = client.get("/card/print")
    words = [w for w in printed.text.split('<ol class="wallet-words"')[1].split("</ol>")[0].split("<li>")[1:]]
    assert len(words) == 13
    for cookie in client.cookies.jar:
        assert not any(w.split("<")[0] in (cookie.value or "") for w in words)
    assert token


def test_security_headers_and_no_third_party_sources(client: TestClient) -> None:
    for path in ("/sign-in", "/verify", "/api/health", "/static/css/haven.css", "/nowhere"):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "http" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
    assert client.get("/sign-in").headers["cache-control"] == "no-store"
    assert client.get("/api/health").headers["cache-control"] == "no-store"
    assert "max-age" in client.get("/static/css/haven.css").headers["cache-control"]


def test_pages_have_no_inline_script_or_style(client: TestClient) -> None:
    import re

    sign_in(client, "clinician")
    for path in ("/sign-in", "/", "/verify"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert "style=" not in html and "<style" not in html, path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers
        assert not re.search(r"(src|href)=\"(https?:)?//", html), path


# ---------------------------------------------------------------- rate limits


def test_card_attempts_are_rate_limited_per_session(client: TestClient, clock: MonotonicClock) -> None:
    token = sign_in(client, "registrar")
    for _ in range(20):
        r = client.post("/api/cards/open", json={"card": "abandon"}, headers={"X-CSRF-Token": token})
        assert r.status_code == 400
    r = client.post("/api/cards/open", json={"card": "abandon"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "rate-limited"
    assert 0 < int(r.headers["retry-after"]) <= 300
    clock.now += 301
    r = client.post("/api/cards/open", json={"card": "abandon"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 400


def test_pin_attempts_have_their_own_tighter_limit(client: TestClient) -> None:
    from haven.core.card import Card

    token = sign_in(client, "registrar")
    code = Card(bytes(16)).code
    statuses = [
        client.post(
            "/api/cards/open", json={"card": code, "pin": f"wrong{i}"}, headers={"X-CSRF-Token": token}
        ).status_code
        for i in range(6)
    ]
    assert statuses == [200] * 5 + [429]
    # Without a PIN the card limit still has room.
    assert client.post("/api/cards/open", json={"card": code}, headers={"X-CSRF-Token": token}).status_code == 200


def test_card_attempts_are_rate_limited_per_address_across_sessions(app: FastAPI) -> None:
    statuses = []
    for _ in range(4):  # four sessions from one address: 60 attempts in all pass, the 61st does not
        with TestClient(app, base_url="http://127.0.0.1") as c:
            token = sign_in(c, "registrar")
            for _ in range(16):
                r = c.post("/api/cards/open", json={"card": "x"}, headers={"X-CSRF-Token": token})
                statuses.append(r.status_code)
    assert statuses.count(400) == 60 and statuses[60:] == [429] * 4


def test_wrong_name_and_wrong_passphrase_read_the_same(client: TestClient) -> None:
    token = client.get("/api/session").json()["csrf_token"]
    attempts = [
        ("nobody", "x"),
        ("clinician", "x"),
        ("registrar", PASSPHRASES["clinician"]),  # a real passphrase under another account's name
    ]
    answers = []
    for name, passphrase in attempts:
        r = client.post("/api/session", json={"name": name, "passphrase": passphrase}, headers={"X-CSRF-Token": token})
        answers.append((r.status_code, r.json()))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 401 and answers[0][1]["error"]["details"] == {"reason": "credentials"}


def test_the_name_is_matched_without_regard_to_case(client: TestClient) -> None:
    token = client.get("/api/session").json()["csrf_token"]
    r = client.post(
        "/api/session",
        json={"name": "  CLINICIAN ", "passphrase": PASSPHRASES["clinician"]},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200 and r.json()["staff"] == {"name": "clinician", "roles": ["clinician"]}


def test_anonymous_sessions_cannot_push_out_signed_in_staff(site: WebSite) -> None:
    app = create_app(WebSettings(max_sessions=3), site)
    with TestClient(app, base_url="http://127.0.0.1") as staff_client:
        sign_in(staff_client, "clinician")
        for _ in range(10):  # (not entered: entering runs the lifespan, whose end closes every session)
            TestClient(app, base_url="http://127.0.0.1").get("/sign-in")
        assert staff_client.get("/api/session").json()["signed_in"] is True
