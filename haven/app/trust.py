"""Trust: the network's root, epoch keys, revocation, the trust list's export and import, foreign issuers.

Each change is one transaction with its audit entry. Most return the trust list as shown
(:func:`trust_doc`): which keys it lists, which this site holds, whether certificates name this site.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from haven.app.actions import Action
from haven.app.usecase import Area, use_case
from haven.cert_services import DEFAULT_LABEL, STANDALONE_NETWORK, Certificates
from haven.certs.issuers import ExternalIssuer
from haven.certs.trust import EPOCH_MAX_DAYS, SigningKey, TrustList
from haven.errors import TrustError
from haven.site.roles import Permission

NO_TRUST_LIST = (
    "This site has no trust list: join a network (haven trust join) or choose standalone issuing "
    "(haven trust standalone)."
)


def trust_doc(certs: Certificates, current: TrustList) -> dict[str, Any]:
    """The trust list as ``haven trust show --json`` prints it, with which keys this site holds."""
    now = int(certs.now().timestamp())
    held = certs.held_kids()  # None: this passphrase's role keys do not open them ("?")
    doc = current.to_doc(now)
    for k in doc["keys"]:
        k["held"] = None if held is None else bytes.fromhex(k["kid"]) in held
    doc["holds_root"] = certs.holds_root()
    # A root that signs certificates itself, for no one else, is named by them.
    doc["names_this_site"] = doc["holds_root"] and current.network == STANDALONE_NETWORK
    return doc


class TrustUseCases(Area):
    def _certs(self) -> Certificates:
        return self.app.certificates_service()

    @use_case(Permission.TRUST_VIEW, None)
    def show(self) -> dict[str, Any]:
        """The trust list this site verifies against (the root's coordinator lists next epochs' keys ahead),
        and how many foreign issuers (EU DCC signers, SMART Health Card issuers) it trusts besides."""
        certs = self._certs()
        current = certs.trust_list()
        if current is None:
            raise TrustError(NO_TRUST_LIST)
        if certs.holds_root() and self.site.keys.admin is not None:
            certs.keep_scheduled()
            current = certs.trust_list() or current
        return {**trust_doc(certs, current), "foreign_issuers": certs.issuer_counts()}

    @use_case(Permission.TRUST_MANAGE, Action.TRUST_STANDALONE)
    def standalone(self, replace: bool = False) -> dict[str, Any]:
        """Issue alone: this site becomes the root of a network of one (its certificates name it)."""
        with self.change(Action.TRUST_STANDALONE):
            certs = self._certs()
            return trust_doc(certs, certs.standalone(replace=replace))

    @use_case(Permission.TRUST_MANAGE, Action.TRUST_ROOT)
    def create_root(self, network: str, label: str = DEFAULT_LABEL, replace: bool = False) -> dict[str, Any]:
        with self.change(Action.TRUST_ROOT):
            certs = self._certs()
            return trust_doc(certs, certs.create_root(network, label, replace=replace))

    @use_case(Permission.TRUST_MANAGE, Action.TRUST_NEW_KEY)
    def new_key(self, label: str, days: int = EPOCH_MAX_DAYS, start: dt.datetime | None = None) -> SigningKey:
        with self.change(Action.TRUST_NEW_KEY):
            return self._certs().new_key(label, days, start)

    @use_case(Permission.TRUST_MANAGE, Action.TRUST_ROTATE)
    def rotate(self, label: str = DEFAULT_LABEL) -> SigningKey:
        with self.change(Action.TRUST_ROTATE):
            return self._certs().new_key(label, end_current=True)

    @use_case(Permission.TRUST_MANAGE, Action.TRUST_REVOKE)
    def revoke(self, kid: bytes | None = None, cti: bytes | None = None) -> TrustList:
        """Revoke a key (every certificate it signed) or one certificate's one-time id (root only)."""
        with self.change(Action.TRUST_REVOKE):
            return self._certs().revoke(kid=kid, cti=cti)

    @use_case(Permission.TRUST_VIEW, Action.TRUST_EXPORT)
    def export_list(self) -> bytes:
        with self.change(Action.TRUST_EXPORT):
            return self._certs().export_list()

    @use_case(Permission.TRUST_MANAGE, Action.TRUST_IMPORT)
    def update_list(self, data: bytes) -> dict[str, Any]:
        """Take a newer trust list of this site's network (older versions are refused)."""
        with self.change(Action.TRUST_IMPORT):
            certs = self._certs()
            return trust_doc(certs, certs.update_list(data))

    @use_case(Permission.TRUST_MANAGE, Action.TRUST_JOIN)
    def join(self, data: bytes, root_fingerprint: str) -> dict[str, Any]:
        with self.change(Action.TRUST_JOIN):
            certs = self._certs()
            return trust_doc(certs, certs.join(data, root_fingerprint))

    @use_case(Permission.TRUST_MANAGE, Action.TRUST_EXPORT_KEY)
    def export_key(self, kid: bytes, passphrase: str) -> bytes:
        with self.change(Action.TRUST_EXPORT_KEY):
            return self._certs().export_key(kid, passphrase)

    @use_case(Permission.TRUST_MANAGE, Action.TRUST_IMPORT_KEY)
    def import_key(self, data: bytes, passphrase: str) -> SigningKey:
        with self.change(Action.TRUST_IMPORT_KEY):
            return self._certs().import_key(data, passphrase)

    @use_case(Permission.TRUST_MANAGE, Action.TRUST_ADD_ISSUER)
    def add_issuer(self, issuer: ExternalIssuer) -> dict[str, Any]:
        """Trust EU DCC signers or an SHC issuer (read from their files by the edge)."""
        with self.change(Action.TRUST_ADD_ISSUER):
            return self._certs().add_issuer(issuer)
