"""The network report's fold: the next report opens only the tallies not in it, and gives exactly the numbers
of a full pass whatever came between (visits, corrections, syncs, damage), or ignores the fold."""

from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import x25519
from hypothesis import given, settings
from hypothesis import strategies as st

from haven.app.application import App
from haven.core.aggregates import AggregateKey
from haven.core.card import Card
from haven.core.history import entry_id
from haven.core.records import SealedRecord
from haven.errors import InputError
from haven.store.memory import MemoryStore
from haven.sync import network_fold, network_tallies
from haven.sync.bundle import padme
from haven.sync.network_fold import FOLD, Fold
from haven.sync.network_tallies import NetworkSealer
from tests.helpers_site import ADMIN
from tests.sync.network import TEST, VAX1, Network
from tests.sync.test_network_counts import NOVEMBER, _cli, _counting_network, _visits

THIS_WEEK = 202649
WEEKS = [202646, 202647, 202648, THIS_WEEK, 202650]  # ended weeks, this one and a later one (a clock set back)
KEYS = [AggregateKey(week, kind, 1, detail, band) for week in WEEKS for kind in (1, 2) for detail in (1, 2)
        for band in (0, 3)]  # fmt: skip


@contextmanager
def _opens() -> Iterator[list[int]]:
    """Counts the tallies a read opens."""
    opened = [0]
    real = network_fold.open_row

    def counting(private: x25519.X25519PrivateKey, record: SealedRecord) -> Any:
        opened[0] += 1
        return real(private, record)

    network_fold.open_row = counting
    try:
        yield opened
    finally:
        network_fold.open_row = real


def _report(store: MemoryStore, private: x25519.X25519PrivateKey, week: int, rng: random.Random) -> Any:
    """What ``Reports.report`` does with the fold: read through it and keep the new one."""
    fold = network_fold.open_fold(private, store.get_setting(FOLD))
    counts, kept = network_fold.read(store, private, week, fold)
    if kept is not None:
        store.put_setting(FOLD, network_fold.seal(private, kept, rng.randbytes(12)))
    return counts


_keys = st.sampled_from(KEYS)
_sync = st.tuples(st.just("sync"), st.integers(0, 1), st.booleans())
_step = st.one_of(
    st.tuples(st.just("visit"), st.integers(0, 1), st.lists(_keys, min_size=1, max_size=3)),
    _sync,
    st.tuples(st.just("void"), st.integers(0, 1), _keys),
    st.tuples(st.just("amend"), st.integers(0, 1), st.tuples(_keys, _keys)),
    st.tuples(st.just("batch"), st.integers(0, 1), st.dictionaries(_keys, st.integers(-3, 40), max_size=6)),
    st.tuples(st.just("sync"), st.integers(0, 1), st.booleans()),
    st.tuples(st.just("report"), st.integers(0, 2), st.none()),
    st.tuples(st.just("report"), st.just(0), st.none()),
    st.tuples(st.just("damage"), st.sampled_from(["truncate", "flip", "other-key", "forged", "lost-row"]), st.none()),
    st.tuples(st.just("unreadable"), st.integers(0, 1), st.none()),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_step, max_size=40), st.integers(0, 2**32))
def test_fold_and_new_tallies_give_exactly_the_full_passs_numbers(steps: list[Any], seed: int) -> None:
    rng = random.Random(seed)  # keys, locators and ids: random, and the same when Hypothesis replays a case
    private = x25519.X25519PrivateKey.from_private_bytes(rng.randbytes(32))
    seal = NetworkSealer(private.public_key().public_bytes_raw(), rng.randbytes)
    tag = network_tallies.tag_key(seal.counts_public)
    sites, root = [MemoryStore(), MemoryStore()], MemoryStore()
    week = 202648
    for kind, arg, detail in steps:
        if kind in ("visit", "batch"):  # a visit's increments, or an import batch's (corrections' included)
            sites[arg].merge([seal(detail)])
        elif kind == "void":  # a correction's tally takes the entry's count back...
            sites[arg].merge([seal({detail: -1})])
        elif kind == "amend":  # ...or moves it
            sites[arg].merge([seal({detail[0]: -1, detail[1]: 1} if detail[0] != detail[1] else {})])
        elif kind == "unreadable":  # a tagged row that does not open (damaged on the way, or forged)
            row = seal({KEYS[0]: 1})
            sites[arg].merge([SealedRecord(row.locator, row.id, row.sealed[:-1] + bytes([row.sealed[-1] ^ 1]))])
        elif kind == "sync":  # a site's rows to the root, or the root's to a site
            source, target = (sites[arg], root) if detail else (root, sites[arg])
            target.merge(list(source.records()))
        elif kind == "report":
            week = WEEKS[min(WEEKS.index(week) + arg, len(WEEKS) - 1)]  # the clock moves on (or not)
            folded = network_fold.open_fold(private, root.get_setting(FOLD))
            with _opens() as opened:
                counts = _report(root, private, week, rng)
            assert counts == network_tallies.read(root, private)
            tallies = {network_fold.row_digest(r) for r in root.records() if network_tallies.is_tally(tag, r)}
            if folded is None:
                assert opened[0] == len(tallies)
            elif folded.rows <= tallies:  # only what is not in the fold is opened
                assert opened[0] == len(tallies) - len(folded.rows)
            else:  # a fold of other rows: a full pass after finding so
                assert opened[0] >= len(tallies)
        else:
            _damage(root, private, arg, rng)
    full = network_tallies.read(root, private)
    assert _report(root, private, week, rng) == full and _report(root, private, THIS_WEEK + 1, rng) == full


def _damage(root: MemoryStore, private: x25519.X25519PrivateKey, how: str, rng: random.Random) -> None:
    if root.get_setting(FOLD) is None:
        _report(root, private, THIS_WEEK + 1, rng)  # a report a week on folds what there is
    sealed = root.get_setting(FOLD)
    if sealed is None:
        return
    if how == "truncate":
        root.put_setting(FOLD, sealed[: rng.randrange(len(sealed))])
    elif how == "flip":
        at = rng.randrange(len(sealed))
        root.put_setting(FOLD, sealed[:at] + bytes([sealed[at] ^ 1 << rng.randrange(8)]) + sealed[at + 1 :])
    elif how == "other-key":  # another network's fold
        fold = network_fold.open_fold(private, sealed)
        if fold is None:  # damaged already
            return
        other = x25519.X25519PrivateKey.from_private_bytes(rng.randbytes(32))
        root.put_setting(FOLD, network_fold.seal(other, Fold({KEYS[0]: 99}, fold.rows), rng.randbytes(12)))
    elif how == "forged":  # sealed with the public half only, as any passphrase could
        public = private.public_key()
        forged = network_tallies.SUITE.encrypt(b"\x00" * 64, public, network_fold.INFO)
        root.put_setting(FOLD, bytes(forged))
    else:  # a fold naming a tally this store does not hold (rows from another copy of the site)
        fold = network_fold.open_fold(private, sealed)
        if fold is None:
            return
        extra = Fold({**fold.totals, KEYS[0]: fold.totals.get(KEYS[0], 0) + 5}, fold.rows | {rng.randbytes(16)})
        root.put_setting(FOLD, network_fold.seal(private, extra, rng.randbytes(12)))


def test_after_a_report_the_next_opens_only_the_new_tallies(tmp_path: Path) -> None:
    net = _counting_network(tmp_path)
    _visits(net, "a", VAX1, 6, 1)
    _visits(net, "b", TEST, 4, 2)
    net.import_("root", net.export("a"))
    net.import_("root", net.export("b"))
    first = _app_report(net)
    assert _cells(first) and _tallies_in_fold(net) == 10
    _visits(net, "a", VAX1, 3, 3)
    card = Card.generate(os.urandom)
    net.add_visit("b", card, VAX1 + TEST, first=True)
    with net.sites["b"].unlock(ADMIN) as session:  # a void and an amend: tallies that take counts back
        visit = session.clinic().history(card).visits[0]
        session.clinic().correct(card, entry_id(visit, 1), "void", None, "recorded on the wrong card")
        session.clinic().correct(card, entry_id(visit, 0), "amend", {**VAX1[0], "dose": 2}, "dose misread")
    for name in ("a", "b"):
        net.import_("root", net.export(name))
    with _opens() as opened:
        second = _app_report(net)
    assert opened[0] == 6  # three visits at a, one at b, its void and its amend
    with net.sites["root"].unlock(ADMIN) as session:
        session.store.delete_setting(FOLD)
    assert _cells(second) == _cells(_app_report(net))  # the full pass (no fold) gives the same
    assert _tallies_in_fold(net) == 16


def _app_report(net: Network, today: dt.date = dt.date(2026, 12, 1)) -> Any:
    with net.sites["root"].unlock(ADMIN) as session:
        return App(session, today=lambda: today).reports.report(*NOVEMBER, "week", 1, network=True)


def _cells(report: Any) -> list[Any]:
    return [(t.section, t.period.label, t.rows, t.columns, t.cells) for t in report.tables]


def _tallies_in_fold(net: Network) -> int:
    with net.sync("root") as (session, service):
        private = service.counts_private()
        assert private is not None
        fold = network_fold.open_fold(private, session.store.get_setting(FOLD))
    assert fold is not None
    return len(fold.rows)


def test_the_fold_is_local_sealed_for_the_counts_key_and_holds_only_ended_weeks(tmp_path: Path) -> None:
    net = _counting_network(tmp_path)
    _visits(net, "a", VAX1, 5, 4)  # week 2026-W40
    net.import_("root", net.export("a"))
    _app_report(net, today=dt.date(2026, 10, 2))  # in W40: nothing is folded yet, nothing kept
    with net.sites["root"].unlock(ADMIN) as session:
        assert session.store.get_setting(FOLD) is None
    _app_report(net, today=dt.date(2026, 10, 5))  # W41: W40's tallies are folded
    assert _tallies_in_fold(net) == 5
    with net.sites["root"].unlock(ADMIN) as session:
        sealed = session.store.get_setting(FOLD)
    assert sealed is not None
    # Only the counts private key opens it; its length is Padmé-rounded (12-byte nonce, 16-byte tag).
    assert network_fold.open_fold(x25519.X25519PrivateKey.generate(), sealed) is None
    assert padme(len(sealed) - 28) == len(sealed) - 28
    # A setting, so in no bundle: a member importing the root's bundle holds no fold and the same rows.
    net.import_("a", net.export("root"))
    with net.sites["a"].unlock(ADMIN) as session:
        assert session.store.get_setting(FOLD) is None
    assert net.rows("a") == net.rows("root")


def test_a_refused_network_report_keeps_no_fold(tmp_path: Path) -> None:
    net = _counting_network(tmp_path)
    _visits(net, "a", VAX1, 3, 8)
    net.import_("root", net.export("a"))
    with net.sites["root"].unlock(ADMIN) as session:
        audited = len(session.store.audit_rows())
        with pytest.raises(InputError, match="suppression threshold"):
            App(session).reports.report(*NOVEMBER, "week", 0, network=True)
        assert session.store.get_setting(FOLD) is None and len(session.store.audit_rows()) == audited


def test_a_damaged_or_mismatched_fold_is_ignored_for_a_full_pass(tmp_path: Path) -> None:
    net = _counting_network(tmp_path)
    _visits(net, "a", VAX1, 6, 5)
    net.import_("root", net.export("a"))
    expected = _cells(_app_report(net))
    with net.sync("root") as (session, service):
        private = service.counts_private()
        sealed = session.store.get_setting(FOLD)
    assert private is not None and sealed is not None
    fold = network_fold.open_fold(private, sealed)
    assert fold is not None
    other = x25519.X25519PrivateKey.generate()
    forged = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM).encrypt(
        b"\x00" * 100, private.public_key(), network_fold.INFO
    )
    inflated = Fold({k: n * 10 for k, n in fold.totals.items()}, fold.rows)
    for bad in (
        sealed[:-1],  # truncated
        sealed[:20] + bytes([sealed[20] ^ 1]) + sealed[21:],  # damaged
        network_fold.seal(other, inflated, os.urandom(12)),  # another network's
        bytes(forged),  # sealed with the public half, which every role holds
        # A fold naming a tally these rows do not hold (from another copy of the site).
        network_fold.seal(private, Fold(inflated.totals, fold.rows | {os.urandom(16)}), os.urandom(12)),
    ):
        with net.sites["root"].unlock(ADMIN) as session:
            session.store.put_setting(FOLD, bad)
        with _opens() as opened:
            assert _cells(_app_report(net)) == expected
        assert opened[0] == 6  # a full pass, which keeps a good fold again
        assert _tallies_in_fold(net) == 6


def test_the_command_line_report_over_the_fold_writes_the_full_passs_bytes(tmp_path: Path) -> None:
    net = _counting_network(tmp_path)
    _visits(net, "a", VAX1, 5, 6)
    net.import_("root", net.export("a"))
    args = ("report", "--network", "--from", "2026-09-01", "--to", "2026-12-31", "--by", "week", "--format")
    for form in ("csv", "table"):
        first = _cli(net, "root", tmp_path, *args, form)
        again = _cli(net, "root", tmp_path, *args, form)  # through the fold
        assert first.returncode == again.returncode == 0 and first.stdout == again.stdout
    _visits(net, "b", VAX1, 2, 7)
    net.import_("root", net.export("b"))
    folded = _cli(net, "root", tmp_path, *args, "csv")
    with net.sites["root"].unlock(ADMIN) as session:
        session.store.delete_setting(FOLD)
    full = _cli(net, "root", tmp_path, *args, "csv")
    assert folded.returncode == full.returncode == 0 and folded.stdout == full.stdout and "7" in full.stdout


@pytest.mark.parametrize("tallies", [1, 200])
def test_a_folds_length_tells_its_size_only_roughly(tallies: int) -> None:
    rows = frozenset(os.urandom(16) for _ in range(tallies))
    sealed = network_fold.seal(x25519.X25519PrivateKey.generate(), Fold({}, rows), os.urandom(12))
    plain = len(sealed) - 28
    assert padme(plain) == plain and plain >= 16 * tallies
