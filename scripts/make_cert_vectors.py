"""Write tests/vectors/haven-certificates.json: Haven certificate test vectors.

Fixed keys (private scalars given below), fixed one-time ids and a fixed
clock, so the output is the same on every run; tests/certs/test_vectors.py
replays every vector byte for byte through the production code. Run it again
only when the format changes on purpose (and say so in docs/certificate-format.md).

    .venv/bin/python scripts/make_cert_vectors.py
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from haven.certs import base45, cose
from haven.certs.batch import issue_batch, week_start
from haven.certs.claims import Facts, TestFact, VaccinationFact, decode_claims
from haven.certs.signing_keys import public_bytes
from haven.certs.trust import SigningKey, TrustList, timestamp

OUT = Path(__file__).resolve().parents[1] / "tests" / "vectors" / "haven-certificates.json"
ROOT_SCALAR = int("726f6f74" * 8, 16)  # "root" repeated: a test key, never use it
SIGNER_SCALAR = int("7369676e" * 8, 16)  # "sign" repeated
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
D = dt.date


def key(scalar: int) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(scalar, ec.SECP256R1())


def covid(product: str, platform: str, dose: int, of: int, day: dt.date) -> VaccinationFact:
    return VaccinationFact(("covid-19",), platform, product, dose, of, day)


CASES: list[tuple[str, Facts]] = [
    (
        "three COVID-19 doses (the size benchmark's certificate)",
        Facts(
            (
                covid("comirnaty", "mRNA", 1, 2, D(2025, 1, 10)),
                covid("comirnaty", "mRNA", 2, 2, D(2025, 2, 7)),
                covid("spikevax", "mRNA", 3, 3, D(2025, 9, 15)),
            )
        ),
    ),
    (
        "MMR (three diseases in one vaccine) and a negative antigen test",
        Facts(
            (VaccinationFact(("measles", "mumps", "rubella"), "live attenuated", "mmr", 1, 2, D(2026, 3, 2)),),
            (TestFact("covid-19", "antigen", "negative", D(2026, 11, 28)),),
        ),
    ),
    ("one negative PCR test", Facts((), (TestFact("covid-19", "pcr", "negative", D(2026, 11, 27)),))),
]


def main() -> None:
    root, signer = key(ROOT_SCALAR), key(SIGNER_SCALAR)
    now = timestamp(NOW)
    start = timestamp(dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
    signing = SigningKey(signer, "north", start, start + 31 * 86400 - 1)
    trust = TrustList("Test network", 7, now, public_bytes(root), keys=(signing.trusted(),))
    counter = iter(range(1, 1000))

    def cti(n: int) -> bytes:
        return bytes([next(counter)] * n)

    vectors: list[dict[str, Any]] = []
    for description, facts in CASES:
        text = issue_batch(facts, signing, now, 1, cti)[0]
        signed = cose.decode_sign1(base45.decode(text), canonical=True)
        vectors.append(
            {
                "description": description,
                "facts": facts_doc(facts),
                "cti": decode_claims(signed.payload).cti.hex(),
                "text": text,
                "cose": base45.decode(text).hex(),
                "protected": signed.protected_bytes.hex(),
                "payload": signed.payload.hex(),
                "signature": signed.signature.hex(),
                "expect": {"valid": True, "reason": None},
            }
        )
    first = vectors[0]["text"]
    sig_flipped = bytearray(base45.decode(first))
    sig_flipped[-1] ^= 0x01
    raw = base45.decode(first)
    high_s = (cose.P256_ORDER - int.from_bytes(raw[-32:], "big")).to_bytes(32, "big")  # (r, n - s) verifies too
    negatives = [
        ("the first vector with the last signature bit flipped", base45.encode(bytes(sig_flipped)), NOW, "forged"),
        ("the first vector with s replaced by n - s (high s)", base45.encode(raw[:-32] + high_s), NOW, "forged"),
        ("the first vector checked a year and a week later", first, NOW + dt.timedelta(days=372), "expired"),
        ("the first vector checked before its issue week", first, NOW - dt.timedelta(days=14), "not-yet-valid"),
        ("the first vector without its last character", first[:-1], NOW, "malformed"),
    ]
    doc = {
        "about": (
            "Haven certificate test vectors (docs/certificate-format.md). Keys are test keys: the private "
            "scalars are published here. 'now' is the issuing and checking time unless a vector says 'at'."
        ),
        "now": NOW.isoformat(),
        "iat": week_start(now),
        "root_private_scalar": f"{ROOT_SCALAR:064x}",
        "signer_private_scalar": f"{SIGNER_SCALAR:064x}",
        "signer_label": "north",
        "signer_not_before": signing.not_before,
        "signer_not_after": signing.not_after,
        "signer_kid": signing.kid.hex(),
        "trust_list": trust.sign(root).hex(),
        "vectors": vectors,
        "negative": [
            {"description": d, "text": t, "at": at.isoformat(), "expect": {"valid": False, "reason": r}}
            for d, t, at, r in negatives
        ],
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n", "utf-8")
    print(f"wrote {OUT}")


def facts_doc(facts: Facts) -> dict[str, Any]:
    return {
        "vaccinations": [
            {
                "diseases": list(v.diseases),
                "vaccine_type": v.vaccine_type,
                "product": v.product,
                "dose": v.dose,
                "of": v.of,
                "date": v.date.isoformat(),
            }
            for v in facts.vaccinations
        ],
        "tests": [
            {"disease": t.disease, "test": t.test, "result": t.result, "date": t.date.isoformat()} for t in facts.tests
        ],
    }


if __name__ == "__main__":
    main()
