"""Verification speed, measured side by side in one run.

    .venv/bin/python bench/cert_verify.py [STUBS]

1. The raw ES256 verify rate of the primitive Haven uses (pyca/cryptography,
   P-256 ECDSA with SHA-256), on the very signatures and Sig_structures of the stubs.
2. ``haven cert verify -`` as a user runs it (a subprocess reading one stub per
   line, printing one JSON result per line), with and without its start-up time
   (measured in the same run on empty input), and the same pipeline in-process.
3. EU DCC: the decode-and-verify pipeline (prefix, Base45, zlib, COSE, CWT,
   signer lookup, signature, key usage, times, facts) over the EU DCC test
   vectors whose signature verifies, against the raw verify rate of their signatures.
Goal: Haven's bulk rate >= 0.85 of the raw rate.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from haven.cert_services import Certificates
from haven.certs import base45, cose, eudcc
from haven.certs.verify import Trust, verify
from haven.core.card import Card
from haven.services import Clinic
from haven.site.folder import SiteFolder

ROOT = Path(__file__).resolve().parents[1]
EU_DCC = ROOT.parent / "shared" / "testdata" / "eu-dcc"
HAVEN = str(ROOT / ".venv" / "bin" / "haven")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
PER_HOLDER = 20


def best_rate(count: int, run: object, rounds: int = 3) -> float:
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        best = max(best, count / (time.perf_counter() - start))
    return best


def make_site(home: Path) -> list[str]:
    """A site with N stubs from N/20 holders of different histories."""
    store = SiteFolder(home).create()
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(3)
    certs = Certificates(store, lambda: now, rng.randbytes)
    certs.bootstrap()
    clinic = Clinic(store)
    stubs: list[str] = []
    products = ["comirnaty", "spikevax", "coronavac", "vaxzevria"]
    for h in range(N // PER_HOLDER):
        card = Card(h.to_bytes(16, "big"))
        product = products[h % len(products)]
        doses = [
            {"type": "vaccination", "product": product, "dose": d, "date": f"2025-{d + h % 6:02d}-{1 + h % 27:02d}"}
            for d in range(1, 2 + h % 3)
        ]
        clinic.add_visit(card, doses, first_visit=True)
        stubs += certs.issue(card, count=PER_HOLDER)
    store.close()
    return stubs


def haven_rates(home: Path, stubs: list[str]) -> dict[str, float]:
    trust = Certificates(SiteFolder(home).open()).trust()
    assert trust.haven is not None
    prepared = []
    for s in stubs:
        protected, payload, signature = cose.split_canonical_sign1(base45.decode(s))
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        key = trust.haven.key(cbor_kid(protected))
        assert key is not None
        prepared.append((key.public_key(), der, cose.sig_structure(protected, payload)))
    alg = ec.ECDSA(hashes.SHA256())

    def raw() -> None:
        for key, der, message in prepared:
            key.verify(der, message, alg)

    now = dt.datetime.now(dt.UTC)

    def pipeline() -> None:
        for s in stubs:
            verify(s, trust, now).to_json()

    env = {**os.environ, "HAVEN_HOME": str(home)}
    data = ("\n".join(stubs) + "\n").encode()

    def cli(lines: bytes) -> float:
        start = time.perf_counter()
        done = subprocess.run([HAVEN, "cert", "verify", "-"], input=lines, capture_output=True, env=env, check=False)
        elapsed = time.perf_counter() - start
        results = done.stdout.splitlines()
        assert len(results) == lines.count(b"\n") and all(json.loads(r)["valid"] for r in results), done.stderr
        return elapsed

    startup = min(cli(b"") for _ in range(3))
    whole = min(cli(data) for _ in range(3))
    return {
        "raw": best_rate(len(prepared), raw),
        "in-process": best_rate(len(stubs), pipeline),
        "cli": len(stubs) / whole,
        "cli-steady": len(stubs) / (whole - startup),
        "startup": startup,
    }


def cbor_kid(protected: bytes) -> bytes:
    from haven.certs import cbor

    kid: bytes = cbor.loads(protected, canonical=True)[4]
    return kid


def eu_rates() -> dict[str, float]:
    cases = []
    for path in sorted(EU_DCC.rglob("*.json")):
        doc = json.loads(path.read_text("utf-8"))
        if (doc.get("EXPECTEDRESULTS") or {}).get("EXPECTEDVERIFY") is not True:
            continue
        signers = eudcc.load_signers(doc["TESTCTX"]["CERTIFICATE"].encode())
        clock = dt.datetime.fromisoformat(doc["TESTCTX"]["VALIDATIONCLOCK"].replace("Z", "+00:00"))
        signed = eudcc.decode(doc["PREFIX"])
        cases.append((doc["PREFIX"], Trust(eudcc=signers), clock, signers[0], signed))

    def raw() -> None:
        for _, _, _, signer, signed in cases:
            key = signer.cert.public_key()
            message = signed.to_be_signed()
            if signed.header(1) == cose.ES256:
                size = (key.curve.key_size + 7) // 8  # type: ignore[union-attr]
                sig = signed.signature
                der = encode_dss_signature(int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big"))
                key.verify(der, message, ec.ECDSA(hashes.SHA256()))  # type: ignore[union-attr, call-arg]
            else:
                pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
                key.verify(signed.signature, message, pss, hashes.SHA256())  # type: ignore[union-attr, call-arg]

    def pipeline() -> None:
        for text, trust, clock, _, _ in cases:
            try:
                verify(text, trust, clock)
            except Exception as exc:  # expired, key usage...: the pipeline ran all the same
                assert getattr(exc, "signature_valid", False), exc

    return {"n": len(cases), "raw": best_rate(len(cases), raw), "pipeline": best_rate(len(cases), pipeline)}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "site"
        stubs = make_site(home)
        h = haven_rates(home, stubs)
    e = eu_rates()
    print(f"Haven stubs: {len(stubs)} ({N // PER_HOLDER} holders x {PER_HOLDER}), {len(stubs[0])} characters each")
    print(f"  raw ES256 verify (same signatures)        {h['raw']:>8.0f} /s")
    inproc = h["in-process"]
    print(f"  haven cert verify - (in-process pipeline) {inproc:>8.0f} /s   ratio {inproc / h['raw']:.2f}")
    print(f"  haven cert verify - (subprocess, whole)   {h['cli']:>8.0f} /s   ratio {h['cli'] / h['raw']:.2f}")
    print(
        f"  haven cert verify - (subprocess, minus {h['startup']:.2f} s start-up) "
        f"{h['cli-steady']:>8.0f} /s   ratio {h['cli-steady'] / h['raw']:.2f}   (goal >= 0.85)"
    )
    print(f"EU DCC vectors whose signature verifies: {e['n']}")
    print(f"  raw verify of their signatures (ES256/PS256) {e['raw']:>8.0f} /s")
    pipe = e["pipeline"]
    print(f"  decode-and-verify pipeline                   {pipe:>8.0f} /s   ratio {pipe / e['raw']:.2f}")
    print(f"Haven bulk pipeline vs EU DCC pipeline: {h['cli-steady'] / e['pipeline']:.2f} x")


if __name__ == "__main__":
    main()
