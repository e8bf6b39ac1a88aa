"""The verifier's foreign issuers: signed by an epoch key of the trust list, kept in memory, served while locked."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from haven.cert_services import Certificates
from haven.certs import base45, cose, issuers
from haven.certs.result import Trust
from haven.certs.verify import verify
from haven.cli.issuer_files import read_shc_issuer
from haven.errors import CertificateError
from haven.web import WebSite
from haven.web.foreign_trust import CONTENT_TYPE, CRL_OK
from tests.certkit import EU_DCC, SHC_JWKS
from tests.helpers_clock import NOW
from tests.web.conftest import PASSPHRASES

URL = "/verify/foreign-trust"
CO1 = json.loads((EU_DCC / "common" / "2DCode" / "raw" / "CO1.json").read_text("utf-8"))


def opened(body: bytes, site: WebSite) -> dict[int, Any]:
    """The document's payload, once its signature checks against the key of the trust list it names."""
    protected, unprotected, payload, signature = cbor2.loads(body)
    header = cbor2.loads(protected)
    assert header == {1: cose.ES256, 3: CONTENT_TYPE, 4: header[4]} and unprotected == {}
    listed = Certificates(site.store).trust_list()
    assert listed is not None
    key = listed.key(header[4])
    assert key is not None, "signed by a key the trust list does not name"
    cose.verify_signature(cose.ES256, key.public_key(), cose.sig_structure(protected, payload), signature, "haven")
    doc: dict[int, Any] = cbor2.loads(payload)
    assert doc[1] == listed.network
    return doc


def add_issuers(site: WebSite, tmp_path: Path) -> None:
    Certificates(site.store).add_issuer(issuers.load_signers(CO1["TESTCTX"]["CERTIFICATE"].encode()))
    Certificates(site.store).add_issuer(read_shc_issuer(SHC_JWKS))


def test_none_until_a_member_whose_roles_sign_signs_in(client: TestClient, signed_in: Callable[[str], str]) -> None:
    assert client.get(URL).status_code == 404  # the sign-in before the app started was not seen
    signed_in("registrar")  # opens no signing key
    missing = client.get(URL)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not-found"
    signed_in("clinician")
    r = client.get(URL)
    assert r.status_code == 200 and r.headers["content-type"] == "application/cbor"
    assert r.headers["cache-control"] == "no-cache"


def test_issuers_added_appear_signed_as_python_reads_them(
    client: TestClient, signed_in: Callable[[str], str], site: WebSite, tmp_path: Path
) -> None:
    signed_in("clinician")
    empty = opened(client.get(URL).content, site)
    assert (empty[2], empty[3], empty[4]) == (int(NOW.timestamp()) // 3600 * 3600, [], [])
    add_issuers(site, tmp_path)  # while the server runs (as from a terminal): the next request signs again
    doc = opened(client.get(URL).content, site)
    [dsc] = issuers.load_signers(CO1["TESTCTX"]["CERTIFICATE"].encode())
    public = dsc.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    [signer] = doc[3]
    assert signer[:3] == [dsc.kid, "RSA", public]  # this vector's signer: PS256
    validity = (dsc.cert.not_valid_before_utc, dsc.cert.not_valid_after_utc)
    assert signer[3:5] == [int(moment.timestamp()) for moment in validity]
    assert signer[5] == "".join(sorted(dsc.allowed_types()))
    issuer = read_shc_issuer(SHC_JWKS)
    [[iss, keys]] = doc[4]
    assert iss == issuer.iss and [k[0] for k in keys] == list(issuer.keys)
    revoking = next(k for k in keys if k[3] is not None)
    assert revoking[3] == issuer.crls[revoking[0]]["rids"] and revoking[4] == CRL_OK
    jwk = issuer.keys[revoking[0]]
    assert (revoking[1], revoking[2]) == (issuers.b64url(jwk["x"]), issuers.b64url(jwk["y"]))


def test_served_while_locked_and_forgotten_after_panic(
    client: TestClient, signed_in: Callable[[str], str], site: WebSite
) -> None:
    signed_in("clinician")
    body = client.get(URL).content
    site.lock()
    assert client.get(URL).content == body
    site.panic()
    assert client.get(URL).status_code == 404


def test_the_document_is_never_read_as_a_certificate(
    client: TestClient, signed_in: Callable[[str], str], site: WebSite
) -> None:
    signed_in("clinician")
    body = client.get(URL).content
    trust = Trust(haven=Certificates(site.store).trust_list())
    with pytest.raises(CertificateError) as refused:
        verify(base45.encode(body), trust, NOW)
    assert refused.value.code == "malformed"


def test_sign_ins_and_requests_for_the_document_at_once_never_wait_on_each_other(
    app: Any, site: WebSite, signed_in: Callable[[str], str]
) -> None:
    keeper = app.state.foreign_trust
    signed_in("clinician")
    stop = threading.Event()
    served: list[bytes | None] = []

    def ask() -> None:
        while not stop.is_set():
            served.append(keeper.document())

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    started = time.monotonic()
    for _ in range(20):  # each sign-in signs again under the site's lock while the other thread asks
        site.sign_in("clinician", PASSPHRASES["clinician"])
    stop.set()
    asking.join(10)
    assert not asking.is_alive() and time.monotonic() - started < 30
    assert served and all(body is not None for body in served)
