"""What a verified certificate states, typed: one protocol for every format, and the rows foreign formats share.

Callers read :class:`CertificateFacts` without knowing the format: its
vaccinations and tests, who signed it, and its documented JSON
(docs/certificate-format.md). Haven's own rows are its claims
(:mod:`haven.certs.claims`); EU DCC and SMART Health Card rows are read from
what their issuers wrote, so any field may be missing (``None``). No type here
has a field for a name, a birth date or a certificate id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # the results' one JSON form


class Statement(Protocol):
    """One stated row (a vaccination, a test, the signer): its JSON document."""

    def to_doc(self) -> dict[str, Any]: ...


class CertificateFacts(Protocol):
    """What a certificate states, whatever its format."""

    @property
    def vaccinations(self) -> Sequence[Statement]: ...

    @property
    def tests(self) -> Sequence[Statement]: ...

    @property
    def issuer(self) -> Statement: ...

    def to_doc(self) -> dict[str, Any]: ...

    def to_json(self) -> str:
        """``to_doc()`` as compact JSON."""
        ...


@dataclass(frozen=True)
class ForeignVaccination:
    """A dose an EU DCC or a SMART Health Card states, mapped to the catalogue where Haven knows the code."""

    disease: str | None
    vaccine_type: str | None
    product: str | None  # the catalogue's key; None for a code Haven does not know
    product_code: str | None  # the code as the certificate writes it
    dose: int | None
    of: int | None
    date: str | None  # as written (ISO 8601 when well formed)
    dose_inferred: bool = False  # numbered by date here: the certificate did not say

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "disease": self.disease,
            "vaccine_type": self.vaccine_type,
            "product": self.product,
            "product_code": self.product_code,
            "dose": self.dose,
            "of": self.of,
            "date": self.date,
        }
        if self.dose_inferred:
            doc["dose_inferred"] = True
        return doc


@dataclass(frozen=True)
class ForeignTest:
    """A SARS-CoV-2 test an EU DCC or a SMART Health Card states."""

    __test__ = False  # a test result, not a pytest test class

    disease: str | None
    test: str | None
    result: str | None
    date: str | None

    def to_doc(self) -> dict[str, Any]:
        return {"disease": self.disease, "test": self.test, "result": self.result, "date": self.date}


@dataclass(frozen=True)
class ForeignFacts:
    """What an EU DCC or a SMART Health Card states (never the holder's name, birth date or the certificate id)."""

    vaccinations: tuple[ForeignVaccination, ...]
    tests: tuple[ForeignTest, ...]
    issued_at: str | None
    expires_at: str | None
    issuer: Statement
    recoveries: tuple[Statement, ...] = ()  # EU DCC recovery statements (listed only when there are some)

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "vaccinations": [v.to_doc() for v in self.vaccinations],
            "tests": [t.to_doc() for t in self.tests],
        }
        if self.recoveries:
            doc["recoveries"] = [r.to_doc() for r in self.recoveries]
        doc["issued_at"] = self.issued_at
        doc["expires_at"] = self.expires_at
        doc["issuer"] = self.issuer.to_doc()
        return doc

    def to_json(self) -> str:
        return compact(self.to_doc())
