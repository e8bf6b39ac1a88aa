"""Check SQLite's rollback journal before SQLite plays it back.

A journal that SQLite will play back ("hot": it starts with the magic) undoes a commit that was
interrupted while writing the main file. SQLite takes a record whose checksum fails, or a journal
that ends early, as the end of the journal and plays back only what came before; it trusts the
page numbers and the original size as written. A damaged journal would leave the main file silently
torn between two states. So Haven reads it first and refuses a damaged one: every segment's header,
every record's checksum, every page image's SQLCipher MAC (which covers its page number), and the
original size against the one in page 1's own image. A journal whose header is neither the magic
nor zeros (SQLite zeroes it until the journal is synced) is damaged too.

File format (https://www.sqlite.org/fileformat2.html#the_rollback_journal): segments, each a header
of one sector (magic, record count, checksum seed, original size in pages, sector size, page size:
big-endian) followed by records (page number, page image, checksum); a segment written but not yet
synced has a zeroed header, and playback stops there.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from haven.errors import StoreCorruptError

MAGIC = bytes.fromhex("d9d505f920a163d7")
_HEADER = struct.Struct(">8sIIIII")
_ALL_RECORDS = 0xFFFFFFFF  # "as many as fit": only in modes that do not sync, which Haven never uses
# SQLCipher 4 with HMAC-SHA256 pages (haven/store/sqlite.py): each page ends with a 16-byte IV and a
# 32-byte MAC over the encrypted bytes, the IV and the page number; page 1 starts with the 16-byte salt.
_RESERVE, _IV, _SALT = 48, 16, 16
DAMAGED = (
    "The site database's journal is damaged, so a change that was interrupted cannot be undone safely;"
    " restore the site folder from a copy."
)


def _power_of_two(n: int) -> bool:
    return 512 <= n <= 65536 and n & (n - 1) == 0


def _checksum(seed: int, page: bytes) -> int:
    total, at = seed, len(page) - 200
    while at > 0:
        total += page[at]
        at -= 200
    return total & 0xFFFFFFFF


class _Pages:
    """Authenticates and reads page images: SQLCipher's under ``key``, or plain SQLite's."""

    def __init__(self, key: bytes | None, salt: bytes) -> None:
        self.key = key
        self.mac_key = None
        # Page 1 starts with what no MAC covers: the salt (which never changes), or SQLite's own magic.
        self.page_one_start = b"SQLite format 3\x00" if key is None else salt
        if key is not None:
            self.mac_key = hashlib.pbkdf2_hmac("sha512", key, bytes(b ^ 0x3A for b in salt), 2, 32)

    def authentic(self, number: int, page: bytes) -> bool:
        if number == 1 and not page.startswith(self.page_one_start):
            return False
        if self.mac_key is None:
            return True
        start, end = (_SALT if number == 1 else 0), len(page) - _RESERVE + _IV
        expected = hmac.new(self.mac_key, page[start:end] + struct.pack("<I", number), hashlib.sha256).digest()
        return hmac.compare_digest(expected, page[end : end + 32])

    def size_in_header(self, page_one: bytes) -> int:
        """The database size in pages that page 1's header states (offset 28)."""
        if self.key is None:
            return int(struct.unpack_from(">I", page_one, 28)[0])
        iv = page_one[len(page_one) - _RESERVE : len(page_one) - _RESERVE + _IV]
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(iv)).decryptor()
        head = decryptor.update(page_one[_SALT : _SALT + 16])  # bytes 16-31 of the page
        return int(struct.unpack_from(">I", head, 28 - _SALT)[0])


def problem(data: bytes, pages: _Pages) -> str | None:
    """What is wrong with this journal's contents, or None if SQLite may play it back (or ignore it)."""
    if not data or data[:12] == bytes(12):
        return None  # empty, or not synced yet: nothing SQLite would play back
    if data[:8] != MAGIC:
        return "its header is neither a journal's nor blank"
    at = 0
    while at < len(data):
        if data[at : at + 12] == bytes(12):
            return None  # a later segment, not synced yet: playback stops here
        if data[at : at + 8] != MAGIC or at + _HEADER.size > len(data):
            return f"no segment header at byte {at}"
        _, count, seed, original, sector, page_size = _HEADER.unpack_from(data, at)
        if not (_power_of_two(sector) and _power_of_two(page_size)):
            return f"a header at byte {at} gives impossible sizes"
        record = page_size + 8
        at += sector
        if count == _ALL_RECORDS:
            count = (len(data) - at) // record
        if at + count * record > len(data):
            return f"it ends inside its records ({len(data)} bytes)"
        for _ in range(count):
            (number,) = struct.unpack_from(">I", data, at)
            page = data[at + 4 : at + 4 + page_size]
            (stored,) = struct.unpack_from(">I", data, at + 4 + page_size)
            if not 1 <= number <= original or stored != _checksum(seed, page) or not pages.authentic(number, page):
                return f"the record at byte {at} is damaged"
            if number == 1 and pages.size_in_header(page) != original:
                return "its original size disagrees with page 1"
            at += record
        at = -(-at // sector) * sector  # the next segment starts on a sector boundary
    return None


def check(db_path: Path, key: bytes | None) -> None:
    """Raise StoreCorruptError if ``db_path``'s journal is damaged (``key``: the SQLCipher key, if any).

    Another process may be committing right now (its journal is whole while it writes the main file,
    then truncated): a journal that reads as damaged is read again, and only one that stays the same
    is reported.
    """
    path = db_path.with_name(db_path.name + "-journal")
    try:
        data = path.read_bytes()
        with open(db_path, "rb") as f:
            salt = f.read(_SALT)
    except FileNotFoundError:
        return
    if problem(data, _Pages(key, salt)) is None:
        return
    time.sleep(0.05)
    try:
        again = path.read_bytes()
    except FileNotFoundError:
        return
    if again == data:
        raise StoreCorruptError(DAMAGED)
