"""The audit log: who did what, never to whom; every kind of tampering is detected."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from haven.errors import AUDIT_FAULTS, AuditTamperedError
from haven.site.audit import GENESIS, HEAD_SETTING, AuditEntry, Head, chain, hour
from haven.site.rolekeys import AUDIT_PUBLIC
from haven.site.site import UnlockedSite
from tests.helpers_site import ADMIN, CLINICIAN, new_site, raw_write


@pytest.fixture
def session(tmp_path: Path) -> Iterator[UnlockedSite]:
    site = new_site(tmp_path / "s")
    with site.unlock(CLINICIAN) as clinician:
        for action in ("visit.add", "visit.add", "history.view"):
            clinician.record(action)
        clinician.record("visit.import", 40)
    with site.unlock(ADMIN) as admin:
        yield admin


def _sql(session: UnlockedSite, sql: str, *params: object) -> None:
    with raw_write(session.store) as conn:
        conn.execute(sql, params)


def test_entries_say_who_did_what_never_to_whom(session: UnlockedSite) -> None:
    rows = session.audit.rows()
    assert [e.action for e, _ in rows] == [
        "site.init",
        "staff.add",
        "visit.add",
        "visit.add",
        "history.view",
        "visit.import",
    ]
    assert rows[-1][0].count == 40
    assert {e.at for e, _ in rows} == {"2026-11-29T14Z"}  # the hour only
    columns = session.store.tables()
    audit = next(t for t in columns if t.name == "audit")
    assert audit.columns == ("seq", "sealed", "hash")  # who, when and what are sealed to coordinators
    assert session.audit.verify().seq == 6


def _public(session: UnlockedSite) -> bytes:
    public = session.store.get_setting(AUDIT_PUBLIC)
    assert public is not None
    return public


def test_audit_detects_an_edited_entry(session: UnlockedSite) -> None:
    sealed = bytes(session.store.query("SELECT sealed FROM audit WHERE seq = 3")[0][0])
    other = AuditEntry(3, "2026-11-28T09Z", b"x" * 16, "history.view", 2).seal(_public(session))
    for value in (sealed[:-1] + bytes([sealed[-1] ^ 1]), other):
        _sql(session, "UPDATE audit SET sealed = ? WHERE seq = 3", value)
        with pytest.raises(AuditTamperedError) as caught:
            session.audit.verify()
        assert caught.value.seq == 3


def test_audit_detects_a_deleted_entry_in_the_middle(session: UnlockedSite) -> None:
    _sql(session, "DELETE FROM audit WHERE seq = 3")
    with pytest.raises(AuditTamperedError, match="missing or out of place") as caught:
        session.audit.verify()
    assert caught.value.seq == 3


def test_audit_detects_entries_cut_from_the_end(session: UnlockedSite) -> None:
    _sql(session, "DELETE FROM audit WHERE seq >= 5")
    with pytest.raises(AuditTamperedError, match="cut from the end"):
        session.audit.verify()


def test_audit_detects_reordered_entries(session: UnlockedSite) -> None:
    rows = {seq: (sealed, h) for seq, sealed, h in session.audit.sealed_rows()}
    (e4, h4), (e5, h5) = rows[4], rows[5]
    # Swap the contents of entries 4 and 5 (hashes moved with them).
    _sql(session, "UPDATE audit SET sealed = ?, hash = ? WHERE seq = 4", e5, h5)
    _sql(session, "UPDATE audit SET sealed = ?, hash = ? WHERE seq = 5", e4, h4)
    with pytest.raises(AuditTamperedError) as caught:
        session.audit.verify()
    assert caught.value.seq == 4


def test_audit_detects_swapped_sequence_numbers(session: UnlockedSite) -> None:
    _sql(session, "UPDATE audit SET seq = 100 WHERE seq = 2")
    _sql(session, "UPDATE audit SET seq = 2 WHERE seq = 3")
    _sql(session, "UPDATE audit SET seq = 3 WHERE seq = 100")
    with pytest.raises(AuditTamperedError):
        session.audit.verify()


def test_audit_detects_an_inserted_entry(session: UnlockedSite) -> None:
    # In the middle: renumber to make room, then insert a made-up entry.
    rows = session.audit.rows()
    _sql(session, "UPDATE audit SET seq = seq + 100 WHERE seq >= 3")
    _sql(session, "UPDATE audit SET seq = seq - 99 WHERE seq >= 103")
    fake = AuditEntry(3, rows[1][0].at, rows[1][0].staff, "visit.add", 1).seal(_public(session))
    _sql(session, "INSERT INTO audit VALUES (?, ?, ?)", 3, fake, b"\0" * 32)
    with pytest.raises(AuditTamperedError) as caught:
        session.audit.verify()
    assert caught.value.seq == 3


def test_audit_detects_an_entry_appended_behind_the_heads_back(session: UnlockedSite) -> None:
    last, digest = session.audit.rows()[-1]
    extra = AuditEntry(last.seq + 1, last.at, last.staff, "visit.add", 1).seal(_public(session))
    _sql(session, "INSERT INTO audit VALUES (?, ?, ?)", last.seq + 1, extra, chain(digest, last.seq + 1, extra))
    with pytest.raises(AuditTamperedError, match="head"):
        session.audit.verify()


def test_audit_detects_a_missing_head(session: UnlockedSite) -> None:
    _sql(session, "DELETE FROM settings WHERE name = ?", HEAD_SETTING)
    with pytest.raises(AuditTamperedError, match="head"):
        session.audit.verify()


def test_a_rewritten_chain_is_caught_by_a_witnessed_head(session: UnlockedSite) -> None:
    """Someone holding the key can recompute every hash; a head written down earlier still catches it."""
    witness = session.audit.verify()
    rows = session.audit.rows()
    # Rewrite history: entry 3 becomes something else (sealed with the public key, as anyone can),
    # and every hash after it is recomputed.
    previous = GENESIS
    for seq, sealed, _ in session.audit.sealed_rows():
        if seq == 3:
            entry = rows[2][0]
            sealed = AuditEntry(3, entry.at, entry.staff, "history.view", entry.count).seal(_public(session))
            _sql(session, "UPDATE audit SET sealed = ? WHERE seq = 3", sealed)
        previous = chain(previous, seq, sealed)
        _sql(session, "UPDATE audit SET hash = ? WHERE seq = ?", previous, seq)
    _sql(session, "UPDATE settings SET value = ? WHERE name = ?", Head(len(rows), previous).pack(), HEAD_SETTING)
    assert session.audit.verify().seq == len(rows)  # consistent on its own ...
    assert session.audit.rows()[2][0].action == "history.view"
    with pytest.raises(AuditTamperedError, match="witnessed"):
        session.audit.verify((witness,))  # ... but not with what was seen before
    earlier = Head(2, rows[1][1])
    assert session.audit.verify((earlier,)).seq == len(rows)  # the untouched prefix still checks out


def test_witness_heads_parse_and_print() -> None:
    head = Head(7, bytes(range(32)))
    assert Head.parse(str(head)) == head
    from haven.errors import InputError

    for bad in ("7", "x:00", "7:abcd"):
        with pytest.raises(InputError):
            Head.parse(bad)


def test_audit_times_are_hours_in_utc() -> None:
    seoul = dt.timezone(dt.timedelta(hours=9))
    assert hour(dt.datetime(2026, 11, 30, 1, 5, tzinfo=seoul)) == "2026-11-29T16Z"
    with pytest.raises(ValueError):
        hour(dt.datetime(2026, 11, 30, 1, 5))


def test_cli_audit_verify_fails_with_exit_12_after_tampering(run_cli, tmp_path: Path) -> None:
    from haven.site.folder import SiteFolder
    from haven.site.site import Site

    assert run_cli("init", "--admin", "Ana").code == 0
    assert run_cli("audit", "verify").code == 0
    head = run_cli("audit", "head", "--json").json()["head"]
    shown = run_cli("audit", "show", "--json").json()["entries"]
    assert (shown[0]["action"], shown[0]["staff"]) == ("site.init", "Ana")
    assert "hash" in shown[0] and set(shown[0]) == {"seq", "at", "staff", "action", "count", "hash"}
    with Site(SiteFolder(tmp_path / "site")).unlock(ADMIN) as session:
        _sql(session, "UPDATE audit SET sealed = x'00' WHERE seq = 1")
    result = run_cli("audit", "verify", "--witness", head)
    assert result.code == 12
    assert result.err.startswith("haven: Audit entry 1") and "Traceback" not in result.err


def _rechain(session: UnlockedSite) -> None:
    """Recompute every chain hash and the head, as someone holding the passphrase could after an edit."""
    previous = GENESIS
    rows = session.audit.sealed_rows()
    for seq, sealed, _ in rows:
        previous = chain(previous, seq, sealed)
        _sql(session, "UPDATE audit SET hash = ? WHERE seq = ?", previous, seq)
    _sql(session, "UPDATE settings SET value = ? WHERE name = ?", Head(len(rows), previous).pack(), HEAD_SETTING)


def _reseal(session: UnlockedSite, seq: int, sealed: bytes) -> None:
    _sql(session, "UPDATE audit SET sealed = ? WHERE seq = ?", sealed, seq)
    _rechain(session)


def _tamper(session: UnlockedSite, problem: str) -> tuple[Head, ...]:
    """Tamper with the log so that its check fails for ``problem``; the witnessed heads to check it with."""
    entry = session.audit.rows()[2][0]
    if problem == "unopenable":
        _reseal(session, 3, b"\0" * 80)
    elif problem == "moved":
        _reseal(session, 3, AuditEntry(4, entry.at, entry.staff, entry.action, entry.count).seal(_public(session)))
    elif problem == "out-of-place":
        _sql(session, "DELETE FROM audit WHERE seq = 3")
    elif problem == "chain":
        _sql(session, "UPDATE audit SET sealed = x'00' WHERE seq = 3")
    elif problem == "no-head":
        _sql(session, "DELETE FROM settings WHERE name = ?", HEAD_SETTING)
    elif problem == "cut":
        _sql(session, "DELETE FROM audit WHERE seq >= 5")
    elif problem == "head":
        last, digest = session.audit.rows()[-1]
        extra = AuditEntry(last.seq + 1, last.at, last.staff, "visit.add", 1).seal(_public(session))
        _sql(session, "INSERT INTO audit VALUES (?, ?, ?)", last.seq + 1, extra, chain(digest, last.seq + 1, extra))
    elif problem == "witness":
        witness = Head(3, session.audit.rows()[2][1])
        _reseal(session, 3, AuditEntry(3, entry.at, entry.staff, "history.view", 9).seal(_public(session)))
        return (witness,)
    return ()


# Each way the check fails, made by real tampering: (seq, the numbers its sentence names).
FAULTS: dict[str, tuple[int | None, dict[str, int]]] = {
    "unopenable": (3, {}),
    "moved": (3, {"found": 4}),
    "out-of-place": (3, {"found": 4}),
    "chain": (3, {}),
    "no-head": (None, {}),
    "cut": (5, {"last": 4, "head": 6}),
    "head": (7, {}),
    "witness": (3, {}),
}


def test_every_audit_fault_has_a_real_case() -> None:
    assert set(FAULTS) == set(AUDIT_FAULTS)


@pytest.mark.parametrize("problem", sorted(FAULTS))
def test_each_audit_fault_names_its_problem_and_where(session: UnlockedSite, problem: str) -> None:
    witnesses = _tamper(session, problem)
    with pytest.raises(AuditTamperedError) as caught:
        session.audit.verify(witnesses)
    seq, values = FAULTS[problem]
    fault = caught.value
    assert (fault.problem, fault.seq, fault.values) == (problem, seq, values)
    assert fault.message == AUDIT_FAULTS[problem].format(seq=seq, **values)
    assert fault.to_dict() == {
        "code": "audit-tampered",
        "message": fault.message,
        **({} if seq is None else {"details": {"seq": seq}}),
    }
