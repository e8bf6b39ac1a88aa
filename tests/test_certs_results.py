"""Results: typed facts in every format, one JSON form, and external issuers read at the edge from bytes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from haven.certs import issuers
from haven.certs.eudcc import DccTest
from haven.certs.facts import ForeignFacts, ForeignVaccination, compact
from haven.certs.haven_format import HavenFacts
from haven.certs.result import Trust, Verified
from haven.certs.trust_settings import NO_TRUST_SETTINGS, trust_from_settings
from haven.certs.verify import verify
from haven.cli import certs as cli_certs
from haven.cli.issuer_files import read_issuer, read_shc_issuer
from haven.errors import InputError
from tests.certkit import EU_DCC, SHC, SHC_JWKS, network
from tests.helpers_clock import NOW

SITE = network(seed=5)
STUB = SITE.certs.issue(SITE.holder(), count=1)[0]
DCC = json.loads((EU_DCC / "common" / "2DCode" / "raw" / "CO1.json").read_text("utf-8"))
DCC_AT = dt.datetime.fromisoformat(DCC["TESTCTX"]["VALIDATIONCLOCK"].replace("Z", "+00:00"))
DCC_TEST = json.loads((EU_DCC / "DE" / "2DCode" / "raw" / "2.json").read_text("utf-8"))  # a test certificate
IN_2023 = dt.datetime(2023, 7, 1, tzinfo=dt.UTC)


def shc_text(n: int) -> str:
    return " ".join(
        p.read_text("utf-8").strip() for p in sorted(SHC.glob(f"example-0{n}-f-qr-code-numeric-value-*.txt"))
    )


def signers_of(doc: dict[str, Any]) -> tuple[issuers.Signer, ...]:
    return tuple(issuers.load_signers(doc["TESTCTX"]["CERTIFICATE"].encode()))


def verified_in_every_format() -> dict[str, Verified]:
    shc_issuer = read_shc_issuer(SHC_JWKS)
    without_crl = dataclasses.replace(shc_issuer, crls={})
    test_at = dt.datetime.fromisoformat(DCC_TEST["TESTCTX"]["VALIDATIONCLOCK"].replace("Z", "+00:00"))
    return {
        "haven": verify(STUB, SITE.certs.trust(), NOW),
        "eu-dcc": verify(DCC["PREFIX"], Trust(eudcc=list(signers_of(DCC))), DCC_AT),
        "eu-dcc test": verify(DCC_TEST["PREFIX"], Trust(eudcc=list(signers_of(DCC_TEST))), test_at),
        "shc": verify(shc_text(0), Trust(shc={shc_issuer.iss: shc_issuer}), NOW),
        "shc chunks": verify(shc_text(2), Trust(shc={shc_issuer.iss: shc_issuer}), NOW),
        "shc file": verify(
            (SHC / "example-01-e-file.smart-health-card").read_text("utf-8"),
            Trust(shc={shc_issuer.iss: shc_issuer}),
            NOW,
        ),
        "shc warning": verify(shc_text(3), Trust(shc={without_crl.iss: without_crl}), IN_2023),
    }


VERIFIED = verified_in_every_format()


@pytest.mark.parametrize("name", VERIFIED)
def test_a_result_has_one_json_form_its_document(name: str) -> None:
    result = VERIFIED[name]
    assert result.to_json() == compact(result.to_doc())
    assert json.loads(result.facts.to_json()) == result.to_doc()["facts"]
    if name == "shc warning":
        assert result.warnings and result.to_doc()["warnings"] == list(result.warnings)


@pytest.mark.parametrize("name", VERIFIED)
def test_facts_are_typed_and_read_alike_whatever_the_format(name: str) -> None:
    """A caller reads vaccinations, tests and the signer without knowing the format; nothing is a bare dict."""
    facts = VERIFIED[name].facts
    assert dataclasses.is_dataclass(facts)
    assert isinstance(facts, HavenFacts if name == "haven" else ForeignFacts)
    doc = facts.to_doc()
    assert [v.to_doc() for v in facts.vaccinations] == doc["vaccinations"]
    assert [t.to_doc() for t in facts.tests] == doc["tests"]
    assert facts.issuer.to_doc() == doc["issuer"]
    for row in (*facts.vaccinations, *facts.tests, facts.issuer):
        assert dataclasses.is_dataclass(row) and not isinstance(row, dict)


def test_each_format_states_its_own_rows() -> None:
    assert [v.product for v in VERIFIED["haven"].facts.vaccinations] == ["comirnaty"] * 3
    dcc = VERIFIED["eu-dcc"].facts
    assert isinstance(dcc, ForeignFacts) and dcc.vaccinations[0].product == "comirnaty"
    test = VERIFIED["eu-dcc test"].facts.tests[0]
    assert isinstance(test, DccTest) and "sample_time" in test.to_doc()
    inferred = VERIFIED["shc"].facts.vaccinations
    assert all(isinstance(v, ForeignVaccination) for v in inferred)
    assert [v.dose for v in inferred if isinstance(v, ForeignVaccination)] == [1, 2, 3]


def test_external_issuers_travel_to_worker_processes_whole() -> None:
    """What the CLI read from --issuer-cert files is pickled as it is (a signer as its DER) and trusted the same."""
    extra = (signers_of(DCC), read_shc_issuer(SHC_JWKS))
    unpickled = pickle.loads(pickle.dumps(extra))
    assert [s.der for s in unpickled[0]] == [s.der for s in extra[0]]
    assert unpickled[1] == extra[1]
    trust = trust_from_settings(NO_TRUST_SETTINGS, unpickled)
    assert verify(DCC["PREFIX"], trust, DCC_AT).to_json() == VERIFIED["eu-dcc"].to_json()
    assert verify(shc_text(0), trust, NOW).to_json() == VERIFIED["shc"].to_json()


def test_a_jwks_is_read_from_bytes_and_its_revocation_lists_added_one_by_one() -> None:
    data = SHC_JWKS.read_bytes()
    bare = issuers.read_jwks(data, "jwks.json")
    read = read_shc_issuer(SHC_JWKS)  # the edge: the file, then crl/<kid>.json beside it
    assert (bare.iss, bare.keys, bare.crls) == (read.iss, read.keys, {})
    [kid] = read.crls
    crl = (SHC_JWKS.parent / "crl" / f"{kid}.json").read_bytes()
    assert issuers.with_revocation_list(bare, kid, crl, "crl.json") == read
    with pytest.raises(InputError, match=r"^elsewhere\.json is not a revocation list for key other\.$"):
        issuers.with_revocation_list(bare, "other", crl, "elsewhere.json")
    with pytest.raises(InputError, match=r"^The JWKS file named\.json cannot be read: 'utf-8' codec"):
        issuers.read_jwks(b"\xff{", "named.json")
    assert read_issuer(SHC_JWKS) == read
    assert read_issuer(SHC_JWKS, "https://example.org/iss") == dataclasses.replace(read, iss="https://example.org/iss")


def test_an_unreadable_issuer_file_is_one_line_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "issuer"
    folder.mkdir()
    with pytest.raises(InputError, match=r"^The file .*issuer cannot be read: Is a directory\.$"):
        read_issuer(folder)


@pytest.mark.slow
def test_worker_processes_trust_the_issuer_files_given(
    run_cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dsc = tmp_path / "dsc.b64"
    dsc.write_text(DCC["TESTCTX"]["CERTIFICATE"])
    data = "\n".join([DCC["PREFIX"], shc_text(0), shc_text(3), "garbage"] * 3) + "\n"
    args = ["cert", "verify", "--issuer-cert", str(dsc)]
    args += ["--issuer-cert", str(SHC_JWKS)]  # no site: external issuers only
    alone = run_cli(*args, "-", stdin=data)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data.encode()), encoding="utf-8", newline="\n"))
    monkeypatch.setattr(cli_certs, "READ_SIZE", 200)  # several batches, each shared by the workers
    shared = run_cli(*args, "--workers", "2", "-")
    assert (shared.code, shared.out) == (alone.code, alone.out)
    results = [json.loads(line) for line in alone.out.splitlines()]
    assert [(r["format"], r["reason"], r["signature_valid"]) for r in results[:4]] == [
        ("eu-dcc", "expired", True),  # the signer file reached the workers (long expired, but signed by it)
        ("shc", None, True),  # and the JWKS
        ("shc", "revoked", True),  # and its revocation list
        (None, "malformed", False),
    ]
