"""The CLI's exit code for each error class (docs/errors.md): the edge's mapping, not the error's.

The bulk certificate verifier uses it too, since its result lines are what
``haven cert verify -`` prints.

>>> from haven.errors import EntryError
>>> exit_code(EntryError("entries[0].dose", "range", low=1, high=9))
4
"""

from __future__ import annotations

from haven import errors as e

EXIT_CODES: dict[type[e.HavenError], int] = {
    e.HavenError: 1,
    e.InputError: 2,
    e.CardError: 3,
    e.EntryError: 4,
    e.ExpiredLotError: 4,
    e.PinError: 2,
    e.WeakPassphraseError: 11,
    e.ChecksNeedConfirmationError: 14,
    e.NoRecordsError: 5,
    e.SiteError: 6,
    e.StoreError: 7,
    e.CertificateError: 20,
    e.ForgedCertificate: 21,
    e.UnknownIssuer: 22,
    e.ExpiredCertificate: 23,
    e.NotYetValidCertificate: 24,
    e.RevokedCertificate: 25,
    e.TrustError: 26,
    e.AuthError: 8,
    e.LockedOutError: 9,
    e.PermissionDeniedError: 10,
    e.AuditTamperedError: 12,
    e.WebError: 13,
    e.SyncError: 30,
    e.BundleUnreadableError: 31,
    e.BundleInvalidError: 32,
    e.NotAMemberError: 33,
    e.RosterError: 34,
    e.HubError: 35,
}


def exit_code(error: e.HavenError | type[e.HavenError]) -> int:
    """The exit code of ``error`` (an instance or a class): its nearest class's in :data:`EXIT_CODES`."""
    return e.by_class(EXIT_CODES, error)
