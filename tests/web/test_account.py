"""Your account: every staff member changes their own passphrase and duress passphrase on the web, after
typing their current one; the rules, the audit entry and the refusals are those of ``haven staff passwd``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from haven.app.actions import Action
from haven.site import passphrase as pp
from haven.web import WebSite
from haven.web.i18n import translations
from haven.web.routes.admin_pages import WEAK, WRONG_CONFIRMATION
from tests.web.conftest import DURESS, PASSPHRASES, ROLES, csrf_of, sign_in
from tests.web.test_admin_pages import can_sign_in

NEW = "velvet orchard humble rescue galaxy"
NEW_DURESS = "ripple mango voyage clever timber"


def client_of(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1")


def change(client: TestClient, current: str, new: str = NEW, again: str | None = None, **form: Any) -> Any:
    """Post the account form with a fresh CSRF token from the page."""
    page = client.get("/account")
    assert page.status_code == 200, page.text
    data = {"csrf_token": csrf_of(page.text), "your_passphrase": current, "passphrase": new}
    data["passphrase_again"] = new if again is None else again
    return client.post("/account/passphrase", data=data | form, follow_redirects=False)


def slot_bytes(site: WebSite) -> bytes:
    return Path(site.keys.slots_file.path).read_bytes()


def audit_rows(site: WebSite, passphrase: str = PASSPHRASES["coordinator"]) -> list[dict[str, Any]]:
    coordinator = site.sign_in("coordinator", passphrase).staff
    return site.app(coordinator).audit.show()


def erased(site: WebSite) -> bool:
    """Whether a duress passphrase erased the site: no old account opens it any more."""
    return not any(can_sign_in(site, name, PASSPHRASES[name]) for name in ("coordinator", "registrar"))


@pytest.mark.parametrize("name", sorted(ROLES))
def test_each_role_changes_its_own_passphrase_and_stays_signed_in(client: TestClient, site: WebSite, name: str) -> None:
    sign_in(client, name)
    assert 'href="/account"' in client.get("/").text  # linked from every signed-in page's header
    before = audit_rows(site)
    r = change(client, PASSPHRASES[name])
    assert r.status_code == 303 and r.headers["location"] == "/account", r.text
    page = client.get("/account")
    assert page.status_code == 200 and "Your passphrase is changed." in page.text
    assert NEW not in page.text and NEW not in r.text
    # The old passphrase stops working at once; the new one opens the site as this member.
    assert not can_sign_in(site, name, PASSPHRASES[name])
    assert site.sign_in(name, NEW).staff.name == name
    # One entry, the CLI's action, by this member (what the coordinator's reading of `before` added comes first).
    new_rows = audit_rows(site, NEW if name == "coordinator" else PASSPHRASES["coordinator"])[len(before) :]
    assert [(e["action"], e["staff"]) for e in new_rows] == [
        (Action.AUDIT_VIEW, "coordinator"),
        (Action.STAFF_PASSWD, name),
    ]
    assert NEW not in repr(new_rows) and PASSPHRASES[name] not in repr(new_rows)


def test_a_wrong_current_passphrase_is_refused_and_changes_nothing(client: TestClient, site: WebSite) -> None:
    sign_in(client, "registrar")
    slots = slot_bytes(site)
    r = change(client, "wrong words typed here")
    assert r.status_code == 403 and WRONG_CONFIRMATION.replace("'", "&#39;") in r.text
    assert NEW not in r.text and "wrong words typed here" not in r.text
    assert slot_bytes(site) == slots
    assert client.get("/account", follow_redirects=False).status_code == 200  # still signed in
    assert can_sign_in(site, "registrar", PASSPHRASES["registrar"]) and not can_sign_in(site, "registrar", NEW)


def test_a_weak_or_mistyped_new_passphrase_is_refused_in_the_pages_language_and_changes_nothing(
    client: TestClient, site: WebSite
) -> None:
    sign_in(client, "clinician")
    slots = slot_bytes(site)
    current = PASSPHRASES["clinician"]
    weak = change(client, current, "password12345")
    assert weak.status_code == 422 and "too easy to guess" in weak.text and "password12345" not in weak.text
    assert change(client, current, NEW, "velvet orchard humble rescue").status_code == 400
    same = change(client, current, duress=NEW, duress_again=NEW)
    assert same.status_code == 400 and "The duress passphrase must differ from the passphrase." in same.text
    typo = change(client, current, duress=NEW_DURESS, duress_again="ripple mango")
    assert typo.status_code == 400 and "The two duress passphrases are not the same." in typo.text
    both = change(client, current, duress=NEW_DURESS, duress_again=NEW_DURESS, remove_duress="yes")
    assert both.status_code == 400 and "not both" in both.text
    taken = change(client, current, PASSPHRASES["registrar"])  # another account's: refused, never said whose
    assert taken.status_code == 400 and "This passphrase cannot be used here; choose another." in taken.text
    client.cookies.set("haven_lang", "ko")
    ko = change(client, current, "password12345")
    korean = translations("ko").gettext(WEAK).split("%(bits)s")[0]
    assert ko.status_code == 422 and korean in ko.text and korean not in WEAK
    assert slot_bytes(site) == slots
    assert can_sign_in(site, "clinician", current)


def test_a_duress_passphrase_set_on_the_web_erases_at_sign_in(app: FastAPI, site: WebSite) -> None:
    registrar = client_of(app)
    sign_in(registrar, "registrar")
    r = change(registrar, PASSPHRASES["registrar"], duress=NEW_DURESS, duress_again=NEW_DURESS)
    assert r.status_code == 303
    assert not erased(site)
    coerced = client_of(app)
    token = coerced.get("/api/session").json()["csrf_token"]
    r = coerced.post(
        "/api/session", json={"name": "registrar", "passphrase": NEW_DURESS}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 200  # an empty-looking clinic
    assert len(site.store.query("SELECT id FROM staff")) == 1
    assert erased(site) and not can_sign_in(site, "registrar", NEW)


def test_a_duress_passphrase_is_kept_unless_replaced_or_removed(app: FastAPI, site: WebSite) -> None:
    clinician = client_of(app)
    sign_in(clinician, "clinician")
    assert change(clinician, PASSPHRASES["clinician"], remove_duress="yes").status_code == 303
    # Removed: the old duress passphrase is now just a wrong one; nothing is erased.
    assert not can_sign_in(site, "clinician", DURESS["clinician"])
    assert not erased(site)
    # Set again, then a change that leaves the fields empty keeps it: it still erases.
    again = "amber velvet ocean cradle summit"
    assert change(clinician, NEW, again, duress=NEW_DURESS, duress_again=NEW_DURESS).status_code == 303
    assert change(clinician, again, NEW).status_code == 303
    assert site.sign_in("clinician", NEW).staff.name == "clinician"
    site.sign_in("clinician", NEW_DURESS)
    assert erased(site) and not can_sign_in(site, "clinician", NEW)


def test_the_form_needs_its_csrf_token(client: TestClient, site: WebSite) -> None:
    sign_in(client, "registrar")
    slots = slot_bytes(site)
    form = {"your_passphrase": PASSPHRASES["registrar"], "passphrase": NEW, "passphrase_again": NEW}
    for token in ({}, {"csrf_token": "not-the-token"}):
        r = client.post("/account/passphrase", data=form | token, follow_redirects=False)
        assert r.status_code == 403
    assert slot_bytes(site) == slots and can_sign_in(site, "registrar", PASSPHRASES["registrar"])


def test_the_changing_session_goes_on_and_the_members_other_sessions_end(app: FastAPI, site: WebSite) -> None:
    here, elsewhere, colleague = client_of(app), client_of(app), client_of(app)
    sign_in(here, "registrar")
    sign_in(elsewhere, "registrar")
    sign_in(colleague, "clinician")
    assert "other sign-ins (other phones or browsers) are signed out" in here.get("/account").text
    assert change(here, PASSPHRASES["registrar"]).status_code == 303
    assert here.get("/", follow_redirects=False).status_code == 200
    assert here.get("/api/session").json()["staff"]["name"] == "registrar"
    assert elsewhere.get("/", follow_redirects=False).headers["location"] == "/sign-in"
    assert elsewhere.get("/api/session").json()["signed_in"] is False
    assert colleague.get("/", follow_redirects=False).status_code == 200  # another member's session stays
    # The session goes on changing its passphrase again with the new one.
    assert change(here, NEW, "amber velvet ocean cradle summit").status_code == 303
    assert here.get("/account", follow_redirects=False).status_code == 200


def test_a_later_member_keeps_their_member_key_while_another_holds_the_site_open(app: FastAPI, site: WebSite) -> None:
    """The site was opened by the coordinator (the fixture): a clinician's change seals the clinician's own
    member key into their new slot, so their role keys and their own day open with the new passphrase."""
    with site.keys.unlock(PASSPHRASES["clinician"], counted=False) as before:
        member_key, role_keys = before.member_key, before.keys
    clinician = client_of(app)
    sign_in(clinician, "clinician")
    assert change(clinician, PASSPHRASES["clinician"]).status_code == 303
    with site.keys.unlock(NEW, counted=False) as after:
        assert after.staff.name == "clinician"
        assert after.member_key == member_key and after.keys == role_keys and any(member_key)
    assert sign_in_page_works(app, "clinician", NEW)


def sign_in_page_works(app: FastAPI, name: str, passphrase: str) -> bool:
    c = client_of(app)
    token = c.get("/api/session").json()["csrf_token"]
    r = c.post("/api/session", json={"name": name, "passphrase": passphrase}, headers={"X-CSRF-Token": token})
    return r.status_code == 200 and c.get("/", follow_redirects=False).status_code == 200


def test_reauthentication_counts_against_the_sign_in_limit(client: TestClient, site: WebSite) -> None:
    sign_in(client, "registrar")
    statuses = [change(client, "wrong words typed here").status_code for _ in range(12)]
    assert statuses[0] == 403 and statuses[-1] == 429
    assert can_sign_in(site, "registrar", PASSPHRASES["registrar"])


def test_a_suggestion_is_shown_once_and_is_accepted(client: TestClient, site: WebSite) -> None:
    sign_in(client, "registrar")
    shown = client.get("/account?suggest=1")
    assert shown.headers["cache-control"] == "no-store"
    page = shown.text
    start = page.index('id="suggestion" lang="en">') + len('id="suggestion" lang="en">')
    suggestion = page[start : page.index("<", start)]
    assert len(suggestion.split()) == pp.SUGGESTED_WORDS
    assert suggestion not in client.get("/account").text
    assert change(client, PASSPHRASES["registrar"], suggestion).status_code == 303
    assert can_sign_in(site, "registrar", suggestion)


def test_no_passphrase_in_logs_answers_or_files(
    client: TestClient, site: WebSite, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    sign_in(client, "registrar")
    answers = [change(client, "wrong words typed here"), change(client, PASSPHRASES["registrar"], "password12345")]
    answers.append(change(client, PASSPHRASES["registrar"], duress=NEW_DURESS, duress_again=NEW_DURESS))
    answers.append(client.get("/account"))
    secrets = (NEW, NEW_DURESS, PASSPHRASES["registrar"], "password12345", "wrong words typed here")
    for r in answers:
        seen = r.text + repr(r.headers)
        assert not any(s in seen for s in secrets), r.status_code
    assert not any(s in caplog.text for s in secrets)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(s.encode() in data for s in secrets), path
