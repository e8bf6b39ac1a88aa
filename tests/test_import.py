"""`haven visit import`: keys checked as `visit add` checks them, one clear line for every bad file,
the batches before a bad line kept (with workers too), and a killed import that leaves no worker
behind and resumes without duplicating."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from haven.app.clinic import Clinic
from haven.core.card import Card, parse_card
from tests.conftest import ADMIN_PASSPHRASE, Result
from tests.helpers_site import make_site

VISIT = [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def site(run_cli: Callable[..., Result]) -> Callable[..., Result]:
    assert run_cli("init", "--admin", "amal").code == 0
    return run_cli


def _line(**extra: object) -> str:
    return json.dumps({"card": Card(secrets.token_bytes(16)).code, "entries": VISIT, **extra})


def _stored(tmp_path: Path) -> int:
    with make_site(tmp_path / "site").unlock(ADMIN_PASSPHRASE) as session:
        return session.store.count()


@pytest.mark.parametrize(
    ("extra", "field"),
    [({"Pin": "4821"}, "Pin"), ({"hodler": {"pregnant": True}}, "hodler")],
)
def test_an_unknown_key_is_refused_as_visit_add_refuses_it(
    site: Callable[..., Result], tmp_path: Path, extra: dict[str, object], field: str
) -> None:
    (tmp_path / "in.jsonl").write_text(_line() + "\n" + _line(**extra) + "\n")
    r = site("visit", "import", str(tmp_path / "in.jsonl"), "--workers", "0", "--batch", "5")
    assert r.code == 4, r.err
    assert len(r.err.strip().splitlines()) == 1 and r.err.startswith("haven: Line 2: ") and field in r.err
    assert _stored(tmp_path) == 0  # nothing of the bad line's batch
    # The same words as visit add.
    add = site(
        "visit", "add", "--card", Card(secrets.token_bytes(16)).code, "--first-visit", "--entries", "-",
        stdin=json.dumps({"entries": VISIT, **extra}),
    )  # fmt: skip
    assert add.code == 4 and add.err.split(": ", 1)[1].split(" ")[:3] == r.err.split("Line 2: ", 1)[1].split(" ")[:3]


def test_invalid_utf8_is_one_line_naming_it(site: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_bytes((_line() + "\n").encode() + b'{"card": "\xc3\x28"}\n')
    r = site("visit", "import", str(tmp_path / "in.jsonl"), "--workers", "0")
    assert r.code == 2 and r.err.startswith("haven: Line 2: not UTF-8 text")
    assert len(r.err.strip().splitlines()) == 1


def test_a_missing_file_or_a_folder_is_one_line(site: Callable[..., Result], tmp_path: Path) -> None:
    r = site("visit", "import", str(tmp_path / "nowhere.jsonl"))
    assert r.code == 2 and r.err.strip().splitlines() == [
        f"haven: The import file {str(tmp_path / 'nowhere.jsonl')!r} does not exist."
    ]
    r = site("visit", "import", str(tmp_path))
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "folder" in r.err


def test_a_byte_order_mark_is_accepted(site: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_bytes(b"\xef\xbb\xbf" + (_line() + "\n" + _line() + "\n").encode())
    r = site("visit", "import", str(tmp_path / "in.jsonl"), "--json")
    assert r.code == 0, r.err
    assert r.json() == {"imported": 2, "already_imported": 0}


@pytest.mark.parametrize("batch", ["0", "-5"])
def test_a_batch_below_one_is_refused(site: Callable[..., Result], tmp_path: Path, batch: str) -> None:
    (tmp_path / "in.jsonl").write_text(_line() + "\n")
    r = site("visit", "import", str(tmp_path / "in.jsonl"), "--batch", batch)
    assert r.code == 2
    assert r.err.strip().splitlines() == [
        f"haven: --batch is a number of visits per transaction, 1 or more (not {batch})."
    ]
    assert _stored(tmp_path) == 0


@pytest.mark.parametrize("workers", ["0", "2"])
def test_the_batches_before_a_bad_line_are_kept_with_or_without_workers(
    site: Callable[..., Result], tmp_path: Path, workers: str
) -> None:
    lines = [_line() for _ in range(9)]
    lines[8] = "{not json"
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    r = site("visit", "import", str(tmp_path / "in.jsonl"), "--batch", "2", "--workers", workers, "--json")
    assert r.code == 2
    details = json.loads(r.out)["error"]["details"]
    # Lines 1-8 are four whole batches before the bad line's own batch: docs/cli.md keeps them all.
    assert (details["line"], details["imported"], details["resume_from_line"]) == (9, 8, 9)
    assert _stored(tmp_path) == 8


def test_a_rerun_of_the_same_file_resumes_and_a_fixed_bad_line_is_imported_once(
    site: Callable[..., Result], tmp_path: Path
) -> None:
    lines = [_line() for _ in range(7)]
    good = lines[5]
    lines[5] = json.dumps({"card": json.loads(good)["card"], "entries": [{"type": "x"}]})
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    r = site("visit", "import", str(path), "--batch", "2", "--workers", "0")
    assert r.code == 4 and "Line 6" in r.err and "4 visits of this file are imported" in r.err
    lines[5] = good  # fixed in place; lines 1-4 are as they were
    path.write_text("\n".join(lines) + "\n")
    r = site("visit", "import", str(path), "--batch", "2", "--workers", "0", "--json")
    assert r.code == 0 and r.json() == {"imported": 3, "already_imported": 4}
    r = site("visit", "import", str(path), "--json")
    assert r.code == 0 and r.json() == {"imported": 0, "already_imported": 7}
    assert _stored(tmp_path) == 7
    # An imported line changed since: refused, rather than imported twice.
    path.write_text("\n".join([lines[0], _line(), *lines[2:]]) + "\n")
    r = site("visit", "import", str(path))
    assert r.code == 2 and "The first 7 visits of a file starting with this line were imported here before" in r.err
    assert _stored(tmp_path) == 7


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.update(int(p) for p in (task / "children").read_text().split())
        except OSError:
            continue  # a thread that just ended
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_kill_9_of_an_import_leaves_no_worker_and_a_rerun_stores_each_line_once(tmp_path: Path) -> None:
    home = tmp_path / "site"
    env = {**os.environ, "HAVEN_HOME": str(home), "HAVEN_PASSPHRASE": ADMIN_PASSPHRASE, "HAVEN_KDF_PROFILE": "test"}
    haven = [sys.executable, "-m", "haven"]
    subprocess.run([*haven, "init", "--admin", "amal"], env=env, check=True, capture_output=True, cwd=REPO)
    total = 6000
    path = tmp_path / "in.jsonl"
    path.write_text("".join(_line() + "\n" for _ in range(total)))
    command = [*haven, "visit", "import", str(path), "--workers", "2", "--batch", "200"]
    child = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    site = make_site(home)
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline and child.poll() is None:
        workers |= {p for p in _children(child.pid) if "spawn_main" in _command(p)}
        with site.unlock(ADMIN_PASSPHRASE) as session:
            stored = session.store.count()
        if stored >= 400:
            break
        time.sleep(0.05)
    assert child.poll() is None, "the import ended before it could be killed"
    assert 0 < stored < total and workers
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.stderr is not None
    child.stderr.close()
    # The workers, which hold holders' keys, end with the importing process.
    end = time.monotonic() + 5
    while time.monotonic() < end and any(_alive(p) for p in workers):
        time.sleep(0.1)
    assert not [p for p in workers if _alive(p)]
    done = subprocess.run([*command, "--json"], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["already_imported"] > 0 and doc["imported"] + doc["already_imported"] == total
    with site.unlock(ADMIN_PASSPHRASE) as session:
        assert session.store.count() == total  # one record per line: none lost, none twice
        entries = [e for e, _ in session.audit.rows() if e.action == "visit.import"]
        assert sum(e.count for e in entries) == total  # every committed batch has its audit entry
        first = parse_card(json.loads(path.read_text().splitlines()[0])["card"])
        assert len(Clinic(session.store).history(first).visits) == 1
