"""Keys by role: what a staff passphrase can decrypt is what that staff member's role may see.

The search covers everything a passphrase leads to: the slot it opens, every table and every
setting of the decrypted database, the member record its slot's member key opens, and every raw
file of the site. It looks for the site's private keys (PKCS#8 DER, raw scalars), the role keys,
the staff names, the audit entries (their encoding and their action names) and the counters (a
tally's encoding, each counter's key as CBOR, and its week as a number).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from haven.cert_services import NAMES_THIS_SITE, Certificates
from haven.certs.signing_keys import private_der
from haven.core.aggregates import aggregate_keys, encode_tally
from haven.core.card import Card
from haven.core.entries import parse_visit
from haven.errors import PermissionDeniedError, SiteError
from haven.site.keyslots import KeySlotFile, SlotKey, SlotKind
from haven.site.rolekeys import AUDIT_PRIVATE, MemberRecord, audit_private, issuing_key, member_setting
from haven.site.roles import ALL_ROLES, Role
from haven.site.site import Site, UnlockedSite
from tests.helpers_clock import NOW
from tests.helpers_site import ADMIN, CHEAP, CLINICIAN, folder_bytes, make_site, raw_write

COORDINATOR_NAME = "Kim Sun-hee"
CLINICIAN_NAME = "Amara Okafor"
REGISTRAR_NAME = "Reza Tehrani"
REGISTRAR = "velvet orbit cannon drastic lumber"
NAMES = (COORDINATOR_NAME, CLINICIAN_NAME, REGISTRAR_NAME)
VISIT = [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]


def _scalar(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_numbers().private_value.to_bytes(32, "big")


def _site(home: Path) -> Site:
    """A coordinator (who may also treat: the root of a standalone site), a clinician, a registrar;
    certificates issued, visits added, audit entries written by all three."""
    site = make_site(home)
    with site.create(COORDINATOR_NAME, ADMIN, calibration=CHEAP) as admin:
        admin.add_staff(CLINICIAN_NAME, Role.CLINICIAN, CLINICIAN)
        admin.add_staff(REGISTRAR_NAME, Role.REGISTRAR, REGISTRAR)
        admin.certificates().standalone()
        admin.certificates().new_key("south")
    card = Card(bytes(range(16)))
    with site.unlock(REGISTRAR) as registrar:
        registrar.clinic(today=lambda: NOW.date()).add_visit(card, VISIT, first_visit=True)
        registrar.record("visit.add")
    with site.unlock(CLINICIAN) as clinician:
        assert len(clinician.certificates().issue(card, count=2)) == 2
        clinician.record("certificate.issue", 2)
    return site


def _secrets(site: Site) -> dict[str, bytes]:
    """Every secret a registrar must not reach, read with the coordinator's passphrase."""
    with site.unlock(ADMIN) as admin:
        certs = admin.certificates()
        root = certs.root_key()
        assert root is not None
        epoch = certs.signing_keys()
        assert len(epoch) >= 4
        needles = {"root key (PKCS#8)": private_der(root), "root key (scalar)": _scalar(root)}
        for i, k in enumerate(epoch):
            needles[f"epoch key {i} (PKCS#8)"] = private_der(k.private)
            needles[f"epoch key {i} (scalar)"] = _scalar(k.private)
        needles["audit private key"] = audit_private(admin.keys, admin.store.get_setting).private_bytes_raw()
        assert admin.keys.admin is not None
        needles["admin key"] = admin.keys.admin
        issuing = issuing_key(admin.keys, admin.store.get_setting)
        assert issuing is not None
        needles["issuing key"] = issuing
        entries = admin.audit.rows()
        assert [e.action for e, _ in entries][-2:] == ["visit.add", "certificate.issue"]
        for e, _ in entries:
            needles[f"audit entry {e.seq}"] = e.canonical()
        for action in {e.action for e, _ in entries}:
            needles[f"audit action {action}"] = action.encode()
        needles["audit hour"] = entries[0][0].at.encode()
    for name in NAMES:
        needles[f"name {name}"] = name.encode()
    keys = aggregate_keys(parse_visit(VISIT, NOW.date()))
    assert keys
    needles["counters (tally)"] = encode_tally(keys)[:16]  # its length and the CBOR that starts every tally
    for key in keys:
        needles[f"counter {tuple(key)} (CBOR)"] = cbor2.dumps(list(key))
        needles[f"counter week {key.week}"] = str(key.week).encode()
    return needles


def _cells(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode()


def _decryptable(site: Site, passphrase: str) -> tuple[dict[str, bytes], UnlockedSite]:
    """Everything ``passphrase`` decrypts: its slots, the whole database, its own member record; and the files."""
    header, slots = KeySlotFile(site.folder.keyslots_path).read()
    opened = SlotKey(header.params.derive(passphrase.encode(), header.salt)).open_all(header, slots)
    found: dict[str, bytes] = {f"slot {i}": c.pack() for i, c in opened}
    session = site.unlock(passphrase)
    for table in session.store.tables():
        found[f"table {table.name}"] = b"\0".join(_cells(v) for row in table.rows for v in row)
    for _, content in opened:
        if content.kind == SlotKind.KEY:
            blob = session.store.get_setting(member_setting(content.staff_id))
            assert blob is not None
            record = MemberRecord.open(content.member_key, content.staff_id, blob)
            found["own record"] = (
                json.dumps([record.name, record.slots, record.added, (record.keys.issuing or b"").hex()]).encode()
                + (record.keys.issuing or b"")
                + (record.keys.admin or b"")
            )
    session.store.checkpoint()
    for name, data in folder_bytes(site.folder.home).items():
        found[f"file {name}"] = data
    return found, session


def _hits(found: dict[str, bytes], needles: dict[str, bytes]) -> set[str]:
    return {label for label, needle in needles.items() if any(needle in data for data in found.values())}


def test_a_registrars_passphrase_decrypts_no_private_key_no_staff_name_no_audit_entry_and_no_counter(
    tmp_path: Path,
) -> None:
    site = _site(tmp_path / "s")
    needles = _secrets(site)
    found, session = _decryptable(site, REGISTRAR)
    with session:
        assert _hits(found, needles) == {f"name {REGISTRAR_NAME}"}  # their own name, from their own record only
        assert session.staff.name == REGISTRAR_NAME
        with pytest.raises(PermissionDeniedError):
            session.certificates().signing_keys()
        with pytest.raises(PermissionDeniedError):
            session.staff_table().active()
        with pytest.raises(PermissionDeniedError):
            audit_private(session.keys, session.store.get_setting)
        with pytest.raises(PermissionDeniedError):
            session.counts()


def test_a_clinicians_passphrase_opens_the_epoch_keys_and_nothing_of_the_coordinators(tmp_path: Path) -> None:
    site = _site(tmp_path / "s")
    needles = _secrets(site)
    found, session = _decryptable(site, CLINICIAN)
    session.close()
    epoch = {label for label in needles if label.startswith("epoch key")}
    # The epoch keys are wrapped under the issuing key that the clinician's record holds: that is their job.
    assert _hits(found, needles) == {f"name {CLINICIAN_NAME}", "issuing key"}
    with site.unlock(CLINICIAN) as clinician:
        held = {label for label in epoch if "PKCS#8" in label}
        assert len(clinician.certificates().signing_keys()) == len(held)
        with pytest.raises(PermissionDeniedError):
            clinician.certificates().root_key()
        assert AUDIT_PRIVATE in {r[0] for r in clinician.store.query("SELECT name FROM settings")}


def test_the_empty_site_duress_leaves_holds_no_key_of_the_old_site(tmp_path: Path) -> None:
    """A registrar's duress builds what init builds: they hold every role, with keys made new for the empty site."""
    site = make_site(tmp_path / "s")
    with site.create(COORDINATOR_NAME, ADMIN, calibration=CHEAP) as admin:
        admin.add_staff(REGISTRAR_NAME, Role.REGISTRAR, REGISTRAR, "inquiry current useless three smoke")
        old_admin_key = admin.keys.require_admin()
    site.unlock("inquiry current useless three smoke").close()  # the registrar's duress passphrase
    with site.unlock("inquiry current useless three smoke") as rebuilt:
        assert rebuilt.staff.name == REGISTRAR_NAME and rebuilt.staff.roles == ALL_ROLES
        assert rebuilt.keys.require_admin() != old_admin_key
        assert Certificates(rebuilt.store).trust_list() is None
        settings = {r[0] for r in rebuilt.store.query("SELECT name FROM settings")}
        assert not settings & {"certs/root-key", "certs/signing-keys"}
        assert REGISTRAR_NAME.encode() not in b"".join(
            _cells(v) for t in rebuilt.store.tables() for row in t.rows for v in row
        )


def test_new_and_reset_accounts_get_exactly_their_roles_keys(tmp_path: Path) -> None:
    site = _site(tmp_path / "s")
    with site.unlock(ADMIN) as admin:
        admin.add_staff("Bo Lindqvist", Role.CLINICIAN | Role.REGISTRAR, "abandon cactus violin fury ostrich")
        admin.change_passphrase("census unable gallery jump essay", name=CLINICIAN_NAME)
    for passphrase in ("abandon cactus violin fury ostrich", "census unable gallery jump essay"):
        with site.unlock(passphrase) as session:
            assert session.keys.issuing is not None and session.keys.admin is None
            assert session.certificates().current_key() is not None
    with site.unlock(REGISTRAR) as registrar:
        assert registrar.keys.issuing is None and registrar.keys.admin is None
        registrar.change_passphrase("orchard mimic pelican thrive cobalt")  # own: the same record stays
    with site.unlock("orchard mimic pelican thrive cobalt") as registrar:
        assert registrar.staff.name == REGISTRAR_NAME
    with site.unlock(ADMIN) as admin:
        removed = next(m for m in admin.staff_table().active() if m.name == "Bo Lindqvist")
        admin.remove_staff("Bo Lindqvist")
        assert admin.store.get_setting(member_setting(removed.id)) is None  # their record is gone


@pytest.mark.parametrize("role", ["coordinator", "clinician", "registrar"])
def test_seizure_view_never_prints_a_private_key_with_any_passphrase(
    role: str, tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _site(tmp_path / "site")
    needles = {k: v for k, v in _secrets(site).items() if "key" in k}
    monkeypatch.setenv("HAVEN_PASSPHRASE", {"coordinator": ADMIN, "clinician": CLINICIAN, "registrar": REGISTRAR}[role])
    for args in (("--json", "--full"), ("--full",)):
        shown = run_cli("seizure-view", *args)
        assert shown.code == 0, shown.err
        text = shown.out.replace("\n", "").replace(" ", "").replace("│", "")
        assert [label for label, needle in needles.items() if needle.hex() in text] == []
        if role != "coordinator":
            assert not [n for n in NAMES if n in shown.out and n != {"clinician": CLINICIAN_NAME}.get(role)]


def test_seizure_view_refuses_to_print_a_private_key_left_in_the_clear(tmp_path: Path, run_cli: Any) -> None:
    site = _site(tmp_path / "site")
    with site.unlock(ADMIN) as admin:
        root = admin.certificates().root_key()
        assert root is not None
        admin.store.put_setting("left-over", private_der(root))
    shown = run_cli("seizure-view", "--json", "--full")
    assert shown.code != 0 and private_der(root).hex() not in shown.out
    assert shown.err.startswith("haven: Table settings holds a private key") and "Traceback" not in shown.err


# ------------------------------------------------------------ 8.2: no default network of one


def test_a_new_site_issues_nothing_until_standalone_is_chosen_and_says_what_that_means(run_cli: Any) -> None:
    assert run_cli("init", "--admin", "Ana").code == 0
    card = run_cli("card", "new", "--json", "--no-show-qr").json()["qr"]
    assert run_cli("visit", "add", "--card", card, "--first-visit", "--entries", "-", stdin=json.dumps(VISIT)).code == 0
    refused = run_cli("cert", "issue", "--card", card)
    assert refused.code == 26 and refused.out == ""
    assert refused.err.count("\n") == 1 and "haven trust standalone" in refused.err and "join" in refused.err
    assert run_cli("trust", "show").code == 26  # no trust list: no key id of this clinic anywhere
    chosen = run_cli("trust", "standalone")
    assert chosen.code == 0 and NAMES_THIS_SITE in " ".join(chosen.out.split())
    assert run_cli("trust", "show", "--json").json()["names_this_site"] is True
    assert run_cli("cert", "issue", "--card", card, "--json").code == 0


def _week_aligned(seconds: int) -> bool:
    monday = int(dt.datetime(2026, 11, 30, tzinfo=dt.UTC).timestamp())
    return (seconds - monday) % (7 * 86400) == 0


def test_every_time_in_the_trust_list_is_a_week_boundary_and_keys_are_made_ahead(tmp_path: Path) -> None:
    now = [dt.datetime(2026, 12, 2, 13, 47, 11, tzinfo=dt.UTC)]  # a Wednesday afternoon
    site = make_site(tmp_path / "s", now=lambda: now[0])
    with site.create(COORDINATOR_NAME, ADMIN, calibration=CHEAP) as admin:
        certs = admin.certificates()
        certs.standalone()
        first = certs.trust_list()
        assert first is not None
        # Twelve weeks of keys listed at once: none is made when a certificate is first issued.
        assert max(k.not_after for k in first.keys) - int(now[0].timestamp()) >= 11 * 7 * 86400
        lists = [first]
        for days, step in ((3, "new-key"), (40, "rotate"), (41, "revoke"), (100, "schedule")):
            now[0] += dt.timedelta(days=days, seconds=4321)
            if step == "new-key":
                certs.new_key("south", days=10, start=now[0] + dt.timedelta(days=2, hours=5))
            elif step == "rotate":
                certs.new_key("local", end_current=True)
            elif step == "revoke":
                certs.revoke(kid=certs.current_key().kid)
            else:
                certs.keep_scheduled()
            current = certs.trust_list()
            assert current is not None
            lists.append(current)
    times = [t for tl in lists for t in (tl.issued_at, *(x for k in tl.keys for x in (k.not_before, k.not_after)))]
    assert times and all(_week_aligned(t) for t in times), [t for t in times if not _week_aligned(t)]


def test_issuing_within_the_schedule_changes_no_trust_list(tmp_path: Path) -> None:
    now = [NOW]
    site = make_site(tmp_path / "s", now=lambda: now[0])
    card = Card(bytes(range(16)))
    with site.create(COORDINATOR_NAME, ADMIN, calibration=CHEAP) as admin:
        admin.certificates().standalone()
        admin.clinic(today=lambda: NOW.date()).add_visit(card, VISIT, first_visit=True)
        before = admin.store.get_setting("certs/trust-list")
        for days in (0, 5, 20, 50):
            now[0] = NOW + dt.timedelta(days=days)
            admin.certificates().issue(card)
            assert admin.store.get_setting("certs/trust-list") == before
        now[0] = NOW + dt.timedelta(days=70)  # under four weeks of keys left: the next ones are listed
        admin.certificates().issue(card)
        assert admin.store.get_setting("certs/trust-list") != before


def test_the_web_refuses_to_issue_before_standalone_is_chosen_and_says_why(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from haven.web import WebSettings, WebSite, create_app

    site = make_site(tmp_path / "s")
    with site.create("coordinator", ADMIN, roles=Role.COORDINATOR, calibration=CHEAP) as admin:
        admin.add_staff("clinician", Role.CLINICIAN, CLINICIAN)
    web = WebSite(keys=site, now=lambda: NOW)
    with TestClient(create_app(WebSettings(), web), base_url="http://127.0.0.1") as client:
        token = client.get("/api/session").json()["csrf_token"]
        signed = {"name": "clinician", "passphrase": CLINICIAN}
        r = client.post("/api/session", json=signed, headers={"X-CSRF-Token": token})
        assert r.status_code == 200, r.text
        h = {"X-CSRF-Token": r.json()["csrf_token"]}
        assert client.post("/api/cards", json={"language": "en"}, headers=h).status_code == 200
        assert client.post("/api/visits", json={"visit": VISIT}, headers=h).status_code == 200
        visit = client.get("/api/history").json()["visits"][0]
        entry = f"{visit['index']}.{visit['record']}.0"
        refused = client.post("/api/certificates", json={"entries": [entry], "count": 1}, headers=h)
        assert refused.status_code == 409 and "haven trust standalone" in refused.json()["error"]["message"]
        assert client.get("/api/trust-list").status_code == 404


def _make_legacy(site: Site) -> tuple[bytes, list[tuple[int, str, bytes, str, int]]]:
    """Turn a site into what an older Haven left: names and entries in the clear, keys unwrapped, slots
    without member keys. Returns the root key's PKCS#8 and the audit entries."""
    from haven.certs.signing_keys import new_private_key
    from haven.certs.trust import encode_signing_keys, make_signing_key
    from haven.site.keyslots import SlotContent

    with site.unlock(ADMIN) as admin:
        members = admin.staff_table().active()
        entries = [(e.seq, e.at, e.staff, e.action, e.count) for e, _ in admin.audit.rows()]
        root = private_der(new_private_key(lambda n: bytes([7]) * n))
        epoch = encode_signing_keys([make_signing_key(lambda n: bytes([9]) * n, "local", 0)])
        with raw_write(admin.store) as conn:
            conn.execute(
                "CREATE TABLE staff_v3 (id BLOB PRIMARY KEY, name TEXT, roles INTEGER NOT NULL, slot_a INTEGER,"
                " slot_b INTEGER, added TEXT NOT NULL, removed TEXT) WITHOUT ROWID"
            )
            conn.execute(
                "CREATE TABLE audit_v3 (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, staff BLOB NOT NULL,"
                " action TEXT NOT NULL, count INTEGER NOT NULL, hash BLOB NOT NULL)"
            )
            for m in members:
                row = (m.id, m.name, int(m.roles), m.slots[0], m.slots[1], m.added)
                conn.execute("INSERT INTO staff_v3 VALUES (?, ?, ?, ?, ?, ?, NULL)", row)
            conn.executemany("INSERT INTO audit_v3 VALUES (?, ?, ?, ?, ?, x'00')", entries)
            conn.execute("DELETE FROM staff")
            conn.execute("DELETE FROM audit")
            conn.execute("DELETE FROM settings WHERE name LIKE 'keys/%' OR name = 'audit.head'")
            conn.execute("INSERT INTO settings VALUES ('certs/root-key', ?), ('certs/signing-keys', ?)", (root, epoch))
    slots_file = KeySlotFile(site.folder.keyslots_path)
    header, slots = slots_file.read()
    for passphrase in (ADMIN, CLINICIAN):
        key = SlotKey(header.params.derive(passphrase.encode(), header.salt))
        for i, c in key.open_all(header, slots):
            if c.kind == SlotKind.KEY:
                old = SlotContent(c.kind, c.roles, c.staff_id, c.master_key)  # no member key
                slots_file.write_slot(i, key.seal(header, i, old, lambda n: bytes(n)))
    return root, entries


def test_a_site_made_before_keys_by_role_is_converted_by_its_first_coordinator(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s")
    with site.create(COORDINATOR_NAME, ADMIN, calibration=CHEAP) as admin:
        admin.add_staff(CLINICIAN_NAME, Role.CLINICIAN, CLINICIAN)
    root, entries = _make_legacy(site)
    with pytest.raises(SiteError, match="a coordinator must open it first"):
        site.unlock(CLINICIAN)
    with site.unlock(ADMIN) as admin:  # converts
        assert admin.staff.name == COORDINATOR_NAME
        assert sorted(m.name for m in admin.staff_table().active()) == sorted([COORDINATOR_NAME, CLINICIAN_NAME])
        assert [(e.seq, e.at, e.staff, e.action, e.count) for e, _ in admin.audit.rows()] == entries
        admin.audit.verify()
        held = admin.certificates().root_key()
        assert held is not None and private_der(held) == root
        assert len(admin.certificates().signing_keys()) == 1
        everything = b"".join(_cells(v) for t in admin.store.tables() for row in t.rows for v in row)
        assert root not in everything and CLINICIAN_NAME.encode() not in everything
        assert not {t.name for t in admin.store.tables()} & {"staff_v3", "audit_v3"}
    with site.unlock(ADMIN) as admin:  # its slot now carries a member key
        assert admin.keys.admin is not None
        with pytest.raises(SiteError, match="ask a coordinator"):
            site.unlock(CLINICIAN)
        admin.change_passphrase("census unable gallery jump essay", name=CLINICIAN_NAME)
    with site.unlock("census unable gallery jump essay") as clinician:
        assert clinician.staff.name == CLINICIAN_NAME and clinician.keys.issuing is not None


@pytest.mark.parametrize("accounts", [0, 1])
def test_schema_4_keeps_an_older_sites_tables_for_its_conversion_and_drops_empty_ones(
    tmp_path: Path, accounts: int
) -> None:
    from haven.store.migrations import MIGRATIONS
    from haven.store.sqlite import SQLiteStore, sqlite

    path = tmp_path / "old.db"
    conn = sqlite.connect(str(path), isolation_level=None)
    for migration in MIGRATIONS[:3]:
        migration.apply(conn)
    conn.execute("PRAGMA user_version = 3")
    for n in range(accounts):
        conn.execute("INSERT INTO staff VALUES (?, 'Ana', 7, 1, 2, '2026-11-29', NULL)", (bytes([n]) * 16,))
    conn.close()
    store = SQLiteStore(path)
    tables = {t.name: t for t in store.tables()}
    store.close()
    assert tables["staff"].columns == ("id", "sealed", "removed")
    assert tables["audit"].columns == ("seq", "sealed", "hash")
    assert ("staff_v3" in tables) == bool(accounts) and ("audit_v3" in tables) == bool(accounts)


@pytest.mark.parametrize("cut", ["before the slot write", "after the slot write"])
def test_a_conversion_cut_short_is_completed_at_the_next_unlock(
    tmp_path: Path, cut: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from haven.site import legacy
    from haven.site.keyslots import KeySlotFile as SlotFile

    site = make_site(tmp_path / "s")
    with site.create(COORDINATOR_NAME, ADMIN, calibration=CHEAP) as admin:
        admin.add_staff(CLINICIAN_NAME, Role.CLINICIAN, CLINICIAN)
    root, entries = _make_legacy(site)

    def crash(*args: object) -> None:
        raise OSError(5, "Input/output error")

    target, name = (SlotFile, "write_slot") if cut == "before the slot write" else (legacy, "finish")
    with monkeypatch.context() as m:
        m.setattr(target, name, crash)
        with pytest.raises(SiteError):  # the disk failed half-way through the conversion
            site.unlock(ADMIN)
    with site.unlock(ADMIN) as admin:
        assert not legacy.is_legacy(admin.store)
        assert [(e.seq, e.at, e.staff, e.action, e.count) for e, _ in admin.audit.rows()] == entries
        held = admin.certificates().root_key()
        assert held is not None and private_der(held) == root
        assert sorted(m.name for m in admin.staff_table().active()) == sorted([COORDINATOR_NAME, CLINICIAN_NAME])
