"""Certificate use cases: issue batches, verify, import into a history, and manage trust.

Everything here takes the store, the clock and the randomness injected, like
:class:`haven.app.clinic.Clinic`. Trust material lives in named site settings:

* ``certs/trust-list``    the network's signed trust list (as received, bytes)
* ``certs/root-public``   the root public key this site trusts (pinned)
* ``certs/root-key``      the root private key, only where the root lives, wrapped under the admin key
* ``certs/signing-keys``  epoch keys this site may sign with, wrapped under the issuing key
* ``certs/issuers``       EU DCC signer certificates and SMART Health Card issuers

Private keys are never stored in the clear (docs/site-security.md, "Keys by role"): a
passphrase that opens the database but carries no role key reads none of them.

A new site has no trust list and no signing key: it verifies what it is told to
trust, and issues nothing until it joins a network (``haven trust join`` plus an
epoch key from the network) or an operator chooses standalone issuing
(:meth:`Certificates.standalone`), whose certificates name this site.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from haven.app.clinic import AddedVisit, Audit, Clinic, SealCounts
from haven.certs.batch import VACCINATION_VALIDITY_DAYS, expiry, issue_batch
from haven.certs.bulk import start_verify_worker, verify_in_worker
from haven.certs.claims import TEST_DISEASE, Facts, TestFact, VaccinationFact
from haven.certs.issuers import ExternalIssuer, Issuer
from haven.certs.result import Trust, Verified
from haven.certs.signing_keys import fingerprint, load_private_der, new_private_key, private_der, public_bytes
from haven.certs.trust import (
    EPOCH_MAX_DAYS,
    EPOCH_WEEKS,
    WEEK,
    SigningKey,
    TrustList,
    decode_signing_keys,
    encode_signing_keys,
    from_timestamp,
    iso,
    make_signing_key,
    parse_trust_list,
    timestamp,
    week_start,
)
from haven.certs.trust_settings import NO_TRUST_SETTINGS, TrustSettings, trust_from_settings
from haven.certs.verify import verify
from haven.core import strictjson
from haven.core.card import Card
from haven.core.catalogue import catalogue
from haven.core.clock import utc_now
from haven.core.entries import MAX_DOSE, Test, Vaccination
from haven.errors import CertificateError, InputError, NoRecordsError, PermissionDeniedError, TrustError
from haven.site.rolekeys import RoleKeys, issuing_key, unwrap, wrap
from haven.site.roles import Permission
from haven.store.base import Store

TRUST_LIST = "certs/trust-list"
ROOT_PUBLIC = "certs/root-public"
ROOT_KEY = "certs/root-key"
SIGNING_KEYS = "certs/signing-keys"
ISSUERS = "certs/issuers"
DEFAULT_LABEL = "local"
STANDALONE_NETWORK = "standalone"
SCHEDULE_AHEAD_WEEKS = 3 * EPOCH_WEEKS  # a root site lists its keys this far ahead
WHAT = ("vaccination", "test", "all")
# Said wherever standalone issuing is chosen or shown (CLI and web).
NAMES_THIS_SITE = (
    "Every certificate signed here carries a key id that only this site uses: whoever checks it "
    "learns that this clinic issued it. Join a network (haven trust join) so that certificates name only the network."
)
NO_ISSUING = (
    "This site issues no certificates yet. Join a network (haven trust join, then haven trust import-key), "
    "or choose standalone issuing (haven trust standalone): then every certificate names this clinic."
)


@dataclass(frozen=True)
class CertificateSheet:
    """One batch, as printed on a sheet: ``texts`` are the one-time certificates, each its own QR code."""

    texts: tuple[str, ...] = field(repr=False)
    expires: dt.datetime


def facts_from(entries: Iterable[object], what: str = "all") -> Facts:
    """The facts a certificate states about ``entries`` (a history's, or those chosen from it).

    Every vaccination (the same product, dose and date once), dose n "of" the
    product's primary series (or of n for extra doses), and the latest COVID-19 test only.
    Entries of other kinds, and tests for other diseases, are left out. The CLI and the web
    app both certify through this.
    """
    if what not in WHAT:
        raise InputError(f"--what must be one of: {', '.join(WHAT)}.")
    vaccinations: dict[tuple[str, int, dt.date], VaccinationFact] = {}
    tests: list[Test] = []
    for e in entries:
        if isinstance(e, Vaccination) and what in ("vaccination", "all"):
            product = catalogue().product(e.product)
            of = max(product.schedule.doses, e.dose)
            vaccinations[(e.product, e.dose, e.date)] = VaccinationFact(
                product.diseases, product.platform, e.product, e.dose, of, e.date
            )
        elif isinstance(e, Test) and what in ("test", "all") and catalogue().tests[e.test].disease == TEST_DISEASE:
            tests.append(e)
    latest = max(tests, key=lambda t: t.date, default=None)
    facts = Facts(
        tuple(sorted(vaccinations.values(), key=lambda v: (v.date, v.product, v.dose))),
        (TestFact(TEST_DISEASE, latest.test, latest.result, latest.date),) if latest else (),
    )
    if not facts:
        kinds = {"vaccination": "vaccinations", "test": "tests", "all": "vaccinations or tests"}[what]
        raise InputError(f"This holder's history has no {kinds} to certify.")
    return facts


@dataclass
class Certificates:
    store: Store
    now: Callable[[], dt.datetime] = utc_now
    random_bytes: Callable[[int], bytes] = field(default=secrets.token_bytes)
    keys: RoleKeys = field(default=RoleKeys(), repr=False)  # the acting member's role keys
    seal_counts: SealCounts | None = field(default=None, repr=False)  # for the visits certificates import

    # ------------------------------------------------------------ stored trust

    def trust_list(self) -> TrustList | None:
        data = self.store.get_setting(TRUST_LIST)
        if data is None:
            return None
        return parse_trust_list(data, self.store.get_setting(ROOT_PUBLIC))

    def _require_list(self) -> TrustList:
        current = self.trust_list()
        if current is None:
            raise TrustError("This site has no trust list: run 'haven trust root' or 'haven trust join'.")
        return current

    def holds_root(self) -> bool:
        return bool(self.store.get_setting(ROOT_KEY))

    def root_key(self) -> ec.EllipticCurvePrivateKey | None:
        """The root private key where this site holds it (a coordinator's keys unwrap it)."""
        data = self.store.get_setting(ROOT_KEY)
        return load_private_der(unwrap(self.keys.require_admin(), ROOT_KEY, data)) if data else None

    def _require_root(self) -> ec.EllipticCurvePrivateKey:
        root = self.root_key()
        if root is None:
            raise TrustError("This site does not hold the network's root key; ask whoever holds it.")
        return root

    def _issuing(self) -> bytes:
        key = issuing_key(self.keys, self.store.get_setting)
        if key is None:
            raise PermissionDeniedError(
                "Only a clinician's or a coordinator's passphrase opens the signing keys.",
                permission=Permission.CERTIFICATE_ISSUE.value,
            )
        return key

    def signing_keys(self) -> list[SigningKey]:
        data = self.store.get_setting(SIGNING_KEYS)
        return decode_signing_keys(unwrap(self._issuing(), SIGNING_KEYS, data) if data else None)

    def held_kids(self) -> set[bytes] | None:
        """The ids of the epoch keys held here; None where these role keys cannot open them."""
        if issuing_key(self.keys, self.store.get_setting) is None:
            return None
        return {k.kid for k in self.signing_keys()}

    def _save_keys(self, keys: Iterable[SigningKey]) -> None:
        plain = encode_signing_keys(keys)
        self.store.put_setting(SIGNING_KEYS, wrap(self._issuing(), SIGNING_KEYS, plain, self.random_bytes))

    def _save_root(self, root: ec.EllipticCurvePrivateKey) -> None:
        sealed = wrap(self.keys.require_admin(), ROOT_KEY, private_der(root), self.random_bytes)
        self.store.put_setting(ROOT_KEY, sealed)

    def _week(self) -> int:
        """Now, as every time in a trust list is written: the Monday of this week."""
        return week_start(timestamp(self.now()))

    def _publish(self, new: TrustList) -> TrustList:
        self.store.put_setting(TRUST_LIST, new.sign(self._require_root()))
        return new

    # ------------------------------------------------------------ trust management

    def standalone(self, network: str = STANDALONE_NETWORK, replace: bool = False) -> TrustList:
        """Issue alone: this site becomes the root of a network of one (see :data:`NAMES_THIS_SITE`)."""
        return self.create_root(network, DEFAULT_LABEL, replace=replace)

    def create_root(self, network: str, label: str = DEFAULT_LABEL, replace: bool = False) -> TrustList:
        """A new network with this site as its root, and scheduled epoch keys for ``label``
        (the one signing this week and the next, made ahead)."""
        if self.store.get_setting(TRUST_LIST) is not None and not replace:
            raise TrustError("This site already has a trust list; a new root replaces it (use --replace).")
        network = network.strip()
        if not network or len(network) > 60:
            raise TrustError("Name the network with 1 to 60 characters.")
        week = self._week()
        root = new_private_key(self.random_bytes)
        keys = self._scheduled(label, [], timestamp(self.now()))
        first = TrustList(network, 1, week, public_bytes(root), keys=tuple(k.trusted() for k in keys))
        self._save_root(root)
        self.store.put_setting(ROOT_PUBLIC, first.root_public)
        self._save_keys(keys)
        self.store.put_setting(TRUST_LIST, first.sign(root))
        return first

    def _scheduled(self, label: str, held: list[SigningKey], now: int) -> list[SigningKey]:
        """New keys for ``label`` so that one signs now and keys are made ahead (``SCHEDULE_AHEAD_WEEKS``)."""
        week = week_start(now)
        mine = [k for k in held if k.label == label.strip()]
        signing = any(k.trusted().signs_at(now) for k in mine)
        if signing and max(k.not_after for k in mine) >= week + EPOCH_WEEKS * WEEK:
            return []  # at least one more epoch is listed already: refilled in batches, not weekly
        made: list[SigningKey] = []
        if not signing:  # new, or its key revoked: one from this week
            made.append(make_signing_key(self.random_bytes, label, week, EPOCH_WEEKS * 7))
        start = max((k.not_after for k in [*mine, *made]), default=week)
        while start < week + SCHEDULE_AHEAD_WEEKS * WEEK:
            key = make_signing_key(self.random_bytes, label, start, EPOCH_WEEKS * 7)
            made.append(key)
            start = key.not_after
        return made

    def keep_scheduled(self) -> list[SigningKey]:
        """At the root's site: publish the labels' next epoch keys ahead of need (none if already made)."""
        current = self._require_list()
        held = [k for k in self.signing_keys() if current.key(k.kid) == k.trusted()]
        labels = sorted({k.label for k in held}) or [DEFAULT_LABEL]
        week = self._week()
        made = [k for label in labels for k in self._scheduled(label, held, timestamp(self.now()))]
        if made:
            self._publish(current.next(week, keys=(*current.keys, *(k.trusted() for k in made))))
            self._save_keys([*self.signing_keys(), *made])
        return made

    def new_key(
        self, label: str, days: int = EPOCH_MAX_DAYS, start: dt.datetime | None = None, end_current: bool = False
    ) -> SigningKey:
        """A new epoch key for ``label`` (root only), listed in a new version of the trust list.

        Its epoch starts on the Monday of ``start``'s week (default: this week). With
        ``end_current`` (rotation) the label's keys still signing stop at this week's
        start, when the new one begins; certificates they signed stay valid until they expire.
        """
        current = self._require_list()
        self._require_root()
        now = timestamp(self.now())
        week = week_start(now)
        begin = timestamp(start) if start else now
        key = make_signing_key(self.random_bytes, label, begin, days)
        keys = list(current.keys)
        held = self.signing_keys()
        if end_current:
            # The label's keys made ahead go too (made with the one replaced, they signed nothing yet).
            keys = [
                k
                if k.label != key.label or not k.signs_at(now)
                else type(k)(k.public, k.label, k.not_before, max(k.not_before, week))
                for k in keys
                if k.label != key.label or k.not_before <= now
            ]
            held = [k for k in held if k.label != key.label]
        self._publish(current.next(week, keys=(*keys, key.trusted())))
        self._save_keys([*held, key])
        return key

    def revoke(self, kid: bytes | None = None, cti: bytes | None = None) -> TrustList:
        """Revoke a key (every certificate it signed) or one certificate's one-time id (root only)."""
        current = self._require_list()
        self._require_root()
        now = self._week()
        if kid is not None:
            if current.key(kid) is None and kid not in current.revoked_kids:
                raise TrustError(f"No key {kid.hex()} in the trust list.")
            new = current.next(
                now,
                keys=tuple(k for k in current.keys if k.kid != kid),
                revoked_kids=current.revoked_kids | {kid},
            )
            self._save_keys(k for k in self.signing_keys() if k.kid != kid)
        elif cti is not None:
            new = current.next(now, revoked_ctis=current.revoked_ctis | {cti})
        else:
            raise InputError("Say what to revoke: a key id or a certificate.")
        return self._publish(new)

    def export_list(self) -> bytes:
        data = self.store.get_setting(TRUST_LIST)
        if data is None:
            raise TrustError("This site has no trust list to export.")
        return data

    def join(self, data: bytes, root_fingerprint: str) -> TrustList:
        """Adopt a network's trust list, checking its root against a fingerprint read out by a person.

        The site's own root (from 'haven init') and keys not in the new list are dropped.
        """
        new = parse_trust_list(data, None)
        wanted = "".join(root_fingerprint.split()).lower()
        if len(wanted) < 16 or not fingerprint(new.root_public).replace(" ", "").startswith(wanted):
            raise TrustError("The trust list's root key does not have the fingerprint given: not joining.")
        self.store.put_setting(ROOT_PUBLIC, new.root_public)
        self.store.put_setting(TRUST_LIST, data)
        root = self.root_key()
        if root is not None and public_bytes(root) != new.root_public:
            self.store.put_setting(ROOT_KEY, b"")
        elif self.store.get_setting(SIGNING_KEYS) is None:
            return new
        self._save_keys(k for k in self.signing_keys() if new.key(k.kid) is not None)
        return new

    def update_list(self, data: bytes) -> TrustList:
        """Take a newer trust list of the same network; an older or equal one is refused (no rollback)."""
        current = self._require_list()
        new = parse_trust_list(data, current.root_public)
        if new.sequence <= current.sequence:
            if new.sequence == current.sequence and data == self.store.get_setting(TRUST_LIST):
                return current
            raise TrustError(
                f"This trust list is version {new.sequence}; this site has version {current.sequence}. "
                "An older list could un-revoke keys, so it is refused."
            )
        self.store.put_setting(TRUST_LIST, data)
        self._save_keys(k for k in self.signing_keys() if new.key(k.kid) is not None)
        return new

    def export_key(self, kid: bytes, passphrase: str) -> bytes:
        """An epoch key for another site of the network, encrypted under a passphrase."""
        key = next((k for k in self.signing_keys() if k.kid == kid), None)
        if key is None:
            raise TrustError(f"This site holds no signing key {kid.hex()}.")
        if len(passphrase) < 12:
            raise InputError("Use a passphrase of at least 12 characters (five random words are better).")
        pem = key.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
        )
        doc = {
            "haven_signing_key": 1,
            "kid": kid.hex(),
            "label": key.label,
            "not_before": key.not_before,
            "not_after": key.not_after,
            "private_key": pem.decode("ascii"),
        }
        return json.dumps(doc, indent=2).encode("utf-8")

    def import_key(self, data: bytes, passphrase: str) -> SigningKey:
        current = self._require_list()
        try:
            doc = strictjson.loads(data)
            private = serialization.load_pem_private_key(
                doc["private_key"].encode("ascii"), password=passphrase.encode("utf-8")
            )
        except (InputError, ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise TrustError("This is not a Haven signing key file, or the passphrase is wrong.") from None
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            raise TrustError("This signing key file holds no P-256 key.")
        key = SigningKey(private, doc["label"], int(doc["not_before"]), int(doc["not_after"]))
        listed = current.key(key.kid)
        if listed is None or listed != key.trusted():
            raise TrustError("This key is not in this site's trust list: import the newer trust list first.")
        self._save_keys([*(k for k in self.signing_keys() if k.kid != key.kid), key])
        return key

    # ------------------------------------------------------------ external issuers

    def _issuer_doc(self) -> dict[str, Any]:
        data = self.store.get_setting(ISSUERS)
        return json.loads(data) if data else {"eu-dcc": [], "shc": []}

    def issuer_counts(self) -> dict[str, int]:
        """How many foreign issuers this site trusts, by format (EU DCC signers, SHC issuers)."""
        doc = self._issuer_doc()
        return {"eu-dcc": len(doc["eu-dcc"]), "shc": len(doc["shc"])}

    def add_issuer(self, issuer: ExternalIssuer) -> dict[str, Any]:
        """Trust EU DCC signer certificates or an SHC issuer (its JWKS, with its revocation lists)."""
        doc = self._issuer_doc()
        added: dict[str, Any]
        if isinstance(issuer, Issuer):
            doc["shc"] = [i for i in doc["shc"] if i["iss"] != issuer.iss] + [issuer.to_json()]
            added = {"format": "shc", **issuer.to_doc()}
        else:
            signers = issuer
            known = set(doc["eu-dcc"])
            for s in signers:
                known.add(base64.b64encode(s.der).decode())
            doc["eu-dcc"] = sorted(known)
            added = {"format": "eu-dcc", "signers": [s.to_doc() for s in signers]}
        self.store.put_setting(ISSUERS, json.dumps(doc).encode("utf-8"))
        return added

    def trust(self, extra: Iterable[ExternalIssuer] = ()) -> Trust:
        """What this site trusts, plus ``--issuer-cert`` files given for one command."""
        return trust_from_settings(self.trust_settings(), extra)

    def trust_settings(self) -> TrustSettings:
        """The stored settings :meth:`trust` is built from, as bytes (they pass to worker processes as they are)."""
        return self.store.get_setting(TRUST_LIST), self.store.get_setting(ROOT_PUBLIC), self.store.get_setting(ISSUERS)

    # ------------------------------------------------------------ certificates

    def current_key(self) -> SigningKey:
        """The epoch key to sign with now (at the root's site, the schedule is kept ahead first)."""
        if self.store.get_setting(TRUST_LIST) is None:
            raise TrustError(NO_ISSUING)
        if self.holds_root() and self.keys.admin is not None:
            self.keep_scheduled()
        listed = self._require_list()
        now = timestamp(self.now())
        usable = [
            k
            for k in self.signing_keys()
            if k.trusted().signs_at(now) and listed.key(k.kid) == k.trusted() and k.kid not in listed.revoked_kids
        ]
        if usable:
            return max(usable, key=lambda k: k.not_before)
        if self.holds_root():
            raise TrustError(
                "This site has no signing key valid now: a coordinator's 'haven trust show' lists the next ones."
            )
        raise TrustError("This site has no signing key valid now: import a new epoch key from your network.")

    def facts_for(self, card: Card, pin: str | None, what: str) -> Facts:
        """The facts a holder's certificate states, from their history."""
        if what not in WHAT:
            raise InputError(f"--what must be one of: {', '.join(WHAT)}.")
        history = Clinic(self.store, today=lambda: self.now().date()).history(card, pin)
        return facts_from((e for v in history.visits for e in v.visit.entries), what)

    def issue(
        self,
        card: Card,
        pin: str | None = None,
        count: int = 1,
        what: str = "vaccination",
        valid_days: int = VACCINATION_VALIDITY_DAYS,
    ) -> list[str]:
        """``count`` one-time certificates of the holder's facts. Nothing of them is stored."""
        return list(self.sign(self.facts_for(card, pin, what), count, valid_days).texts)

    def sign(self, facts: Facts, count: int, valid_days: int = VACCINATION_VALIDITY_DAYS) -> CertificateSheet:
        """``count`` one-time certificates stating ``facts``, signed with the current epoch key (the one
        way the CLI and the web app both issue). Nothing of them is stored."""
        key = self.current_key()
        moment = timestamp(self.now())
        texts = issue_batch(facts, key, moment, count, self.random_bytes, valid_days)
        return CertificateSheet(tuple(texts), from_timestamp(expiry(facts, week_start(moment), valid_days)))

    def verify(self, text: str, at: dt.datetime | None = None, extra: Iterable[ExternalIssuer] = ()) -> Verified:
        return verify(text, self.trust(extra), at or self.now())

    def import_certificate(
        self,
        card: Card,
        text: str,
        pin: str | None = None,
        at: dt.datetime | None = None,
        extra: Iterable[ExternalIssuer] = (),
        first_visit: bool = False,
        audit: Audit | None = None,
    ) -> dict[str, Any]:
        """Verify a certificate, then add its vaccinations to the holder's history, marked verified-external.

        Vaccinations already in the history (same product, dose and date) and
        those Haven cannot map to its catalogue are skipped and reported. The
        history is read, and the visit and the ``audit`` entry (counting the
        vaccinations imported) written, in one transaction.
        """
        verified = self.verify(text, at, extra)
        clinic = Clinic(
            self.store, today=lambda: self.now().date(), random_bytes=self.random_bytes, seal_counts=self.seal_counts
        )
        with self.store.transaction():
            try:
                known = {
                    (e.product, e.dose, e.date)
                    for v in clinic.history(card, pin).visits
                    for e in v.visit.entries
                    if isinstance(e, Vaccination)
                }
            except NoRecordsError:
                known = set()
            entries, skipped = [], []
            for v in (fact.to_doc() for fact in verified.facts.vaccinations):
                reason = _unimportable(v, known, self.now().date())
                if reason:
                    skipped.append({"vaccination": v, "reason": reason})
                    continue
                entries.append(
                    {
                        "type": "vaccination",
                        "product": v["product"],
                        "dose": v["dose"],
                        "date": v["date"],
                        "verified_external": verified.format,
                    }
                )
                known.add((v["product"], v["dose"], dt.date.fromisoformat(v["date"])))
            added: AddedVisit | None = None
            if entries:
                added = clinic.add_visit(card, entries, pin=pin, first_visit=first_visit, trusted=True)
            if audit is not None:
                audit(len(entries))
        return {
            "format": verified.format,
            "imported": len(entries),
            "skipped": skipped,
            "visit": added.to_doc() if added else None,
        }


def _unimportable(v: dict[str, Any], known: set[tuple[str, int, dt.date]], today: dt.date) -> str | None:
    if not v.get("product"):
        return f"product {v.get('product_code')!r} is not in Haven's catalogue"
    dose = v.get("dose")
    if not isinstance(dose, int) or not 1 <= dose <= MAX_DOSE:
        return f"dose number {dose!r} is not between 1 and {MAX_DOSE}"
    try:
        day = dt.date.fromisoformat(str(v.get("date")))
    except ValueError:
        return f"date {v.get('date')!r} is not a date"
    if day > today:
        return "its date is in the future"
    if (v["product"], dose, day) in known:
        return "already in the history"
    return None


__all__ = [
    "NO_TRUST_SETTINGS",
    "WHAT",
    "CertificateError",
    "CertificateSheet",
    "Certificates",
    "TrustSettings",
    "facts_from",
    "iso",
    "start_verify_worker",
    "trust_from_settings",
    "verify_in_worker",
]
