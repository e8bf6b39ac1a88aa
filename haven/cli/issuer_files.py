"""Reading external issuer files (``--issuer-cert``, ``haven trust add-issuer``): the bytes, for haven.certs.

A JWKS brings the revocation lists beside it: ``crl/<kid>.json`` for each of its keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from haven.certs.issuers import ExternalIssuer, Issuer, load_signers, looks_like_jwks, read_jwks, with_revocation_list
from haven.errors import InputError


def _read(path: Path, message: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(message.format(path=path, exc=exc, reason=exc.strerror)) from None


def read_issuer(path: Path, iss: str | None = None) -> ExternalIssuer:
    """The EU DCC signers (X.509, DER or PEM) or the SMART Health Card issuer (JWKS) in a file."""
    data = _read(path, "The file {path} cannot be read: {reason}.")
    if looks_like_jwks(data):
        return _with_revocation_lists(path, read_jwks(data, str(path), iss))
    return tuple(load_signers(data))


def read_shc_issuer(path: Path, iss: str | None = None) -> Issuer:
    """The SMART Health Card issuer of a JWKS file, with the revocation lists beside it."""
    data = _read(path, "The file {path} cannot be read: {reason}.")
    return _with_revocation_lists(path, read_jwks(data, str(path), iss))


def _with_revocation_lists(path: Path, issuer: Issuer) -> Issuer:
    for kid in list(issuer.keys):
        crl = path.parent / "crl" / f"{kid}.json"
        if crl.is_file():
            data = _read(crl, "The revocation list {path} cannot be read: {exc}.")
            issuer = with_revocation_list(issuer, kid, data, str(crl))
    return issuer


def read_issuer_specs(specs: Iterable[str]) -> tuple[ExternalIssuer, ...]:
    """``--issuer-cert`` values: ``FILE``, or ``ISSUER_URL=FILE`` for a JWKS that does not name its issuer."""
    issuers = []
    for spec in specs:
        iss, path = None, spec
        if spec.startswith("https://") and "=" in spec:
            iss, path = spec.split("=", 1)
        issuers.append(read_issuer(Path(path), iss))
    return tuple(issuers)
