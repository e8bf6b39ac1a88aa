"""Nothing is acknowledged that the user did not receive: `card new --entries` stores its visit only
when its QR files can be written, and `cert issue --sheet` logs certificates only when the sheet is
written. On real full filesystems (tmpfs, and ext4 with 1 KiB blocks), and into missing folders."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from haven.core.card import Card
from tests.conftest import ADMIN_PASSPHRASE, Result
from tests.disks import KINDS, fill, small_disk
from tests.helpers_site import make_site

VISIT = [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def site(run_cli: Callable[..., Result], tmp_path: Path) -> Callable[..., Result]:
    assert run_cli("init", "--admin", "amal").code == 0
    (tmp_path / "visit.json").write_text(json.dumps(VISIT))
    return run_cli


def _stored(tmp_path: Path) -> tuple[int, list[str]]:
    with make_site(tmp_path / "site").unlock(ADMIN_PASSPHRASE) as session:
        return session.store.count(), [e.action for e, _ in session.audit.rows()]


@pytest.mark.parametrize("option", ["--qr-svg", "--qr-png"])
def test_card_new_with_a_qr_file_in_a_missing_folder_stores_nothing(
    site: Callable[..., Result], tmp_path: Path, option: str
) -> None:
    target = tmp_path / "missing" / "card.img"
    r = site("card", "new", "--no-show-qr", "--entries", str(tmp_path / "visit.json"), option, str(target))
    assert r.code == 2 and r.err.strip().splitlines() == [
        f"haven: Cannot write the QR code to {str(target)!r}: the folder {str(target.parent)!r} does not exist."
    ]
    assert r.out == ""  # no card shown: none was made
    assert _stored(tmp_path) == (0, ["site.init"])


@pytest.mark.parametrize("kind", KINDS)
def test_card_new_with_a_qr_png_on_a_full_disk_stores_nothing(
    site: Callable[..., Result], tmp_path: Path, kind: str
) -> None:
    with small_disk(tmp_path, kind) as disk:
        fill(disk, 0)
        r = site(
            "card", "new", "--no-show-qr", "--entries", str(tmp_path / "visit.json"), "--qr-png", str(disk / "c.png")
        )
        assert r.code == 7 and len(r.err.strip().splitlines()) == 1 and "The disk is full" in r.err
        assert sorted(p.name for p in disk.iterdir() if p.name != "lost+found") == ["filler"]  # no partial file
        assert _stored(tmp_path) == (0, ["site.init"])
        (disk / "filler").unlink()
        r = site(
            "card",
            "new",
            "--no-show-qr",
            "--json",
            "--entries",
            str(tmp_path / "visit.json"),
            "--qr-png",
            str(disk / "c.png"),
        )
        assert r.code == 0 and (disk / "c.png").read_bytes()[:4] == b"\x89PNG"
        assert _stored(tmp_path) == (1, ["site.init", "visit.add"])


@pytest.mark.parametrize("kind", KINDS)
def test_cert_issue_with_a_sheet_on_a_full_disk_logs_no_certificate(
    site: Callable[..., Result], tmp_path: Path, kind: str
) -> None:
    assert site("trust", "standalone").code == 0
    card = Card(secrets.token_bytes(16)).code
    assert site("visit", "add", "--card", card, "--first-visit", "--entries", str(tmp_path / "visit.json")).code == 0
    with small_disk(tmp_path, kind) as disk:
        fill(disk, 0)
        r = site("cert", "issue", "--card", card, "--count", "3", "--sheet", str(disk / "sheet.html"))
        assert r.code == 7 and len(r.err.strip().splitlines()) == 1 and "The disk is full" in r.err
        assert r.out == ""  # no certificate shown either
        assert not (disk / "sheet.html").exists()
        assert "certificate.issue" not in _stored(tmp_path)[1]
        (disk / "filler").unlink()
        r = site("cert", "issue", "--card", card, "--count", "3", "--sheet", str(disk / "sheet.html"))
        assert r.code == 0 and (disk / "sheet.html").stat().st_size > 0
        assert _stored(tmp_path)[1].count("certificate.issue") == 1


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_visit_add_near_full_every_answer_is_true(tmp_path: Path, kind: str) -> None:
    """Step towards a full disk: every `visit add` either stores its visit with its audit entry (exit 0)
    or stores neither and says so (exit 7)."""
    with small_disk(tmp_path, kind) as disk:
        home = disk / "site"
        env = {"HAVEN_HOME": str(home), "HAVEN_PASSPHRASE": ADMIN_PASSPHRASE, "HAVEN_KDF_PROFILE": "test"}
        haven = [sys.executable, "-m", "haven"]

        def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*haven, *args], env=env, cwd=REPO, input=stdin, capture_output=True, text=True, timeout=60
            )

        assert run("init", "--admin", "amal").returncode == 0
        acknowledged, outcomes = 0, []
        for leave in (40, 32, 24, 16, 12, 8, 6, 4, 3, 2, 1, 0):
            fill(disk, leave * 1024)
            card = Card(secrets.token_bytes(16)).code
            done = run("visit", "add", "--card", card, "--first-visit", "--entries", "-", stdin=json.dumps(VISIT))
            outcomes.append(done.returncode)
            if done.returncode == 0:
                acknowledged += 1
            else:
                assert done.returncode == 7, (leave, done.returncode, done.stderr)
                assert (
                    done.stderr.strip() == "haven: The disk is full; nothing of this change was saved. Free some space."
                )
        (disk / "filler").unlink()
        with make_site(home).unlock(ADMIN_PASSPHRASE) as session:
            actions = [e.action for e, _ in session.audit.rows()]
            assert (session.store.count(), actions.count("visit.add")) == (acknowledged, acknowledged), outcomes
            session.audit.verify()
