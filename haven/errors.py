"""Haven's one exception tree.

Every error a user can cause is a ``HavenError``. Each class knows its stable
machine code (used in ``--json`` output and the web API), its CLI exit code and
its HTTP status, so the edges render all of them with one handler::

    HavenError                         exit 1   500
    ├── InputError                     exit 2   400
    │   ├── CardError                  exit 3   400  a card code or word list that does not check out
    │   ├── EntryError                 exit 4   422  a malformed visit entry (names field and reason)
    │   ├── PinError                   exit 2   400  a PIN that breaks the PIN rules
    │   └── WeakPassphraseError        exit 11  422  a staff passphrase too easy to guess (refused)
    ├── NoRecordsError                 exit 5   404  unknown card, or wrong PIN (indistinguishable)
    ├── SiteError                      exit 6   409  no site here, or a site already here
    ├── StoreError                     exit 7   503  the database cannot be read or written
    │   ├── StoreFullError             exit 7   507  the disk is full
    │   └── StoreCorruptError          exit 7   500  the database file is damaged
    ├── CertificateError               exit 20  422  a certificate that does not verify (one class per reason)
    │   ├── MalformedCertificate       exit 20  400  unreadable: not any format Haven knows, or broken inside
    │   ├── ForgedCertificate          exit 21  422  the signature does not match the content (or alg mismatch)
    │   ├── UnknownIssuer              exit 22  422  no trusted key/issuer for it (or not allowed for this kind)
    │   ├── ExpiredCertificate         exit 23  422  past its expiry at the time of checking
    │   ├── NotYetValidCertificate     exit 24  422  issued after the time of checking
    │   └── RevokedCertificate         exit 25  422  its key or its one-time id is on the revocation list
    ├── TrustError                     exit 26  409  trust list or signing keys cannot do what was asked
    ├── AuthError                      exit 8   401  the site stays locked
    │   ├── WrongPassphraseError       exit 8   401  no key slot opens with this passphrase
    │   ├── LockedOutError             exit 9   429  too many wrong passphrases in a row: wait first
    │   ├── StoreClosedError           exit 8   401  the site locked (its store closed) while the request ran
    │   └── PermissionDeniedError      exit 10  403  this staff member's roles do not allow the action
    ├── AuditTamperedError             exit 12  409  the audit log was edited, cut or reordered
    ├── WebError                       exit 13  400  a request the web app refuses (never raised by the CLI)
    │   ├── CsrfError                  exit 13  403  a state change without the session's CSRF token
    │   ├── RateLimitError             exit 13  429  too many card or PIN attempts; try again later
    │   ├── NoOpenCardError            exit 13  409  the page needs an open card and none is open
    │   └── UnavailableError           exit 13  404  something the server cannot give now (locked)
    ├── SyncError                      exit 30  409  sync between sites cannot do what was asked
    │   ├── BundleUnreadableError      exit 31  400  a bundle that does not open here (damaged, cut, other network)
    │   ├── BundleInvalidError         exit 32  422  a bundle that opens but whose signature or a row fails
    │   ├── NotAMemberError            exit 33  403  a bundle or request from a site not (or no longer) a member
    │   ├── RosterError                exit 34  409  a roster not signed by this network's root, older, or missing
    │   └── HubError                   exit 35  400  the hub refused a request, or cannot be reached
    └── ...                            (later issues add their branches here)

Messages are complete sentences meant for the person at the keyboard; they never
contain a card secret, a key or a clinical value from storage.
"""

from __future__ import annotations

from typing import Any, ClassVar


class HavenError(Exception):
    """Base of every error Haven raises on purpose."""

    code: ClassVar[str] = "error"
    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross process boundaries (bulk import workers): rebuild without calling __init__.
        return (_rebuild, (type(self), self.message, self.details))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


def _rebuild(cls: type[HavenError], message: str, details: dict[str, Any]) -> HavenError:
    error = cls.__new__(cls)
    HavenError.__init__(error, message, **details)
    for name, value in details.items():
        if name in ("field", "reason"):
            setattr(error, name, value)
    return error


class InputError(HavenError):
    """Input from a person or a file that Haven cannot accept."""

    code = "bad-input"
    exit_code = 2
    http_status = 400


class CardError(InputError):
    """A card code or word list that does not check out; refused before any lookup."""

    code = "invalid-card"
    exit_code = 3


class EntryError(InputError):
    """A malformed visit entry. ``field`` names where, the message says why."""

    code = "invalid-entry"
    exit_code = 4
    http_status = 422

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field, reason=reason)
        self.field = field
        self.reason = reason


class PinError(InputError):
    """A holder PIN that breaks the PIN rules (length, characters)."""

    code = "invalid-pin"


class NoRecordsError(HavenError):
    """No records for this card here: an unknown card and a wrong PIN look the same."""

    code = "no-records"
    exit_code = 5
    http_status = 404

    def __init__(self, message: str = "No records for this card.") -> None:
        super().__init__(message)


class SiteError(HavenError):
    """The site folder is missing, not initialised, or already initialised."""

    code = "site"
    exit_code = 6
    http_status = 409


class StoreError(HavenError):
    """The site database cannot be read or written."""

    code = "store"
    exit_code = 7
    http_status = 503


class StoreFullError(StoreError):
    """The disk is full: nothing of the failed write was kept."""

    code = "store-full"
    http_status = 507


class StoreCorruptError(StoreError):
    """The database file is damaged (or is not a Haven database)."""

    code = "store-corrupt"
    http_status = 500


class CertificateError(HavenError):
    """A certificate that does not verify. ``code`` is the reason verifiers print.

    Verification raises one subclass per reason and never returns a bool. The
    error carries what was learnt before it failed: the ``format`` (``haven``,
    ``eu-dcc`` or ``shc``), whether the signature itself checked out, and the
    facts when they could be read (an expired certificate still says what it said).
    """

    code = "invalid-certificate"
    exit_code = 20
    http_status = 422

    def __init__(
        self,
        message: str,
        *,
        format: str | None = None,
        signature_valid: bool = False,
        facts: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.format = format
        self.signature_valid = signature_valid
        self.facts = facts


class MalformedCertificate(CertificateError):
    """Not a certificate in any format Haven reads, or broken at some layer."""

    code = "malformed"
    exit_code = 20
    http_status = 400


class ForgedCertificate(CertificateError):
    """The signature does not match the signed content (or claims another algorithm than its key's)."""

    code = "forged"
    exit_code = 21


class UnknownIssuer(CertificateError):
    """No trusted key or issuer for it, or the signer is not allowed to sign this kind."""

    code = "unknown-issuer"
    exit_code = 22


class ExpiredCertificate(CertificateError):
    """Past its expiry at the time of checking."""

    code = "expired"
    exit_code = 23


class NotYetValidCertificate(CertificateError):
    """Issued (or valid from) later than the time of checking."""

    code = "not-yet-valid"
    exit_code = 24


class RevokedCertificate(CertificateError):
    """Its signing key or its one-time id is on the revocation list."""

    code = "revoked"
    exit_code = 25


class TrustError(HavenError):
    """The trust list or the signing keys cannot do what was asked (no root here, rollback, no current key...)."""

    code = "trust"
    exit_code = 26
    http_status = 409


class WeakPassphraseError(InputError):
    """A new staff passphrase that is too easy to guess; ``suggestion`` holds a strong one."""

    code = "weak-passphrase"
    exit_code = 11
    http_status = 422


class AuthError(HavenError):
    """The site stays locked: the person at the keyboard is not (or not yet) let in."""

    code = "auth"
    exit_code = 8
    http_status = 401

    def __init__(self, message: str = "Sign in to continue.", **details: Any) -> None:
        super().__init__(message, **details)


class WrongPassphraseError(AuthError):
    """No key slot opens with this passphrase (a wrong, removed or erased one look the same)."""

    code = "wrong-passphrase"

    def __init__(self, message: str = "This passphrase does not open this site.") -> None:
        super().__init__(message)


class StoreClosedError(AuthError):
    """The store was closed (the site locked: sign-out, auto-lock, duress, panic) before this operation began."""

    def __init__(self, message: str = "The site was locked meanwhile; sign in to continue.") -> None:
        super().__init__(message)


class LockedOutError(AuthError):
    """Too many wrong passphrases in a row: the next attempt must wait ``wait_seconds``."""

    code = "locked-out"
    exit_code = 9
    http_status = 429

    def __init__(self, wait_seconds: float, failures: int) -> None:
        super().__init__(
            f"{failures} wrong passphrases in a row: the next attempt waits {wait_seconds:g} s.",
            wait_seconds=wait_seconds,
            failures=failures,
        )
        self.wait_seconds = wait_seconds
        self.failures = failures


class PermissionDeniedError(AuthError):
    """The staff member's roles do not allow this action."""

    code = "permission-denied"
    exit_code = 10
    http_status = 403

    def __init__(self, message: str = "Your role may not do this.", **details: Any) -> None:
        super().__init__(message, **details)


class AuditTamperedError(HavenError):
    """The audit log does not check out: an entry was edited, removed, inserted or moved."""

    code = "audit-tampered"
    exit_code = 12
    http_status = 409

    def __init__(self, message: str, seq: int | None = None) -> None:
        super().__init__(message, **({} if seq is None else {"seq": seq}))
        self.seq = seq


# ---------------------------------------------------------------- web
# The web app's own refusals; signing in and roles use AuthError and
# PermissionDeniedError above, as the CLI does.


class WebError(HavenError):
    """A request the web app refuses. Raised by the web edge only, never by the CLI."""

    code = "refused"
    exit_code = 13
    http_status = 400


class CsrfError(WebError):
    """A state-changing request without the session's CSRF token (or with a wrong one)."""

    code = "csrf"
    http_status = 403

    def __init__(self, message: str = "This form has expired. Reload the page and try again.") -> None:
        super().__init__(message)


class RateLimitError(WebError):
    """Too many attempts (card opens, PINs, sign-ins) from one session or address."""

    code = "rate-limited"
    http_status = 429

    def __init__(self, retry_after: int, what: str = "attempts") -> None:
        super().__init__(
            f"Too many {what}. Wait {retry_after} seconds and try again.", retry_after=retry_after, what=what
        )
        self.retry_after = retry_after


class NoOpenCardError(WebError):
    """The page or operation needs an open card, and none is open in this session (or it timed out)."""

    code = "no-open-card"
    http_status = 409

    def __init__(self, message: str = "No card is open. Open a card first.") -> None:
        super().__init__(message)


class UnavailableError(WebError):
    """Something the server cannot give now: the trust list while the server is locked (no key to read it)."""

    code = "unavailable"
    http_status = 404


# ---------------------------------------------------------------- sync


class SyncError(HavenError):
    """Sync between sites cannot do what was asked (haven/sync/)."""

    code = "sync"
    exit_code = 30
    http_status = 409


class BundleUnreadableError(SyncError):
    """A bundle that does not open with any key this site holds: damaged, cut short, or made for another
    network or site. A found bundle must say nothing, so these cannot be told apart."""

    code = "bundle-unreadable"
    exit_code = 31
    http_status = 400

    def __init__(
        self,
        message: str = "This bundle does not open here: damaged or cut short, or made for another network or site.",
    ) -> None:
        super().__init__(message)


class BundleInvalidError(SyncError):
    """A bundle that opens, but whose sender's signature or one of whose rows does not check out."""

    code = "bundle-invalid"
    exit_code = 32
    http_status = 422


class NotAMemberError(SyncError):
    """A bundle or request signed by a site that is not in the roster, or was removed from it."""

    code = "not-a-member"
    exit_code = 33
    http_status = 403


class RosterError(SyncError):
    """The network roster cannot do what was asked: not signed by this network's root, older than the
    one held, missing, or no root key here to sign one."""

    code = "roster"
    exit_code = 34
    http_status = 409


class HubError(SyncError):
    """The network hub refused a request (``details.reason`` says why; a refusal carries the HTTP
    status that fits in ``status``), or could not be reached (``unreachable``)."""

    code = "hub"
    exit_code = 35
    http_status = 400

    def __init__(self, message: str, reason: str, status: int | None = None) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason
        self.status = status or self.http_status
