"""Every "saved" is true: a change and its audit entry commit in one transaction, and one site never
gives two visits of a holder the same index (threads, processes, two web sessions).

The audit write is made to fail at the exact point with a real SQLite trigger on the audit table
(the database itself refuses the insert as a full disk would), and on real small filesystems.
"""

from __future__ import annotations

import json
import multiprocessing
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from haven.app.clinic import Clinic, unsealed_tally
from haven.core.card import Card
from haven.errors import StoreError
from haven.site.site import UnlockedSite
from haven.store.sqlite import SQLiteStore
from tests.conftest import ADMIN_PASSPHRASE, Result
from tests.helpers_site import make_site, raw_write

VISIT = [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]
FULL = "database or disk is full"


def _fail_audit(store: SQLiteStore) -> None:
    """From now on the database refuses every audit entry (the message is SQLite's for a full disk)."""
    with raw_write(store) as conn:
        conn.execute(f"CREATE TRIGGER audit_fails BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, '{FULL}'); END")


def _heal_audit(store: SQLiteStore) -> None:
    with raw_write(store) as conn:
        conn.execute("DROP TRIGGER audit_fails")


def _actions(session: UnlockedSite) -> list[str]:
    return [entry.action for entry, _ in session.audit.rows()]


def test_a_visit_whose_audit_entry_fails_is_not_stored(run_cli: Callable[..., Result], tmp_path: Path) -> None:
    assert run_cli("init", "--admin", "amal").code == 0
    site = make_site(tmp_path / "site")
    card = Card(secrets.token_bytes(16))
    with site.unlock(ADMIN_PASSPHRASE) as session:
        _fail_audit(session.store)
    args = ("visit", "add", "--card", card.code, "--first-visit", "--entries", "-")
    refused = run_cli(*args, stdin=json.dumps(VISIT))
    assert refused.code == 7
    assert refused.err.strip() == "haven: The disk is full; nothing of this change was saved. Free some space."
    with site.unlock(ADMIN_PASSPHRASE) as session:
        assert session.store.count() == 0  # "nothing was saved" is true
        _heal_audit(session.store)
    assert run_cli(*args, stdin=json.dumps(VISIT)).code == 0  # the retry stores it once, with its entry
    with site.unlock(ADMIN_PASSPHRASE) as session:
        assert session.store.count() == 1
        assert _actions(session).count("visit.add") == 1
        session.audit.verify()


def test_card_new_with_a_first_visit_stores_nothing_without_its_audit_entry(
    run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    assert run_cli("init", "--admin", "amal").code == 0
    site = make_site(tmp_path / "site")
    with site.unlock(ADMIN_PASSPHRASE) as session:
        _fail_audit(session.store)
    (tmp_path / "visit.json").write_text(json.dumps(VISIT))
    r = run_cli("card", "new", "--no-show-qr", "--entries", str(tmp_path / "visit.json"))
    assert r.code == 7 and "nothing of this change was saved" in r.err
    with site.unlock(ADMIN_PASSPHRASE) as session:
        assert session.store.count() == 0


def test_an_import_batch_and_its_audit_entry_commit_together(run_cli: Callable[..., Result], tmp_path: Path) -> None:
    assert run_cli("init", "--admin", "amal").code == 0
    site = make_site(tmp_path / "site")
    lines = [json.dumps({"card": Card(secrets.token_bytes(16)).code, "entries": VISIT}) for _ in range(6)]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    with site.unlock(ADMIN_PASSPHRASE) as session:
        _fail_audit(session.store)
    r = run_cli("visit", "import", str(tmp_path / "in.jsonl"), "--batch", "2", "--workers", "0")
    assert r.code == 7 and "Line" not in r.err and "0 visits of this file are imported" in r.err
    with site.unlock(ADMIN_PASSPHRASE) as session:
        assert session.store.count() == 0
        _heal_audit(session.store)
    assert run_cli("visit", "import", str(tmp_path / "in.jsonl"), "--batch", "2", "--workers", "0").code == 0
    with site.unlock(ADMIN_PASSPHRASE) as session:
        assert session.store.count() == 6
        # One entry per committed batch, each covering its own visits.
        assert [(e.action, e.count) for e, _ in session.audit.rows()][-3:] == [("visit.import", 2)] * 3


# ---------------------------------------------------------------- one index per visit


def _indexes(store: SQLiteStore, card: Card) -> list[int]:
    return sorted(v.index for v in Clinic(store).history(card).visits)


def test_threads_adding_to_one_card_get_distinct_indexes(sqlite_store: SQLiteStore) -> None:
    card = Card(secrets.token_bytes(16))
    clinic = Clinic(sqlite_store, seal_counts=unsealed_tally)
    clinic.add_visit(card, VISIT, first_visit=True)
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def add() -> None:
        try:
            start.wait()
            for _ in range(5):
                clinic.add_visit(card, VISIT)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=add) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _indexes(sqlite_store, card) == list(range(31))


def _add_many(path: str, secret: bytes, count: int, go: Any) -> None:
    store = SQLiteStore(Path(path))
    go.wait()
    clinic = Clinic(store, seal_counts=unsealed_tally)
    for _ in range(count):
        clinic.add_visit(Card(secret), VISIT)
    store.close()


def test_processes_adding_to_one_card_get_distinct_indexes(tmp_path: Path) -> None:
    path = tmp_path / "site.db"
    store = SQLiteStore(path)
    card = Card(secrets.token_bytes(16))
    Clinic(store, seal_counts=unsealed_tally).add_visit(card, VISIT, first_visit=True)
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    workers = [context.Process(target=_add_many, args=(str(path), card.secret, 20, go)) for _ in range(4)]
    for w in workers:
        w.start()
    go.set()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    assert _indexes(store, card) == list(range(81))
    store.close()


def test_a_certificate_import_whose_audit_entry_fails_is_not_stored(
    run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    assert run_cli("init", "--admin", "amal").code == 0
    assert run_cli("trust", "standalone").code == 0
    issued_for, card = Card(secrets.token_bytes(16)).code, Card(secrets.token_bytes(16)).code
    assert (
        run_cli("visit", "add", "--card", issued_for, "--first-visit", "--entries", "-", stdin=json.dumps(VISIT)).code
        == 0
    )
    [text] = run_cli("cert", "issue", "--card", issued_for, "--count", "1", "--json").json()["certificates"]
    site = make_site(tmp_path / "site")
    with site.unlock(ADMIN_PASSPHRASE) as session:
        _fail_audit(session.store)
    refused = run_cli("cert", "import", "--card", card, "--first-visit", text)
    assert refused.code == 7 and "nothing of this change was saved" in refused.err
    with site.unlock(ADMIN_PASSPHRASE) as session:
        assert session.store.count() == 1  # only the first holder's visit
        _heal_audit(session.store)
    assert run_cli("cert", "import", "--card", card, "--first-visit", text, "--json").json()["imported"] == 1
    with site.unlock(ADMIN_PASSPHRASE) as session:
        assert session.store.count() == 2 and _actions(session).count("certificate.import") == 1


def test_a_trust_change_whose_audit_entry_fails_is_not_made(run_cli: Callable[..., Result], tmp_path: Path) -> None:
    assert run_cli("init", "--admin", "amal").code == 0
    assert run_cli("trust", "standalone").code == 0
    before = run_cli("trust", "show", "--json").json()
    site = make_site(tmp_path / "site")
    with site.unlock(ADMIN_PASSPHRASE) as session:
        _fail_audit(session.store)
    refused = run_cli("trust", "rotate")
    assert refused.code == 7 and "nothing of this change was saved" in refused.err
    assert run_cli("trust", "show", "--json").json() == before  # the same list, the same keys


def test_an_import_never_gives_an_index_another_writer_took_meanwhile(sqlite_store: SQLiteStore) -> None:
    racing, other = Card(secrets.token_bytes(16)), Card(secrets.token_bytes(16))

    def items() -> Iterator[tuple[Card, Any, str | None]]:
        yield racing, VISIT, None  # given index 0 now, written with the batch
        # Meanwhile another staff member records this holder's first visit: it takes index 0.
        thread = threading.Thread(
            target=lambda: Clinic(sqlite_store, seal_counts=unsealed_tally).add_visit(racing, VISIT, first_visit=True)
        )
        thread.start()
        thread.join()
        yield other, VISIT, None

    with pytest.raises(StoreError, match="nothing of this batch was saved") as caught:
        Clinic(sqlite_store, seal_counts=unsealed_tally).import_visits(items(), batch=2)
    assert caught.value.details["imported"] == 0
    assert _indexes(sqlite_store, racing) == [0]
    assert sqlite_store.count() == 1
