"""A clinic's own certificate authority and the server certificate phones trust through it (no I/O).

Phones open the camera and keep the offline verifier only on https pages. A clinic
has no public name, so it makes its own small CA: installed once on each phone, it
vouches for the laptop's LAN names and addresses. The CA can sign nothing but a
server certificate for those names (path length 0, name constraints), so its key,
if copied, cannot impersonate any other site. The server certificate follows what
iOS requires of every TLS certificate: names in subjectAltName, serverAuth in the
extended key usage, SHA-256, and at most 825 days.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from haven.errors import InputError

SERVER_DAYS = 825  # iOS refuses a TLS server certificate valid for longer
AUTHORITY_DAYS = 10 * 365  # installed by hand on every phone: made once, lasts

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @classmethod
    def load(cls, certificate_pem: bytes, key_pem: bytes) -> Issued:
        """An authority written by :meth:`certificate_pem` and :meth:`key_pem` (to renew its server certificate)."""
        try:
            certificate = x509.load_pem_x509_certificate(certificate_pem)
            key = serialization.load_pem_private_key(key_pem, password=None)
        except ValueError:
            raise InputError("The clinic's CA files are not a PEM certificate and key.") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != certificate.public_key():
            raise InputError("The clinic's CA key does not belong to its certificate.")
        return cls(certificate, key)


@dataclass(frozen=True)
class Names:
    """The names and addresses phones use to reach the server."""

    dns: tuple[str, ...]
    ips: tuple[IPAddress, ...]

    @classmethod
    def parse(cls, names: Sequence[str], ips: Sequence[str]) -> Names:
        """Checked names (lower case, no port, no wildcard) and addresses; at least one of either."""
        dns = tuple(dict.fromkeys(name.strip().lower().rstrip(".") for name in names))
        for name in dns:
            labels = name.split(".")
            if not name.isascii() or not all(
                label and len(label) <= 63 and label.replace("-", "").isalnum() for label in labels
            ):
                raise InputError(f"A name is a host name like clinic.local (ASCII letters, digits, '-'), not {name!r}.")
        addresses: list[IPAddress] = []
        for text in ips:
            try:
                addresses.append(ipaddress.ip_address(text.strip()))
            except ValueError:
                raise InputError(f"An address is an IP address like 192.168.1.10, not {text!r}.") from None
        if not dns and not addresses:
            raise InputError("Give at least one --name or --ip: the names phones use to reach the server.")
        return cls(dns, tuple(dict.fromkeys(addresses)))

    def common_name(self) -> str:
        # Not an address: a verifier would check a name-like common name against the CA's DNS constraints.
        return self.dns[0] if self.dns else "Haven clinic server"

    def alternative_names(self) -> list[x509.GeneralName]:
        return [*(x509.DNSName(n) for n in self.dns), *(x509.IPAddress(ip) for ip in self.ips)]


def make_authority(names: Names, clinic: str, now: dt.datetime, random: Callable[[int], bytes]) -> Issued:
    """A new CA that may sign only server certificates for ``names``, valid from ``now``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{clinic} local CA")])
    # Names of a kind not given are excluded outright: without it, that kind would be unconstrained.
    excluded: list[x509.GeneralName] = []
    if not names.ips:
        excluded += [x509.IPAddress(ipaddress.ip_network("0.0.0.0/0")), x509.IPAddress(ipaddress.ip_network("::/0"))]
    if not names.dns:
        excluded.append(x509.DNSName(""))  # the empty name matches every name
    permitted: list[x509.GeneralName] = [x509.DNSName(n) for n in names.dns]
    permitted += [x509.IPAddress(ipaddress.ip_network(ip)) for ip in names.ips]
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(_serial(random))
        .not_valid_before(now - dt.timedelta(hours=1))  # a phone whose clock is a little behind
        .not_valid_after(now + dt.timedelta(days=AUTHORITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=excluded or None), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(certificate, key)


def make_server(authority: Issued, names: Names, now: dt.datetime, random: Callable[[int], bytes]) -> Issued:
    """A server certificate for ``names``, signed by ``authority``, valid ``SERVER_DAYS`` from ``now``."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    begins = now - dt.timedelta(hours=1)  # a phone whose clock is a little behind
    # iOS counts the whole span: 825 days from the start, never beyond the CA's own end.
    ends = min(begins + dt.timedelta(days=SERVER_DAYS), authority.certificate.not_valid_after_utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names.common_name())]))
        .issuer_name(authority.certificate.subject)
        .public_key(public)
        .serial_number(_serial(random))
        .not_valid_before(begins)
        .not_valid_after(ends)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names.alternative_names()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.certificate.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(authority.key, hashes.SHA256())
    )
    return Issued(certificate, key)


def covers(authority: x509.Certificate, names: Names) -> bool:
    """Whether ``authority``'s name constraints permit every one of ``names``."""
    try:
        constraints = authority.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return False
    permitted = constraints.permitted_subtrees or []
    dns = [g.value for g in permitted if isinstance(g, x509.DNSName)]
    networks = [g.value for g in permitted if isinstance(g, x509.IPAddress)]
    return all(any(n == d or n.endswith("." + d) for d in dns) for n in names.dns) and all(
        any(ip in net for net in networks if isinstance(net, ipaddress.IPv4Network | ipaddress.IPv6Network))
        for ip in names.ips
    )


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the certificate, as phones show it: upper-case hex pairs joined by ':'."""
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def _serial(random: Callable[[int], bytes]) -> int:
    # 159 bits: positive, under the 20 bytes RFC 5280 allows, and never zero.
    return (int.from_bytes(random(20), "big") >> 1) | 1


def _usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
