"""Verification speed, measured side by side in one run.

    .venv/bin/python bench/cert_verify.py [STUBS] [ROUNDS]

Everything is compared with the raw verify rate of the primitive Haven uses
(pyca/cryptography, P-256 ECDSA with SHA-256) on the very signatures and
Sig_structures of the stubs, measured in the same round:

1. in-process, alternating with the raw rate in blocks of 1000 stubs so that
   load from other work falls on both alike: ``BulkVerifier.results`` on
   batches of 340, what ``haven cert verify -`` runs on each 64 kB it reads
   from a pipe, and ``verify(...).to_json()``, the library call one
   certificate at a time;
2. ``haven cert verify -`` running, fed blocks of stubs through its pipes
   (alternating with the raw rate as in 1), and as a user runs it on a file,
   ``haven cert verify - < stubs > results`` with the stubs REPEAT times over:
   its whole time, and its time less its start-up (interpreter, imports, trust
   list: the same command on an empty file, timed in the same round), against
   raw passes before and after it; then the same file with ``--workers`` as
   many as the CPUs (reported apart: the goal is on one process);
3. EU DCC: the decode-and-verify pipeline (prefix, Base45, zlib, COSE, CWT,
   signer lookup, signature, key usage, times, facts) over the EU DCC test
   vectors whose signature verifies, against the raw verify rate of their
   signatures, alternating the same way.

Each round gives a rate per measure and its ratio to the same round's raw
rate; printed are the medians over the rounds, with the lowest and highest.
Goal: Haven's bulk rate >= 0.85 of the raw rate.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from haven.cert_services import Certificates
from haven.certs import base45, cose, eudcc, issuers
from haven.certs.bulk import BulkVerifier
from haven.certs.result import Trust
from haven.certs.verify import verify
from haven.core.card import Card
from haven.site.folder import SiteFolder
from haven.site.site import Site

ROOT = Path(__file__).resolve().parents[1]
EU_DCC = ROOT / "tests" / "vectors" / "eu-dcc"
HAVEN = str(ROOT / ".venv" / "bin" / "haven")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 7
PER_HOLDER = 20
BLOCK = 1000  # stubs per alternation: about 0.1 s of each measure
BATCH = 340  # lines in one 64 kB read of haven cert verify -: its batch, and the in-process measure's
JOBS = os.cpu_count() or 1  # for the --workers run, reported apart: the goal is on one process
REPEAT = 5  # whole runs read the stubs this many times (20,000 lines by default), so start-up is a small part

Block = Callable[[int, int], None]  # runs items [start, end)


def alternate(measures: dict[str, Block], n: int, rounds: int, block: int = BLOCK) -> dict[str, list[float]]:
    """Rates per round (items/s) of each measure, run in alternating blocks over the same n items.

    The order within a block rotates from round to round, so no measure always runs first.
    """
    rates: dict[str, list[float]] = {name: [] for name in measures}
    names = list(measures)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        spent = dict.fromkeys(names, 0.0)
        for start in range(0, n, block):
            end = min(start + block, n)
            for name in order:
                began = time.perf_counter()
                measures[name](start, end)
                spent[name] += time.perf_counter() - began
        for name in names:
            rates[name].append(n / spent[name])
    return rates


def spread(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


# The bench site unlocks with cheap test key derivation: the CLI's start-up (which includes one unlock) is
# measured and reported apart, and the goal concerns verification, not the passphrase's cost.
PASSPHRASE = "grain twenty head airport swarm"
os.environ["HAVEN_KDF_PROFILE"] = "test"


def open_site(home: Path) -> Any:
    return Site(SiteFolder(home)).unlock(PASSPHRASE)


def make_site(home: Path) -> list[str]:
    """A site with N stubs from N/20 holders of different histories."""
    session = Site(SiteFolder(home)).create("bench", PASSPHRASE)
    store = session.store
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(3)
    certs = Certificates(store, lambda: now, rng.randbytes, keys=session.keys)
    certs.standalone()
    clinic = session.clinic()
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
    session.close()
    return stubs


class Cli:
    """One running ``haven cert verify -``, answering blocks of lines through its pipes."""

    def __init__(self, env: dict[str, str]) -> None:
        # Large reads of its output, as a consumer reading whole pipe buffers would make.
        self.process = subprocess.Popen(
            [HAVEN, "cert", "verify", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=1 << 20
        )

    def answer(self, lines: list[str]) -> list[bytes]:
        """Send ``lines``, wait for their results (a thread writes, so neither pipe can fill up and block)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        stdin, stdout = self.process.stdin, self.process.stdout
        data = ("\n".join(lines) + "\n").encode()

        def write() -> None:
            stdin.write(data)
            stdin.flush()

        writer = threading.Thread(target=write)
        writer.start()
        results = [stdout.readline() for _ in lines]
        writer.join()
        return results

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


def haven_rates(home: Path, stubs: list[str]) -> dict[str, list[float]]:
    with open_site(home) as session:
        trust = Certificates(session.store).trust()
    assert trust.haven is not None
    prepared = []
    for s in stubs:
        protected, payload, signature = cose.split_canonical_sign1(base45.decode(s))
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        key = trust.haven.key(cbor_kid(protected))
        assert key is not None
        prepared.append((key.public_key(), der, cose.sig_structure(protected, payload)))
    alg = ec.ECDSA(hashes.SHA256())
    now = dt.datetime.now(dt.UTC)
    bulk = BulkVerifier(trust, now)
    # PYTHONUNBUFFERED (set on some machines) would make every write of the CLI a system call: measure the usual case.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"} | {
        "HAVEN_HOME": str(home),
        "HAVEN_PASSPHRASE": PASSPHRASE,
    }

    # The pipelines must print the same lines, all valid, before they are timed.
    expected = [verify(s, trust, now).to_json() for s in stubs]
    assert [line for line, _ in bulk.results(stubs)] == expected
    assert all(json.loads(line)["valid"] for line in expected)
    data = ("\n".join(stubs) + "\n").encode()
    done = subprocess.run([HAVEN, "cert", "verify", "-"], input=data, capture_output=True, env=env, check=True)
    assert done.stdout.decode().splitlines() == expected, done.stderr
    cli = Cli(env)
    assert [line.decode().rstrip("\n") for line in cli.answer(stubs)] == expected  # and start-up is over

    def raw(start: int, end: int) -> None:
        for key, der, message in prepared[start:end]:
            key.verify(der, message, alg)

    def in_process(start: int, end: int) -> None:
        for at in range(start, end, BATCH):
            bulk.results(stubs[at : min(at + BATCH, end)])

    def library(start: int, end: int) -> None:
        for s in stubs[start:end]:
            verify(s, trust, now).to_json()

    def running(start: int, end: int) -> None:
        cli.answer(stubs[start:end])

    try:
        measures = {"raw": raw, "in-process": in_process, "cli-running": running, "library": library}
        rates = alternate(measures, len(stubs), ROUNDS)
    finally:
        cli.close()

    # Whole runs as a user makes them, from a file of the stubs REPEAT times to a file: each round times a raw
    # pass, an empty run (start-up: interpreter, imports, trust list), a full run and a raw pass again; the
    # round's raw rate is the mean of its two passes.
    empty, lines = home.parent / "empty.txt", home.parent / "stubs.txt"
    empty.write_bytes(b"")
    lines.write_bytes(data * REPEAT)
    count = len(stubs) * REPEAT
    for key in ("raw-whole", "cli-whole", "cli-minus-startup", "startup", "cli-jobs"):
        rates[key] = []
    for _ in range(ROUNDS):
        raw_before = timed(lambda: raw(0, len(stubs)))
        startup = run_cli(env, empty, 0)
        whole = run_cli(env, lines, count)
        raw_after = timed(lambda: raw(0, len(stubs)))
        rates["cli-jobs"].append(count / run_cli(env, lines, count, JOBS))
        rates["raw-whole"].append(2 * len(stubs) / (raw_before + raw_after))
        rates["startup"].append(startup)
        rates["cli-whole"].append(count / whole)
        rates["cli-minus-startup"].append(count / (whole - startup))
    return rates


def timed(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def run_cli(env: dict[str, str], source: Path, count: int, jobs: int = 0) -> float:
    """Seconds ``haven cert verify --workers JOBS - < source > results`` takes, from start to exit."""
    results = source.with_suffix(".out")
    command = [HAVEN, "cert", "verify", "--workers", str(jobs), "-"]
    with source.open("rb") as stdin, results.open("wb") as stdout:
        start = time.perf_counter()
        subprocess.run(command, stdin=stdin, stdout=stdout, env=env, check=True)
        wall = time.perf_counter() - start
    assert results.read_bytes().count(b"\n") == count
    return wall


def cbor_kid(protected: bytes) -> bytes:
    from haven.certs import cbor

    kid: bytes = cbor.loads(protected, canonical=True)[4]
    return kid


def eu_rates() -> tuple[int, dict[str, list[float]]]:
    cases = []
    for path in sorted(EU_DCC.rglob("*.json")):
        doc = json.loads(path.read_text("utf-8"))
        if (doc.get("EXPECTEDRESULTS") or {}).get("EXPECTEDVERIFY") is not True:
            continue
        signers = issuers.load_signers(doc["TESTCTX"]["CERTIFICATE"].encode())
        clock = dt.datetime.fromisoformat(doc["TESTCTX"]["VALIDATIONCLOCK"].replace("Z", "+00:00"))
        signed = eudcc.decode(doc["PREFIX"])
        cases.append((doc["PREFIX"], Trust(eudcc=signers), clock, signers[0], signed))

    def raw(start: int, end: int) -> None:
        for _, _, _, signer, signed in cases[start:end]:
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

    def pipeline(start: int, end: int) -> None:
        for text, trust, clock, _, _ in cases[start:end]:
            try:
                verify(text, trust, clock)
            except Exception as exc:  # expired, key usage...: the pipeline ran all the same
                assert getattr(exc, "signature_valid", False), exc

    return len(cases), alternate({"raw": raw, "pipeline": pipeline}, len(cases), ROUNDS * 3, block=100)


def show(label: str, rates: list[float], raw: list[float] | None = None, goal: str = "") -> None:
    median, low, high = spread(rates)
    line = f"  {label:<48} {median:>7.0f} /s ({low:.0f}-{high:.0f})"
    if raw is not None:
        ratio, rlow, rhigh = spread([r / w for r, w in zip(rates, raw, strict=True)])
        line += f"   ratio {ratio:.2f} ({rlow:.2f}-{rhigh:.2f}){goal}"
    print(line)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "site"
        stubs = make_site(home)
        h = haven_rates(home, stubs)
    n_eu, e = eu_rates()
    goal = "   goal >= 0.85"
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; medians of {ROUNDS} rounds (lowest-highest)")
    print(f"Haven stubs: {len(stubs)} ({N // PER_HOLDER} holders x {PER_HOLDER}), {len(stubs[0])} characters each")
    print(f" alternating in blocks of {BLOCK} (ratio: to the raw rate of the same round)")
    show("raw ES256 verify (same signatures)", h["raw"])
    show(f"bulk pipeline in-process (batches of {BATCH})", h["in-process"], h["raw"], goal)
    show("haven cert verify -, running, through its pipes", h["cli-running"], h["raw"], goal)
    show("verify(...).to_json(), one at a time", h["library"], h["raw"])
    startup = spread(h["startup"])
    print(
        f" haven cert verify - < file > file, {len(stubs) * REPEAT:,} lines (the stubs {REPEAT} times), whole runs;"
        f" start-up {startup[0]:.2f} s ({startup[1]:.2f}-{startup[2]:.2f}) on an empty file"
    )
    show("raw ES256 verify, passes before and after", h["raw-whole"])
    show("haven cert verify -, with start-up", h["cli-whole"], h["raw-whole"])
    show("haven cert verify -, minus start-up", h["cli-minus-startup"], h["raw-whole"], goal)
    show(f"haven cert verify --workers {JOBS} -, with start-up", h["cli-jobs"], h["raw-whole"])
    print(f"EU DCC vectors whose signature verifies: {n_eu} (medians of {ROUNDS * 3} rounds)")
    show("raw verify of their signatures (ES256/PS256)", e["raw"])
    show("decode-and-verify pipeline", e["pipeline"], e["raw"])
    ratio = statistics.median(h["cli-running"]) / statistics.median(e["pipeline"])
    print(f"Haven bulk (haven cert verify -, running) vs EU DCC pipeline, per certificate: {ratio:.2f} x")


if __name__ == "__main__":
    main()
