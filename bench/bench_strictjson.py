"""Benchmark: what the strict JSON reader costs against ``json.loads``, side by side in one run.

    .venv/bin/python bench/bench_strictjson.py            # about 10 seconds

Three inputs: a typical import line (the cost that matters: an import reads a million of them), a
50-entry visit document, and the hostile 100,000-deep nesting that ``json.loads`` answers with a
``RecursionError`` (the strict reader refuses it; the time shows the refusal is linear and quick).
Each figure is the best of seven runs, so another process on the machine only slows the worst.
"""

from __future__ import annotations

import contextlib
import json
import timeit
from collections.abc import Callable
from typing import Any

from haven.core import strictjson
from haven.errors import InputError

LINE = json.dumps(
    {
        "card": "AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQT",
        "entries": [
            {"type": "vaccination", "product": "comirnaty", "dose": 2, "date": "2026-10-01", "lot": "FK0108"},
            {"type": "test", "test": "antigen", "result": "negative", "date": "2026-10-01"},
        ],
        "holder": {"birth_year": 1988, "sex": "female"},
    }
)
VISIT = json.dumps(
    [{"type": "treatment", "date": "2026-10-01", "symptoms": ["fever", "cough"], "note": "x" * 200}] * 50
)
DEEP = "[" * 100_000 + "]" * 100_000


def best_us(func: Callable[[], Any], number: int) -> float:
    return min(timeit.repeat(func, number=number, repeat=7)) / number * 1e6


def refused(text: str) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(InputError):
            strictjson.loads(text)

    return run


def main() -> None:
    print(f"{'input':<28}{'json.loads':>14}{'strict':>14}{'ratio':>8}")
    for name, text, number in (("import line", LINE, 20_000), ("50-entry visit", VISIT, 1_000)):
        plain = best_us(lambda t=text: json.loads(t), number)  # type: ignore[misc]
        strict = best_us(lambda t=text: strictjson.loads(t), number)  # type: ignore[misc]
        print(f"{name:<28}{plain:>11.2f} us{strict:>11.2f} us{strict / plain:>8.2f}")
    deep = best_us(refused(DEEP), 5)
    print(f"{'100,000-deep (refused)':<28}{'RecursionError':>14}{deep / 1000:>11.2f} ms")


if __name__ == "__main__":
    main()
