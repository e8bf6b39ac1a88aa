"""Certificates for comparing the browser's verifier with Python's: the shared vectors and tampered variants.

Each case is ``(name, text, trust list hex, moment ISO, Python's verdict)``; the verdict is ``"valid"`` or
the refusal's reason. Built from tests/vectors/haven-certificates.json (test keys: their private scalars
are published there), so crafted certificates can be signed by the vectors' own signer and trust lists
by their root.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from haven.certs import base45, cbor, cose
from haven.certs.batch import DAY, WEEK
from haven.certs.result import Trust
from haven.certs.signing_keys import kid_of, public_bytes
from haven.certs.trust import TrustedKey, TrustList, parse_trust_list
from haven.certs.verify import verify
from haven.errors import CertificateError

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "haven-certificates.json").read_text("utf-8"))
NOW = dt.datetime.fromisoformat(VECTORS["now"])


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    trust_list: str  # hex of the signed list
    at: str  # ISO 8601
    expect: str  # "valid" or the reason

    def to_doc(self) -> dict[str, str]:
        return {
            "name": self.name,
            "text": self.text,
            "trust_list": self.trust_list,
            "at": self.at,
            "expect": self.expect,
        }


def python_verdict(text: str, trust_list: bytes, at: dt.datetime) -> str:
    try:
        verify(text, Trust(haven=parse_trust_list(trust_list, None)), at)
    except CertificateError as exc:
        return exc.code
    return "valid"


def _root() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int(VECTORS["root_private_scalar"], 16), ec.SECP256R1())


def _signer() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int(VECTORS["signer_private_scalar"], 16), ec.SECP256R1())


def _listed() -> TrustList:
    return parse_trust_list(bytes.fromhex(VECTORS["trust_list"]), None)


def _sign(protected: bytes, payload: bytes, key: ec.EllipticCurvePrivateKey | None = None) -> bytes:
    signature = cose.sign_es256(key or _signer(), cose.sig_structure(protected, payload))
    return cbor.dumps([protected, {}, payload, signature])


def _claims(**changes: Any) -> dict[Any, Any]:
    first = base45.decode(VECTORS["vectors"][0]["text"])
    _, payload, _ = cose.split_canonical_sign1(first)
    claims = dict(cbor2.loads(payload))
    for key, value in changes.items():
        code = {"exp": 4, "iat": 6, "cti": 7, "facts": -65537}[key]
        if value is None:
            claims.pop(code, None)
        else:
            claims[code] = value
    return claims


def _header(**changes: Any) -> bytes:
    header: dict[Any, Any] = {1: -7, 4: bytes.fromhex(VECTORS["signer_kid"])}
    header.update({int(k[1:]): v for k, v in changes.items()})
    return cbor.dumps({k: v for k, v in header.items() if v is not None})


def crafted() -> Iterator[tuple[str, bytes, TrustList | None]]:
    """(name, COSE bytes, another trust list or None) for certificates signed on purpose."""
    listed = _listed()
    facts = _claims()[-65537]
    yield "extra claim", _sign(_header(), cbor.dumps({**_claims(), 1: "iss"})), None
    yield "no cti", _sign(_header(), cbor.dumps(_claims(cti=None))), None
    yield "short cti", _sign(_header(), cbor.dumps(_claims(cti=b"\x01" * 11))), None
    yield "empty facts", _sign(_header(), cbor.dumps(_claims(facts={}))), None
    yield "facts with null lists", _sign(_header(), cbor.dumps(_claims(facts={1: None, 2: None}))), None
    yield "facts with an unknown key", _sign(_header(), cbor.dumps(_claims(facts={**facts, 3: []}))), None
    yield "unknown product number", _sign(_header(), cbor.dumps(_claims(facts={1: [[1, 1, 99, 1, 2, 20000]]}))), None
    yield "one disease in an array", _sign(_header(), cbor.dumps(_claims(facts={1: [[[1], 1, 1, 1, 2, 20000]]}))), None
    yield "a date after 9999", _sign(_header(), cbor.dumps(_claims(facts={2: [[1, 1, 2, 2932897]]}))), None
    yield "a row too short", _sign(_header(), cbor.dumps(_claims(facts={2: [[1, 1, 2]]}))), None
    yield "exp as text", _sign(_header(), cbor.dumps(_claims(exp="soon"))), None
    yield "iat as a bool", _sign(_header(), cbor.dumps(_claims(iat=True))), None
    yield (
        "claims not canonical",
        _sign(_header(), b"\xa4\x04\x1b" + (1796928000).to_bytes(8, "big") + cbor.dumps(_claims())[7:]),
        None,
    )
    yield "claims with a float", _sign(_header(), cbor.dumps(_claims(exp=1.5))), None
    yield "claims with a tag", _sign(_header(), cbor.dumps(_claims(exp=cbor2.CBORTag(1, 1796928000)))), None
    yield "header with another label", _sign(_header(_3=0), cbor.dumps(_claims())), None
    yield "header without kid", _sign(_header(_4=None), cbor.dumps(_claims())), None
    yield "header alg as text", _sign(_header(_1="ES256"), cbor.dumps(_claims())), None
    yield "header alg ES384", _sign(_header(_1=-35), cbor.dumps(_claims())), None
    yield "header alg as a bool", _sign(_header(_1=True), cbor.dumps(_claims())), None
    yield "kid of 4 bytes", _sign(_header(_4=b"\x84\x38\x7a\xd3"), cbor.dumps(_claims())), None
    other = ec.derive_private_key(12345, ec.SECP256R1())
    yield "signed by another key under the listed kid", _sign(_header(), cbor.dumps(_claims()), other), None
    yield (
        "signed by an unlisted key",
        _sign(_header(_4=kid_of(public_bytes(other))), cbor.dumps(_claims()), other),
        None,
    )
    first = base45.decode(VECTORS["vectors"][0]["text"])
    yield "tagged COSE_Sign1", b"\xd2" + first, None
    yield "unprotected header not empty", first.replace(b"\xa0", b"\xa1\x01\x26", 1), None
    yield "long-form protected header length", b"\x84\x58\x0d" + first[1:], None
    signer_kid = bytes.fromhex(VECTORS["signer_kid"])
    yield "key revoked", first, replace(listed, keys=(), revoked_kids=frozenset({signer_kid}))
    cti = bytes.fromhex(VECTORS["vectors"][0]["cti"])
    yield "certificate revoked", first, replace(listed, revoked_ctis=frozenset({cti}))
    key = listed.keys[0]
    late = TrustedKey(key.public, key.label, VECTORS["iat"] + 2 * WEEK, VECTORS["iat"] + 3 * WEEK)
    yield "issued before its key's epoch", first, replace(listed, keys=(late,))
    early = TrustedKey(key.public, key.label, VECTORS["iat"] - 3 * WEEK, VECTORS["iat"] - WEEK)
    yield "issued after its key's epoch", first, replace(listed, keys=(early,))
    same_week = TrustedKey(key.public, key.label, VECTORS["iat"] + 3 * DAY, VECTORS["iat"] + 10 * DAY)
    yield "key from the middle of the week of issue", first, replace(listed, keys=(same_week,))
    yield "no key listed", first, replace(listed, keys=())


def cases() -> list[Case]:
    """Every shared vector, every negative vector, and tampered and crafted certificates."""
    out: list[Case] = []
    base_list = bytes.fromhex(VECTORS["trust_list"])

    def add(name: str, text: str, at: dt.datetime = NOW, trust_list: bytes = base_list) -> None:
        out.append(Case(name, text, trust_list.hex(), at.isoformat(), python_verdict(text, trust_list, at)))

    for vector in VECTORS["vectors"]:
        add(vector["description"], vector["text"])
    for vector in VECTORS["negative"]:
        add(vector["description"], vector["text"], dt.datetime.fromisoformat(vector["at"]))
    first, second = VECTORS["vectors"][0], VECTORS["vectors"][1]
    iat = VECTORS["iat"]
    exp = cbor2.loads(cose.split_canonical_sign1(base45.decode(first["text"]))[1])[4]
    for label, moment in (("at iat", iat), ("before iat", iat - 1), ("at exp", exp), ("after exp", exp + 1)):
        add(f"first vector {label}", first["text"], dt.datetime.fromtimestamp(moment, dt.UTC))
    for vector in (first, second):
        raw = base45.decode(vector["text"])
        for i in range(len(raw)):
            bits = range(8) if i < 20 else (i % 8,)
            for bit in bits:
                flipped = bytearray(raw)
                flipped[i] ^= 1 << bit
                add(f"{vector['cti'][:2]}: bit {bit} of byte {i} flipped", base45.encode(bytes(flipped)))
        for cut in range(0, len(raw), 9):
            add(f"{vector['cti'][:2]}: first {cut} bytes", base45.encode(raw[:cut]))
        add(f"{vector['cti'][:2]}: one byte more", base45.encode(raw + b"\x00"))
        high_s = (cose.P256_ORDER - int.from_bytes(raw[-32:], "big")).to_bytes(32, "big")
        add(f"{vector['cti'][:2]}: s replaced by n - s (plain ECDSA accepts it)", base45.encode(raw[:-32] + high_s))
    text = first["text"]
    for name, edited in (
        ("empty text", ""),
        ("lower case", text.lower()),
        ("a trailing newline", text + "\n"),
        ("a space inserted", text[:10] + " " + text[10:]),
        ("a character outside Base45", text[:10] + "#" + text[11:]),
        ("a character outside ASCII", text[:10] + "é" + text[11:]),
        ("a Base45 group out of range", ":::" + text[3:]),
        ("a last pair out of range", text[:-2] + "::"),
        ("one character short of a group", text[:-1]),
    ):
        add(name, edited)
    root = _root()
    for name, cose_bytes, other_list in crafted():
        signed = base_list if other_list is None else other_list.next(other_list.issued_at + 1).sign(root)
        add(name, base45.encode(cose_bytes), trust_list=signed)
    return out


def trust_list_cases() -> list[tuple[str, str, bool]]:
    """(name, hex, whether Python accepts it) for trust lists, tampered or re-signed."""
    data = bytes.fromhex(VECTORS["trust_list"])
    out = []
    for i in range(0, len(data), 3):
        flipped = bytearray(data)
        flipped[i] ^= 1 << (i % 8)
        out.append((f"bit {i % 8} of byte {i} flipped", bytes(flipped)))
    listed = _listed()
    root = _root()
    out.append(("resigned with a revoked key", listed.next(listed.issued_at + 1, revoked_kids=frozenset({b"k" * 8}))))
    out.append(("signed by another key", _sign_list_with(listed, ec.derive_private_key(777, ec.SECP256R1()))))
    docs = []
    for name, value in out:
        data_value = value if isinstance(value, bytes) else value.sign(root)
        try:
            parse_trust_list(data_value, None)
            accepted = True
        except Exception:
            accepted = False
        docs.append((name, data_value.hex(), accepted))
    return docs


def _sign_list_with(listed: TrustList, key: ec.EllipticCurvePrivateKey) -> bytes:
    protected = cbor.dumps({1: -7, 4: kid_of(listed.root_public)})
    return _sign(protected, listed.payload(), key)
