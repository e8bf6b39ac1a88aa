"""The sneakernet by command line, end to end: join, admit, bundles, and a site rebuilt from a bundle."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from haven import errors
from haven.exit_codes import exit_code
from tests.conftest import Result

VISIT = '[{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]'
VISIT2 = '[{"type": "test", "test": "antigen", "result": "negative", "date": "2026-11-02"}]'


def test_a_seized_site_is_rebuilt_from_another_sites_bundle(run_cli: Callable[..., Result], tmp_path: Path) -> None:
    def haven(home: str, *args: str, stdin: str | None = None) -> Result:
        result = run_cli("--home", str(tmp_path / home), *args, stdin=stdin)
        assert result.code == 0, result.err
        return result

    haven("root", "init", "--admin", "Ana")
    haven("root", "trust", "root", "--network", "North clinics")
    haven("root", "trust", "export", "--out", str(tmp_path / "trust.cose"))
    fingerprint = haven("root", "--json", "trust", "show").json()["root_fingerprint"]

    def join(home: str) -> str:
        haven(home, "init", "--admin", "Ana")
        haven(home, "trust", "join", str(tmp_path / "trust.cose"), "--root-fingerprint", fingerprint)
        site = haven(home, "--json", "sync", "request", "--out", str(tmp_path / f"{home}.request")).json()["site"]
        admitted = haven("root", "--json", "network", "admit", str(tmp_path / f"{home}.request")).json()
        assert site in admitted["roster"]["members"]
        haven("root", "sync", "roster", "export", "--out", str(tmp_path / "roster.cose"))
        shown = haven(home, "--json", "sync", "roster", "import", str(tmp_path / "roster.cose")).json()
        assert shown["member"] is True and shown["site"] == site
        return site

    join("b")
    cards = [haven("b", "--json", "card", "new").json()["qr"] for _ in range(3)]
    for card in cards:
        haven("b", "visit", "add", "--card", "-", "--first-visit", "--entries", "-", stdin=f"{card}\n{VISIT}")
    haven("b", "sync", "export", "--out", str(tmp_path / "b.bundle"))
    imported = haven("root", "--json", "sync", "import", str(tmp_path / "b.bundle")).json()
    assert (imported["new"], imported["already_present"]) == (3, 0)
    haven("root", "visit", "add", "--card", "-", "--entries", "-", stdin=f"{cards[0]}\n{VISIT2}")

    # b's laptop is seized: the coordinator removes it, and a fresh site is admitted under new keys.
    seized = haven("b", "--json", "sync", "roster", "show").json()["site"]
    haven("root", "network", "remove", seized)
    rebuilt = join("c")
    assert rebuilt != seized
    haven("root", "sync", "export", "--for", rebuilt, "--out", str(tmp_path / "to-c.bundle"))
    assert haven("c", "--json", "sync", "import", str(tmp_path / "to-c.bundle")).json()["new"] == 4
    for card, visits in zip(cards, (2, 1, 1), strict=True):
        history = haven("c", "--json", "history", "--card", "-", stdin=f"{card}\n").json()
        assert len(history["visits"]) == visits

    # The seized site's bundles are refused from now on, with one line and its own exit code.
    refused = run_cli("--home", str(tmp_path / "c"), "sync", "import", str(tmp_path / "b.bundle"))
    assert refused.code == exit_code(errors.NotAMemberError) == 33
    assert refused.err.count("\n") == 1 and "removed" in refused.err
    missing = run_cli("--home", str(tmp_path / "c"), "sync", "import", str(tmp_path / "nothing.bundle"))
    assert missing.code == exit_code(errors.InputError)
