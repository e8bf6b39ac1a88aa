"""https for phones on the clinic's network: ``haven tls init`` makes the clinic's CA and server certificate,
``haven serve --tls-cert/--tls-key`` serves with them, and a client that trusts only that CA gets in."""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
import socket
import ssl
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from haven.errors import InputError
from haven.web import tls
from tests.conftest import Result
from tests.web.conftest import free_port
from tests.web.test_serve import running, sign_in

HAVEN = Path(sys.executable).parent / "haven"
NOW = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


def trusting(ca: Path) -> ssl.SSLContext:
    """A client that trusts the clinic's CA and nothing else (not the system's store)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(ca))
    return context


def handshake(context: ssl.SSLContext, port: int, name: str) -> None:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name),
    ):
        pass


def extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension[x509.ExtensionType]:
    return cert.extensions.get_extension_for_class(kind)


def test_tls_init_makes_a_ca_and_a_server_certificate_that_phones_accept(
    run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    """The CA signs only server certificates for the given names (CA:TRUE, path length 0, name constraints);
    the server certificate names them in subjectAltName, is for serverAuth and lasts at most 825 days
    (iOS); every file is its owner's only; the fingerprint printed is the CA's SHA-256."""
    out = tmp_path / "tls"
    result = run_cli("tls", "init", "--name", "Clinic.Local", "--ip", "192.168.1.10", "--out", str(out), "--json")
    assert result.code == 0, result.err
    doc = result.json()
    assert (doc["names"], doc["ips"], doc["new_ca"]) == (["clinic.local"], ["192.168.1.10"], True)
    for name in ("ca.pem", "ca-key.pem", "server.pem", "server-key.pem"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600, name
    ca = x509.load_pem_x509_certificate((out / "ca.pem").read_bytes())
    server = x509.load_pem_x509_certificate((out / "server.pem").read_bytes())
    assert doc["fingerprint"] == ca.fingerprint(hashes.SHA256()).hex(":").upper()

    basic = extension(ca, x509.BasicConstraints)
    assert basic.critical and basic.value == x509.BasicConstraints(ca=True, path_length=0)
    constraints = extension(ca, x509.NameConstraints).value
    assert isinstance(constraints, x509.NameConstraints)
    assert set(constraints.permitted_subtrees or []) == {
        x509.DNSName("clinic.local"),
        x509.IPAddress(ipaddress.ip_network("192.168.1.10/32")),
    }
    assert extension(ca, x509.KeyUsage).value.key_cert_sign  # type: ignore[attr-defined]

    assert server.issuer == ca.subject
    assert extension(server, x509.BasicConstraints).value == x509.BasicConstraints(ca=False, path_length=None)
    san = extension(server, x509.SubjectAlternativeName).value
    assert isinstance(san, x509.SubjectAlternativeName)
    assert san.get_values_for_type(x509.DNSName) == ["clinic.local"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("192.168.1.10")]
    assert list(extension(server, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]  # type: ignore[call-overload]
    assert server.signature_hash_algorithm is not None and server.signature_hash_algorithm.name == "sha256"
    lasts = server.not_valid_after_utc - server.not_valid_before_utc
    assert lasts <= dt.timedelta(days=825)
    assert doc["expires"] == server.not_valid_after_utc.date().isoformat()

    # Again in the same folder: a new server certificate under the same CA (the phones keep trusting it).
    again = run_cli("tls", "init", "--name", "clinic.local", "--ip", "192.168.1.10", "--out", str(out), "--json")
    assert again.code == 0 and again.json()["new_ca"] is False
    assert again.json()["fingerprint"] == doc["fingerprint"]
    assert (out / "server.pem").read_bytes() != server.public_bytes(serialization.Encoding.PEM)
    # A name the CA was not made for is refused, and nothing is written.
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    other = run_cli("tls", "init", "--name", "elsewhere.local", "--out", str(out))
    assert other.code != 0 and "made for other names" in other.err and len(other.err.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_tls_init_refuses_bad_names_in_one_line(run_cli: Callable[..., Result], tmp_path: Path) -> None:
    for args, says in (
        ((), "at least one --name or --ip"),
        (("--name", "*.clinic.local"), "host name"),
        (("--name", "clínica.local"), "host name"),
        (("--ip", "192.168.1.300"), "IP address"),
    ):
        result = run_cli("tls", "init", *args, "--out", str(tmp_path / "tls"))
        assert result.code != 0 and says in result.err, (args, result.err)
        assert len(result.err.strip().splitlines()) == 1
    assert not (tmp_path / "tls").exists() or not any((tmp_path / "tls").iterdir())


def test_the_clinics_ca_cannot_vouch_for_any_other_name(tmp_path: Path) -> None:
    """Its name constraints hold: a certificate the CA's key signs for another name or address is refused
    by a client that trusts the CA (a copied CA key cannot impersonate other sites to the phones)."""
    mine = tls.Names.parse(["clinic.local"], ["192.168.1.10"])
    authority = tls.make_authority(mine, "Test clinic", NOW, secrets.token_bytes)
    assert tls.covers(authority.certificate, mine)
    assert tls.covers(authority.certificate, tls.Names.parse(["laptop.clinic.local"], []))
    for names, ips in ((["bank.example"], []), ([], ["10.0.0.1"]), (["clinic.local.evil.example"], [])):
        other = tls.Names.parse(names, ips)
        assert not tls.covers(authority.certificate, other)
        forged = tls.make_server(authority, other, NOW, secrets.token_bytes)
        store = x509.verification.Store([authority.certificate])
        verifier = (
            x509.verification.PolicyBuilder()
            .store(store)
            .time(NOW)
            .build_server_verifier(x509.DNSName(names[0]) if names else x509.IPAddress(ipaddress.ip_address(ips[0])))
        )
        with pytest.raises(x509.verification.VerificationError):
            verifier.verify(forged.certificate, [])
    genuine = tls.make_server(authority, mine, NOW, secrets.token_bytes)
    for subject in (x509.DNSName("clinic.local"), x509.IPAddress(ipaddress.ip_address("192.168.1.10"))):
        builder = x509.verification.PolicyBuilder().store(x509.verification.Store([authority.certificate]))
        chain = builder.time(NOW).build_server_verifier(subject).verify(genuine.certificate, [])
        assert chain[-1] == authority.certificate


def verifies(authority: tls.Issued, server: tls.Issued, subject: x509.GeneralName) -> bool:
    builder = x509.verification.PolicyBuilder().store(x509.verification.Store([authority.certificate]))
    try:
        builder.time(NOW).build_server_verifier(subject).verify(server.certificate, [])
    except x509.verification.VerificationError:
        return False
    return True


def test_a_ca_made_for_names_only_or_addresses_only_vouches_for_no_other_kind() -> None:
    """Name constraints leave a kind they do not mention unconstrained: the kind not given is excluded."""
    named = tls.make_authority(tls.Names.parse(["clinic.local"], []), "Test clinic", NOW, secrets.token_bytes)
    constraints = extension(named.certificate, x509.NameConstraints).value
    assert isinstance(constraints, x509.NameConstraints)
    assert {str(g.value) for g in constraints.excluded_subtrees or []} == {"0.0.0.0/0", "::/0"}
    forged = tls.make_server(named, tls.Names.parse([], ["10.0.0.1"]), NOW, secrets.token_bytes)
    assert not verifies(named, forged, x509.IPAddress(ipaddress.ip_address("10.0.0.1")))
    genuine = tls.make_server(named, tls.Names.parse(["clinic.local"], []), NOW, secrets.token_bytes)
    assert verifies(named, genuine, x509.DNSName("clinic.local"))

    addressed = tls.make_authority(tls.Names.parse([], ["192.168.1.10"]), "Test clinic", NOW, secrets.token_bytes)
    constraints = extension(addressed.certificate, x509.NameConstraints).value
    assert isinstance(constraints, x509.NameConstraints)
    assert list(constraints.excluded_subtrees or []) == [x509.DNSName("")]
    forged = tls.make_server(addressed, tls.Names.parse(["bank.example"], []), NOW, secrets.token_bytes)
    assert not verifies(addressed, forged, x509.DNSName("bank.example"))
    genuine = tls.make_server(addressed, tls.Names.parse([], ["192.168.1.10"]), NOW, secrets.token_bytes)
    assert verifies(addressed, genuine, x509.IPAddress(ipaddress.ip_address("192.168.1.10")))


@pytest.mark.slow
def test_serve_over_tls_answers_a_client_that_trusts_only_the_clinics_ca(
    run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    """A real `haven serve --tls-cert --tls-key` on 127.0.0.1: a client trusting only the generated CA
    gets /verify over https, with HSTS and a Secure session cookie; the same certificate under another
    host name fails verification, and a client that does not trust the CA fails too."""
    out = tmp_path / "tls"
    assert run_cli("tls", "init", "--name", "localhost", "--ip", "127.0.0.1", "--out", str(out)).code == 0
    context = trusting(out / "ca.pem")
    port = free_port()
    command = [str(HAVEN), "serve", "--demo", "--home", str(tmp_path / "demo"), "--port", str(port)]
    command += ["--tls-cert", str(out / "server.pem"), "--tls-key", str(out / "server-key.pem"), "--json"]
    with running(command, verify=context) as (doc, url):
        assert url == f"https://127.0.0.1:{port}/" and doc["verify"] == url + "verify"
        with httpx.Client(base_url=url, verify=context) as c:
            page = c.get("/verify")
            assert page.status_code == 200 and "<html" in page.text
            assert page.headers["strict-transport-security"] == "max-age=31536000"
            staff = doc["staff"][0]
            r = sign_in(c, staff["name"], staff["passphrase"])
            assert r.status_code == 200 and "Secure" in r.headers["set-cookie"]
        with httpx.Client(base_url=f"https://localhost:{port}/", verify=context) as c:
            assert c.get("/verify").status_code == 200
        handshake(context, port, "localhost")
        with pytest.raises(ssl.SSLCertVerificationError, match=r"match|mismatch"):
            handshake(context, port, "clinic.example")
        with pytest.raises(ssl.SSLCertVerificationError):  # the system's store alone does not know the clinic's CA
            handshake(ssl.create_default_context(), port, "localhost")


def test_serve_refuses_a_tls_cert_without_its_key_in_one_line(run_cli: Callable[..., Result], tmp_path: Path) -> None:
    assert run_cli("init", "--admin", "Amal").code == 0
    out = tmp_path / "tls"
    assert run_cli("tls", "init", "--name", "localhost", "--out", str(out)).code == 0
    for args in (["--tls-cert", str(out / "server.pem")], ["--tls-key", str(out / "server-key.pem")]):
        result = run_cli("serve", "--port", "1", *args)
        assert result.code == 2 and "--tls-cert and --tls-key together" in result.err
        assert len(result.err.strip().splitlines()) == 1
    # A key that is not the certificate's (the CA's), and a file that is not there.
    result = run_cli(
        "serve", "--port", "1", "--tls-cert", str(out / "server.pem"), "--tls-key", str(out / "ca-key.pem")
    )
    assert result.code == 2 and "key values mismatch" in result.err
    result = run_cli("serve", "--port", "1", "--tls-cert", str(out / "none.pem"), "--tls-key", str(out / "ca-key.pem"))
    assert result.code == 2 and "does not exist" in result.err
    # An encrypted key is refused, never asked for on the terminal.
    key = serialization.load_pem_private_key((out / "server-key.pem").read_bytes(), password=None)
    locked = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    (out / "locked-key.pem").write_bytes(locked)
    result = run_cli(
        "serve", "--port", "1", "--tls-cert", str(out / "server.pem"), "--tls-key", str(out / "locked-key.pem")
    )
    assert result.code == 2 and "unencrypted key" in result.err and len(result.err.strip().splitlines()) == 1


def test_names_parse() -> None:
    names = tls.Names.parse(["Clinic.Local.", "clinic.local"], ["192.168.1.10", "fe80::1"])
    assert names.dns == ("clinic.local",) and [str(ip) for ip in names.ips] == ["192.168.1.10", "fe80::1"]
    with pytest.raises(InputError):
        tls.Names.parse(["bad name"], [])
