"""Sites sync through the hub: push, pull, convergence, cost that follows the difference."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from haven.errors import HubError
from haven.hub import wire
from haven.hub.client import HubConnection, ahead, sent_behind, sync_with_hub
from haven.hub.wire import Signer
from haven.store.memory import MemoryStore
from haven.sync.buckets import BUCKETS
from tests.hub.network import HubProcess, Network, fake_rows, keys_of, serving, sync


def test_two_sites_converge_through_the_hub_and_a_second_sync_moves_nothing(hub: HubProcess, network: Network) -> None:
    a, b = MemoryStore(), MemoryStore()
    a.merge(fake_rows(300))
    b.merge(fake_rows(200))
    first = sync(a, network.sites[0], hub.url)
    assert (first.pushed, first.pulled) == (300, 0)
    second = sync(b, network.sites[1], hub.url)
    assert (second.pushed, second.pulled) == (200, 300)
    third = sync(a, network.sites[0], hub.url)
    assert (third.pushed, third.pulled) == (0, 200)
    assert keys_of(a) == keys_of(b) and len(keys_of(a)) == 500
    again = sync(b, network.sites[1], hub.url)
    assert (again.pushed, again.pulled, again.buckets) == (0, 0, 0)
    assert again.requests == 1  # the roots agree: one exchange


def test_the_hub_serves_https_and_a_site_syncs_over_it(database: str, network: Network, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    with serving(database, network, tmp_path, "--tls-cert", str(cert), "--tls-key", str(key)) as hub:
        store = MemoryStore()
        store.merge(fake_rows(50))
        context = ssl.create_default_context(cafile=str(cert))
        conn = HubConnection(f"https://localhost:{hub.port}", Signer(network.sites[0].signing), context)
        try:
            assert sync_with_hub(store, conn).pushed == 50
        finally:
            conn.close()
        untrusting = HubConnection(f"https://localhost:{hub.port}", Signer(network.sites[0].signing))
        with pytest.raises(HubError, match="certificate is not trusted"):
            untrusting.call("nodes", {"level": 0, "indices": [0]})


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "hub.pem", tmp / "hub.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_a_first_sync_moves_whole_buckets_without_exchanging_their_fingerprints(
    hub: HubProcess, network: Network
) -> None:
    a, b = MemoryStore(), MemoryStore()
    a.merge(fake_rows(30_000))  # most of the 65,536 buckets, each held by one side only
    pushed = sync(a, network.sites[0], hub.url)
    pulled = sync(b, network.sites[1], hub.url)
    assert (pushed.pushed, pulled.pulled) == (30_000, 30_000) and keys_of(a) == keys_of(b)
    fingerprints = 30_000 * 8  # what every row's fingerprint would have cost, one way alone
    leaves = BUCKETS * 8  # the descent's last answer: 8 bytes per leaf under the parents that differ
    assert pushed.bytes_received < leaves * 1.1 + fingerprints / 4, pushed  # the hub sent no fingerprints
    assert pulled.bytes_sent < fingerprints / 2, pulled  # the site sent none and asked by bucket
    assert pulled.requests < 5 + 30_000 // wire.ROWS_PER_BATCH * 2 + 4, pulled  # about one request per batch
    # Then both sides hold rows in every differing bucket: fingerprints say which rows move.
    a.merge(fake_rows(40))
    b.merge(fake_rows(30))
    assert (sync(a, network.sites[0], hub.url).pushed, sync(b, network.sites[1], hub.url).pulled) == (40, 40)
    assert sync(a, network.sites[0], hub.url).pulled == 30 and keys_of(a) == keys_of(b)


def test_a_failed_batch_stops_the_reading_and_sending_threads_with_its_error() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise HubError("cut", problem="answer")

    with pytest.raises(HubError, match="cut"):
        list(ahead(failing()))
    assert list(ahead(iter(range(50)), depth=2)) == list(range(50))
    sent: list[int] = []

    def send(n: int) -> int:
        if n == 3:
            raise HubError("refused", problem="bad-request")
        sent.append(n)
        return n

    assert sent_behind(range(3), send) == 3
    with pytest.raises(HubError, match="refused"):
        sent_behind(range(1_000), send)
    assert sent[-1] == 2 and len(sent) == 6  # nothing sent after the refusal
