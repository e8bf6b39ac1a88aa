"""A verification's outcome and what it is checked against: :class:`Verified`, refusals, :class:`Trust`.

Verification raises a :class:`~haven.errors.CertificateError` subclass, one per
reason, and returns a :class:`Verified` only when the certificate is valid at
``now``. Either outcome has one documented JSON result, written here and only here::

    {"valid": bool, "signature_valid": bool, "reason": null | "malformed" | ...,
     "format": "haven" | "eu-dcc" | "shc" | null, "facts": {...}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from haven.certs.facts import CertificateFacts, compact
from haven.certs.issuers import ExternalIssuer, Issuer, Signer
from haven.certs.trust import TrustList, iso
from haven.errors import CertificateError, ExpiredCertificate, NotYetValidCertificate


@dataclass(frozen=True)
class Verified:
    """A certificate that verified: its format, what it states, and any warnings."""

    format: str
    facts: CertificateFacts
    warnings: tuple[str, ...] = ()

    def to_json(self) -> str:
        """``to_doc()`` as compact JSON (one line)."""
        return valid_json(self.format, self.facts.to_json(), self.warnings)

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "valid": True,
            "signature_valid": True,
            "reason": None,
            "format": self.format,
            "facts": self.facts.to_doc(),
        }
        if self.warnings:
            doc["warnings"] = list(self.warnings)
        return doc


def valid_json(fmt: str, facts_json: str, warnings: tuple[str, ...] = ()) -> str:
    """The JSON result of a valid certificate, from its facts' JSON (formats are fixed ASCII words)."""
    tail = f',"warnings":{compact(list(warnings))}' if warnings else ""
    return f'{{"valid":true,"signature_valid":true,"reason":null,"format":"{fmt}","facts":{facts_json}{tail}}}'


def refusal_doc(exc: CertificateError) -> dict[str, Any]:
    """The JSON result for a certificate that did not verify."""
    return {
        "valid": False,
        "signature_valid": exc.signature_valid,
        "reason": exc.code,
        "format": exc.format,
        "facts": exc.facts or {},
        "message": exc.message,
    }


def refusal_json(exc: CertificateError) -> str:
    """``refusal_doc(exc)`` as compact JSON (one line)."""
    return compact(refusal_doc(exc))


@dataclass
class Trust:
    """Everything a verifier trusts, all offline: Haven's trust list and external issuers."""

    haven: TrustList | None = None
    eudcc: list[Signer] = field(default_factory=list)
    shc: dict[str, Issuer] = field(default_factory=dict)  # iss -> issuer

    def add(self, issuer: ExternalIssuer) -> None:
        """Also trust an SHC issuer (replacing one of the same ``iss``) or EU DCC signers."""
        if isinstance(issuer, Issuer):
            self.shc[issuer.iss] = issuer
        else:
            self.eudcc.extend(issuer)


def check_times(fmt: str, now: int, not_before: float | None, expires: float | None, facts: CertificateFacts) -> None:
    """Raise if ``now`` is outside [not_before, expires]."""
    if not_before is not None and now < not_before:
        raise NotYetValidCertificate(
            f"The certificate is valid only from {iso(int(not_before))}.",
            format=fmt,
            signature_valid=True,
            facts=facts.to_doc(),
        )
    if expires is not None and now > expires:
        raise ExpiredCertificate(
            f"The certificate expired on {iso(int(expires))}.",
            format=fmt,
            signature_valid=True,
            facts=facts.to_doc(),
        )
