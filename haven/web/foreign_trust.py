"""Foreign issuers for the offline verifier: EU DCC signers and SMART Health Card issuers, signed.

The verifier page checks EU DCCs and SMART Health Cards against the issuers this site trusts
(``haven trust add-issuer``). It gets them as one document signed by one of the site's epoch keys,
which the page already trusts through the trust list it pinned: whoever serves, proxies or caches the
page cannot make it trust another issuer. The format is in docs/certificate-format.md ("Foreign
issuers for the verifier"); the page reads it in static/verifier/foreign-trust.js.

Signing needs an epoch key, so the document is made when a staff member whose roles open the signing
keys signs in, and made again (hourly, or when the issuers or the trust list change) while the server
stays unlocked. Like the trust list it lives in memory only and is served while the server is locked;
it is forgotten when the site's trust list is (restart, duress, panic).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from haven.cert_services import Certificates
from haven.certs import cbor, cose
from haven.certs.issuers import Issuer, Signer
from haven.certs.result import Trust
from haven.certs.trust import SigningKey, TrustList, timestamp
from haven.certs.trust_settings import TrustSettings, trust_from_settings
from haven.core.clock import utc_now
from haven.errors import HavenError
from haven.site.rolekeys import RoleKeys
from haven.site.site import UnlockedSite
from haven.store.base import Store
from haven.web.site import WebSite

CONTENT_TYPE = "application/haven-foreign-trust"  # COSE header 3: never readable as a certificate
HEADER_CONTENT_TYPE = 3
HOUR = 3600
CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
# What the page says about a SMART Health Card key's revocation list (Python's warnings, as numbers).
CRL_OK, CRL_NOT_HELD, CRL_OTHER_VERSION = 0, 1, 2


def _signer_entry(signer: Signer) -> list[Any]:
    """[kid, kind, SPKI, not_before, not_after, types, subject] of an EU DCC document signer."""
    key = signer.cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        kind = CURVES.get(key.curve.name, "other")
    elif isinstance(key, rsa.RSAPublicKey):
        kind = "RSA"
    else:
        kind = "other"  # Python refuses its signatures too (an algorithm the key does not use)
    spki = b""
    if kind != "other":
        spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return [
        signer.kid,
        kind,
        spki,
        int(signer.cert.not_valid_before_utc.timestamp()),
        int(signer.cert.not_valid_after_utc.timestamp()),
        "".join(sorted(signer.allowed_types())),
        signer.cert.subject.rfc4514_string(),
    ]


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _shc_entry(issuer: Issuer) -> list[Any]:
    """[iss, [[kid, x, y, revoked ids or null, CRL_*], ...]] of a SMART Health Card issuer."""
    keys = []
    for kid, jwk in issuer.keys.items():
        crl = issuer.crls.get(kid)
        if crl is None:
            rids, note = None, CRL_NOT_HELD if "crlVersion" in jwk else CRL_OK
        else:
            rids = [str(entry) for entry in crl.get("rids") or ()]
            version = jwk.get("crlVersion")
            note = CRL_OTHER_VERSION if isinstance(version, int) and crl.get("ctr") != version else CRL_OK
        keys.append([kid, _b64url(str(jwk["x"])), _b64url(str(jwk["y"])), rids, note])
    return [issuer.iss, keys]


def build(trust: Trust, network: str, key: SigningKey, issued: int) -> bytes:
    """The signed document: every foreign issuer of ``trust``, in the order Python looks them up."""
    payload = cbor.dumps(
        {
            1: network,
            2: issued,
            3: [_signer_entry(s) for s in trust.eudcc],
            4: [_shc_entry(i) for i in trust.shc.values()],
        }
    )
    protected = cbor.dumps({cose.HEADER_ALG: cose.ES256, HEADER_CONTENT_TYPE: CONTENT_TYPE, cose.HEADER_KID: key.kid})
    signature = cose.sign_es256(key.private, cose.sig_structure(protected, payload))
    return cbor.dumps([protected, {}, payload, signature])


def _signs_now(key: SigningKey, listed: TrustList | None, now: int) -> bool:
    return (
        listed is not None
        and listed.key(key.kid) == key.trusted()
        and key.kid not in listed.revoked_kids
        and key.trusted().signs_at(now)
    )


def signing_key(store: Store, keys: RoleKeys, now: dt.datetime) -> SigningKey | None:
    """The epoch key these role keys open that the trust list lets sign now (the newest), if any."""
    certs = Certificates(store, lambda: now, keys=keys)
    try:
        if certs.held_kids() is None:
            return None
        listed = certs.trust_list()
        usable = [k for k in certs.signing_keys() if _signs_now(k, listed, timestamp(now))]
    except HavenError:
        return None
    return max(usable, key=lambda k: k.not_before, default=None)


@dataclass
class ForeignTrust:
    """The signed document a server gives its verifier page, kept up to date while it can sign."""

    site: WebSite
    now: Callable[[], dt.datetime] = utc_now
    _key: SigningKey | None = field(default=None, init=False, repr=False)  # until the site locks
    _doc: bytes | None = field(default=None, init=False, repr=False)
    _made_from: tuple[TrustSettings, int] | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def watching(cls, site: WebSite) -> ForeignTrust:
        """One that signs at each issuing member's sign-in and forgets its key when the site locks."""
        keeper = cls(site, site.now)
        site.on_sign_in(keeper.signed_in)
        site.on_lock(keeper.forget_key)
        return keeper

    def signed_in(self, unlocked: UnlockedSite, keys: RoleKeys) -> None:
        """At a sign-in (the site's lock held: this takes ours after it, never the other way)."""
        key = signing_key(unlocked.store, keys, self.now())
        if key is not None:
            with self._lock, contextlib.suppress(HavenError):  # a sign-in never fails for this document
                self._key = key
                self._refresh(unlocked.store)

    def forget_key(self) -> None:
        with self._lock:
            self._key = None

    def document(self) -> bytes | None:
        """The signed document, or None: no issuing member signed in since start, or the site was erased."""
        if self.site.trust_list() is None:
            with self._lock:
                self._doc = self._made_from = None
            return None
        try:
            store: Store | None = self.site.store  # the site's lock, taken before ours as at a sign-in
        except HavenError:
            store = None  # locked: the document made before
        with self._lock:
            if self._key is not None and store is not None:
                with contextlib.suppress(HavenError):  # locked while this request ran: the one made before
                    self._refresh(store)
            return self._doc

    def _refresh(self, store: Store) -> None:
        """Sign again if the settings changed or the document is from an earlier hour."""
        key = self._key
        if key is None:
            return
        settings = Certificates(store).trust_settings()
        now = timestamp(self.now())
        hour = now // HOUR * HOUR
        if self._doc is not None and self._made_from == (settings, hour):
            return
        trust = trust_from_settings(settings)
        if trust.haven is None or not _signs_now(key, trust.haven, now):
            self._key = None  # its epoch ended or it was revoked: the document made before stays
            return
        self._doc = build(trust, trust.haven.network, key, hour)
        self._made_from = (settings, hour)
