"""EU DCC and SMART Health Card cases for comparing the browser's verifier with Python's.

Every EU DCC vector (with its own signer and clock, as tests/test_certs_eudcc.py runs them), every SMART
Health Card file of tests/vectors/shc (as tests/test_certs_shc.py reads them), the chunk sets, and
tampered copies of valid ones. Each case carries the signed foreign-issuer document the page is given
(haven/web/foreign_trust.py, signed by the test vectors' epoch key under their trust list) and the
verdict of ``haven.certs.verify.verify``.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from haven.certs import base45, eudcc, shc
from haven.certs.trust import SigningKey, parse_trust_list
from haven.certs.verify import Trust, verify
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
    trust = Trust(eudcc=[s for der in signers for s in eudcc.load_signers(der)])
    if with_shc:
        issuer = shc.load_issuer(SHC_JWKS)
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
            signers = eudcc.load_signers(str(context.get("CERTIFICATE", "")).encode())
        except InputError:
            signers = []
        at = dt.datetime.fromisoformat(str(context["VALIDATIONCLOCK"]).replace("Z", "+00:00"))
        out.append((str(path.relative_to(EU_DCC)), str(doc.get("PREFIX", "")), Trust(eudcc=signers), at))
    return out


def _hc1(compressed: bytes) -> str:
    return "HC1:" + base45.encode(compressed)


def _cose(text: str) -> bytes:
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
        raw = _cose(text)
        for i in range(0, len(raw), max(1, len(raw) // 40)):
            flipped = raw[:i] + bytes([raw[i] ^ 1 << (i % 8)]) + raw[i + 1 :]
            cases.append(_case(f"{name}: bit {i % 8} of byte {i} flipped", _hc1(zlib.compress(flipped)), trust, at))
        cases.append(_case(f"{name}: a CBOR byte after the end", _hc1(zlib.compress(raw + b"\x00")), trust, at))
        cases.append(_case(f"{name}: bytes after the zlib stream", _hc1(zlib.compress(raw) + b"zz"), trust, at))
        compressed = base45.decode(text[4:])
        cases.append(_case(f"{name}: zlib cut short", _hc1(compressed[:-5]), trust, at))
        cases.append(_case(f"{name}: raw deflate, not zlib", _hc1(compressed[2:-4]), trust, at))
        cases.append(_case(f"{name}: without its signer", text, Trust(), at))
        cases.append(_case(f"{name}: ten years later", text, trust, at + dt.timedelta(days=3650)))
    return cases


def read(path: Path) -> str:
    # As tests/test_certs_shc.py reads them: a final newline is not part of the card.
    return path.read_text("utf-8").removesuffix("\n")


def shc_trust() -> Trust:
    issuer = shc.load_issuer(SHC_JWKS)
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
    raw = shc.b64url(signature)
    for i in range(0, len(raw) * 8, 37):
        changed = bytearray(raw)
        changed[i // 8] ^= 1 << (i % 8)
        text = f"{head}.{body}." + base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode()
        cases.append(_case(f"JWS signature bit {i} flipped", text, trust, SHC_NOW))
    payload = shc.b64url(body)
    for i in range(0, len(payload), max(1, len(payload) // 20)):
        changed = bytearray(payload)
        changed[i] ^= 0x10
        text = f"{head}." + base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode() + f".{signature}"
        cases.append(_case(f"JWS payload byte {i} changed", text, trust, SHC_NOW))
    header = json.loads(shc.b64url(head))
    for alg in ("none", "HS256", "ES384"):
        swapped = base64.urlsafe_b64encode(json.dumps({**header, "alg": alg}).encode()).rstrip(b"=").decode()
        cases.append(_case(f"alg {alg}", f"{swapped}.{body}.{signature}", trust, SHC_NOW))
    nan = base64.urlsafe_b64encode(b'{"alg":"ES256","kid":"x","zip":"DEF","n":NaN}').rstrip(b"=").decode()
    cases.append(_case("a header with NaN (Python's JSON reads it)", f"{nan}.{body}.{signature}", trust, SHC_NOW))
    return cases


def cases() -> list[ForeignCase]:
    return [*eudcc_cases(), *shc_cases()]
