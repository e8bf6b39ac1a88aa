"""The application layer: every use case checks its permission, and writes exactly one audit entry
(its action, from the one vocabulary) in the transaction of what it did; the edges write none themselves."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from haven.app import Action, App
from haven.app.usecase import use_cases
from haven.certs.signing_keys import fingerprint
from haven.cli.issuer_files import read_issuer, read_issuer_specs
from haven.core.card import Card
from haven.core.history import entry_id
from haven.errors import PermissionDeniedError, StoreFullError
from haven.site.audit import AuditLog
from haven.site.passphrase import suggest
from haven.site.roles import Role
from haven.site.site import UnlockedSite
from tests.certkit import EU_DCC
from tests.helpers_site import ADMIN, CLINICIAN, WRONG, new_site

REPO = Path(__file__).resolve().parents[2]
VISIT = [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]
SECOND = [{"type": "test", "test": "antigen", "result": "negative", "date": "2026-10-02"}]
KEY_PASSPHRASE = "a passphrase for the key file"


def entries(session: UnlockedSite) -> list[tuple[str, int]]:
    return [(e.action, e.count) for e, _ in session.audit.rows()]


def all_use_cases(app: App) -> dict[str, Any]:
    return {f"{area}.{name}": uc for area in App.AREAS for name, uc in use_cases(getattr(app, area)).items()}


Call = Callable[[App, dict[str, Any]], object]


def first_entry(app: App, card: Card, visit: int = 0) -> str:
    """The id of the first entry of a visit of the card's, read without a use case (so without an audit entry)."""
    return entry_id(app.clinic().history(card).visits[visit], 0)


def walk(tmp_path: Path) -> list[tuple[str, Call, int]]:
    """Every use case, in an order where each can run: (area.method, call, audit entries it writes)."""
    card = Card(bytes(range(16)))
    dcc = json.loads((EU_DCC / "common" / "2DCode" / "raw" / "CO1.json").read_text())
    dsc = tmp_path / "dsc.b64"
    dsc.write_text(dcc["TESTCTX"]["CERTIFICATE"])
    at = dt.datetime.fromisoformat(dcc["TESTCTX"]["VALIDATIONCLOCK"].replace("Z", "+00:00"))

    def held_kid(app: App) -> bytes:
        return bytes.fromhex(next(k["kid"] for k in app.trust.show()["keys"] if k["held"] and k["status"] == "signing"))

    return [
        ("cards.new", lambda app, _: app.cards.new("ko"), 0),
        ("cards.has_records", lambda app, _: app.cards.has_records(card), 0),
        ("visits.add", lambda app, _: app.visits.add(card, VISIT, first_visit=True), 1),
        ("visits.import_visits", lambda app, _: app.visits.import_visits([(card, SECOND, None)]), 1),
        (
            "visits.correct",
            lambda app, _: app.visits.correct(card, first_entry(app, card), {**VISIT[0], "lot": "FJ8529"}),
            1,
        ),
        ("visits.void", lambda app, _: app.visits.void(card, first_entry(app, card, 1), "recorded twice"), 1),
        ("visits.history", lambda app, _: app.visits.history(card), 1),
        ("visits.next_due", lambda app, _: app.visits.next_due(card), 1),
        ("lots.add", lambda app, _: app.lots.add("td", "T1", "2027-01-31", 100), 1),
        ("lots.register", lambda app, _: app.lots.register(), 0),
        ("lots.list", lambda app, _: app.lots.list(), 1),  # a coordinator's doses per lot: two tallies fold
        ("lots.retire", lambda app, _: app.lots.retire("td", "T1"), 1),
        ("trust.standalone", lambda app, _: app.trust.standalone(), 1),
        ("trust.show", lambda app, _: app.trust.show(), 0),
        ("certificates.issue", lambda app, _: app.certificates.issue(card, count=3), 1),
        ("certificates.choices", lambda app, kept: kept.update(choices=app.certificates.choices(card)), 0),
        (
            "certificates.issue_sheet",
            lambda app, kept: app.certificates.issue_sheet(kept["choices"], [kept["choices"][0][0]], 2),
            1,
        ),
        ("certificates.trust_settings", lambda app, _: app.certificates.trust_settings(), 0),
        (
            "certificates.verify",
            lambda app, _: app.certificates.verify(dcc["PREFIX"], at, read_issuer_specs([str(dsc)])),
            0,
        ),
        ("trust.add_issuer", lambda app, _: app.trust.add_issuer(read_issuer(dsc)), 1),
        ("certificates.plan_import", lambda app, _: app.certificates.plan_import(card, dcc["PREFIX"], at=at), 0),
        (
            "certificates.import_certificate",
            lambda app, _: app.certificates.import_certificate(card, dcc["PREFIX"], at=at),
            1,
        ),
        ("trust.create_root", lambda app, _: app.trust.create_root("North", "north", replace=True), 1),
        ("trust.new_key", lambda app, _: app.trust.new_key("south", 28), 1),
        ("trust.rotate", lambda app, _: app.trust.rotate("north"), 1),
        ("trust.export_list", lambda app, kept: kept.update(listed=app.trust.export_list()), 1),
        ("trust.update_list", lambda app, kept: app.trust.update_list(kept["listed"]), 1),
        (
            "trust.join",
            lambda app, kept: app.trust.join(
                kept["listed"],
                fingerprint(app.certificates_service().trust_list().root_public),  # type: ignore[union-attr]
            ),
            1,
        ),
        (
            "trust.export_key",
            lambda app, kept: kept.update(key=app.trust.export_key(held_kid(app), KEY_PASSPHRASE)),
            1,
        ),
        ("trust.import_key", lambda app, kept: app.trust.import_key(kept["key"], KEY_PASSPHRASE), 1),
        ("trust.revoke", lambda app, _: app.trust.revoke(kid=held_kid(app)), 1),
        ("staff.add", lambda app, _: app.staff.add("Bo", Role.REGISTRAR, WRONG), 1),
        ("staff.list", lambda app, _: app.staff.list(), 0),
        ("staff.change_passphrase", lambda app, _: app.staff.change_passphrase(suggest(), name="Bo"), 1),
        ("staff.remove", lambda app, _: app.staff.remove("Bo"), 1),
        ("settings.set_erase_after", lambda app, _: app.settings.set_erase_after(5), 1),
        ("settings.set_hub", lambda app, _: app.settings.set_hub(""), 1),  # '': later visits pull from nothing
        ("reports.week", lambda app, _: app.reports.week("2026-W40"), 1),  # several tallies: one fold
        ("day_work.today", lambda app, _: app.day_work.today(), 0),  # one tally left: nothing to fold
        ("day_work.mine", lambda app, _: app.day_work.mine(), 0),  # one's own counts: not audited
        (
            "reports.report",
            lambda app, _: app.reports.report(dt.date(2026, 10, 1), dt.date(2026, 10, 31), "month", 5),
            1,
        ),
        ("reports.network_readable", lambda app, _: app.reports.network_readable(), 0),
        ("seizure.tables", lambda app, _: app.seizure.tables(), 1),
        ("export.fhir", lambda app, _: app.export.fhir(card), 1),
        ("audit.show", lambda app, _: app.audit.show(), 1),
        ("audit.verify", lambda app, _: app.audit.verify(), 0),
    ]


def test_every_use_case_writes_exactly_one_audit_entry_with_its_action(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    calls = walk(tmp_path)
    kept: dict[str, Any] = {}
    with site.unlock(ADMIN) as session:
        app = App(session)
        declared = all_use_cases(app)
        assert sorted(name for name, _, _ in calls) == sorted(declared), "a use case is missing from this walk"
        for name, call, writes in calls:
            before = entries(session)
            call(app, kept)
            after = entries(session)
            assert after[: len(before)] == before, name
            new = after[len(before) :]
            assert len(new) == writes, (name, new)
            if writes:
                assert new[0][0] == declared[name].action, name
            else:
                assert declared[name].action is None or name in {"reports.week", "day_work.today"}, name


def test_a_use_case_refuses_a_role_without_its_permission_and_writes_nothing(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    card = Card(bytes(range(16)))
    with site.unlock(ADMIN) as admin:
        App(admin).visits.add(card, VISIT, first_visit=True)
        admin.add_staff("Reg", Role.REGISTRAR, WRONG)
        before = entries(admin)
    with site.unlock(WRONG) as registrar:
        app = App(registrar)
        refused: list[Callable[[], object]] = [
            lambda: app.visits.history(card),
            lambda: app.visits.correct(card, first_entry(app, card), VISIT[0]),
            lambda: app.visits.void(card, first_entry(app, card), "a mistake"),
            lambda: app.certificates.issue(card),
            lambda: app.trust.standalone(),
            lambda: app.staff.add("Bo", Role.REGISTRAR, CLINICIAN),
            lambda: app.staff.list(),
            lambda: app.staff.change_passphrase(CLINICIAN, name="Ana"),
            lambda: app.audit.show(),
            lambda: app.settings.set_erase_after(5),
            lambda: app.settings.set_hub("https://hub.example.org"),
            lambda: app.reports.week(),
            lambda: app.day_work.today(),
            lambda: app.export.fhir(card),
        ]
        for call in refused:
            with pytest.raises(PermissionDeniedError):
                call()
        app.visits.add(card, SECOND)  # a registrar's own work goes through
    with site.unlock(ADMIN) as admin:
        assert entries(admin) == [*before, ("visit.add", 1)]


def test_a_change_whose_audit_entry_cannot_be_written_is_not_stored(tmp_path: Path, monkeypatch: Any) -> None:
    site = new_site(tmp_path / "s")
    card = Card(bytes(range(16)))
    with site.unlock(ADMIN) as session:
        app = App(session)
        app.visits.add(card, VISIT, first_visit=True)

        def full(*args: object) -> None:
            raise StoreFullError("The disk is full.")

        monkeypatch.setattr(AuditLog, "append", full)
        with pytest.raises(StoreFullError):
            app.visits.add(card, SECOND)
        with pytest.raises(StoreFullError):
            app.trust.standalone()
        monkeypatch.undo()
        assert len(app.visits.history(card).visits) == 1
        assert app.certificates_service().trust_list() is None


def test_the_edges_write_no_audit_entry_and_name_no_action_themselves() -> None:
    """CLI and web call the application; an audit entry or an action string there is a use case gone astray."""
    actions = {a.value for a in Action}
    for path in sorted([*(REPO / "haven" / "cli").rglob("*.py"), *(REPO / "haven" / "web").rglob("*.py")]):
        text = path.read_text("utf-8")
        assert not re.search(r"(?<!limiter)\.record\(|\.auditor\(|append_in\(|AuditLog\(", text), path
        named = {s for s in re.findall(r"""["']([a-z]+\.[a-z-]+)["']""", text) if s in actions}
        assert not named, (path, named)


def test_the_front_door_makes_opens_and_verifies(tmp_path: Path, monkeypatch: Any) -> None:
    import haven

    monkeypatch.setenv("HAVEN_KDF_PROFILE", "test")
    card = Card(bytes(range(16)))
    with haven.create_site(tmp_path / "clinic", "Ana", ADMIN) as app:
        app.visits.add(card, VISIT, first_visit=True)
        app.trust.standalone()
        [stub] = app.certificates.issue(card)
        trust = app.certificates_service().trust()
    with haven.open_site(tmp_path / "clinic", ADMIN) as app:
        assert [e.product for v in app.visits.history(card).visits for e in v.visit.entries] == ["comirnaty"]
        assert app.sync.site_keys() is None  # the network's use cases are on the same front door
        assert app.sync.request() and app.sync.site_keys() is not None
    assert haven.verify(stub, trust).format == "haven"
    with pytest.raises(haven.UnknownIssuer):
        haven.verify(stub)
    for unsafe in ("Clinic", "SQLiteStore", "MemoryStore", "HolderKeys"):
        assert not hasattr(haven, unsafe), unsafe
