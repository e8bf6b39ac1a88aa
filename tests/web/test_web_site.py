"""Sign-in through the key slots: a server that starts locked, auto-lock, duress and panic over the web."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from haven.core.card import Card
from haven.site.site import Site
from haven.web import WebSettings, WebSite, create_app
from haven.web.deps import AnyStaff
from tests.helpers_clock import NOW, MonotonicClock
from tests.web.conftest import DURESS, PASSPHRASES, csrf_of, make_keys, sign_in
from tests.web.test_pages import open_typed, page_sign_in

VISIT = [{"type": "vaccination", "product": "td", "dose": 1, "date": "2026-11-01"}]


@pytest.fixture
def locked(tmp_path: Path, clock: MonotonicClock) -> WebSite:
    """A server's site as `haven serve` starts it: locked, holding no key."""
    return WebSite(keys=make_keys(tmp_path / "locked"), now=lambda: NOW, clock=clock)


def client_of(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1")


def api_sign_in(client: TestClient, name: str, passphrase: str, clock: MonotonicClock | None = None) -> int:
    """Sign in; with ``clock``, wait out the site's backoff (moving the clock) instead of answering 429."""
    token = client.get("/api/session").json()["csrf_token"]
    while True:
        r = client.post("/api/session", json={"name": name, "passphrase": passphrase}, headers={"X-CSRF-Token": token})
        if clock is None or r.status_code != 429:
            return r.status_code
        clock.now += int(r.headers["retry-after"])


def test_the_server_starts_locked_and_the_first_sign_in_opens_the_site(locked: WebSite) -> None:
    app = create_app(WebSettings(), locked)
    c = client_of(app)
    assert locked.locked
    assert c.get("/", follow_redirects=False).headers["location"] == "/sign-in"
    assert c.get("/sign-in").status_code == 200 and c.get("/verify").status_code == 200
    assert c.get("/api/trust-list").json()["error"]["code"] == "not-found"  # not read since the server started
    with pytest.raises(Exception, match="Sign in"):
        locked.store  # noqa: B018 - nothing can be read while locked
    sign_in(c, "registrar")
    assert not locked.locked
    shared = locked.store
    # A later sign-in only identifies its person: the server keeps the store it has.
    other = client_of(app)
    sign_in(other, "clinician")
    assert locked.store is shared
    assert other.get("/api/session").json()["staff"]["name"] == "clinician"


def test_the_last_sign_out_locks_the_server(locked: WebSite) -> None:
    app = create_app(WebSettings(), locked)
    a, b = client_of(app), client_of(app)
    token_a, token_b = sign_in(a, "registrar"), sign_in(b, "clinician")
    assert a.delete("/api/session", headers={"X-CSRF-Token": token_a}).status_code == 204
    assert not locked.locked  # the clinician is still signed in
    assert b.delete("/api/session", headers={"X-CSRF-Token": token_b}).status_code == 204
    assert locked.locked


def test_the_server_forgets_the_key_after_auto_lock(locked: WebSite, clock: MonotonicClock) -> None:
    app = create_app(WebSettings(auto_lock_s=600, session_idle_s=3600, card_idle_s=3600), locked)
    c = client_of(app)
    token = sign_in(c, "registrar")
    c.post("/api/cards", json={"language": "en"}, headers={"X-CSRF-Token": token})
    clock.now += 599
    assert c.get("/api/cards/open").status_code == 200  # in use: the clock starts again
    clock.now += 601
    assert locked.auto_lock() is True  # what the server's sweep does every minute
    assert locked.locked and locked._shared is None
    r = c.get("/api/cards/open")
    assert r.status_code == 401  # signed out, and the open card forgotten
    assert c.get("/api/trust-list").status_code == 200  # the public list of the last unlock, from memory
    # Signing in again opens the site again; the card is not open any more.
    sign_in(c, "registrar")
    assert c.get("/api/cards/open").json()["error"]["code"] == "no-open-card"


def test_auto_lock_also_happens_at_the_next_request(locked: WebSite, clock: MonotonicClock) -> None:
    app = create_app(WebSettings(auto_lock_s=600, session_idle_s=3600), locked)
    c = client_of(app)
    sign_in(c, "registrar")
    clock.now += 601
    assert c.get("/card", follow_redirects=False).headers["location"] == "/sign-in"
    assert locked.locked


def test_duress_at_web_sign_in_leaves_an_empty_clinic_and_ends_every_session(
    locked: WebSite, clock: MonotonicClock
) -> None:
    app = create_app(WebSettings(), locked)
    registrar = client_of(app)
    token = page_sign_in(registrar, "registrar")
    card = Card(bytes(range(16)))
    open_typed(registrar, token, card.code)
    registrar.post("/card/start-history", data={"csrf_token": token})
    registrar.post("/card/visit", data={"csrf_token": token, "date": "2026-11-20", "note_text": "seen"})
    assert locked.clinic().has_records(card, None)

    coerced = client_of(app)
    assert api_sign_in(coerced, "clinician", DURESS["clinician"]) == 200
    # The person at the keyboard sees a working clinic with nothing in it.
    token2 = csrf_of(coerced.get("/").text)
    status, html = open_typed(coerced, token2, card.code)
    assert status == 200 and "No records for this card at this site. Start a new history?" in html
    assert len(locked.store.query("SELECT id FROM staff")) == 1  # the clinician alone (their record is sealed)
    assert coerced.get("/api/trust-list").status_code == 404  # no trust list, as after 'haven init'
    # Every other web session ended; no old passphrase opens anything.
    assert registrar.get("/card", follow_redirects=False).headers["location"] == "/sign-in"
    for name in ("registrar", "coordinator", "clinician"):
        assert api_sign_in(client_of(app), name, PASSPHRASES[name], clock) == 401
    # The duress passphrase now opens the new, empty site.
    assert api_sign_in(client_of(app), "clinician", DURESS["clinician"], clock) == 200


def test_duress_under_another_name_erases_and_answers_like_a_wrong_passphrase(locked: WebSite) -> None:
    app = create_app(WebSettings(), locked)
    c = client_of(app)
    sign_in(c, "registrar")
    other = client_of(app)
    token = other.get("/api/session").json()["csrf_token"]
    r = other.post(
        "/api/session", json={"name": "registrar", "passphrase": DURESS["clinician"]}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 401 and r.json()["error"]["details"] == {"reason": "credentials"}
    assert c.get("/api/session").json()["signed_in"] is False
    assert api_sign_in(client_of(app), "registrar", PASSPHRASES["registrar"]) == 401


def test_web_panic_erases_and_leaves_nothing_to_unlock(locked: WebSite, clock: MonotonicClock) -> None:
    app = create_app(WebSettings(), locked)
    other = client_of(app)
    sign_in(other, "registrar")
    c = client_of(app)
    token = page_sign_in(c, "clinician")
    page = c.get("/panic")
    assert page.status_code == 200 and 'id="panic-confirm"' in page.text
    # Without the confirmation nothing happens; without the CSRF token it is refused.
    assert c.post("/panic", data={"csrf_token": token}, follow_redirects=False).headers["location"] == "/panic"
    assert c.post("/panic", data={"confirm": "erase"}, follow_redirects=False).status_code == 403
    assert not locked.locked
    r = c.post("/panic", data={"csrf_token": token, "confirm": "erase"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/sign-in"
    assert locked.locked
    assert other.get("/api/session").json()["signed_in"] is False
    for name, passphrase in [*PASSPHRASES.items(), ("clinician", DURESS["clinician"])]:
        assert api_sign_in(client_of(app), name, passphrase, clock) == 401
    assert locked.keys.folder.db_path.exists()  # a folder that looks like a fresh, locked site


def test_a_site_erased_by_another_process_locks_the_server(locked: WebSite) -> None:
    app = create_app(WebSettings(), locked)
    c = client_of(app)
    sign_in(c, "registrar")
    Site(locked.keys.folder, locked.keys.settings).panic()  # 'haven panic' in a terminal
    assert c.get("/api/cards/open").status_code == 401
    assert locked.locked


def test_web_actions_are_in_the_audit_log_by_who_did_them(locked: WebSite) -> None:
    app = create_app(WebSettings(), locked)
    c = client_of(app)
    token = sign_in(c, "ana")  # registrar and clinician at once
    h = {"X-CSRF-Token": token}
    c.post("/api/cards", json={"language": "en"}, headers=h)
    assert c.post("/api/visits", json={"visit": VISIT}, headers=h).status_code == 200
    history = c.get("/api/history")
    assert history.status_code == 200
    entry = f"0.{history.json()['visits'][0]['record']}.0"
    r = c.post("/api/certificates", json={"entries": [entry], "count": 3}, headers=h)
    assert r.status_code == 200 and len(r.json()["texts"]) == 3
    with locked.keys.unlock(PASSPHRASES["coordinator"]) as coordinator:  # only a coordinator reads them
        ana = next(m for m in coordinator.staff_table().active() if m.name == "ana")
        entries = [e for e, _ in coordinator.audit.rows() if e.staff == ana.id]
        coordinator.audit.verify()
    assert [(e.action, e.count) for e in entries] == [("visit.add", 1), ("history.view", 1), ("certificate.issue", 3)]


def test_a_staff_member_with_two_roles_has_both(locked: WebSite) -> None:
    app = create_app(WebSettings(), locked)
    c = client_of(app)
    page_sign_in(c, "ana")
    home = c.get("/")
    assert home.status_code == 200 and 'href="/counts"' not in home.text
    assert c.get("/counts").status_code == 403
    token = csrf_of(home.text)
    c.post("/cards/new", data={"language": "en", "csrf_token": token})
    card = c.get("/card").text
    assert 'id="add-visit"' in card and "/card/print" in card


def test_a_request_caught_by_a_duress_switch_is_sent_to_sign_in(locked: WebSite) -> None:
    """A staff request already running when another person's duress sign-in closes the old store ends
    like a signed-out one, not with a "damaged database" error."""
    from haven.errors import StoreError

    app = create_app(WebSettings(), locked)

    @app.get("/api/test-store-error")
    def failing(staff: AnyStaff) -> None:
        locked.lock()  # what a duress sign-in elsewhere does meanwhile
        raise StoreError("The site database could not be used: closed.")

    c = client_of(app)
    sign_in(c, "registrar")
    r = c.get("/api/test-store-error")
    assert r.status_code == 401 and r.json()["error"]["code"] == "auth"


# ---------------------------------------------------------------- the public trust list while locked


def test_a_locked_server_serves_the_trust_list_of_its_last_unlock_and_writes_it_nowhere(locked: WebSite) -> None:
    """After the last sign-out (or auto-lock) the verifier still gets the signed list, answered exactly
    as while unlocked; the copy is in memory only, so no file of the folder holds it."""
    app = create_app(WebSettings(), locked)
    c = client_of(app)
    token = sign_in(c, "registrar")
    unlocked = c.get("/api/trust-list")
    assert unlocked.status_code == 200
    assert c.delete("/api/session", headers={"X-CSRF-Token": token}).status_code == 204
    assert locked.locked
    r = client_of(app).get("/api/trust-list")
    assert (r.status_code, r.content, r.headers["content-type"]) == (200, unlocked.content, "application/cbor")
    assert not any(unlocked.content[-64:] in p.read_bytes() for p in locked.keys.folder.home.iterdir() if p.is_file())
    # A restart forgets it: a new process has read nothing yet, and says only that it has no list.
    restarted = create_app(WebSettings(), WebSite(keys=locked.keys, now=lambda: NOW))
    assert client_of(restarted).get("/api/trust-list").json()["error"]["code"] == "not-found"


@pytest.mark.parametrize("how", ["web panic", "panic in a terminal", "duress in a terminal"])
def test_an_erased_site_no_longer_serves_its_old_trust_list(locked: WebSite, how: str) -> None:
    """The list kept while locked names the network: an erase (here or from another process, also while
    the server is locked) forgets it, as a fresh 'haven init' has none."""
    app = create_app(WebSettings(), locked)
    c = client_of(app)
    sign_in(c, "clinician")
    assert c.get("/api/trust-list").status_code == 200
    locked.lock()
    if how == "web panic":
        locked.panic()
    elif how == "panic in a terminal":
        Site(locked.keys.folder, locked.keys.settings).panic()
    else:
        Site(locked.keys.folder, locked.keys.settings).unlock(DURESS["clinician"]).close()
    assert c.get("/api/trust-list").json()["error"]["code"] == "not-found"


def test_a_duress_sign_in_closes_the_open_store_before_it_erases_the_site(
    locked: WebSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readers of the old store (verifiers, other tabs) must be done before its files go: one still
    reading would open, or play back the rollback journal of, the database built in its place (once
    answered 503 in tests/web/test_lock_in_flight.py)."""
    app = create_app(WebSettings(), locked)
    sign_in(client_of(app), "registrar")
    old = locked.store
    closed_at_wipe: list[bool] = []
    wipe = Site._wipe

    def watched(self: Site, header: object) -> None:
        closed_at_wipe.append(old.wait_closed(0) and locked._shared is None)
        wipe(self, header)  # type: ignore[arg-type]

    monkeypatch.setattr(Site, "_wipe", watched)
    assert api_sign_in(client_of(app), "clinician", DURESS["clinician"]) == 200
    assert closed_at_wipe == [True]
    assert not locked.locked and locked.store is not old


@pytest.mark.parametrize("how", ["panic in a terminal", "duress in a terminal"])
def test_a_trust_list_read_caught_by_an_erase_from_a_terminal_answers_as_after_it(
    locked: WebSite, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The erase lands between the server's check of its files and its read: the read's store error
    means only that the site is gone, so the verifier gets "no list", not 503."""
    from haven.errors import StoreError

    app = create_app(WebSettings(), locked)
    c = client_of(app)
    sign_in(c, "clinician")
    store = locked.store

    def erased_meanwhile(name: str) -> bytes | None:
        terminal = Site(locked.keys.folder, locked.keys.settings)
        terminal.panic() if how == "panic in a terminal" else terminal.unlock(DURESS["clinician"]).close()
        raise StoreError("The site database could not be used: disk I/O error.")

    monkeypatch.setattr(store, "get_setting", erased_meanwhile)
    r = client_of(app).get("/api/trust-list")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not-found")
    assert locked.locked
    assert c.get("/api/session").json()["signed_in"] is False


def test_a_store_error_on_the_same_site_is_still_a_store_error(
    locked: WebSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    from haven.errors import StoreError

    app = create_app(WebSettings(), locked)
    sign_in(client_of(app), "clinician")

    def failing(name: str) -> bytes | None:
        raise StoreError("The site database could not be used: disk I/O error.")

    monkeypatch.setattr(locked.store, "get_setting", failing)
    r = client_of(app).get("/api/trust-list")
    assert (r.status_code, r.json()["error"]["code"]) == (503, "store")
    assert not locked.locked
