"""Docs that cannot drift: the threat model names real tests; every site command is documented."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _defined_tests() -> set[str]:
    names = set()
    for path in (ROOT / "tests").rglob("test_*.py"):  # the web's tests too (tests/web/)
        names.update(re.findall(r"^def (test_\w+)\(", path.read_text("utf-8"), flags=re.M))
    return names


def test_every_test_named_in_the_threat_model_exists() -> None:
    text = (ROOT / "docs" / "threat-model.md").read_text("utf-8")
    named = set(re.findall(r"`(test_\w+)`", text))
    assert len(named) >= 60
    assert named <= _defined_tests(), sorted(named - _defined_tests())


def test_the_threat_model_covers_every_capability_of_the_issue() -> None:
    text = (ROOT / "docs" / "threat-model.md").read_text("utf-8").lower()
    for capability in (
        "disk image of a stopped site",
        "disk image of a running site",
        "coerced unlock",
        "informant staff account",
        "malicious verifier",
        "seized certificate sheet",
        "observer of network traffic",
        "flash remanence",
        "memory",
        "| 4 |",
        "| 5 |",
        "| 6 |",
    ):
        assert capability in text, capability
    assert "BENCH_TABLE" not in text.upper()
