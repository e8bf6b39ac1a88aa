"""EU DCC: every vector in tests/vectors/eu-dcc agrees with its expected results."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from haven.certs import issuers
from haven.certs.result import Trust, refusal_doc
from haven.certs.verify import verify
from haven.errors import CertificateError, InputError
from tests.certkit import EU_DCC

FILES = sorted(EU_DCC.rglob("*.json"))


def load(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text("utf-8"))
    expected = dict(doc.get("EXPECTEDRESULTS") or {})
    # Quirks of the data: a misspelt key (it holds the expiry check's outcome) and a nested copy of the block.
    if "EXPTECTEDEXPIRED" in expected:
        expected.setdefault("EXPECTEDEXPIRATIONCHECK", expected.pop("EXPTECTEDEXPIRED"))
    expected.pop("EXPECTEDRESULTS", None)
    doc["expected"] = expected
    return doc


def result(doc: dict[str, Any]) -> dict[str, Any]:
    signers = issuers.load_signers(doc["TESTCTX"]["CERTIFICATE"].encode())
    at = dt.datetime.fromisoformat(doc["TESTCTX"]["VALIDATIONCLOCK"].replace("Z", "+00:00"))
    try:
        return verify(doc["PREFIX"], Trust(eudcc=signers), at).to_doc()
    except CertificateError as exc:
        return refusal_doc(exc)


def test_the_folder_holds_the_436_vectors() -> None:
    assert len(FILES) == 436


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(EU_DCC)))
def test_vector_agrees_with_its_expected_results(path: Path) -> None:
    doc = load(path)
    expected = doc["expected"]
    got = result(doc)
    assert got["format"] == "eu-dcc" or not doc["PREFIX"].startswith("HC1:")
    if expected.get("EXPECTEDVERIFY") is True:
        assert got["signature_valid"] is True, got
    if expected.get("EXPECTEDVERIFY") is False:
        assert (got["valid"], got["signature_valid"]) == (False, False), got
        assert got["reason"] in {"forged", "unknown-issuer", "malformed"}
    for layer in ("EXPECTEDUNPREFIX", "EXPECTEDB45DECODE", "EXPECTEDCOMPRESSION", "EXPECTEDDECODE"):
        if expected.get(layer) is False:
            assert got["reason"] == "malformed", (layer, got)
    if got["signature_valid"] and "EXPECTEDEXPIRATIONCHECK" in expected:
        in_time = got["reason"] not in ("expired", "not-yet-valid")
        assert in_time == expected["EXPECTEDEXPIRATIONCHECK"], got
    if got["signature_valid"] and expected.get("EXPECTEDKEYUSAGE") is False:
        assert got["reason"] == "unknown-issuer" and "key usage" in got["message"]
    if got["signature_valid"] and expected.get("EXPECTEDKEYUSAGE") is True:
        assert "key usage" not in got.get("message", "")


def test_most_vectors_are_fully_valid_and_state_their_facts_without_names() -> None:
    valid = 0
    for path in FILES:
        doc = load(path)
        got = result(doc)
        if not got["valid"]:
            continue
        valid += 1
        text = json.dumps(got["facts"])
        hcert = doc.get("JSON") or {}
        for name in ("fn", "gn"):
            value = (hcert.get("nam") or {}).get(name)
            if value:
                assert value not in text
        dates = {v["date"] for v in got["facts"]["vaccinations"]} | {t["date"] for t in got["facts"]["tests"]}
        if hcert.get("dob") and hcert["dob"] not in dates:
            assert hcert["dob"] not in text
        for field in ('"nam"', '"dob"', '"ci"', "urn:uvci", "URN:UVCI"):
            assert field not in text
    assert valid > 300


def test_a_known_vaccination_maps_to_the_catalogue() -> None:
    doc = load(EU_DCC / "common" / "2DCode" / "raw" / "CO1.json")
    got = result(doc)
    v = got["facts"]["vaccinations"][0]
    assert (v["product"], v["product_code"], v["disease"]) == ("comirnaty", "EU/1/20/1528", "covid-19")
    assert v["vaccine_type"] == "mRNA"


def test_signers_load_from_pem_der_and_base64() -> None:
    doc = load(EU_DCC / "common" / "2DCode" / "raw" / "CO1.json")
    der = base64.b64decode(doc["TESTCTX"]["CERTIFICATE"])
    pem = b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der) + b"-----END CERTIFICATE-----\n"
    for data in (der, pem, doc["TESTCTX"]["CERTIFICATE"].encode()):
        [signer] = issuers.load_signers(data)
        assert signer.der == der
    with pytest.raises(InputError):
        issuers.load_signers(b"not a certificate")


def test_without_the_signer_the_issuer_is_unknown_and_a_wrong_clock_is_expired() -> None:
    doc = load(EU_DCC / "common" / "2DCode" / "raw" / "CO1.json")
    with pytest.raises(CertificateError) as refused:
        verify(doc["PREFIX"], Trust(), dt.datetime(2021, 6, 1, tzinfo=dt.UTC))
    assert refused.value.code == "unknown-issuer"
    signers = issuers.load_signers(doc["TESTCTX"]["CERTIFICATE"].encode())
    with pytest.raises(CertificateError) as late:
        verify(doc["PREFIX"], Trust(eudcc=signers), dt.datetime(2040, 1, 1, tzinfo=dt.UTC))
    assert late.value.code == "expired" and late.value.signature_valid


def signers_ending_in_every_byte() -> dict[int, bytes]:
    """DER signer certificates (a country outside the test data), one whose last byte is each value 0..255.

    The last byte is the signature's, so certificates differing in serial number end in every byte soon.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.derive_private_key(0x4B45, ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "KE"), x509.NameAttribute(NameOID.COMMON_NAME, "DSC")])
    base = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .not_valid_before(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2028, 1, 1, tzinfo=dt.UTC))
    )
    by_last: dict[int, bytes] = {}
    serial = 1
    while len(by_last) < 256:
        assert serial < 20_000, f"only {len(by_last)} end bytes seen"
        der = base.serial_number(serial).sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        by_last.setdefault(der[-1], der)
        serial += 1
    return by_last


def test_a_der_signer_is_read_exactly_whatever_byte_it_ends_in() -> None:
    """A DER file is never trimmed: one ending in a whitespace byte (09-0d, 20) was cut and refused."""
    for last, der in signers_ending_in_every_byte().items():
        [signer] = issuers.load_signers(der)
        assert (signer.der, signer.der[-1]) == (der, last)
        assert signer.kid == hashlib.sha256(der).digest()[:8]
        assert signer.cert.subject.rfc4514_string() == "CN=DSC,C=KE"


def test_trust_add_issuer_takes_a_der_file_ending_in_a_newline_byte(run_cli: Any, tmp_path: Path) -> None:
    der = signers_ending_in_every_byte()[0x0A]
    path = tmp_path / "dsc-ke.der"
    path.write_bytes(der)
    assert path.read_bytes()[-1:] == b"\n"
    assert run_cli("init", "--admin", "amal").code == 0
    added = run_cli("trust", "add-issuer", "--json", str(path))
    assert added.code == 0, added.err
    [signer] = added.json()["signers"]
    assert signer["kid"] == base64.b64encode(hashlib.sha256(der).digest()[:8]).decode()
    verified = run_cli("cert", "verify", "--json", "--issuer-cert", str(path), "HC1:NCF")
    assert verified.json()["reason"] == "malformed"  # the file was read; the text is no certificate
