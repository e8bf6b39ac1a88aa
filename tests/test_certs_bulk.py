"""Bulk verification: the fast paths give exactly the results of the reference ones, and the CLI streams."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from haven.certs import base45, claims, cose
from haven.certs.bulk import BulkVerifier
from haven.certs.claims import CLAIM_FACTS, Claims, decode_claims
from haven.certs.result import Trust, refusal_json
from haven.certs.verify import verify
from haven.cli import certs as cli_certs
from haven.errors import CertificateError, MalformedCertificate
from haven.exit_codes import exit_code
from tests.certkit import EU_DCC, SHC, network
from tests.helpers_clock import NOW

SITE = network(seed=11)
STUBS = SITE.certs.issue(SITE.holder(), count=4)
PAYLOAD = cose.split_canonical_sign1(base45.decode(STUBS[0]))[1]
FACTS = cbor2.loads(PAYLOAD)[CLAIM_FACTS]


def outcome(run: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", run(*args)
    except MalformedCertificate as exc:
        return "malformed", exc.message


def signed(payload: bytes, site: Any = SITE) -> str:
    """A stub with a valid signature over any payload, as a key of ``site`` would sign it."""
    key = site.certs.current_key()
    return base45.encode(
        cose.encode_sign1(key.private, {cose.HEADER_ALG: cose.ES256, cose.HEADER_KID: key.kid}, payload)
    )


def reference_result(text: str, trust: Trust, now: dt.datetime) -> tuple[str, int]:
    """What ``haven cert verify -`` printed for a line before bulk verification was batched."""
    try:
        return verify(text, trust, now).to_json(), 0
    except CertificateError as exc:
        return refusal_json(exc), exit_code(exc)


# ---------------------------------------------------------------- the fast readers against the reference ones

PAYLOADS = [
    PAYLOAD,
    cbor2.dumps({4: 5, 6: 2, 7: bytes(12), CLAIM_FACTS: FACTS}, canonical=True),  # one-byte integers
    cbor2.dumps({4: 300, 6: 200, 7: bytes(12), CLAIM_FACTS: FACTS}, canonical=True),
    cbor2.dumps({4: 2**40, 6: 2**33, 7: bytes(12), CLAIM_FACTS: FACTS}, canonical=True),  # beyond 2106
    cbor2.dumps({4: 0x10000, 6: 0xFFFFFFFF, 7: bytes(12), CLAIM_FACTS: FACTS}, canonical=True),
]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(PAYLOADS),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=3),
    st.integers(0, 3),
    st.binary(max_size=3),
)
def test_claims_read_in_place_equal_the_decode_and_re_encode_reading(
    base: bytes, changes: list[tuple[int, int]], cut: int, tail: bytes
) -> None:
    payload = bytearray(base)
    for at, value in changes:
        if at < len(payload):
            payload[at] = value
    data = bytes(payload[: len(payload) - cut]) + tail
    assert outcome(decode_claims, data) == outcome(claims._decode_claims_reference, data)


def test_the_in_place_reading_covers_haven_stubs_and_leaves_other_integer_sizes_to_the_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(payload: bytes) -> Claims:
        raise AssertionError("the reference decoder ran")

    assert decode_claims(PAYLOAD).exp > 0x10000
    monkeypatch.setattr(claims, "_decode_claims_reference", refuse)
    decode_claims(PAYLOAD)
    for other in PAYLOADS[1:4]:
        with pytest.raises(AssertionError):
            decode_claims(other)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(alphabet=base45.ALPHABET, max_size=40), st.text(max_size=12)))
def test_base45_fast_decoding_equals_the_reference_decoder(text: str) -> None:
    assert outcome(base45.decode, text) == outcome(base45._decode_slowly, text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=40).map(base45.encode),
            st.text(alphabet=base45.ALPHABET, max_size=12),
            st.sampled_from(STUBS),
        ),
        max_size=8,
    )
)
def test_base45_for_a_batch_is_each_text_decoded_or_none_if_one_fails(texts: list[str]) -> None:
    alone = [outcome(base45.decode, text) for text in texts]
    if all(kind == "ok" for kind, _ in alone):
        assert base45.decode_many(texts) == [value for _, value in alone]
    else:
        assert base45.decode_many(texts) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_base45_round_trips(data: bytes) -> None:
    assert base45.decode(base45.encode(data)) == data


def reference_sign1(raw: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    protected, payload, signature = cose.split_canonical_sign1(raw)
    return protected, payload, signature, cose.sig_structure(protected, payload)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_the_usual_cose_layout_is_read_as_the_general_reader_reads_it(data: st.DataObject) -> None:
    raw = bytearray(base45.decode(data.draw(st.sampled_from(STUBS))))
    for _ in range(data.draw(st.integers(0, 2))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, 2))
    mutated = bytes(raw[: len(raw) - cut]) + data.draw(st.binary(max_size=2))
    assert outcome(cose.read_canonical_sign1, mutated) == outcome(reference_sign1, mutated)


@settings(max_examples=500, deadline=None)
@given(st.binary(min_size=64, max_size=64), st.integers(0, 64), st.integers(0, 64))
def test_p256_der_equals_the_library_encoder(signature: bytes, r_zeros: int, s_zeros: int) -> None:
    r = bytes(min(r_zeros, 32)) + signature[min(r_zeros, 32) : 32]  # leading zero bytes, up to all of r
    s = bytes(min(s_zeros, 32)) + signature[32 + min(s_zeros, 32) :]
    for candidate in (signature, r + s):
        expected = encode_dss_signature(int.from_bytes(candidate[:32], "big"), int.from_bytes(candidate[32:], "big"))
        assert cose.p256_der(candidate) == expected


# ---------------------------------------------------------------- batched results against one-at-a-time ones


def mixed_lines() -> tuple[list[str], Trust]:
    """Valid certificates and every kind of refusal, mixed, and the trust they are checked against."""
    site = network(seed=12)
    good = site.certs.issue(site.holder(), count=6)
    raw = base45.decode(good[0])
    forged = bytearray(raw)
    forged[-1] ^= 1
    payload_flip = bytearray(raw)
    payload_flip[40] ^= 4
    stranger = network(seed=99)
    revoked_one = good[5]
    site.certs.revoke(cti=decode_claims(cose.split_canonical_sign1(base45.decode(revoked_one))[1]).cti)
    weird = [
        cbor2.dumps({4: 5, 6: 2, 7: bytes(12), CLAIM_FACTS: FACTS}, canonical=True),  # valid, long expired
        cbor2.dumps({4: 2_000_000_000, 6: 1_700_000_000, 7: bytes(11), CLAIM_FACTS: FACTS}, canonical=True),
        cbor2.dumps({4: 2_000_000_000, 6: 1_700_000_000, 7: bytes(12), CLAIM_FACTS: {}}, canonical=True),
        cbor2.dumps({4: 2_000_000_000, 6: 1_700_000_000, 7: bytes(12), CLAIM_FACTS: FACTS, 8: 1}, canonical=True),
        PAYLOAD[:-1] + b"\x00",
        PAYLOAD + b"\x00",
        b"\xa4" + cbor2.dumps(4) + b"\x1b" + (2_000_000_000).to_bytes(8, "big") + PAYLOAD[7:],  # long form
    ]
    eu = json.loads((EU_DCC / "common" / "2DCode" / "raw" / "CO1.json").read_text())["PREFIX"]
    shc = (SHC / "example-00-f-qr-code-numeric-value-0.txt").read_text().strip()
    lines = [
        *good,
        base45.encode(bytes(forged)),
        base45.encode(bytes(payload_flip)),
        good[1][:-3],
        good[2] + "é",
        *stranger.certs.issue(stranger.holder(), count=1),
        revoked_one,
        *(signed(p, site) for p in weird),
        eu,
        shc,
        "hello world",
        "",
        "HC1:",
        "{",
    ]
    lines.insert(3, lines.pop())  # refusals between valid certificates
    return lines, site.certs.trust()


@pytest.mark.parametrize("days", [0, -30, 400])
def test_a_batch_gives_each_certificate_the_result_it_gets_alone(days: int) -> None:
    lines, trust = mixed_lines()
    now = NOW + dt.timedelta(days=days)
    expected = [reference_result(text, trust, now) for text in lines]
    assert BulkVerifier(trust, now).results(lines) == expected
    assert [BulkVerifier(trust, now).result(text) for text in lines] == expected
    reasons = {json.loads(line)["reason"] for line, _ in expected}
    assert {"forged", "malformed", "unknown-issuer", "revoked"} <= reasons
    assert (None in reasons) is (days == 0)
    assert bool(reasons & {"expired", "not-yet-valid"}) is (days != 0)
    for line, code in expected:
        assert (code == 0) == json.loads(line)["valid"]


def test_results_without_a_trust_list() -> None:
    expected = [reference_result(text, Trust(), NOW) for text in STUBS]
    assert BulkVerifier(Trust(), NOW).results(STUBS) == expected
    assert {json.loads(line)["reason"] for line, _ in expected} == {"unknown-issuer"}


def test_a_valid_result_line_is_the_documented_result() -> None:
    trust = SITE.certs.trust()
    [(line, code)] = BulkVerifier(trust, NOW).results(STUBS[:1])
    assert code == 0
    assert json.loads(line) == verify(STUBS[0], trust, NOW).to_doc()


# ---------------------------------------------------------------- the CLI's reading and writing


@pytest.mark.parametrize("size", [1, 7, 64, 1 << 16])
def test_lines_are_read_in_chunks_as_standard_input_splits_them(size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "one\r\ntwo\n\nthré\re\r\r\n  \nlast é"
    data = text.encode("utf-8")
    monkeypatch.setattr(cli_certs, "READ_SIZE", size)
    got = [
        line
        for batch in cli_certs._line_batches(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="\n"))
        for line in batch
    ]
    before = [line.rstrip("\r\n") for line in io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="\n")]
    assert got == before == ["one", "two", "", "thré\re", "  ", "last é"]


def test_bulk_verify_reads_binary_standard_input_like_text_input(
    run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli("init", "--admin", "amal").code == 0
    assert run_cli("trust", "standalone").code == 0
    stubs = [*STUBS, STUBS[0][:-1], "", "hello"]
    data = "\r\n".join(stubs) + "\n"
    as_text = run_cli("cert", "verify", "-", stdin=data)
    monkeypatch.setattr(cli_certs, "READ_SIZE", 100)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data.encode()), encoding="utf-8", newline="\n"))
    as_binary = run_cli("cert", "verify", "-")
    assert (as_binary.code, as_binary.out) == (as_text.code, as_text.out)
    assert as_text.code != 0
    assert len(as_binary.out.splitlines()) == len(stubs) - 1


@pytest.mark.slow
def test_a_pipe_gets_each_result_as_soon_as_its_line_is_written(run_cli: Any, tmp_path: Path) -> None:
    assert run_cli("init", "--admin", "amal").code == 0
    assert run_cli("trust", "standalone").code == 0
    card = run_cli("card", "new", "--json", "--no-show-qr").json()["qr"]
    doses = json.dumps([{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2025-01-10"}])
    assert run_cli("visit", "add", "--card", card, "--first-visit", "--entries", "-", stdin=doses).code == 0
    stubs = run_cli("cert", "issue", "--card", card, "--count", "3", "--json").json()["certificates"]
    # Standard output to a pipe is block-buffered unless PYTHONUNBUFFERED is set: test the usual case.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"} | {"HAVEN_HOME": str(tmp_path / "site")}
    command = [sys.executable, "-m", "haven", "cert", "verify", "-"]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env) as process:
        assert process.stdin is not None and process.stdout is not None
        try:
            for stub in [*stubs, "garbage"]:
                process.stdin.write(stub.encode() + b"\n")
                process.stdin.flush()  # the input stays open: the result must come all the same
                ready, _, _ = select.select([process.stdout], [], [], 60)
                assert ready, "no result while the input stays open"
                assert json.loads(process.stdout.readline())["valid"] is (stub != "garbage")
            process.stdin.close()
            assert process.wait(timeout=60) == 20
        finally:
            process.kill()


@pytest.mark.slow
def test_worker_processes_give_the_same_lines_and_exit_status(run_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli("init", "--admin", "amal").code == 0
    assert run_cli("trust", "standalone").code == 0
    card = run_cli("card", "new", "--json", "--no-show-qr").json()["qr"]
    doses = json.dumps([{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2025-01-10"}])
    assert run_cli("visit", "add", "--card", card, "--first-visit", "--entries", "-", stdin=doses).code == 0
    own = run_cli("cert", "issue", "--card", card, "--count", "5", "--json").json()["certificates"]
    lines, _ = mixed_lines()
    data = "\n".join([*own, *lines, *own]) + "\n"
    alone = run_cli("cert", "verify", "-", stdin=data)
    monkeypatch.setattr(cli_certs, "READ_SIZE", 2000)  # several batches, each shared by the workers
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data.encode()), encoding="utf-8", newline="\n"))
    shared = run_cli("cert", "verify", "--workers", "3", "-")
    assert (shared.code, shared.out) == (alone.code, alone.out)
    results = [json.loads(line) for line in alone.out.splitlines()]
    assert len(results) == len(own) * 2 + len(lines) - 1  # the blank line gives no result
    assert [r["valid"] for r in results[: len(own)]] == [True] * len(own)
    assert alone.code == 22  # the first refusal: a certificate of another network
