"""The error tree: domain classes only (no exit codes, no HTTP statuses), and every attribute survives pickling."""

from __future__ import annotations

import importlib
import pickle
import pkgutil
from typing import Any

import pytest

import haven
from haven import errors as e
from haven.app.clinic import _BatchFailure, _WriteFailure
from haven.exit_codes import EXIT_CODES, exit_code
from haven.web.handlers import HTTP_STATUSES, http_status

# One instance of each class, with every detail it can carry set to something other than its default.
EXAMPLES: dict[type[e.HavenError], e.HavenError] = {
    e.HavenError: e.HavenError("Something failed.", where="here"),
    e.InputError: e.InputError("This file is not a photo Haven can read.", problem="image"),
    e.CardError: e.CardError(
        "Word 4 ('abandn') is not on the list.", problem="unknown-word", position=4, suggestion="abandon"
    ),
    e.EntryError: e.EntryError("entries[0].dose", "range", low=1, high=9),
    e.ExpiredLotError: e.ExpiredLotError("entries[0].lot", "T0", "2026-11-19"),
    e.PinError: e.PinError("The two PINs differ.", problem="mismatch"),
    e.WeakPassphraseError: e.WeakPassphraseError("Too easy.", bits=12.5, needed_bits=50.0, reason="a common word"),
    e.ChecksNeedConfirmationError: e.ChecksNeedConfirmationError(
        "Confirm.", [{"code": "sex-and-pregnancy", "field": "holder.pregnant", "details": {}}]
    ),
    e.NoRecordsError: e.NoRecordsError("No records here."),
    e.SiteError: e.SiteError("There is no site in /tmp/x."),
    e.StoreError: e.StoreError("The database is busy."),
    e.StoreFullError: e.StoreFullError("The disk is full."),
    e.StoreCorruptError: e.StoreCorruptError("The database is damaged."),
    e.CertificateError: e.CertificateError("Refused.", format="shc", signature_valid=True, facts={"dose": 2}),
    e.MalformedCertificate: e.MalformedCertificate("Unreadable.", format="eu-dcc"),
    e.ForgedCertificate: e.ForgedCertificate("Forged.", format="haven"),
    e.UnknownIssuer: e.UnknownIssuer("Unknown issuer.", format="shc", signature_valid=False),
    e.ExpiredCertificate: e.ExpiredCertificate("Expired.", format="haven", signature_valid=True, facts={"a": [1]}),
    e.NotYetValidCertificate: e.NotYetValidCertificate("Not yet.", format="eu-dcc", signature_valid=True),
    e.RevokedCertificate: e.RevokedCertificate("Revoked.", format="haven", signature_valid=True),
    e.TrustError: e.TrustError("No trust list here."),
    e.AuthError: e.AuthError("That name and passphrase do not match.", reason="credentials"),
    e.WrongPassphraseError: e.WrongPassphraseError("Wrong."),
    e.StoreClosedError: e.StoreClosedError("Locked meanwhile."),
    e.LockedOutError: e.LockedOutError(2.5, 4),
    e.PermissionDeniedError: e.PermissionDeniedError("No.", permission="staff.manage"),
    e.AuditTamperedError: e.AuditTamperedError.fault("moved", 3, found=4),
    e.WebError: e.WebError("Refused.", reason="host"),
    e.CsrfError: e.CsrfError("Expired form."),
    e.RateLimitError: e.RateLimitError(17, "PIN attempts"),
    e.NoOpenCardError: e.NoOpenCardError("No card."),
    e.UnavailableError: e.UnavailableError("Not now.", reason="locked"),
    e.SyncError: e.SyncError("Sync refused."),
    e.BundleUnreadableError: e.BundleUnreadableError(),
    e.BundleInvalidError: e.BundleInvalidError("A row is not a sealed record.", row=3),
    e.NotAMemberError: e.NotAMemberError("Removed.", site="3f2a91c04be2d7a1", removed=True),
    e.RosterError: e.RosterError("Older roster."),
    e.HubError: e.HubError("This request was already answered (a replay).", problem="replay"),
    _WriteFailure: _WriteFailure(e.StoreFullError("The disk is full.")),
    _BatchFailure: _BatchFailure(e.EntryError("entries[1].date", "date-future", today="2026-11-29"), 7),
}


def every_error_class() -> set[type[e.HavenError]]:
    """Every subclass of HavenError in Haven, found by importing every module and walking the subclasses."""
    for module in pkgutil.walk_packages(haven.__path__, "haven."):
        importlib.import_module(module.name)
    found, todo = set(), [e.HavenError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return {cls for cls in found if cls.__module__.startswith("haven.")}


def same(a: Any, b: Any) -> bool:
    """Equal, comparing errors (which compare by identity) by class, arguments and every attribute."""
    if isinstance(a, BaseException):
        return type(a) is type(b) and a.args == b.args and same(vars(a), vars(b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def test_every_error_class_has_an_example() -> None:
    missing = every_error_class() - set(EXAMPLES)
    assert not missing, f"add an example of {sorted(c.__qualname__ for c in missing)} to EXAMPLES"


@pytest.mark.parametrize("cls", sorted(EXAMPLES, key=lambda c: c.__qualname__), ids=lambda c: c.__qualname__)
def test_every_attribute_survives_a_pickle_round_trip(cls: type[e.HavenError]) -> None:
    error = EXAMPLES[cls]
    assert type(error) is cls
    copy = pickle.loads(pickle.dumps(error))
    assert same(copy, error) and vars(copy)
    assert (str(copy), copy.message, copy.to_dict(), copy.problem) == (
        str(error),
        error.message,
        error.to_dict(),
        error.problem,
    )


def test_the_details_the_issue_named_survive_pickling() -> None:
    locked, limited = pickle.loads(pickle.dumps((e.LockedOutError(2.5, 4), e.RateLimitError(17))))
    assert (locked.wait_seconds, locked.failures, limited.retry_after) == (2.5, 4, 17)
    malformed = pickle.loads(pickle.dumps(e.MalformedCertificate("Unreadable.", format="shc")))
    assert malformed.format == "shc"
    entry = pickle.loads(pickle.dumps(e.EntryError("entries[0].dose", "range", low=1, high=9)))
    assert (entry.field, entry.problem, entry.limits, entry.reason) == (
        "entries[0].dose",
        "range",
        {"low": 1, "high": 9},
        "must be between 1 and 9",
    )


def test_error_classes_carry_no_presentation() -> None:
    for cls in every_error_class():
        for name in ("exit_code", "http_status", "status_code"):
            assert not hasattr(cls, name), f"{cls.__qualname__}.{name}: the edges map classes to that"


def test_each_edge_maps_every_class_through_its_nearest_ancestor() -> None:
    assert e.HavenError in EXIT_CODES and e.HavenError in HTTP_STATUSES
    for cls in every_error_class():
        assert isinstance(exit_code(cls), int) and 100 <= http_status(cls) < 600
        assert exit_code(EXAMPLES[cls]) == exit_code(cls) and http_status(EXAMPLES[cls]) == http_status(cls)
    assert (exit_code(e.StoreFullError), http_status(e.StoreFullError)) == (7, 507)  # a parent's code, its own status
    assert (exit_code(e.PinError), http_status(e.PinError)) == (2, 400)  # both the parent's
    assert (exit_code(_WriteFailure), http_status(_WriteFailure)) == (1, 500)


def test_entry_details_are_the_json_the_edges_always_showed() -> None:
    error = e.EntryError("entries[0].dose", "range", low=1, high=9)
    assert error.to_dict() == {
        "code": "invalid-entry",
        "message": "entries[0].dose: must be between 1 and 9",
        "details": {"field": "entries[0].dose", "reason": "must be between 1 and 9"},
    }
    choice = e.EntryError("entries[0].sample", "choice", options=("nasal", "throat"))
    assert choice.reason == "must be one of: nasal, throat" and choice.limits == {"options": ("nasal", "throat")}


def test_a_card_suggestion_is_an_attribute_not_a_shown_detail() -> None:
    error = EXAMPLES[e.CardError]
    assert isinstance(error, e.CardError)
    assert error.details == {"problem": "unknown-word", "position": 4} and error.suggestion == "abandon"
