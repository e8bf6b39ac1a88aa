"""EU DCC and SMART Health Card cases for comparing the browser's verifier with Python's.

Every EU DCC vector (with its own signer and clock, as tests/certs/test_eudcc.py runs them), every SMART
Health Card file of tests/vectors/shc (as tests/certs/test_shc.py reads them), the chunk sets, and
tampered copies of valid ones. Each case carries the signed foreign-issuer document the page is given
(haven/web/foreign_trust.py, signed by the test vectors' epoch key under their trust list) and the
verdict of ``haven.certs.verify.verify``.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from haven.certs import base45, cose, issuers
from haven.certs.result import Trust
from haven.certs.trust import SigningKey, parse_trust_list
from haven.certs.verify import verify
from haven.cli.issuer_files import read_shc_issuer
from haven.errors import CertificateError, InputError
from haven.web.foreign_trust import build
from tests.certkit import EU_DCC, SHC, SHC_JWKS
from tests.web.verifier_cases import VECTORS

SHC_NOW = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
NETWORK_TRUST_LIST = VECTORS["trust_list"]  # hex: the network whose epoch key signs the documents
NETWORK = parse_trust_list(bytes.fromhex(NETWORK_TRUST_LIST), None).network


@dataclass(frozen=True)
class ForeignCase:
    name: str
    text: str
    foreign: str  # hex of the signed document of foreign issuers
    at: str  # ISO 8601
    expect: str  # "valid" or the reason

    def to_doc(self) -> dict[str, str]:
        return {"name": self.name, "text": self.text, "foreign": self.foreign, "at": self.at, "expect": self.expect}


def _epoch_key() -> SigningKey:
    private = ec.derive_private_key(int(VECTORS["signer_private_scalar"], 16), ec.SECP256R1())
    return SigningKey(private, VECTORS["signer_label"], VECTORS["signer_not_before"], VECTORS["signer_not_after"])


@functools.lru_cache(maxsize=1024)
def _document(signers: tuple[bytes, ...], with_shc: bool) -> str:
    trust = Trust(eudcc=[s for der in signers for s in issuers.load_signers(der)])
    if with_shc:
        issuer = read_shc_issuer(SHC_JWKS)
        trust.shc[issuer.iss] = issuer
    key = _epoch_key()
    return build(trust, NETWORK, key, key.not_before).hex()


def document(trust: Trust) -> str:
    """The signed document the page would be given for ``trust`` (EU DCC signers and the SHC examples' issuer)."""
    return _document(tuple(s.der for s in trust.eudcc), bool(trust.shc))


def python_verdict(text: str, trust: Trust, at: dt.datetime) -> str:
    try:
        verify(text, trust, at)
    except CertificateError as exc:
        return exc.code
    return "valid"


def _case(name: str, text: str, trust: Trust, at: dt.datetime) -> ForeignCase:
    return ForeignCase(name, text, document(trust), at.isoformat(), python_verdict(text, trust, at))


def eudcc_vectors() -> list[tuple[str, str, Trust, dt.datetime]]:
    out = []
    for path in sorted(EU_DCC.rglob("*.json")):
        doc = json.loads(path.read_text("utf-8"))
        context = doc.get("TESTCTX") or {}
        try:
            signers = issuers.load_signers(str(context.get("CERTIFICATE", "")).encode())
        except InputError:
            signers = []
        at = dt.datetime.fromisoformat(str(context["VALIDATIONCLOCK"]).replace("Z", "+00:00"))
        out.append((str(path.relative_to(EU_DCC)), str(doc.get("PREFIX", "")), Trust(eudcc=signers), at))
    return out


def hc1(compressed: bytes) -> str:
    return "HC1:" + base45.encode(compressed)


def cose_of(text: str) -> bytes:
    return zlib.decompress(base45.decode(text[4:]))


def eudcc_cases() -> list[ForeignCase]:
    cases = [_case(name, text, trust, at) for name, text, trust, at in eudcc_vectors()]
    kinds_seen: dict[str, int] = {}
    for name, text, trust, at in eudcc_vectors():
        if python_verdict(text, trust, at) != "valid":
            continue
        public = trust.eudcc[0].cert.public_key()
        kind = f"{type(public).__name__} {public.key_size}"
        if kinds_seen.get(kind, 0) >= 2:
            continue  # two valid certificates of each key kind (P-256, P-384, RSA 2048, RSA 3072)
        kinds_seen[kind] = kinds_seen.get(kind, 0) + 1
        raw = cose_of(text)
        for i in range(0, len(raw), max(1, len(raw) // 40)):
            flipped = raw[:i] + bytes([raw[i] ^ 1 << (i % 8)]) + raw[i + 1 :]
            cases.append(_case(f"{name}: bit {i % 8} of byte {i} flipped", hc1(zlib.compress(flipped)), trust, at))
        cases.append(_case(f"{name}: a CBOR byte after the end", hc1(zlib.compress(raw + b"\x00")), trust, at))
        cases.append(_case(f"{name}: bytes after the zlib stream", hc1(zlib.compress(raw) + b"zz"), trust, at))
        compressed = base45.decode(text[4:])
        cases.append(_case(f"{name}: zlib cut short", hc1(compressed[:-5]), trust, at))
        cases.append(_case(f"{name}: raw deflate, not zlib", hc1(compressed[2:-4]), trust, at))
        cases.append(_case(f"{name}: without its signer", text, Trust(), at))
        cases.append(_case(f"{name}: ten years later", text, trust, at + dt.timedelta(days=3650)))
    return cases


def make_dsc(key: Any, types: tuple[str, ...] = (), days: tuple[int, int] = (0, 730)) -> bytes:
    """A document signer certificate for ``key`` (self-signed: the verifier trusts DSCs directly)."""
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "XK"), x509.NameAttribute(NameOID.COMMON_NAME, "DSC")])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(len(types) + 1)
        .not_valid_before(start + dt.timedelta(days=days[0]))
        .not_valid_after(start + dt.timedelta(days=days[1]))
    )
    if types:
        usage = [x509.ObjectIdentifier(f"1.3.6.1.4.1.1847.2021.1.{'tvr'.index(t) + 1}") for t in types]
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def signed_hc1(
    key: Any,
    der: bytes,
    claims: Any,
    protected: dict[int, Any] | None = None,
    unprotected: Any = None,
    wrap: Any = None,
) -> str:
    kid = hashlib.sha256(der).digest()[:8]
    alg = -37 if isinstance(key, rsa.RSAPrivateKey) else -7
    header = cbor2.dumps({1: alg, 4: kid} if protected is None else protected)
    payload = claims if isinstance(claims, bytes) else cbor2.dumps(claims)
    message = cose.sig_structure(header, payload)
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(message, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    else:
        r, s_ = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
        size = (key.curve.key_size + 7) // 8
        signature = r.to_bytes(size, "big") + s_.to_bytes(size, "big")
    body = [header, {} if unprotected is None else unprotected, payload, signature]
    item = cbor2.CBORTag(18, body) if wrap is None else wrap(body)
    return hc1(zlib.compress(cbor2.dumps(item)))


def crafted_eudcc_cases() -> list[ForeignCase]:
    """Certificates signed on purpose by signers made here: algorithms, key usage, validity, CBOR forms."""
    p256 = ec.derive_private_key(0x1D, ec.SECP256R1())
    p521 = ec.derive_private_key(0x2E, ec.SECP521R1())
    rsa_key = rsa.generate_private_key(65537, 2048)
    at = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    iat, exp = int(at.timestamp()) - 86400, int(at.timestamp()) + 86400 * 300
    vaccination = {"v": [{"tg": "840539006", "mp": "EU/1/20/1528", "dn": 1, "sd": 2, "dt": "2026-05-01"}]}
    hcert = {"ver": "1.3.0", "nam": {"fn": "Muster", "gn": "Erika"}, "dob": "1990-01-01", **vaccination}
    claims = {1: "XK", 4: exp, 6: iat, -260: {1: hcert}}
    out: list[ForeignCase] = []

    def add(name: str, der: bytes, text: str, when: dt.datetime = at) -> None:
        out.append(_case(name, text, Trust(eudcc=issuers.load_signers(der)), when))

    dsc = make_dsc(p256)
    kid = hashlib.sha256(dsc).digest()[:8]
    add("P-256 signer", dsc, signed_hc1(p256, dsc, claims))
    p521_dsc = make_dsc(p521)
    add("P-521 signer", p521_dsc, signed_hc1(p521, p521_dsc, claims))
    rsa_dsc = make_dsc(rsa_key)
    add("RSA signer", rsa_dsc, signed_hc1(rsa_key, rsa_dsc, claims))
    add("an EC key named PS256", dsc, signed_hc1(p256, dsc, claims, {1: -37, 4: kid}))
    add(
        "an RSA key named ES256",
        rsa_dsc,
        signed_hc1(rsa_key, rsa_dsc, claims, {1: -7, 4: hashlib.sha256(rsa_dsc).digest()[:8]}),
    )
    add("the kid unprotected", dsc, signed_hc1(p256, dsc, claims, {1: -7}, {4: kid}))
    add("no algorithm", dsc, signed_hc1(p256, dsc, claims, {4: kid}))
    add("algorithm null", dsc, signed_hc1(p256, dsc, claims, {1: None, 4: kid}))
    add("kid as text", dsc, signed_hc1(p256, dsc, claims, {1: -7, 4: "kid"}))
    add(
        "inside a CWT tag",
        dsc,
        signed_hc1(p256, dsc, claims, wrap=lambda b: cbor2.CBORTag(61, cbor2.CBORTag(18, b))),
    )
    add("untagged", dsc, signed_hc1(p256, dsc, claims, wrap=lambda b: b))
    add(
        "tagged twice with 18",
        dsc,
        signed_hc1(p256, dsc, claims, wrap=lambda b: cbor2.CBORTag(18, cbor2.CBORTag(18, b))),
    )
    add("no health certificate", dsc, signed_hc1(p256, dsc, {4: exp, 6: iat}))
    add("the health certificate in an array", dsc, signed_hc1(p256, dsc, {4: exp, 6: iat, -260: [0, hcert]}))
    add("exp and iat as floats", dsc, signed_hc1(p256, dsc, {**claims, 4: exp + 0.5, 6: iat + 0.25}))
    add("exp as text", dsc, signed_hc1(p256, dsc, {**claims, 4: "soon"}))
    add("iat null", dsc, signed_hc1(p256, dsc, {**claims, 6: None}))
    add("no iat", dsc, signed_hc1(p256, dsc, {4: exp, -260: {1: hcert}}))
    add(
        "indefinite lengths",
        dsc,
        signed_hc1(
            p256,
            dsc,
            b"\xbf\x04"
            + cbor2.dumps(exp)
            + b"\x06"
            + cbor2.dumps(iat)
            + b"\x39\x01\x03\xbf\x01"
            + cbor2.dumps(hcert)
            + b"\xff\xff",
        ),
    )
    add(
        "a duplicate claim",
        dsc,
        signed_hc1(
            p256,
            dsc,
            b"\xa3\x04" + cbor2.dumps(exp) + b"\x04" + cbor2.dumps(exp) + b"\x39\x01\x03" + cbor2.dumps({1: hcert}),
        ),
    )
    add(
        "a half float claim",
        dsc,
        signed_hc1(
            p256, dsc, b"\xa3\x04" + cbor2.dumps(exp) + b"\x06\xf9\x3c\x00" + b"\x39\x01\x03" + cbor2.dumps({1: hcert})
        ),
    )
    tests_only = make_dsc(p256, types=("t",))
    add("a vaccination from a test-only signer", tests_only, signed_hc1(p256, tests_only, claims))
    both = make_dsc(p256, types=("t", "v"))
    add("a vaccination from a test and vaccination signer", both, signed_hc1(p256, both, claims))
    late = make_dsc(p256, days=(200, 700))
    add("issued before its signer was valid", late, signed_hc1(p256, late, claims))
    add("not yet valid", dsc, signed_hc1(p256, dsc, {**claims, 6: iat + 86400 * 10}))
    add("expired", dsc, signed_hc1(p256, dsc, claims), at + dt.timedelta(days=400))
    return out


def read(path: Path) -> str:
    # As tests/certs/test_shc.py reads them: a final newline is not part of the card.
    return path.read_text("utf-8").removesuffix("\n")


def shc_trust() -> Trust:
    issuer = read_shc_issuer(SHC_JWKS)
    return Trust(shc={issuer.iss: issuer})


def _example(n: int) -> list[str]:
    return [read(p) for p in sorted(SHC.glob(f"example-0{n}-f-qr-code-numeric-value-*.txt"))]


def shc_cases() -> list[ForeignCase]:
    trust = shc_trust()
    cases = []
    for path in sorted([*SHC.rglob("*.txt"), *SHC.rglob("*.smart-health-card")]):
        cases.append(_case(str(path.relative_to(SHC)), read(path), trust, SHC_NOW))
    for n in range(4):
        cases.append(_case(f"example {n}, every chunk", " ".join(_example(n)), trust, SHC_NOW))
    chunks = _example(2)
    cases.append(_case("example 2, chunks reversed", " ".join(reversed(chunks)), trust, SHC_NOW))
    cases.append(_case("example 2, a chunk missing", " ".join(chunks[:2]), trust, SHC_NOW))
    cases.append(_case("example 2, a chunk twice", " ".join([*chunks, chunks[0]]), trust, SHC_NOW))
    dev = SHC / "dev-tools-testdata"
    for pattern in ("*qr_chunk_too_small.txt", "*qr_chunk_too_big.txt"):
        parts = sorted(dev.glob(pattern), key=lambda p: int(p.name.split("value-")[1].split("-")[0]))
        cases.append(_case(f"chunk set {pattern}", " ".join(read(p) for p in parts), trust, SHC_NOW))
    first = " ".join(_example(0))
    cases.append(_case("example 0 before its nbf", first, trust, dt.datetime(2020, 1, 1, tzinfo=dt.UTC)))
    cases.append(_case("example 0 without its issuer", first, Trust(), SHC_NOW))
    jws = read(SHC / "example-00-d-jws.txt")
    head, body, signature = jws.split(".")
    raw = issuers.b64url(signature)
    for i in range(0, len(raw) * 8, 37):
        changed = bytearray(raw)
        changed[i // 8] ^= 1 << (i % 8)
        text = f"{head}.{body}." + base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode()
        cases.append(_case(f"JWS signature bit {i} flipped", text, trust, SHC_NOW))
    payload = issuers.b64url(body)
    for i in range(0, len(payload), max(1, len(payload) // 20)):
        changed = bytearray(payload)
        changed[i] ^= 0x10
        text = f"{head}." + base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode() + f".{signature}"
        cases.append(_case(f"JWS payload byte {i} changed", text, trust, SHC_NOW))
    header = json.loads(issuers.b64url(head))
    for alg in ("none", "HS256", "ES384"):
        swapped = base64.urlsafe_b64encode(json.dumps({**header, "alg": alg}).encode()).rstrip(b"=").decode()
        cases.append(_case(f"alg {alg}", f"{swapped}.{body}.{signature}", trust, SHC_NOW))
    nan = base64.urlsafe_b64encode(b'{"alg":"ES256","kid":"x","zip":"DEF","n":NaN}').rstrip(b"=").decode()
    cases.append(_case("a header with NaN (Python's JSON reads it)", f"{nan}.{body}.{signature}", trust, SHC_NOW))
    return cases


def cases() -> list[ForeignCase]:
    return [*eudcc_cases(), *crafted_eudcc_cases(), *shc_cases()]
