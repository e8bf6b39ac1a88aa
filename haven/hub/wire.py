"""What travels between a site and the hub: signed requests, CBOR bodies, and the limits on both.

Every request is signed by the member's sync signing key (Ed25519) over the method, the path, the time,
a random nonce and the body's SHA-256. The hub refuses a request from anyone not a current member of
its roster, one more than ``WINDOW_S`` seconds away from its clock or signed before it started, and
any nonce it has already seen (it remembers them for the window): a recorded request cannot be
replayed. Bodies are CBOR maps, at most ``MAX_BODY`` bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from haven.core.records import SealedRecord
from haven.errors import BundleInvalidError, HubError
from haven.sync.buckets import BUCKETS
from haven.sync.bundle import pack_rows, unpack_rows

REQUEST_LABEL = b"haven/v1/hub-request"
WINDOW_S = 300
NONCE_BYTES = 16
MAX_BODY = 8 * 1024 * 1024
MAX_BUCKETS = 1 << 16  # nodes or buckets asked for in one request
LOCATOR_BYTES = 16
ROWS_PER_BATCH = 2_000  # rows in one push or one pull

MEMBER_HEADER = "haven-member"
TIME_HEADER = "haven-time"
NONCE_HEADER = "haven-nonce"
SIGNATURE_HEADER = "haven-signature"


def signed_message(method: str, path: str, time: int, nonce: bytes, body: bytes) -> bytes:
    digest = hashlib.sha256(body).digest()
    return b"\n".join([REQUEST_LABEL, method.encode(), path.encode(), str(time).encode(), nonce, digest])


class RequestSigner(Protocol):
    """What signs a request: a member's sync key (:class:`Signer`) or a pull-only credential."""

    def headers(self, method: str, path: str, time: int, nonce: bytes, body: bytes) -> dict[str, str]: ...


@dataclass(frozen=True)
class Signer:
    """A member site's sync signing key, as its requests to the hub use it."""

    key: Ed25519PrivateKey

    def headers(self, method: str, path: str, time: int, nonce: bytes, body: bytes) -> dict[str, str]:
        signature = self.key.sign(signed_message(method, path, time, nonce, body))
        return {
            MEMBER_HEADER: self.key.public_key().public_bytes_raw().hex(),
            TIME_HEADER: str(time),
            NONCE_HEADER: nonce.hex(),
            SIGNATURE_HEADER: signature.hex(),
        }


def encode(doc: Mapping[str, Any]) -> bytes:
    return cbor2.dumps(dict(doc))


def decode(body: bytes) -> dict[str, Any]:
    """A request or answer body: a CBOR map, or a ``bad-request`` refusal."""
    try:
        doc = cbor2.loads(body)
    except Exception:
        doc = None
    if not isinstance(doc, dict):
        raise HubError("The body is not a CBOR map.", problem="bad-request")
    return doc


def rows_from(value: Any) -> list[SealedRecord]:
    """Rows packed as in a bundle (haven/sync/bundle.py), each checked for a sealed record's shape; any bad
    one refuses the whole batch."""
    if not isinstance(value, bytes):
        raise HubError("Rows come packed as bytes.", problem="bad-request")
    try:
        rows = unpack_rows(value)
    except BundleInvalidError as exc:
        raise HubError(f"A row is not a sealed record (row {exc.details.get('row')}).", problem="bad-request") from None
    if len(rows) > ROWS_PER_BATCH:
        raise HubError(f"A batch holds at most {ROWS_PER_BATCH} rows.", problem="bad-request")
    return rows


def rows_to(rows: Iterable[SealedRecord]) -> bytes:
    return pack_rows(rows)


def indices_from(value: Any, level: int) -> list[int]:
    """Node or bucket numbers at ``level`` of the tree (4: the leaf buckets)."""
    size = 16**level
    if not isinstance(value, list) or len(value) > MAX_BUCKETS:
        raise HubError(f"Nodes come as a list of at most {MAX_BUCKETS}.", problem="bad-request")
    if not all(isinstance(i, int) and 0 <= i < size for i in value):
        raise HubError(f"A node at level {level} is a number below {size}.", problem="bad-request")
    return list(value)


def level_from(value: Any) -> int:
    if not isinstance(value, int) or not 0 <= value <= 4 or 16**value > BUCKETS:
        raise HubError("A level of the tree is 0 to 4.", problem="bad-request")
    return value
