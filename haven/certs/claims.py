"""Haven's certificate claims: a CWT claim map with a compact facts claim.

The payload of a Haven certificate is a CWT (RFC 8392) claims map in
canonical CBOR, integer keys only::

    {
      4: exp,            ; expiry, NumericDate (whole seconds)
      6: iat,            ; issue time rounded down to Monday 00:00 UTC of its week
      7: cti,            ; 12 random bytes: the stub's one-time id
      -65537: facts      ; private-use claim key: {1: [+ vaccination], 2: [+ test]}
    }
    vaccination = [disease, vaccine_type, product, dose, of, day]
    test        = [disease, test_type, result, day]
    disease     = uint / [2* uint]      ; several for combined vaccines (MMR)
    day         = uint                  ; days since 1970-01-01

Small integers stand for diseases, vaccine types, products, test types and
results (tables below and in ``haven/data/catalogue.json``): each costs one
byte, which is what lets three doses fit a version-10 QR code.
No claim names a person, a place or a clinic (docs/certificate-format.md).

>>> import datetime as dt
>>> facts = Facts(vaccinations=(VaccinationFact(("covid-19",), "mRNA", "comirnaty", 1, 2, dt.date(2026, 10, 1)),))
>>> claims = Claims(exp=1_800_000_000, iat=1_795_000_000, cti=bytes(12), facts=facts)
>>> decode_claims(encode_claims(claims)) == claims
True
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from haven.certs import cbor
from haven.core.catalogue import catalogue
from haven.errors import MalformedCertificate

CLAIM_EXP = 4
CLAIM_IAT = 6
CLAIM_CTI = 7
CLAIM_FACTS = -65537  # RFC 8392 registry: keys below -65536 are private use
FACTS_VACCINATIONS = 1
FACTS_TESTS = 2
CTI_BYTES = 12
EPOCH_DAY = dt.date(1970, 1, 1)

# Append-only tables: a number, once shipped, keeps its meaning forever.
DISEASES = (
    "covid-19",
    "measles",
    "mumps",
    "rubella",
    "tetanus",
    "diphtheria",
    "hepatitis-b",
    "polio",
    "cholera",
    "tuberculosis",
    "pertussis",
    "hib",
    "pneumococcal",
    "rotavirus",
    "hpv",
    "influenza",
    "rabies",
    "typhoid",
    "yellow-fever",
)
VACCINE_TYPES = (
    "mRNA",
    "viral_vector_nr",
    "inactivated",
    "protein_subunit",
    "live attenuated",
    "toxoid",
    "recombinant protein",
    "inactivated virus",
    "inactivated whole-cell",
    "combined",
    "conjugate",
    "virus-like particle",
)
# Only COVID-19 tests are certified: a certificate never states an HIV, syphilis, hepatitis B,
# malaria or TB result (the catalogue's other tests), which could harm the holder it is shown to.
TEST_DISEASE = "covid-19"


@dataclass(frozen=True)
class VaccinationFact:
    diseases: tuple[str, ...]
    vaccine_type: str
    product: str
    dose: int
    of: int
    date: dt.date

    def to_doc(self) -> dict[str, Any]:
        product = catalogue().products.get(self.product)
        return {
            "disease": self.diseases[0] if len(self.diseases) == 1 else list(self.diseases),
            "vaccine_type": self.vaccine_type,
            "product": self.product,
            "product_name": product.name if product else None,
            "dose": self.dose,
            "of": self.of,
            "date": self.date.isoformat(),
        }


@dataclass(frozen=True)
class TestFact:
    __test__ = False  # a test result, not a pytest test class

    disease: str
    test: str
    result: str
    date: dt.date

    def to_doc(self) -> dict[str, Any]:
        return {"disease": self.disease, "test": self.test, "result": self.result, "date": self.date.isoformat()}


@dataclass(frozen=True)
class Facts:
    vaccinations: tuple[VaccinationFact, ...] = ()
    tests: tuple[TestFact, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.vaccinations or self.tests)

    def to_doc(self) -> dict[str, Any]:
        return {
            "vaccinations": [v.to_doc() for v in self.vaccinations],
            "tests": [t.to_doc() for t in self.tests],
        }


@dataclass(frozen=True)
class Claims:
    exp: int
    iat: int
    cti: bytes
    facts: Facts


def day_number(day: dt.date) -> int:
    return (day - EPOCH_DAY).days


def from_day_number(n: int) -> dt.date:
    return EPOCH_DAY + dt.timedelta(days=n)


def _code(table: tuple[str, ...], value: str) -> int:
    return table.index(value) + 1


def _name(table: tuple[str, ...], number: int) -> str:
    # A number from a newer table than this verifier's still verifies; it shows as "#n".
    return table[number - 1] if 1 <= number <= len(table) else f"#{number}"


def _product_name(number: int) -> str:
    try:
        return catalogue().product_by_id(number).key
    except KeyError:
        return f"#{number}"


def _test_key(number: int, table: dict[str, Any]) -> str:
    for key, coded in table.items():
        if coded.id == number:
            return str(key)
    return f"#{number}"


def encode_facts(facts: Facts) -> dict[int, Any]:
    cat = catalogue()
    out: dict[int, Any] = {}
    if facts.vaccinations:
        rows = []
        for v in facts.vaccinations:
            diseases = [_code(DISEASES, d) for d in v.diseases]
            rows.append(
                [
                    diseases[0] if len(diseases) == 1 else diseases,
                    _code(VACCINE_TYPES, v.vaccine_type),
                    cat.product(v.product).id,
                    v.dose,
                    v.of,
                    day_number(v.date),
                ]
            )
        out[FACTS_VACCINATIONS] = rows
    if facts.tests:
        out[FACTS_TESTS] = [
            [_code(DISEASES, t.disease), cat.tests[t.test].id, cat.results[t.result].id, day_number(t.date)]
            for t in facts.tests
        ]
    return out


def encode_claims(claims: Claims) -> bytes:
    """The canonical CBOR payload for ``claims``."""
    return cbor.dumps(
        {CLAIM_EXP: claims.exp, CLAIM_IAT: claims.iat, CLAIM_CTI: claims.cti, CLAIM_FACTS: encode_facts(claims.facts)}
    )


def _uint(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedCertificate(f"The certificate's {what} is not a whole number.")
    return value


def _row(value: Any, length: int, what: str) -> list[int] | tuple[Any, ...]:
    if not cbor.is_array(value, length):
        raise MalformedCertificate(f"A {what} in the certificate has the wrong shape.")
    return value  # type: ignore[no-any-return]


def _diseases(value: Any) -> tuple[str, ...]:
    if cbor.is_array(value) and 2 <= len(value) <= len(DISEASES):
        return tuple(_name(DISEASES, _uint(d, "disease")) for d in value)
    return (_name(DISEASES, _uint(value, "disease")),)


def _day(value: Any) -> dt.date:
    n = _uint(value, "date")
    if n > day_number(dt.date(9999, 12, 31)):
        raise MalformedCertificate("The certificate has a date out of range.")
    return from_day_number(n)


def decode_facts(value: Any) -> Facts:
    cat = catalogue()
    if not isinstance(value, Mapping) or not value or set(value) - {FACTS_VACCINATIONS, FACTS_TESTS}:
        raise MalformedCertificate("The certificate's facts have the wrong shape.")
    vaccinations: list[VaccinationFact] = []
    tests: list[TestFact] = []
    for row in _list(value.get(FACTS_VACCINATIONS)):
        disease, vtype, product, dose, of, day = _row(row, 6, "vaccination")
        vaccinations.append(
            VaccinationFact(
                diseases=_diseases(disease),
                vaccine_type=_name(VACCINE_TYPES, _uint(vtype, "vaccine type")),
                product=_product_name(_uint(product, "product")),
                dose=_uint(dose, "dose"),
                of=_uint(of, "number of doses"),
                date=_day(day),
            )
        )
    for row in _list(value.get(FACTS_TESTS)):
        disease, ttype, result, day = _row(row, 4, "test")
        tests.append(
            TestFact(
                disease=_name(DISEASES, _uint(disease, "disease")),
                test=_test_key(_uint(ttype, "test type"), cat.tests),
                result=_test_key(_uint(result, "test result"), cat.results),
                date=_day(day),
            )
        )
    return Facts(tuple(vaccinations), tuple(tests))


def _list(value: Any) -> list[Any] | tuple[Any, ...]:
    if value is None:
        return ()
    if not cbor.is_array(value) or not value:
        raise MalformedCertificate("The certificate's facts have the wrong shape.")
    return value  # type: ignore[no-any-return]


# Haven's one canonical claims layout whenever exp and iat take 4 bytes (1970-01-01T18:12Z to 2106):
# a4 (map of 4) | 04 1a exp | 06 1a iat | 07 4c cti | 3a 00 01 00 00 (-65537) | facts
_LAYOUT = struct.Struct(">HBIHIH12s5s")
_LAYOUT_MARKS = (0xA404, 0x1A, 0x061A, 0x074C, b"\x3a\x00\x01\x00\x00")
_SHORTEST_4_BYTES = 0x10000  # below this a canonical encoder writes a shorter integer


def decode_claims(payload: bytes) -> Claims:
    """Claims from a Haven payload; :class:`MalformedCertificate` unless it is exactly the format."""
    exp, iat, cti, facts = read_claims(payload)
    return Claims(exp=exp, iat=iat, cti=cti, facts=facts_of(facts))


def read_claims(payload: bytes) -> tuple[int, int, bytes, bytes]:
    """``(exp, iat, cti, encoded facts)`` of a Haven payload whose facts :func:`facts_of` reads.

    :class:`MalformedCertificate` unless the payload is exactly the format. This is on every
    verification's path, so Haven's own layout is read in place with its canonical form checked
    byte by byte (fixed marks, shortest integers, exact sizes) instead of decoding and re-encoding
    the whole map. It accepts exactly what the reference decoder accepts; anything else, and
    every refusal, goes through the reference so the reason given stays the same.
    """
    if len(payload) > _LAYOUT.size:
        map_exp, exp_head, exp, iat_head, iat, cti_head, cti, facts_key = _LAYOUT.unpack_from(payload)
        if (
            (map_exp, exp_head, iat_head, cti_head, facts_key) == _LAYOUT_MARKS
            and exp >= _SHORTEST_4_BYTES
            and iat >= _SHORTEST_4_BYTES
        ):
            facts = payload[_LAYOUT.size :]
            try:
                facts_of(facts)
            except MalformedCertificate:
                pass  # the reference says why
            else:
                return exp, iat, cti, facts
    claims = _decode_claims_reference(payload)
    return claims.exp, claims.iat, claims.cti, payload[_facts_offset(claims.exp, claims.iat) :]


def _decode_claims_reference(payload: bytes) -> Claims:
    """The reference reading: decode with cbor2, re-encode, compare (see :func:`haven.certs.cbor.loads`)."""
    value = cbor.loads(payload, "certificate's claims", canonical=True)
    if not isinstance(value, Mapping) or set(value) != {CLAIM_EXP, CLAIM_IAT, CLAIM_CTI, CLAIM_FACTS}:
        raise MalformedCertificate("The certificate's claims are not Haven's claim set.")
    cti = value[CLAIM_CTI]
    if not isinstance(cti, bytes) or len(cti) != CTI_BYTES:
        raise MalformedCertificate("The certificate's one-time id has the wrong length.")
    return Claims(
        exp=_uint(value[CLAIM_EXP], "expiry"),
        iat=_uint(value[CLAIM_IAT], "issue time"),
        cti=cti,
        facts=facts_of(payload[_facts_offset(value[CLAIM_EXP], value[CLAIM_IAT]) :]),
    )


def _head_length(n: int) -> int:
    """Bytes a canonical CBOR unsigned integer ``n`` takes."""
    return 1 if n < 24 else 2 if n < 0x100 else 3 if n < 0x10000 else 5 if n < 0x100000000 else 9


def _facts_offset(exp: int, iat: int) -> int:
    # The payload is canonical (checked), so its layout is fixed: map head, exp, iat, cti, then the facts key.
    return 1 + 1 + _head_length(exp) + 1 + _head_length(iat) + 1 + 1 + CTI_BYTES + 5


@lru_cache(maxsize=4096)
def facts_of(encoded: bytes) -> Facts:
    """The facts claim from its canonical encoding (a pure function of the bytes, hence cached).

    Stubs of a batch, and holders with the same history, share their facts: each is decoded once.
    """
    return decode_facts(cbor.loads(encoded, "certificate's facts", canonical=True))


@lru_cache(maxsize=4096)
def facts_doc(facts: Facts) -> dict[str, Any]:
    """``facts.to_doc()``, shared between equal facts: treat the result as read-only."""
    return facts.to_doc()
