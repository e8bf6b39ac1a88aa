"""QR size: a Haven stub stating three COVID-19 doses against the EU DCC and SMART Health Card test data.

    .venv/bin/python bench/cert_size.py

Prints, from one run: our stub's length and QR version at error correction Q
(goal: <= 10), and the same for every EU DCC vaccination certificate in
tests/vectors/eu-dcc (median, min, max), and the SMART Health Card
single-QR examples at error correction L (as the SHC spec prints them).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
from pathlib import Path

from haven import qr
from haven.app.clinic import Clinic, unsealed_tally
from haven.cert_services import Certificates
from haven.core.card import Card
from haven.site.rolekeys import RoleKeys
from haven.store.memory import MemoryStore

VECTORS = Path(__file__).resolve().parents[1] / "tests" / "vectors"
NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)
DOSES = [
    {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2025-01-10"},
    {"type": "vaccination", "product": "comirnaty", "dose": 2, "date": "2025-02-07"},
    {"type": "vaccination", "product": "comirnaty", "dose": 3, "date": "2025-09-15"},
]


def ours() -> list[str]:
    store = MemoryStore()
    rng = random.Random(1).randbytes
    certs = Certificates(store, lambda: NOW, rng, keys=RoleKeys.generate(rng))
    certs.standalone()
    card = Card(bytes(16))
    Clinic(store, today=lambda: NOW.date(), seal_counts=unsealed_tally).add_visit(card, DOSES, first_visit=True)
    return certs.issue(card, count=10)


def eu_vaccinations() -> list[str]:
    texts = []
    for path in sorted((VECTORS / "eu-dcc").rglob("*.json")):
        doc = json.loads(path.read_text("utf-8"))
        if doc.get("JSON") and doc["JSON"].get("v") and doc["PREFIX"].startswith("HC1:"):
            texts.append(doc["PREFIX"])
    return texts


def summary(name: str, texts: list[str], level: str) -> str:
    versions = [qr.version(t, level) for t in texts]
    lengths = [len(t) for t in texts]
    return (
        f"{name:<44} n={len(texts):<4} chars median {statistics.median(lengths):>6.0f} "
        f"(min {min(lengths)}, max {max(lengths)})   QR version at {level.upper()}: median "
        f"{statistics.median(versions):>4.0f} (min {min(versions)}, max {max(versions)})"
    )


def main() -> None:
    stubs = ours()
    print(summary("Haven stub, three COVID-19 doses", stubs, "q"))
    print(summary("EU DCC vaccination certificates (test data)", eu_vaccinations(), "q"))
    singles = sorted((VECTORS / "shc").glob("example-0[013]-f-qr-code-numeric-value-0.txt"))
    shc = [p.read_text().strip() for p in singles]
    # segno puts 'shc:/' + digits in one byte-mode segment; the spec's QR codes use a byte segment for
    # 'shc:/' and a numeric one for the digits, so the digits alone (numeric mode) are the fair measure.
    digits = [t.removeprefix("shc:/") for t in shc]
    print(summary("SMART Health Cards, single QR (digits)", digits, "l"))
    print(summary("SMART Health Cards, single QR (digits)", digits, "q"))
    goal = max(qr.version(s, "q") for s in stubs)
    print(f"goal: Haven stub at Q <= 10: {'met' if goal <= 10 else 'NOT met'} (version {goal})")


if __name__ == "__main__":
    main()
