"""Coordinator pages: staff, trust and key rotation, the audit log's check; each action takes effect, other
roles get 403 and change nothing, and a wrong confirming passphrase refuses and changes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from haven.app.actions import Action
from haven.cert_services import DEFAULT_LABEL
from haven.errors import AuthError
from haven.site.roles import Role
from haven.web import WebSite
from haven.web.audit_words import ACTION_NAMES
from haven.web.i18n import translations
from tests.helpers_clock import NOW, TODAY, seeded
from tests.helpers_site import raw_write
from tests.web.conftest import PASSPHRASES, csrf_of, sign_in

CHOSEN = "velvet orchard humble rescue galaxy"
SHOWN = re.compile(r'id="new-passphrase" lang="en">([^<]+)<')


def staff_names(site: WebSite) -> dict[str, Role]:
    coordinator = site.sign_in("coordinator", PASSPHRASES["coordinator"]).staff
    return {m.name: m.roles for m in site.app(coordinator).staff.list()}


def trust_doc(site: WebSite) -> dict[str, Any]:
    coordinator = site.sign_in("coordinator", PASSPHRASES["coordinator"]).staff
    return site.app(coordinator).trust.show()


def page_csrf(client: TestClient, path: str = "/admin/staff") -> str:
    r = client.get(path)
    assert r.status_code == 200, r.text
    return csrf_of(r.text)


def post(client: TestClient, path: str, **form: Any) -> Any:
    return client.post(path, data=form, follow_redirects=False)


def confirmed(client: TestClient, path: str, page: str = "/admin/staff", **form: Any) -> Any:
    """Post a coordinator's form with a fresh CSRF token and their own passphrase confirming it."""
    return post(client, path, csrf_token=page_csrf(client, page), your_passphrase=PASSPHRASES["coordinator"], **form)


def remove_registrar(client: TestClient, typed: str) -> Any:
    return post(
        client,
        "/admin/staff/remove",
        csrf_token=page_csrf(client),
        name="registrar",
        confirm="yes",
        your_passphrase=typed,
    )


def can_sign_in(site: WebSite, name: str, passphrase: str) -> bool:
    try:
        site.sign_in(name, passphrase)
    except AuthError:
        return False
    return True


# ---------------------------------------------------------------- staff


def test_a_coordinator_adds_a_member_whose_passphrase_is_shown_once_and_opens_the_site(
    client: TestClient, site: WebSite
) -> None:
    sign_in(client, "coordinator")
    csrf = page_csrf(client)
    r = post(
        client,
        "/admin/staff/add",
        csrf_token=csrf,
        name="Dana",
        role=["clinician", "registrar"],
        how="generate",
        your_passphrase=PASSPHRASES["coordinator"],
    )
    assert r.status_code == 200, r.text
    secret = SHOWN.search(r.text)
    assert secret, r.text
    passphrase = secret.group(1)
    assert len(passphrase.split()) >= 5
    assert staff_names(site)["Dana"] == Role.REGISTRAR | Role.CLINICIAN
    assert can_sign_in(site, "Dana", passphrase)
    # Once only: the staff page and the list never show it again.
    assert passphrase not in client.get("/admin/staff").text
    assert r.headers["cache-control"] == "no-store"


def test_a_chosen_passphrase_follows_the_clis_strength_rules(client: TestClient, site: WebSite) -> None:
    sign_in(client, "coordinator")
    form = {"name": "Eun", "role": "registrar", "how": "choose", "your_passphrase": PASSPHRASES["coordinator"]}
    weak = post(
        client, "/admin/staff/add", csrf_token=page_csrf(client), passphrase="password1", passphrase_again="password1"
    )
    assert weak.status_code == 422  # missing fields: the framework refuses first
    weak = post(
        client,
        "/admin/staff/add",
        csrf_token=page_csrf(client),
        passphrase="password12345",
        passphrase_again="password12345",
        **form,
    )
    assert weak.status_code == 422 and "too easy to guess" in weak.text
    differ = post(
        client, "/admin/staff/add", csrf_token=page_csrf(client), passphrase=CHOSEN, passphrase_again="x", **form
    )
    assert differ.status_code == 400 and "not the same" in differ.text
    assert "Eun" not in staff_names(site)
    ok = post(
        client, "/admin/staff/add", csrf_token=page_csrf(client), passphrase=CHOSEN, passphrase_again=CHOSEN, **form
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/admin/staff"
    assert CHOSEN not in client.get("/admin/staff").text
    assert can_sign_in(site, "Eun", CHOSEN)


def test_a_refused_staff_form_comes_back_with_what_was_typed_but_no_passphrase(client: TestClient) -> None:
    sign_in(client, "coordinator")
    form = {"name": "Eun", "role": ["registrar", "clinician"], "how": "choose", "passphrase": CHOSEN}
    r = confirmed(client, "/admin/staff/add", passphrase_again="x", **form)
    assert r.status_code == 400 and "not the same" in r.text
    assert (
        'id="add-name" name="name" required maxlength="96" autocapitalize="none" spellcheck="false" value="Eun">'
        in r.text
    )
    assert 'value="registrar" checked>' in r.text and 'value="clinician" checked>' in r.text
    assert 'value="coordinator">' in r.text and 'value="choose" checked>' in r.text and CHOSEN not in r.text
    # Only the refused form keeps its choices: the reset form below still offers a made passphrase first.
    assert r.text.count('value="generate" checked>') == 1 and r.text.count('value="choose" checked>') == 1
    r = post(client, "/admin/staff/remove", csrf_token=page_csrf(client), name="registrar", your_passphrase="no")
    assert r.status_code == 400 and "Tick the box" in r.text
    remove = r.text.split('id="remove-form"', 1)[1]
    reset = r.text.split('id="reset-form"', 1)[1].split('id="remove-form"', 1)[0]
    assert '<option value="registrar" selected>' in remove and " selected>" not in reset


def test_staff_refusals_and_a_malformed_form_are_said_in_the_pages_language(client: TestClient) -> None:
    sign_in(client, "coordinator")
    client.cookies.set("haven_lang", "ko")
    taken = confirmed(client, "/admin/staff/add", name="clinician", role="clinician", how="generate")
    assert taken.status_code == 400 and "“clinician”라는 이름의 직원이 이미 있습니다." in taken.text
    unknown = confirmed(client, "/admin/staff/reset", name="ghost", how="generate")
    assert unknown.status_code == 400 and "이곳에는 “ghost”라는 이름의 직원이 없습니다." in unknown.text
    none = confirmed(client, "/admin/staff/add", name="Eun", how="generate")
    assert none.status_code == 400 and "직원에게는 역할이 하나 이상 있어야 합니다." in none.text
    client.cookies.set("haven_lang", "zh_Hans")
    malformed = confirmed(client, "/admin/staff/add", name="x" * 201, role="clinician")
    assert malformed.status_code == 422 and "请求的格式不符合要求。" in malformed.text
    api = client.post("/api/cards/open", json={}, headers={"X-CSRF-Token": sign_in(client, "clinician")})
    assert api.status_code == 422 and api.json()["error"]["message"] == "The request does not have the expected form."


def test_removing_a_member_ends_their_session_and_their_passphrase(client: TestClient, app: Any, site: WebSite) -> None:
    with TestClient(app, base_url="http://127.0.0.1") as registrar:
        sign_in(registrar, "registrar")
        assert registrar.get("/", follow_redirects=False).status_code == 200
        sign_in(client, "coordinator")
        unconfirmed = confirmed(
            client,
            "/admin/staff/remove",
            name="registrar",
        )
        assert unconfirmed.status_code == 400 and "registrar" in staff_names(site)
        r = confirmed(
            client,
            "/admin/staff/remove",
            name="registrar",
            confirm="yes",
        )
        assert r.status_code == 303
        assert "removed" in client.get("/admin/staff").text
        assert "registrar" not in staff_names(site)
        assert registrar.get("/", follow_redirects=False).headers["location"] == "/sign-in"
    assert not can_sign_in(site, "registrar", PASSPHRASES["registrar"])


def test_the_last_coordinator_cannot_be_removed(client: TestClient, site: WebSite) -> None:
    sign_in(client, "coordinator")
    page = client.get("/admin/staff").text
    assert '<option value="coordinator">' not in page  # not offered
    r = post(
        client,
        "/admin/staff/remove",
        csrf_token=csrf_of(page),
        name="coordinator",
        confirm="yes",
        your_passphrase=PASSPHRASES["coordinator"],
    )
    assert r.status_code == 400 and "cannot remove your own account" in r.text
    assert Role.COORDINATOR in staff_names(site)["coordinator"]


def test_a_reset_passphrase_rewraps_the_role_keys_and_drops_the_duress_passphrase(
    client: TestClient, app: Any, site: WebSite
) -> None:
    from tests.web.conftest import DURESS

    with TestClient(app, base_url="http://127.0.0.1") as clinician:
        sign_in(clinician, "clinician")
        sign_in(client, "coordinator")
        r = confirmed(
            client,
            "/admin/staff/reset",
            name="clinician",
            how="generate",
        )
        assert r.status_code == 200, r.text
        secret = SHOWN.search(r.text)
        assert secret
        assert clinician.get("/", follow_redirects=False).headers["location"] == "/sign-in"  # signed out
    assert not can_sign_in(site, "clinician", PASSPHRASES["clinician"])
    signed = site.sign_in("clinician", secret.group(1))
    # Their new slot leads to their role keys: the epoch signing key opens for them.
    keys = site.app(signed.staff).trust.show()["keys"]
    assert [k["held"] for k in keys if k["status"] == "signing"] == [True]
    # The duress passphrase is gone with the old slots: typed now, it is only wrong (nothing is erased).
    assert not can_sign_in(site, "clinician", DURESS["clinician"])
    assert "registrar" in staff_names(site)


def test_the_web_resets_others_passphrases_not_ones_own(client: TestClient, site: WebSite) -> None:
    sign_in(client, "coordinator")
    r = confirmed(
        client,
        "/admin/staff/reset",
        name="coordinator",
        how="choose",
        passphrase=CHOSEN,
        passphrase_again=CHOSEN,
    )
    assert r.status_code == 400 and "change your own on “Your account”" in r.text
    assert can_sign_in(site, "coordinator", PASSPHRASES["coordinator"])


def test_removing_whoever_unlocked_the_server_first_leaves_the_key_slots_writable(keys: Any, clock: Any) -> None:
    """Each member's changes check their own key slot, not that of the sign-in that opened the store."""
    web = WebSite(keys=keys, today=lambda: TODAY, now=lambda: NOW, clock=clock, random_bytes=seeded(3))
    try:
        web.sign_in("registrar", PASSPHRASES["registrar"])  # opens the shared store
        coordinator = web.sign_in("coordinator", PASSPHRASES["coordinator"]).staff
        web.app(coordinator).staff.remove("registrar")
        web.app(coordinator).staff.add("Dana", Role.CLINICIAN, CHOSEN)
        assert can_sign_in(web, "Dana", CHOSEN)
    finally:
        web.lock()


# ---------------------------------------------------------------- trust


def test_rotation_changes_the_signing_key_and_the_trust_list_downloads(client: TestClient, site: WebSite) -> None:
    before = trust_doc(site)
    sign_in(client, "coordinator")
    page = client.get("/admin/trust")
    assert page.status_code == 200 and before["root_fingerprint"] in page.text
    assert 'id="foreign-issuers"' in page.text
    r = post(
        client,
        "/admin/trust/rotate",
        csrf_token=csrf_of(page.text),
        label=DEFAULT_LABEL,
        confirm="yes",
        your_passphrase=PASSPHRASES["coordinator"],
    )
    assert r.status_code == 303, r.text
    after = trust_doc(site)
    signing = [k["kid"] for k in after["keys"] if k["status"] == "signing"]
    old = [k["kid"] for k in before["keys"] if k["status"] == "signing"]
    assert len(signing) == len(old) == 1 and signing != old and after["sequence"] > before["sequence"]
    assert {k["kid"]: k["status"] for k in after["keys"]}[old[0]] == "retired"
    assert {k["label"] for k in after["keys"]} == {DEFAULT_LABEL}
    shown = client.get("/admin/trust").text
    assert f'data-kid="{signing[0]}"' in shown and "New signing key in use" in shown
    download = client.get("/admin/trust/trust-list.cbor")
    assert download.status_code == 200 and download.headers["content-type"] == "application/cbor"
    assert download.content == client.get("/api/trust-list").content


def test_a_refused_rotation_keeps_the_programme_chosen(client: TestClient, site: WebSite) -> None:
    """With several programmes' keys, a wrong passphrase must not put the form back on the first one."""
    coordinator = site.sign_in("coordinator", PASSPHRASES["coordinator"]).staff
    site.app(coordinator).trust.new_key("zz-malaria")
    before = trust_doc(site)
    sign_in(client, "coordinator")
    page = client.get("/admin/trust").text
    assert '<option value="zz-malaria">' in page  # not chosen until someone chooses it
    r = post(
        client,
        "/admin/trust/rotate",
        csrf_token=csrf_of(page),
        label="zz-malaria",
        confirm="yes",
        your_passphrase="not the passphrase at all",
    )
    assert r.status_code == 403 and '<option value="zz-malaria" selected>' in r.text
    assert f'<option value="{DEFAULT_LABEL}">' in r.text
    assert trust_doc(site) == before


def test_trust_status_counts_foreign_issuers(site: WebSite) -> None:
    assert trust_doc(site)["foreign_issuers"] == {"eu-dcc": 0, "shc": 0}


# ---------------------------------------------------------------- who may


def test_other_roles_get_403_see_no_links_and_change_nothing(client: TestClient, site: WebSite) -> None:
    before_staff, before_trust = staff_names(site), trust_doc(site)
    for role in ("registrar", "clinician", "ana"):
        csrf = sign_in(client, role)
        home = client.get("/").text
        assert "/admin/" not in home
        for path in ("/admin/staff", "/admin/trust", "/admin/audit", "/admin/trust/trust-list.cbor"):
            r = client.get(path)
            assert r.status_code == 403 and 'data-code="permission-denied"' in r.text, (role, path)
        forms: list[tuple[str, dict[str, Any]]] = [
            ("/admin/staff/add", {"name": "Mallory", "role": "coordinator", "how": "generate"}),
            ("/admin/staff/remove", {"name": "coordinator", "confirm": "yes"}),
            ("/admin/staff/reset", {"name": "coordinator", "how": "generate"}),
            ("/admin/trust/rotate", {"label": DEFAULT_LABEL, "confirm": "yes"}),
        ]
        for path, form in forms:
            r = post(client, path, csrf_token=csrf, your_passphrase=PASSPHRASES[role], **form)
            assert r.status_code == 403, (role, path)
        client.post("/sign-out", data={"csrf_token": csrf})
    assert staff_names(site) == before_staff
    assert trust_doc(site)["keys"] == before_trust["keys"]
    assert can_sign_in(site, "coordinator", PASSPHRASES["coordinator"])


def test_the_coordinator_sees_the_links(client: TestClient) -> None:
    sign_in(client, "coordinator")
    page = client.get("/counts").text
    assert all(f'href="/admin/{p}"' in page for p in ("staff", "trust", "audit"))


ACTIONS: list[tuple[str, dict[str, Any], str]] = [
    ("/admin/staff/add", {"name": "Mallory", "role": "coordinator", "how": "generate"}, "/admin/staff"),
    ("/admin/staff/remove", {"name": "registrar", "confirm": "yes"}, "/admin/staff"),
    ("/admin/staff/reset", {"name": "clinician", "how": "generate"}, "/admin/staff"),
    ("/admin/trust/rotate", {"label": DEFAULT_LABEL, "confirm": "yes"}, "/admin/trust"),
]


@pytest.mark.parametrize(("path", "form", "page"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_a_stolen_open_session_without_the_passphrase_changes_nothing(
    client: TestClient, site: WebSite, path: str, form: dict[str, Any], page: str
) -> None:
    before_staff, before_trust = staff_names(site), trust_doc(site)
    sign_in(client, "coordinator")
    r = post(client, path, csrf_token=page_csrf(client, page), your_passphrase="lemon harbor silent orbit", **form)
    assert r.status_code == 403 and "That is not your passphrase" in r.text
    missing = post(client, path, csrf_token=page_csrf(client, page), **form)
    assert missing.status_code == 422
    assert staff_names(site) == before_staff
    assert trust_doc(site)["keys"] == before_trust["keys"]
    assert can_sign_in(site, "registrar", PASSPHRASES["registrar"])
    assert can_sign_in(site, "clinician", PASSPHRASES["clinician"])


def test_confirmations_count_against_the_sign_in_limit(client: TestClient, site: WebSite) -> None:
    sign_in(client, "coordinator")
    statuses = []
    for _ in range(12):
        r = remove_registrar(client, "wrong words typed here")
        statuses.append(r.status_code)
    assert statuses[0] == 403 and statuses[-1] == 429
    assert "registrar" in staff_names(site)


def test_a_forged_form_without_the_csrf_token_is_refused(client: TestClient, site: WebSite) -> None:
    sign_in(client, "coordinator")
    r = post(client, "/admin/staff/remove", name="registrar", confirm="yes", your_passphrase=PASSPHRASES["coordinator"])
    assert r.status_code == 403 and "registrar" in staff_names(site)


# ---------------------------------------------------------------- audit


def test_the_audit_page_checks_the_chain_as_the_cli_does_in_korean(client: TestClient, site: WebSite) -> None:
    sign_in(client, "coordinator")
    client.cookies.set("haven_lang", "ko")
    r = client.get("/admin/audit")
    assert r.status_code == 200 and 'data-ok="true"' in r.text
    coordinator = site.sign_in("coordinator", PASSPHRASES["coordinator"]).staff
    head = site.app(coordinator).audit.verify()
    assert f'id="audit-head">{head.seq - 1}:' in r.text  # the page's own reading is entry head.seq
    ko = translations("ko")
    assert ko.gettext(ACTION_NAMES[Action.STAFF_ADD]) in r.text  # the setup's entries, named in Korean
    assert re.search(r"<span class=\"unbroken\">\d\d:00</span>", r.text)  # to the hour, never finer
    assert not re.search(r"\d\d:\d\d:\d\d", r.text)


def test_the_audit_page_names_the_cli_reason_when_the_chain_is_broken(client: TestClient, site: WebSite) -> None:
    sign_in(client, "coordinator")
    wrong = "1:" + "00" * 32
    r = client.get("/admin/audit", params={"witness": wrong})
    assert r.status_code == 409 and 'data-ok="false"' in r.text
    assert "no longer passes through the head witnessed at entry 1" in r.text
    assert client.get("/admin/audit", params={"witness": "7"}).status_code == 400
    with raw_write(site.store) as conn:  # type: ignore[arg-type]
        conn.execute("UPDATE audit SET sealed = x'00' WHERE seq = 1")
    r = client.get("/admin/audit")
    assert r.status_code == 409 and "Audit entry 1" in r.text


def test_the_korean_audit_page_says_why_a_tampered_log_fails_in_korean(client: TestClient, site: WebSite) -> None:
    sign_in(client, "coordinator")
    client.cookies.set("haven_lang", "ko")
    r = client.get("/admin/audit", params={"witness": "7"})
    assert r.status_code == 400 and "헤드의 해시는 16진수 64자리입니다." in r.text and "hex digits" not in r.text
    with raw_write(site.store) as conn:  # type: ignore[arg-type]
        conn.execute("UPDATE audit SET sealed = x'00' WHERE seq = 2")
    r = client.get("/admin/audit")
    assert r.status_code == 409 and 'data-ok="false"' in r.text
    shown = re.search(r'<p id="audit-fault">([^<]*)</p>', r.text)
    assert shown and shown[1] == (
        "감사 항목 2번이 체인과 맞지 않습니다: 이 항목 또는 그 앞의 항목이 변경되거나 옮겨졌습니다."
    )
    client.cookies.set("haven_lang", "zh_Hans")
    shown = re.search(r'<p id="audit-fault">([^<]*)</p>', client.get("/admin/audit").text)
    assert shown and shown[1] == "审计条目 2 与链不符：它或它之前的条目被改动或移动过。"


def test_every_audit_action_has_a_name_on_the_page() -> None:
    assert set(ACTION_NAMES) == set(Action)


def test_a_duress_passphrase_typed_to_confirm_erases_the_site_as_anywhere(client: TestClient, site: WebSite) -> None:
    coordinator = site.sign_in("coordinator", PASSPHRASES["coordinator"]).staff
    duress = "ripple mango voyage clever timber"
    site.app(coordinator).staff.add("boss", Role.COORDINATOR, CHOSEN, duress)
    token = client.get("/api/session").json()["csrf_token"]
    r = client.post("/api/session", json={"name": "boss", "passphrase": CHOSEN}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200
    r = remove_registrar(client, duress)
    assert r.status_code == 403  # answered like a wrong passphrase; the session is over
    assert client.get("/admin/staff", follow_redirects=False).headers["location"] == "/sign-in"
    assert not can_sign_in(site, "coordinator", PASSPHRASES["coordinator"])
    assert not can_sign_in(site, "registrar", PASSPHRASES["registrar"])
