"""Fuzz the certificate decoders: any input must raise nothing but Haven's own errors.

    .venv/bin/pip install -e '.[dev,bench]'
    .venv/bin/python bench/fuzz_certs.py [RUNS]          # default 1,000,000 inputs

With atheris (coverage-guided, libFuzzer) each input is tried four ways: as
text as it is (every format's detector), as Base45 of the bytes (Haven's
decoder past its first layer), as 'HC1:' + Base45 (EU DCC past the prefix)
and as a mutation of a valid Haven stub (deep into the claims). Without
atheris, the same four ways run on seeded random inputs. It prints how many
inputs ran and how many raised anything other than a HavenError (must be 0).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from collections.abc import Callable

from haven.errors import HavenError

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 1_000_000
NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)


def setup() -> Callable[[bytes], None]:
    from haven.app.clinic import Clinic, unsealed_tally
    from haven.cert_services import Certificates
    from haven.certs import base45
    from haven.certs.verify import verify
    from haven.core.card import Card
    from haven.site.rolekeys import RoleKeys
    from haven.store.memory import MemoryStore

    rng = random.Random(1)
    store = MemoryStore()
    certs = Certificates(store, lambda: NOW, rng.randbytes, keys=RoleKeys.generate(rng.randbytes))
    certs.standalone()
    card = Card(bytes(16))
    Clinic(store, today=lambda: NOW.date(), seal_counts=unsealed_tally).add_visit(
        card, [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-01-05"}], first_visit=True
    )
    stub = base45.decode(certs.issue(card, count=1)[0])
    trust = certs.trust()
    unexpected: list[str] = []

    def attempt(text: str) -> None:
        try:
            verify(text, trust, NOW)
        except HavenError:
            pass
        except Exception as exc:  # the finding this script looks for
            unexpected.append(f"{type(exc).__name__}: {exc!r} on {text[:80]!r}")
            if len(unexpected) <= 5:
                print("UNEXPECTED", unexpected[-1], flush=True)

    def one(data: bytes) -> None:
        attempt(data.decode("latin-1"))
        attempt(base45.encode(data))
        attempt("HC1:" + base45.encode(data))
        mutated = bytearray(stub)
        for i in range(0, len(data) - 1, 2):
            mutated[data[i] % len(mutated)] = data[i + 1]
        attempt(base45.encode(bytes(mutated)))

    one.unexpected = unexpected  # type: ignore[attr-defined]
    return one


def main() -> None:
    try:
        import atheris
    except ImportError:
        atheris = None
    if atheris is not None:
        with atheris.instrument_imports(include=["haven"]):
            one = setup()
    else:
        one = setup()
    count = 0
    start = time.perf_counter()

    def test_one_input(data: bytes) -> None:
        nonlocal count
        count += 1
        one(data)

    if atheris is not None:
        import atexit

        atexit.register(lambda: report(count, start, one, "atheris"))
        atheris.Setup([sys.argv[0], f"-atheris_runs={RUNS}", "-max_len=400", "-print_final_stats=1"], test_one_input)
        atheris.Fuzz()
    else:
        rng = random.Random(7)
        for _ in range(RUNS):
            test_one_input(rng.randbytes(rng.randint(0, 300)))
        report(count, start, one, "random")


def report(count: int, start: float, one: Callable[[bytes], None], how: str) -> None:
    elapsed = time.perf_counter() - start
    unexpected = one.unexpected  # type: ignore[attr-defined]
    print(f"fuzz ({how}): {count:,} inputs x 4 decodings in {elapsed:.0f} s; unexpected exceptions: {len(unexpected)}")


if __name__ == "__main__":
    main()
