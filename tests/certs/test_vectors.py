"""Replay tests/vectors/haven-certificates.json byte for byte (made by scripts/make_cert_vectors.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from haven.certs import base45, cose
from haven.certs.batch import issue_batch
from haven.certs.claims import Facts, TestFact, VaccinationFact
from haven.certs.result import Trust
from haven.certs.signing_keys import public_bytes
from haven.certs.trust import SigningKey, parse_trust_list
from haven.certs.verify import verify
from haven.errors import CertificateError

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "haven-certificates.json").read_text("utf-8"))
NOW = dt.datetime.fromisoformat(VECTORS["now"])


def _facts(doc: dict[str, Any]) -> Facts:
    return Facts(
        tuple(
            VaccinationFact(
                tuple(v["diseases"]),
                v["vaccine_type"],
                v["product"],
                v["dose"],
                v["of"],
                dt.date.fromisoformat(v["date"]),
            )
            for v in doc["vaccinations"]
        ),
        tuple(TestFact(t["disease"], t["test"], t["result"], dt.date.fromisoformat(t["date"])) for t in doc["tests"]),
    )


def _signer() -> SigningKey:
    private = ec.derive_private_key(int(VECTORS["signer_private_scalar"], 16), ec.SECP256R1())
    return SigningKey(private, VECTORS["signer_label"], VECTORS["signer_not_before"], VECTORS["signer_not_after"])


def _trust() -> Trust:
    root = ec.derive_private_key(int(VECTORS["root_private_scalar"], 16), ec.SECP256R1())
    return Trust(haven=parse_trust_list(bytes.fromhex(VECTORS["trust_list"]), public_bytes(root)))


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["description"])
def test_issuing_the_vector_again_gives_the_same_bytes(vector: dict[str, Any]) -> None:
    signer = _signer()
    assert signer.kid.hex() == VECTORS["signer_kid"]
    [text] = issue_batch(
        _facts(vector["facts"]), signer, int(NOW.timestamp()), 1, lambda n: bytes.fromhex(vector["cti"])
    )
    assert text == vector["text"]
    signed = cose.decode_sign1(base45.decode(text), canonical=True)
    assert base45.decode(text).hex() == vector["cose"]
    assert (signed.protected_bytes.hex(), signed.payload.hex(), signed.signature.hex()) == (
        vector["protected"],
        vector["payload"],
        vector["signature"],
    )


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["description"])
def test_each_vector_verifies_and_states_its_facts(vector: dict[str, Any]) -> None:
    result = verify(vector["text"], _trust(), NOW)
    assert result.format == "haven"
    facts = _facts(vector["facts"])
    assert [v["product"] for v in result.to_doc()["facts"]["vaccinations"]] == [v.product for v in facts.vaccinations]
    assert [t["result"] for t in result.to_doc()["facts"]["tests"]] == [t.result for t in facts.tests]
    assert result.to_doc()["facts"]["issuer"]["kid"] == VECTORS["signer_kid"]


@pytest.mark.parametrize("vector", VECTORS["negative"], ids=lambda v: v["description"])
def test_each_negative_vector_is_refused_for_its_reason(vector: dict[str, Any]) -> None:
    with pytest.raises(CertificateError) as refused:
        verify(vector["text"], _trust(), dt.datetime.fromisoformat(vector["at"]))
    assert refused.value.code == vector["expect"]["reason"]
