"""SMART Health Cards: the spec's examples and the dev-tools cases.

Haven refuses what the SMART dev-tools report as errors (their test suite,
tests/card.test.ts) and accepts what they report only as warnings, except
QR chunking, which the spec deprecates but its own example 02 uses.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from haven.certs import issuers
from haven.certs.result import Trust
from haven.certs.verify import verify
from haven.cli.issuer_files import read_shc_issuer
from haven.errors import CertificateError, InputError
from tests.certkit import SHC, SHC_JWKS
from tests.helpers_clock import NOW

IN_2023 = dt.datetime(2023, 7, 1, tzinfo=dt.UTC)
DEV = SHC / "dev-tools-testdata"
ISSUER = read_shc_issuer(SHC_JWKS)
TRUST = Trust(shc={ISSUER.iss: ISSUER})


def read(path: Path) -> str:
    # Files end with no newline, or with one that is not part of the card; leading whitespace is kept.
    return path.read_text("utf-8").removesuffix("\n")


def example(n: int) -> str:
    return " ".join(read(p) for p in sorted(SHC.glob(f"example-0{n}-f-qr-code-numeric-value-*.txt")))


def reason(text: str, trust: Trust = TRUST, at: dt.datetime = NOW) -> str | None:
    try:
        verify(text, trust, at)
    except CertificateError as exc:
        return exc.code
    return None


def test_the_issuer_is_bound_to_the_url_its_certificate_names() -> None:
    assert ISSUER.iss == "https://spec.smarthealth.cards/examples/issuer"
    assert "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s" in ISSUER.crls


@pytest.mark.parametrize("n", [0, 1, 2])
def test_examples_00_to_02_verify(n: int) -> None:
    result = verify(example(n), TRUST, NOW)
    assert result.format == "shc"
    assert result.to_doc()["facts"]["issuer"]["iss"] == ISSUER.iss


def test_example_02_verifies_from_chunks_in_any_order() -> None:
    chunks = example(2).split(" ")
    assert verify(" ".join(reversed(chunks)), TRUST, NOW).format == "shc"


def test_example_00_states_three_moderna_doses_and_no_name() -> None:
    facts = verify(example(0), TRUST, NOW).to_doc()["facts"]
    assert [(v["product"], v["dose"], v["date"]) for v in facts["vaccinations"]] == [
        ("spikevax", 1, "2021-01-01"),
        ("spikevax", 2, "2021-01-29"),
        ("spikevax", 3, "2022-09-05"),
    ]
    assert "Anyperson" not in str(facts) and "birthDate" not in str(facts)


def test_example_03_is_revoked_by_its_issuers_revocation_list() -> None:
    with pytest.raises(CertificateError) as refused:
        verify(example(3), TRUST, NOW)
    assert refused.value.code == "revoked" and refused.value.signature_valid


def test_the_jws_and_file_forms_verify_too() -> None:
    assert verify(read(SHC / "example-00-d-jws.txt"), TRUST, NOW).format == "shc"
    assert verify(read(SHC / "example-01-e-file.smart-health-card"), TRUST, NOW).format == "shc"


def test_a_card_issued_after_the_revocation_time_is_not_revoked(tmp_path: Path) -> None:
    folder = tmp_path / ".well-known"
    shutil.copytree(SHC_JWKS.parent, folder)
    crl = folder / "crl" / "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s.json"
    crl.write_text(crl.read_text().replace("vwAjHdarZuc.1687450765", "vwAjHdarZuc.1600000000"))
    issuer = read_shc_issuer(folder / "jwks.json")
    assert reason(example(3), Trust(shc={issuer.iss: issuer}), at=IN_2023) is None
    assert reason(example(3), Trust(shc={issuer.iss: issuer})) == "expired"  # example 03 also has an expiry


def test_without_the_revocation_list_the_card_verifies_with_a_warning(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    shutil.copy(SHC_JWKS, jwks)
    issuer = read_shc_issuer(jwks)
    result = verify(example(3), Trust(shc={issuer.iss: issuer}), IN_2023)
    assert result.warnings and "revocation" in result.warnings[0]


def test_a_jwks_that_does_not_name_its_issuer_needs_one(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text((DEV / "valid_keys.json").read_text())
    with pytest.raises(InputError, match="which issuer"):
        read_shc_issuer(jwks)
    assert read_shc_issuer(jwks, "https://example.org/iss").iss == "https://example.org/iss"


def test_nbf_in_the_future_is_not_yet_valid() -> None:
    assert reason(example(0), at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)) == "not-yet-valid"


# Expected outcome of every dev-tools case (single files; the chunk sets are below).
DEV_CASES = {
    "test-example-00-d-jws-bad-fhir-metadata.txt": None,  # a FHIR warning only
    "test-example-00-d-jws-der-signature-r-neg.txt": "malformed",
    "test-example-00-d-jws-der-signature-rs-neg.txt": "malformed",
    "test-example-00-d-jws-der-signature-s-neg.txt": "malformed",
    "test-example-00-d-jws-der-signature.txt": "malformed",
    "test-example-00-d-jws-invalid-signature.txt": "forged",
    "test-example-00-d-jws-issuer-kid-mismatch.txt": "unknown-issuer",
    "test-example-00-d-jws-issuer-not-valid-with-smart-key.txt": "unknown-issuer",
    "test-example-00-d-jws-jws_too_long.txt": "unknown-issuer",  # signed for another iss than the key's
    "test-example-00-d-jws-no_deflate.txt": "malformed",
    "test-example-00-d-jws-no_jws_header_alg.txt": "malformed",
    "test-example-00-d-jws-no_jws_header_kid.txt": "malformed",
    "test-example-00-d-jws-no_jws_header_zip.txt": "malformed",
    "test-example-00-d-jws-trailing_chars.txt": "malformed",
    "test-example-00-d-jws-utf8_bom_prefix.txt": "malformed",
    "test-example-00-d-jws-wrong_jws_header_kid.txt": "unknown-issuer",
    "test-example-00-e-file-bad_jwks.smart-health-card": "unknown-issuer",
    "test-example-00-e-file-invalid_deflate.smart-health-card": "malformed",
    "test-example-00-e-file-invalid_issuer_url.smart-health-card": "unknown-issuer",
    "test-example-00-e-file-invalid_issuer_url_http.smart-health-card": "unknown-issuer",
    "test-example-00-e-file-issuer_url_with_trailing_slash.smart-health-card": "unknown-issuer",
    "test-example-00-e-file-jws_too_long.smart-health-card": "unknown-issuer",
    "test-example-00-e-file-multi-jws-issues.smart-health-card": "malformed",
    "test-example-00-e-file-multi-jws.smart-health-card": None,  # valid in dev-tools too
    "test-example-00-e-file-no_deflate.smart-health-card": "malformed",
    "test-example-00-e-file-trailing_chars.smart-health-card": "malformed",
    "test-example-00-f-qr-code-numeric-value-0-number-too-big.txt": "malformed",
    "test-example-00-f-qr-code-numeric-value-0-odd-count.txt": "malformed",
    "test-example-00-f-qr-code-numeric-value-0-trailing_chars.txt": "malformed",
    "test-example-00-f-qr-code-numeric-value-0-wrong-multi-chunk.txt": None,  # 'shc:/1/1/': a warning only
    "test-example-00-f-qr-code-numeric-value-0-wrong_qr_header.txt": "malformed",
    "test-example-1195-byte-qrnumeric.txt": None,  # exactly the single-QR limit
}


def test_every_dev_tools_case_is_listed() -> None:
    singles = {p.name for p in DEV.glob("test-*") if "chunk_too" not in p.name and "out-of-range" not in p.name}
    assert singles - {"test-issuers.json"} == set(DEV_CASES)


@pytest.mark.parametrize(("name", "expected"), sorted(DEV_CASES.items()))
def test_dev_tools_case(name: str, expected: str | None) -> None:
    assert reason(read(DEV / name)) == expected


def _chunks(pattern: str) -> list[str]:
    def index(p: Path) -> int:
        return int(p.name.split("value-")[1].split("-")[0])

    return [read(p) for p in sorted(DEV.glob(pattern), key=index)]


def test_chunks_too_big_for_one_qr_code_are_malformed() -> None:
    assert reason(" ".join(_chunks("test-example-02-f-qr-code-numeric-value-*-qr_chunk_too_big.txt"))) == "malformed"


def test_many_small_chunks_are_accepted() -> None:
    chunks = _chunks("test-example-00-f-qr-code-numeric-value-*-qr_chunk_too_small.txt")
    assert len(chunks) == 17
    assert reason(" ".join(chunks)) is None


@pytest.mark.parametrize(
    "texts",
    [
        [
            "test-example-00-f-qr-code-numeric-value-0-index-out-of-range.txt",
            "../example-02-f-qr-code-numeric-value-1.txt",
        ],
        ["../example-02-f-qr-code-numeric-value-0.txt", "../example-02-f-qr-code-numeric-value-2.txt"],
        [
            "../example-02-f-qr-code-numeric-value-0.txt",
            "../example-02-f-qr-code-numeric-value-2.txt",
            "../example-02-f-qr-code-numeric-value-0.txt",
        ],
    ],
    ids=["index-out-of-range", "missing-chunk", "duplicated-chunk"],
)
def test_broken_chunk_sets_are_malformed(texts: list[str]) -> None:
    assert reason(" ".join(read(DEV / t) for t in texts)) == "malformed"


def test_every_bit_flip_of_the_signature_is_forged() -> None:
    jws = read(SHC / "example-00-d-jws.txt")
    head, body, sig = jws.split(".")
    raw = issuers.b64url(sig)
    import base64

    for i in range(0, len(raw) * 8, 7):
        changed = bytearray(raw)
        changed[i // 8] ^= 1 << (i % 8)
        text = f"{head}.{body}." + base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode()
        assert reason(text) == "forged"


def test_alg_swapped_is_forged() -> None:
    import base64
    import json

    jws = read(SHC / "example-00-d-jws.txt")
    head, body, sig = jws.split(".")
    header = json.loads(issuers.b64url(head))
    for alg in ("none", "HS256", "ES384"):
        swapped = base64.urlsafe_b64encode(json.dumps({**header, "alg": alg}).encode()).rstrip(b"=").decode()
        assert reason(f"{swapped}.{body}.{sig}") == "forged"
