"""The certificate and trust commands end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from haven import qr
from haven.site import daycount
from tests.certkit import EU_DCC, SHC, SHC_JWKS, THREE_DOSES


@pytest.fixture
def site(run_cli: Any) -> dict[str, str]:
    assert run_cli("init", "--admin", "amal").code == 0
    assert run_cli("trust", "standalone").code == 0
    card = run_cli("card", "new", "--json", "--no-show-qr").json()
    added = run_cli(
        "visit", "add", "--card", card["qr"], "--first-visit", "--entries", "-", stdin=json.dumps(THREE_DOSES)
    )
    assert added.code == 0, added.err
    return {"card": card["qr"]}


def test_issue_then_verify(run_cli: Any, site: dict[str, str], tmp_path: Path) -> None:
    issued = run_cli(
        "cert", "issue", "--card", site["card"], "--count", "3", "--json", "--sheet", str(tmp_path / "s.html")
    )
    assert issued.code == 0, issued.err
    stubs = issued.json()["certificates"]
    assert len(stubs) == 3 and len({len(s) for s in stubs}) == 1
    sheet = (tmp_path / "s.html").read_text()
    assert sheet.count("<svg") == 3 and "comirnaty" not in sheet.lower() and "vaccin" not in sheet.lower()
    result = run_cli("cert", "verify", "--json", stubs[0])
    assert result.code == 0
    doc = result.json()
    assert (doc["valid"], doc["signature_valid"], doc["reason"], doc["format"]) == (True, True, None, "haven")
    assert [v["dose"] for v in doc["facts"]["vaccinations"]] == [1, 2, 3]
    human = run_cli("cert", "verify", stubs[1])
    assert human.code == 0 and "VALID" in human.out


def test_verify_reports_the_reason_and_its_exit_code(run_cli: Any, site: dict[str, str]) -> None:
    [stub] = run_cli("cert", "issue", "--card", site["card"], "--count", "1", "--json").json()["certificates"]
    late = run_cli("cert", "verify", "--json", "--at", "2040-01-01", stub)
    assert late.code == 23 and late.json()["reason"] == "expired" and late.json()["signature_valid"] is True
    broken = run_cli("cert", "verify", "--json", stub[:-3])
    assert broken.code == 20 and broken.json()["reason"] == "malformed"
    nonsense = run_cli("cert", "verify", "--json", "hello world")
    assert nonsense.code == 20 and nonsense.json()["format"] is None


def test_bulk_verify_prints_one_json_line_per_input(run_cli: Any, site: dict[str, str]) -> None:
    stubs = run_cli("cert", "issue", "--card", site["card"], "--count", "4", "--json").json()["certificates"]
    lines = [*stubs, stubs[0][:-1], "", stubs[1]]
    result = run_cli("cert", "verify", "-", stdin="\n".join(lines) + "\n")
    results = [json.loads(line) for line in result.out.splitlines()]
    assert [r["valid"] for r in results] == [True, True, True, True, False, True]
    assert result.code == 20


def test_sheets_as_png_and_pdf_and_a_photo_of_a_stub_verifies(
    run_cli: Any, site: dict[str, str], tmp_path: Path
) -> None:
    png, pdf = tmp_path / "sheet.png", tmp_path / "sheet.pdf"
    stubs = run_cli("cert", "issue", "--card", site["card"], "--count", "2", "--json", "--sheet", str(png)).json()
    assert png.read_bytes().startswith(b"\x89PNG")
    assert run_cli("cert", "issue", "--card", site["card"], "--count", "2", "--sheet", str(pdf)).code == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    photo = tmp_path / "stub.png"
    photo.write_bytes(qr.png(stubs["certificates"][0]))
    result = run_cli("cert", "verify", "--json", "--image", str(photo))
    assert result.code == 0, result.out
    assert result.json()["format"] == "haven"
    from haven.certs.image import decode_image

    assert decode_image(photo.read_bytes()) == stubs["certificates"][0]


def test_a_sheet_photo_with_several_codes_is_refused(run_cli: Any, site: dict[str, str], tmp_path: Path) -> None:
    png = tmp_path / "sheet.png"
    run_cli("cert", "issue", "--card", site["card"], "--count", "2", "--sheet", str(png))
    result = run_cli("cert", "verify", "--image", str(png))
    assert result.code == 2 and "several QR codes" in result.err


def test_eu_dcc_with_issuer_cert_and_at(run_cli: Any, tmp_path: Path) -> None:
    doc = json.loads((EU_DCC / "common" / "2DCode" / "raw" / "CO1.json").read_text())
    pem = tmp_path / "dsc.b64"
    pem.write_text(doc["TESTCTX"]["CERTIFICATE"])
    args = ["cert", "verify", "--json", "--issuer-cert", str(pem), "--at", doc["TESTCTX"]["VALIDATIONCLOCK"]]
    result = run_cli(*args, doc["PREFIX"])  # no site needed to verify external certificates
    assert result.code == 0, result.out
    assert result.json()["format"] == "eu-dcc"
    assert run_cli("cert", "verify", "--json", doc["PREFIX"]).json()["reason"] == "unknown-issuer"


def test_shc_with_jwks_and_chunks(run_cli: Any) -> None:
    chunks = " ".join(p.read_text().strip() for p in sorted(SHC.glob("example-02-f-qr-code-numeric-value-*.txt")))
    result = run_cli("cert", "verify", "--json", "--issuer-cert", str(SHC_JWKS), chunks)
    assert result.code == 0 and result.json()["format"] == "shc"
    revoked = run_cli(
        "cert",
        "verify",
        "--json",
        "--issuer-cert",
        str(SHC_JWKS),
        (SHC / "example-03-f-qr-code-numeric-value-0.txt").read_text(),
    )
    assert revoked.code == 25 and revoked.json()["reason"] == "revoked"


def test_import_eu_dcc_and_shc_vaccinations_into_a_history(run_cli: Any, tmp_path: Path) -> None:
    assert run_cli("init", "--admin", "amal").code == 0
    assert run_cli("trust", "standalone").code == 0
    card = run_cli("card", "new", "--json", "--no-show-qr").json()["qr"]
    doc = json.loads((EU_DCC / "common" / "2DCode" / "raw" / "CO1.json").read_text())
    dsc = tmp_path / "dsc.b64"
    dsc.write_text(doc["TESTCTX"]["CERTIFICATE"])
    at = doc["TESTCTX"]["VALIDATIONCLOCK"]
    refused = run_cli("cert", "import", "--card", card, "--first-visit", "--json", doc["PREFIX"])
    assert refused.code == 22
    assert run_cli("trust", "add-issuer", str(dsc)).code == 0
    imported = run_cli("cert", "import", "--card", card, "--first-visit", "--json", "--at", at, doc["PREFIX"])
    assert imported.code == 0, imported.err
    assert imported.json()["imported"] == 1
    shc_text = (SHC / "example-00-f-qr-code-numeric-value-0.txt").read_text()
    shc_import = run_cli("cert", "import", "--card", card, "--json", "--issuer-cert", str(SHC_JWKS), shc_text)
    assert shc_import.json()["imported"] == 3
    again = run_cli("cert", "import", "--card", card, "--json", "--issuer-cert", str(SHC_JWKS), shc_text)
    assert again.json()["imported"] == 0 and {s["reason"] for s in again.json()["skipped"]} == {
        "already in the history"
    }
    history = run_cli("history", "--card", card, "--json").json()
    marks = [(e["product"], e["verified_external"]) for v in history["visits"] for e in v["entries"]]
    assert marks == [("comirnaty", "eu-dcc"), ("spikevax", "shc"), ("spikevax", "shc"), ("spikevax", "shc")]


def test_trust_show_rotate_revoke_and_export(run_cli: Any, site: dict[str, str], tmp_path: Path) -> None:
    shown = run_cli("trust", "show", "--json").json()
    assert shown["sequence"] == 1 and shown["holds_root"] and shown["keys"][0]["status"] == "signing"
    [old] = run_cli("cert", "issue", "--card", site["card"], "--count", "1", "--json").json()["certificates"]
    rotated = run_cli("trust", "rotate", "--json")
    assert rotated.code == 0
    [new] = run_cli("cert", "issue", "--card", site["card"], "--count", "1", "--json").json()["certificates"]
    assert run_cli("cert", "verify", old).code == 0  # certificates of the old key stay valid
    assert run_cli("cert", "verify", new).code == 0
    before = run_cli("trust", "show", "--json").json()["sequence"]
    assert before >= 2  # rotated (and the next epochs, once under four weeks of keys are left)
    assert run_cli("trust", "revoke", "--certificate", old).code == 0
    assert run_cli("cert", "verify", "--json", old).json()["reason"] == "revoked"
    assert run_cli("trust", "revoke", "--kid", rotated.json()["kid"]).code == 0
    assert run_cli("cert", "verify", "--json", new).json()["reason"] == "revoked"
    out = tmp_path / "list.cose"
    assert run_cli("trust", "export", "--out", str(out)).code == 0
    # revoke, revoke, and a fresh key from this week: the label's signing key was revoked
    assert run_cli("trust", "show", "--json").json()["sequence"] == before + 3
    # the root's site signs with that fresh epoch key
    [fresh] = run_cli("cert", "issue", "--card", site["card"], "--count", "1", "--json").json()["certificates"]
    assert run_cli("cert", "verify", fresh).code == 0
    assert run_cli("trust", "show", "--json").json()["sequence"] == before + 3


def test_joining_a_network_with_a_key_from_its_root(run_cli: Any, tmp_path: Path) -> None:
    root_home, member_home = str(tmp_path / "root"), str(tmp_path / "member")
    assert run_cli("init", "--admin", "amal", "--home", root_home).code == 0
    assert (
        run_cli("trust", "root", "--home", root_home, "--network", "North", "--label", "north", "--replace").code == 0
    )
    shown = run_cli("trust", "show", "--home", root_home, "--json").json()
    kid, fp = shown["keys"][0]["kid"], shown["root_fingerprint"]
    (tmp_path / "pass").write_text("correct horse battery staple\n")
    assert run_cli("trust", "export", "--home", root_home, "--out", str(tmp_path / "v2.cose")).code == 0
    key_args = ["--kid", kid, "--key-passphrase-file", str(tmp_path / "pass"), "--out", str(tmp_path / "k.key")]
    assert run_cli("trust", "export-key", "--home", root_home, *key_args).code == 0

    assert run_cli("init", "--admin", "amal", "--home", member_home).code == 0
    wrong = run_cli("trust", "join", "--home", member_home, str(tmp_path / "v2.cose"), "--root-fingerprint", "00" * 16)
    assert wrong.code == 26
    joined = run_cli(
        "trust", "join", "--home", member_home, "--json", str(tmp_path / "v2.cose"), "--root-fingerprint", fp
    )
    assert joined.code == 0 and joined.json()["network"] == "North" and not joined.json()["holds_root"]
    bad_pass = tmp_path / "bad"
    bad_pass.write_text("wrong passphrase here")
    assert (
        run_cli(
            "trust",
            "import-key",
            "--home",
            member_home,
            str(tmp_path / "k.key"),
            "--key-passphrase-file",
            str(bad_pass),
        ).code
        == 26
    )
    assert (
        run_cli(
            "trust",
            "import-key",
            "--home",
            member_home,
            str(tmp_path / "k.key"),
            "--key-passphrase-file",
            str(tmp_path / "pass"),
        ).code
        == 0
    )

    card = run_cli("card", "new", "--json", "--no-show-qr").json()["qr"]
    run_cli(
        "visit",
        "add",
        "--home",
        member_home,
        "--card",
        card,
        "--first-visit",
        "--entries",
        "-",
        stdin=json.dumps(THREE_DOSES),
    )
    [stub] = run_cli("cert", "issue", "--home", member_home, "--card", card, "--count", "1", "--json").json()[
        "certificates"
    ]
    checked = run_cli("cert", "verify", "--home", root_home, "--json", stub).json()
    assert checked["valid"] and checked["facts"]["issuer"]["label"] == "north"

    # a revocation at the root reaches the member through a newer list; an older list is refused
    assert run_cli("trust", "revoke", "--home", root_home, "--certificate", stub).code == 0
    assert run_cli("trust", "export", "--home", root_home, "--out", str(tmp_path / "v3.cose")).code == 0
    assert run_cli("trust", "import", "--home", member_home, str(tmp_path / "v3.cose")).code == 0
    assert run_cli("cert", "verify", "--home", member_home, "--json", stub).json()["reason"] == "revoked"
    rollback = run_cli("trust", "import", "--home", member_home, str(tmp_path / "v2.cose"))
    assert rollback.code == 26 and "older" in rollback.err


def test_issuing_keeps_no_record_of_what_was_issued(run_cli: Any, site: dict[str, str]) -> None:
    """Issuers keep no issuance log: a batch changes nothing in the database but one audit line (who, not whom)."""

    def tables() -> dict[str, Any]:
        doc = run_cli("seizure-view", "--json", "--full").json()
        return {t["name"]: t["rows"] for t in doc["tables"]}

    before = tables()
    issued = run_cli("cert", "issue", "--card", site["card"], "--count", "5", "--json")
    assert issued.code == 0, issued.err
    after = tables()
    assert set(before) == set(after)
    for name in before:
        if name == "settings":  # only the audit chain's head and the issuer's own count of the day moved
            moved = ("audit.head", daycount.PREFIX)
            assert [r for r in after[name] if not r[0].startswith(moved)] == [
                r for r in before[name] if not r[0].startswith(moved)
            ]
            own = [(r[0], len(r[1]["hex"])) for r in after[name] if r[0].startswith(daycount.PREFIX)]
            assert own == [(r[0], len(r[1]["hex"])) for r in before[name] if r[0].startswith(daycount.PREFIX)]
        elif name != "audit":
            assert after[name] == before[name], f"issuing changed table {name}"
    assert len(after["audit"]) == len(before["audit"]) + 2  # sealed: only a coordinator reads them
    entries = run_cli("audit", "show", "--json").json()["entries"]
    assert [(e["action"], e["count"]) for e in entries[-3:-1]] == [("seizure.view", 1), ("certificate.issue", 5)]
    dumped = json.dumps(after)
    from haven.certs import base45
    from haven.cli.trust import _cti_of

    for stub in issued.json()["certificates"]:
        assert base45.decode(stub)[-64:].hex() not in dumped  # no signature kept
        assert _cti_of(stub).hex() not in dumped  # no one-time id kept


def test_roles_guard_certificates_and_trust(run_cli: Any, site: dict[str, str], tmp_path: Path) -> None:
    secret = tmp_path / "reg"
    secret.write_text("mosquito velvet harbor eleven drastic\n")
    added = run_cli("staff", "add", "rina", "--role", "registrar", "--passphrase-file", str(secret))
    assert added.code == 0, added.err
    as_registrar = ["--passphrase-file", str(secret)]
    issue = run_cli("cert", "issue", "--card", site["card"], "--count", "1", *as_registrar)
    assert issue.code == 10 and "clinician" in issue.err
    assert run_cli("trust", "rotate", *as_registrar).code == 10
    assert run_cli("trust", "show", "--json", *as_registrar).code == 0  # the trust list is public anyway
