"""Who a verified EU DCC or SMART Health Card names, for the holder to confirm it is theirs (pure).

Haven never stores a name or a birth date, and :class:`~haven.certs.facts.ForeignFacts` has no field for
either. Importing someone else's certificate into a history would be a wrong record, so the page shows
the holder what the certificate names, small, before it is imported; this module reads it for that page
alone. Call it only on a text that verified: it decodes without checking anything.

>>> named_holder("HC1:not a certificate") is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from haven.certs import cbor, eudcc, shc
from haven.errors import CertificateError

MAX_SHOWN = 80  # characters of a name: a page shows it small, never a whole field a forger filled


@dataclass(frozen=True)
class NamedHolder:
    name: str
    birth_date: str


def named_holder(text: str) -> NamedHolder | None:
    """The name and birth date an ``HC1:`` or ``shc:/`` text states; None where it states neither."""
    try:
        if text.startswith(eudcc.PREFIX):
            return _dcc(text)
        if text.startswith("shc:/"):
            return _shc(text)
    except (CertificateError, KeyError, IndexError, TypeError, ValueError):
        return None
    return None


def _dcc(text: str) -> NamedHolder | None:
    claims = cbor.loads(eudcc.decode(text).payload, "EU DCC's claims")
    hcert = claims[eudcc.CLAIM_HCERT][1]
    names = hcert.get("nam") if isinstance(hcert, Mapping) else None
    names = names if isinstance(names, Mapping) else {}
    name = " ".join(_text(names.get(k)) for k in ("gn", "fn") if _text(names.get(k)))
    return _holder(name, _text(hcert.get("dob")))


def _shc(text: str) -> NamedHolder | None:
    jws = shc.parse_jws(shc.numeric_to_jws(text))
    subject = shc.inflate(jws.compressed)["vc"]["credentialSubject"]["fhirBundle"]
    for entry in subject.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping) and resource.get("resourceType") == "Patient":
            first = (resource.get("name") or [{}])[0]
            parts = [*(first.get("given") or ()), first.get("family")] if isinstance(first, Mapping) else []
            return _holder(" ".join(_text(p) for p in parts if _text(p)), _text(resource.get("birthDate")))
    return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _holder(name: str, birth_date: str) -> NamedHolder | None:
    if not name and not birth_date:
        return None
    return NamedHolder(name[:MAX_SHOWN], birth_date[:10])
