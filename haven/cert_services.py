"""Certificate use cases: issue batches, verify, import into a history, and manage trust.

Everything here takes the store, the clock and the randomness injected, like
:class:`haven.services.Clinic`. Trust material lives in named site settings:

* ``certs/trust-list``    the network's signed trust list (as received, bytes)
* ``certs/root-public``   the root public key this site trusts (pinned)
* ``certs/root-key``      the root private key, only where the root lives
* ``certs/signing-keys``  epoch keys this site may sign with
* ``certs/issuers``       EU DCC signer certificates and SMART Health Card issuers
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from haven.certs import eudcc, shc
from haven.certs.batch import VACCINATION_VALIDITY_DAYS, issue_batch
from haven.certs.claims import TEST_DISEASE, Facts, TestFact, VaccinationFact
from haven.certs.keys import fingerprint, load_private_der, new_private_key, private_der, public_bytes
from haven.certs.trust import (
    EPOCH_MAX_DAYS,
    SigningKey,
    TrustList,
    decode_signing_keys,
    encode_signing_keys,
    iso,
    make_signing_key,
    parse_trust_list,
    timestamp,
)
from haven.certs.verify import BulkVerifier, Trust, Verified, verify
from haven.core.card import Card
from haven.core.catalogue import catalogue
from haven.core.entries import MAX_DOSE, Test, Vaccination
from haven.core.history import record_tag
from haven.core.records import OpenedRecord
from haven.errors import CertificateError, InputError, NoRecordsError, TrustError
from haven.services import AddedVisit, Audit, Clinic
from haven.store.base import Store

TRUST_LIST = "certs/trust-list"
ROOT_PUBLIC = "certs/root-public"
ROOT_KEY = "certs/root-key"
SIGNING_KEYS = "certs/signing-keys"
ISSUERS = "certs/issuers"
DEFAULT_LABEL = "local"
WHAT = ("vaccination", "test", "all")


# A site's trust list, the root public key it pinned and its external issuers (settings as stored, None if unset).
TrustSettings = tuple[bytes | None, bytes | None, bytes | None]
NO_TRUST_SETTINGS: TrustSettings = (None, None, None)  # no site: only --issuer-cert files


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def facts_from(entries: Iterable[object], what: str = "all") -> Facts:
    """The facts a certificate states about ``entries`` (a history's, or those chosen from it).

    Every vaccination (the same product, dose and date once), dose n "of" the
    product's primary series (or of n for extra doses), and the latest test only.
    Entries of other kinds are left out. The CLI and the web app both certify through this.
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
        elif isinstance(e, Test) and what in ("test", "all"):
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


def entry_id(visit: OpenedRecord, number: int) -> str:
    """The id of a visit's entry when choosing what a certificate states: ``<index>.<record>.<entry>``.

    The record tag (see :func:`haven.core.history.record_tag`) keeps the id unambiguous when two
    visits share an index after a merge, so a certificate states exactly the entries chosen.
    """
    return f"{visit.index}.{record_tag(visit)}.{number}"


def bootstrap_trust(
    store: Store, now: dt.datetime, random_bytes: Callable[[int], bytes] = secrets.token_bytes
) -> TrustList | None:
    """Make a fresh site a network of one: a root key, one epoch key, a signed trust list.

    Does nothing (returns None) where the site already has a trust list.
    """
    return Certificates(store, lambda: now, random_bytes).bootstrap()


@dataclass
class Certificates:
    store: Store
    now: Callable[[], dt.datetime] = utc_now
    random_bytes: Callable[[int], bytes] = field(default=secrets.token_bytes)

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

    def root_key(self) -> ec.EllipticCurvePrivateKey | None:
        data = self.store.get_setting(ROOT_KEY)
        return load_private_der(data) if data else None

    def _require_root(self) -> ec.EllipticCurvePrivateKey:
        root = self.root_key()
        if root is None:
            raise TrustError("This site does not hold the network's root key; ask whoever holds it.")
        return root

    def signing_keys(self) -> list[SigningKey]:
        return decode_signing_keys(self.store.get_setting(SIGNING_KEYS))

    def _save_keys(self, keys: Iterable[SigningKey]) -> None:
        self.store.put_setting(SIGNING_KEYS, encode_signing_keys(keys))

    def _publish(self, new: TrustList) -> TrustList:
        self.store.put_setting(TRUST_LIST, new.sign(self._require_root()))
        return new

    # ------------------------------------------------------------ trust management

    def bootstrap(self, network: str = "local", label: str = DEFAULT_LABEL) -> TrustList | None:
        if self.store.get_setting(TRUST_LIST) is not None:
            return None
        return self.create_root(network, label)

    def create_root(self, network: str, label: str = DEFAULT_LABEL, replace: bool = False) -> TrustList:
        """A new network with this site as its root, and a first epoch key for ``label``."""
        if self.store.get_setting(TRUST_LIST) is not None and not replace:
            raise TrustError("This site already has a trust list; a new root replaces it (use --replace).")
        network = network.strip()
        if not network or len(network) > 60:
            raise TrustError("Name the network with 1 to 60 characters.")
        now = timestamp(self.now())
        root = new_private_key(self.random_bytes)
        key = make_signing_key(self.random_bytes, label, now)
        first = TrustList(network, 1, now, public_bytes(root), keys=(key.trusted(),))
        self.store.put_setting(ROOT_KEY, private_der(root))
        self.store.put_setting(ROOT_PUBLIC, first.root_public)
        self._save_keys([key])
        self.store.put_setting(TRUST_LIST, first.sign(root))
        return first

    def new_key(
        self, label: str, days: int = EPOCH_MAX_DAYS, start: dt.datetime | None = None, end_current: bool = False
    ) -> SigningKey:
        """A new epoch key for ``label`` (root only), listed in a new version of the trust list.

        With ``end_current`` (rotation) the label's keys still signing now stop
        now; certificates they signed stay valid until they expire.
        """
        current = self._require_list()
        self._require_root()
        now = timestamp(self.now())
        begin = timestamp(start) if start else now
        key = make_signing_key(self.random_bytes, label, begin, days)
        keys = list(current.keys)
        if end_current:
            keys = [
                k
                if k.label != key.label or not k.signs_at(now)
                else type(k)(k.public, k.label, k.not_before, max(k.not_before, now - 1))
                for k in keys
            ]
        self._publish(current.next(now, keys=(*keys, key.trusted())))
        held = [k for k in self.signing_keys() if not (end_current and k.label == key.label and k.not_before <= now)]
        self._save_keys([*held, key])
        return key

    def revoke(self, kid: bytes | None = None, cti: bytes | None = None) -> TrustList:
        """Revoke a key (every certificate it signed) or one certificate's one-time id (root only)."""
        current = self._require_list()
        self._require_root()
        now = timestamp(self.now())
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
            doc = json.loads(data)
            private = serialization.load_pem_private_key(
                doc["private_key"].encode("ascii"), password=passphrase.encode("utf-8")
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
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

    def add_issuer(self, path: Path, iss: str | None = None) -> dict[str, Any]:
        """Trust an EU DCC signer certificate (DER/PEM) or an SHC issuer's JWKS (with crl/ beside it)."""
        doc = self._issuer_doc()
        added: dict[str, Any]
        if _looks_like_jwks(path):
            issuer = shc.load_issuer(path, iss)
            doc["shc"] = [i for i in doc["shc"] if i["iss"] != issuer.iss] + [issuer.to_json()]
            added = {"format": "shc", **issuer.to_doc()}
        else:
            signers = eudcc.load_signers(_read(path))
            known = set(doc["eu-dcc"])
            for s in signers:
                known.add(base64.b64encode(s.der).decode())
            doc["eu-dcc"] = sorted(known)
            added = {"format": "eu-dcc", "signers": [s.to_doc() for s in signers]}
        self.store.put_setting(ISSUERS, json.dumps(doc).encode("utf-8"))
        return added

    def trust(self, extra: Iterable[str] = ()) -> Trust:
        """What this site trusts, plus ``--issuer-cert`` files given for one command."""
        return trust_from_settings(self.trust_settings(), extra)

    def trust_settings(self) -> TrustSettings:
        """The stored settings :meth:`trust` is built from, as bytes (they pass to worker processes as they are)."""
        return self.store.get_setting(TRUST_LIST), self.store.get_setting(ROOT_PUBLIC), self.store.get_setting(ISSUERS)

    # ------------------------------------------------------------ certificates

    def current_key(self) -> SigningKey:
        """The epoch key to sign with now; a site holding the root rotates to a new one when needed."""
        listed = self._require_list()
        now = timestamp(self.now())
        usable = [
            k
            for k in self.signing_keys()
            if k.trusted().signs_at(now) and listed.key(k.kid) == k.trusted() and k.kid not in listed.revoked_kids
        ]
        if usable:
            return max(usable, key=lambda k: k.not_before)
        if self.root_key() is None:
            raise TrustError("This site has no signing key valid now: import a new epoch key from your network.")
        held = self.signing_keys()
        label = max(held, key=lambda k: k.not_after).label if held else DEFAULT_LABEL
        return self.new_key(label)

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
        facts = self.facts_for(card, pin, what)
        key = self.current_key()
        return issue_batch(facts, key, timestamp(self.now()), count, self.random_bytes, valid_days)

    def verify(self, text: str, at: dt.datetime | None = None, extra: Iterable[str] = ()) -> Verified:
        return verify(text, self.trust(extra), at or self.now())

    def import_certificate(
        self,
        card: Card,
        text: str,
        pin: str | None = None,
        at: dt.datetime | None = None,
        extra: Iterable[str] = (),
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
        clinic = Clinic(self.store, today=lambda: self.now().date(), random_bytes=self.random_bytes)
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
            for v in verified.facts.get("vaccinations", []):
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


def trust_from_settings(settings: TrustSettings, extra: Iterable[str] = ()) -> Trust:
    """What a site with these settings trusts, plus ``--issuer-cert`` files (see :meth:`Certificates.trust`)."""
    listed, root, issuers = settings
    doc = json.loads(issuers) if issuers else {"eu-dcc": [], "shc": []}
    out = Trust(
        haven=None if listed is None else parse_trust_list(listed, root),
        eudcc=[s for der in doc["eu-dcc"] for s in eudcc.load_signers(der.encode())],
        shc={i["iss"]: shc.Issuer.from_json(i) for i in doc["shc"]},
    )
    add_issuer_files(out, extra)
    return out


# ``haven cert verify --jobs``: each worker process rebuilds the same trust from the same settings once,
# then verifies the batches of lines it is given.
_worker_verifier: BulkVerifier | None = None


def start_verify_worker(settings: TrustSettings, extra: tuple[str, ...], now: dt.datetime) -> None:
    """Initialise a worker process (module-level, so that it can be named to a spawned process)."""
    global _worker_verifier
    _worker_verifier = BulkVerifier(trust_from_settings(settings, extra), now)


def verify_in_worker(texts: list[str]) -> list[tuple[str, int]]:
    """:meth:`BulkVerifier.results` in a worker process started by :func:`start_verify_worker`."""
    if _worker_verifier is None:
        raise RuntimeError("verify_in_worker runs only in a process started with start_verify_worker")
    return _worker_verifier.results(texts)


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


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"The file {path} cannot be read: {exc.strerror}.") from None


def _looks_like_jwks(path: Path) -> bool:
    head = _read(path).lstrip()[:1]
    return head == b"{"


def add_issuer_files(trust: Trust, files: Iterable[str]) -> None:
    """Add ``--issuer-cert`` files to ``trust``: X.509 (DER/PEM) signers, or JWKS as ``[ISS=]FILE``."""
    for spec in files:
        iss, path = None, spec
        if spec.startswith("https://") and "=" in spec:
            iss, path = spec.split("=", 1)
        file = Path(path)
        if _looks_like_jwks(file):
            issuer = shc.load_issuer(file, iss)
            trust.shc[issuer.iss] = issuer
        else:
            trust.eudcc.extend(eudcc.load_signers(_read(file)))


__all__ = ["WHAT", "CertificateError", "Certificates", "bootstrap_trust", "facts_from", "iso"]
