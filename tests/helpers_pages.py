"""Read a site's database files page image by page image with the master key, as an examiner holding
a passphrase could: every page of ``site.db`` and every page image anywhere in a journal or a WAL,
whether SQLite would still use it or not (freelist pages, stale journal records, old WAL frames)."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PAGE = 4096
RESERVE = 48  # SQLCipher 4 with HMAC-SHA256: a 16-byte IV and a 32-byte MAC at the end of each page


def _decrypt(key: bytes, page: bytes) -> bytes:
    """One page's plaintext (page 1's first 32 bytes come out garbled: they follow the salt; no matter here)."""
    iv = page[PAGE - RESERVE : PAGE - RESERVE + 16]
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(page[: PAGE - RESERVE]) + decryptor.finalize()


def page_images(key: bytes, path: Path) -> list[bytes]:
    """Every page image in ``path``, decrypted with ``key``.

    The main file holds pages at multiples of the page size. A journal or a WAL holds them behind small
    headers at offsets that are multiples of four, so every such window is tried: a window that is not
    a page decrypts to noise, which matches nothing searched for.
    """
    data = path.read_bytes()
    step = PAGE if path.name.endswith(".db") else 4
    return [_decrypt(key, data[at : at + PAGE]) for at in range(0, len(data) - PAGE + 1, step)]


def db_files(home: Path) -> list[Path]:
    return sorted(p for p in home.iterdir() if p.name.startswith("site.db"))


def found_in_pages(key: bytes, home: Path, needles: list[bytes]) -> set[bytes]:
    """Which of ``needles`` appear in any decrypted page image of any database file under ``home``."""
    found: set[bytes] = set()
    for path in db_files(home):
        for image in page_images(key, path):
            found |= {n for n in needles if n in image}
    return found
