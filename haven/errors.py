"""Haven's one exception tree: what went wrong, in domain terms only.

Every error a user can cause is a ``HavenError``. A class says *what* went
wrong; its attributes carry the structured details (``problem``, the field,
the limits, the wait) and its message the English sentence for the person at
the keyboard. Each edge maps classes to its own presentation: the CLI to exit
codes (:mod:`haven.exit_codes`), the web to HTTP statuses
(:mod:`haven.web.handlers`) and to messages in the page's language built from
the details (:mod:`haven.web.messages`). ``code`` is the stable name of the
refusal that every JSON output carries::

    HavenError                         error
    ├── InputError                     bad-input        input that Haven cannot accept
    │   ├── CardError                  invalid-card     a card code or word list that does not check out
    │   ├── EntryError                 invalid-entry    a malformed visit entry (field, problem, limits)
    │   ├── ExpiredLotError            lot-expired      a dose from a registered lot expired on its day
    │   ├── PinError                   invalid-pin      a PIN that breaks the PIN rules
    │   └── WeakPassphraseError        weak-passphrase  a staff passphrase too easy to guess (refused)
    ├── ChecksNeedConfirmationError    needs-confirmation  a visit with warnings, not confirmed with a reason
    ├── NoRecordsError                 no-records       unknown card, or wrong PIN (indistinguishable)
    ├── SiteError                      site             no site here, or a site already here
    ├── StoreError                     store            the database cannot be read or written
    │   ├── StoreFullError             store-full       the disk is full
    │   └── StoreCorruptError          store-corrupt    the database file is damaged
    ├── CertificateError               invalid-certificate  a certificate that does not verify (one class per reason)
    │   ├── MalformedCertificate       malformed        unreadable: not any format Haven knows, or broken inside
    │   ├── ForgedCertificate          forged           the signature does not match the content (or alg mismatch)
    │   ├── UnknownIssuer              unknown-issuer   no trusted key/issuer for it (or not allowed for this kind)
    │   ├── ExpiredCertificate         expired          past its expiry at the time of checking
    │   ├── NotYetValidCertificate     not-yet-valid    issued after the time of checking
    │   └── RevokedCertificate         revoked          its key or its one-time id is on the revocation list
    ├── TrustError                     trust            trust list or signing keys cannot do what was asked
    ├── AuthError                      auth             the site stays locked
    │   ├── WrongPassphraseError       wrong-passphrase no key slot opens with this passphrase
    │   ├── LockedOutError             locked-out       too many wrong passphrases in a row: wait first
    │   ├── StoreClosedError           auth             the site locked (its store closed) while the request ran
    │   └── PermissionDeniedError      permission-denied  this staff member's roles do not allow the action
    ├── AuditTamperedError             audit-tampered   the audit log was edited, cut or reordered
    ├── WebError                       refused          a request the web app refuses (never raised by the CLI)
    │   ├── CsrfError                  csrf             a state change without the session's CSRF token
    │   ├── RateLimitError             rate-limited     too many card or PIN attempts; try again later
    │   ├── NoOpenCardError            no-open-card     the page needs an open card and none is open
    │   └── UnavailableError           unavailable      something the server cannot give now (locked)
    ├── SyncError                      sync             sync between sites cannot do what was asked
    │   ├── BundleUnreadableError      bundle-unreadable  a bundle that does not open here (damaged, cut, other network)
    │   ├── BundleInvalidError         bundle-invalid   a bundle that opens but whose signature or a row fails
    │   ├── NotAMemberError            not-a-member     a bundle or request from a site not (or no longer) a member
    │   ├── RosterError                roster           a roster not signed by this network's root, older, or missing
    │   └── HubError                   hub              the network hub refused a request, or cannot be reached
    └── ...                            (later issues add their branches here)

``details`` is the part of the details that JSON outputs show (``to_dict``);
every attribute, shown or not, survives a pickle round trip (errors cross
process boundaries: bulk import and verification workers).

Messages are complete sentences meant for the person at the keyboard; they never
contain a card secret, a key or a clinical value from storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

T = TypeVar("T")


class HavenError(Exception):
    """Base of every error Haven raises on purpose."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        # Which refusal of its class this is (``range``, ``checksum``...), where the class has several.
        self.problem: str | None = details.get("problem")

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt without calling __init__ (each class has its own arguments), then every attribute restored.
        return (_rebuild, (type(self), self.args), self.__dict__)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


def _rebuild(cls: type[HavenError], args: tuple[Any, ...]) -> HavenError:
    return cls.__new__(cls, *args)


def by_class(table: Mapping[type[HavenError], T], error: HavenError | type[HavenError]) -> T:
    """The value an edge's ``table`` gives the nearest class of ``error`` (the table holds ``HavenError``)."""
    cls = error if isinstance(error, type) else type(error)
    return next(table[c] for c in cls.__mro__ if c in table)


class InputError(HavenError):
    """Input from a person or a file that Haven cannot accept."""

    code = "bad-input"


class CardError(InputError):
    """A card code or word list that does not check out; refused before any lookup.

    ``problem`` is ``count``, ``unknown-word``, ``mixed-language``, ``length``,
    ``character``, ``checksum`` or ``no-qr``; ``position`` (1-based) names the
    word or character where one applies, and ``suggestion`` the card word
    closest to a mistyped one (in the message, not in ``details``).
    """

    code = "invalid-card"

    def __init__(
        self,
        message: str,
        *,
        problem: str | None = None,
        position: int | None = None,
        suggestion: str | None = None,
        **details: Any,
    ) -> None:
        shown = {name: value for name, value in (("problem", problem), ("position", position)) if value is not None}
        super().__init__(message, **shown, **details)
        self.position = position
        self.suggestion = suggestion


# The English reason of each entry problem (docs/entries.md); a tuple is written as a comma-separated list.
ENTRY_REASONS: dict[str, str] = {
    "object": "must be an object",
    "required": "is required",
    "choice": "must be one of: {options}",
    "boolean": "must be true or false",
    "text": "must be text",
    "too-long": "must be at most {limit} characters",
    "whole-number": "must be a whole number",
    "range": "must be between {low} and {high}",
    "date-format": "must be a date written YYYY-MM-DD",
    "date-invalid": "is no day of the calendar (check the month and the day)",
    "date-future": "is in the future (today is {today})",
    "date-too-early": "is before {earliest}",
    "list": "must be a list",
    "import-only": "is set only by importing a verified certificate",
    "written-by-haven": "is written by Haven when a warning is confirmed, never typed in",
    "unknown-field": "is not a known field (see docs/entries.md)",
    "birth-year-and-age-band": "give a birth year or an age band, not both",
    "not-entries": "must be a list of entries",
    "no-entries": "must hold at least one entry",
    "too-many-entries": "must hold at most {limit} entries",
    "number": "must be a number",
    "decimals": "must have at most {places} decimals",
    "no-measurement": "give at least one of: {options}",
    "pair": "needs {other} as well",
    "diastolic-high": "must be lower than the systolic pressure",
    "after-entry": "must not be after the entry's date ({date})",
    "substance": "give either a substance from the list or one in words, not both",
    "no-such-entry": "names no entry of this history (see haven history)",
    "other-type": "must be a {type} entry, as the entry it corrects",
    "from-certificate": "came from a verified certificate: void it instead",
    "already-voided": "is voided already",
    "unchanged": "is the same as the entry it corrects: change something, or leave it as it is",
}


class EntryError(InputError):
    """A malformed visit entry: ``field`` names where, ``problem`` (a key of :data:`ENTRY_REASONS`) says why.

    The problem's own details are keyword arguments, kept in ``limits``:
    ``EntryError("entries[0].dose", "range", low=1, high=9)``. ``reason`` is the
    English sentence they make; ``details`` (what JSON shows) are the field and
    the reason.
    """

    code = "invalid-entry"
    problem: str

    def __init__(self, field: str, problem: str, **limits: Any) -> None:
        reason = ENTRY_REASONS[problem].format(
            **{name: ", ".join(value) if isinstance(value, tuple) else value for name, value in limits.items()}
        )
        super().__init__(f"{field}: {reason}", field=field, reason=reason)
        self.field = field
        self.reason = reason
        self.problem = problem
        self.limits = limits


class ExpiredLotError(InputError):
    """A dose from a lot of the site's lot register that had expired on the day it was given
    (docs/cli-lots.md): ``field`` names the entry's lot, ``lot`` and ``expiry`` (also in ``details``) say which."""

    code = "lot-expired"

    def __init__(self, field: str, lot: str, expiry: str) -> None:
        super().__init__(f"{field}: lot {lot} expired on {expiry}", field=field, lot=lot, expiry=expiry)
        self.field = field
        self.lot = lot
        self.expiry = expiry


class PinError(InputError):
    """A holder PIN that breaks the PIN rules (length, characters), or two PINs that differ (``mismatch``)."""

    code = "invalid-pin"


class ChecksNeedConfirmationError(HavenError):
    """The checks before saving warn about this visit (haven/core/checks.py) and nobody confirmed it:
    nothing was stored. ``warnings`` (also in ``details``) are the warnings' documents: ``code``,
    ``field`` and ``details``; recording the visit again with a reason stores it."""

    code = "needs-confirmation"

    def __init__(self, message: str, warnings: list[dict[str, Any]]) -> None:
        super().__init__(message, warnings=warnings)
        self.warnings = warnings


class NoRecordsError(HavenError):
    """No records for this card here: an unknown card and a wrong PIN look the same."""

    code = "no-records"

    def __init__(self, message: str = "No records for this card.") -> None:
        super().__init__(message)


class SiteError(HavenError):
    """The site folder is missing, not initialised, or already initialised."""

    code = "site"


class StoreError(HavenError):
    """The site database cannot be read or written."""

    code = "store"


class StoreFullError(StoreError):
    """The disk is full: nothing of the failed write was kept."""

    code = "store-full"


class StoreCorruptError(StoreError):
    """The database file is damaged (or is not a Haven database)."""

    code = "store-corrupt"


class CertificateError(HavenError):
    """A certificate that does not verify. ``code`` is the reason verifiers print.

    Verification raises one subclass per reason and never returns a bool. The
    error carries what was learnt before it failed: the ``format`` (``haven``,
    ``eu-dcc`` or ``shc``), whether the signature itself checked out, and the
    facts when they could be read (an expired certificate still says what it said).
    """

    code = "invalid-certificate"

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


class ForgedCertificate(CertificateError):
    """The signature does not match the signed content (or claims another algorithm than its key's)."""

    code = "forged"


class UnknownIssuer(CertificateError):
    """No trusted key or issuer for it, or the signer is not allowed to sign this kind."""

    code = "unknown-issuer"


class ExpiredCertificate(CertificateError):
    """Past its expiry at the time of checking."""

    code = "expired"


class NotYetValidCertificate(CertificateError):
    """Issued (or valid from) later than the time of checking."""

    code = "not-yet-valid"


class RevokedCertificate(CertificateError):
    """Its signing key or its one-time id is on the revocation list."""

    code = "revoked"


class TrustError(HavenError):
    """The trust list or the signing keys cannot do what was asked (no root here, rollback, no current key...)."""

    code = "trust"


class WeakPassphraseError(InputError):
    """A new staff passphrase that is too easy to guess: ``details`` has its ``bits``, the ``needed_bits`` and
    the ``reason``; the message says how to make a strong one."""

    code = "weak-passphrase"


class AuthError(HavenError):
    """The site stays locked: the person at the keyboard is not (or not yet) let in.

    ``details.reason`` ``credentials``: a refused sign-in (a name and passphrase that do not match), as
    opposed to nobody signed in.
    """

    code = "auth"

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

    def __init__(self, wait_seconds: float, failures: int) -> None:
        super().__init__(
            f"{failures} wrong passphrases in a row: the next attempt waits {wait_seconds:g} s.",
            wait_seconds=wait_seconds,
            failures=failures,
        )
        self.wait_seconds = wait_seconds
        self.failures = failures


class PermissionDeniedError(AuthError):
    """The staff member's roles do not allow this action (``details.permission`` names it)."""

    code = "permission-denied"

    def __init__(self, message: str = "Your role may not do this.", **details: Any) -> None:
        super().__init__(message, **details)


# The English sentence of each way the audit log fails its check (``AuditTamperedError.problem``).
AUDIT_FAULTS: dict[str, str] = {
    "unopenable": "Audit entry {seq} cannot be opened: it was changed.",
    "moved": "Audit entry {seq} was moved from place {found}.",
    "out-of-place": "Audit entry {seq} is missing or out of place (found {found} there).",
    "chain": "Audit entry {seq} does not match the chain: it, or one before it, was changed or moved.",
    "no-head": "The audit log's head record is missing.",
    "cut": "The audit log ends at entry {last} but its head says {head}: entries were cut from the end.",
    "head": "The audit log's head does not match its last entry.",
    "witness": "The audit log no longer passes through the head witnessed at entry {seq}: it was rewritten since.",
}


class AuditTamperedError(HavenError):
    """The audit log does not check out: an entry was edited, removed, inserted or moved.

    Made by :meth:`fault` from a ``problem`` (a key of :data:`AUDIT_FAULTS`) and the numbers its sentence
    names (``values``); ``seq`` names where (also in ``details``); the problem and values are attributes
    only, so the JSON a command prints stays the message and ``seq``.
    """

    code = "audit-tampered"

    def __init__(self, message: str, seq: int | None = None, *, problem: str | None = None, **values: int) -> None:
        super().__init__(message, **({} if seq is None else {"seq": seq}))
        self.seq = seq
        self.problem = problem
        self.values = values

    @classmethod
    def fault(cls, problem: str, seq: int | None = None, **values: int) -> AuditTamperedError:
        return cls(AUDIT_FAULTS[problem].format(seq=seq, **values), seq, problem=problem, **values)


# ---------------------------------------------------------------- web
# The web app's own refusals; signing in and roles use AuthError and
# PermissionDeniedError above, as the CLI does.


class WebError(HavenError):
    """A request the web app refuses. Raised by the web edge only, never by the CLI."""

    code = "refused"


class CsrfError(WebError):
    """A state-changing request without the session's CSRF token (or with a wrong one)."""

    code = "csrf"

    def __init__(self, message: str = "This form has expired. Reload the page and try again.") -> None:
        super().__init__(message)


class RateLimitError(WebError):
    """Too many attempts (card opens, PINs, sign-ins) from one session or address: wait ``retry_after`` s."""

    code = "rate-limited"

    def __init__(self, retry_after: int, what: str = "attempts") -> None:
        super().__init__(
            f"Too many {what}. Wait {retry_after} seconds and try again.", retry_after=retry_after, what=what
        )
        self.retry_after = retry_after
        self.what = what


class NoOpenCardError(WebError):
    """The page or operation needs an open card, and none is open in this session (or it timed out)."""

    code = "no-open-card"

    def __init__(self, message: str = "No card is open. Open a card first.") -> None:
        super().__init__(message)


class UnavailableError(WebError):
    """Something the server cannot give now: the trust list while the server is locked (no key to read it)."""

    code = "unavailable"


# ---------------------------------------------------------------- sync


class SyncError(HavenError):
    """Sync between sites cannot do what was asked (haven/sync/)."""

    code = "sync"


class BundleUnreadableError(SyncError):
    """A bundle that does not open with any key this site holds: damaged, cut short, or made for another
    network or site. A found bundle must say nothing, so these cannot be told apart."""

    code = "bundle-unreadable"

    def __init__(
        self,
        message: str = "This bundle does not open here: damaged or cut short, or made for another network or site.",
    ) -> None:
        super().__init__(message)


class BundleInvalidError(SyncError):
    """A bundle that opens, but whose sender's signature or one of whose rows does not check out."""

    code = "bundle-invalid"


class NotAMemberError(SyncError):
    """A bundle or request signed by a site that is not in the roster, or was removed from it."""

    code = "not-a-member"


class RosterError(SyncError):
    """The network roster cannot do what was asked: not signed by this network's root, older than the
    one held, missing, or no root key here to sign one."""

    code = "roster"


class HubError(SyncError):
    """The network hub refused a request, or cannot be reached. ``problem`` says which: ``unsigned``,
    ``signature``, ``stale``, ``replay``, ``too-large``, ``bad-request``, ``not-found``, ``method``,
    ``no-roster``, ``pull-only`` (the hub's refusals), ``unreachable`` or ``answer`` (what the site's client
    found)."""

    code = "hub"
