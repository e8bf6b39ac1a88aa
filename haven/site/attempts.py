"""Backoff after wrong passphrases, kept in ``home/attempts`` across restarts.

The file is always :data:`FILE_BYTES` long: a magic, the number of unlock
attempts in a row that did not succeed, and zeros. It names nobody.

Every attempt, under an exclusive ``flock`` so attempts queue up:

1. reads the count ``n`` and writes ``n + 1`` (with fsync) *before* trying,
   so killing the process mid-attempt still counts as a failure;
2. waits :func:`delay_for` ``(n)`` seconds with a plain sleep, doing the work
   instead of comparing clock readings, so setting the clock back or forward
   changes nothing, and a restart does not reset the count;
3. derives the key; success (or a duress passphrase) writes 0 back.

With ``erase_after`` set in the key slot header, the failure that brings the
count to that number erases the site as ``haven panic`` does.

>>> [delay_for(n) for n in (0, 2, 3, 4, 8, 30)]
[0.0, 0.0, 1.0, 2.0, 32.0, 300.0]
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
from collections.abc import Iterator
from pathlib import Path

from haven.errors import SiteError
from haven.site.keyslots import fsync_dir, write_all

MAGIC = b"HVNTRY01"
FILE_BYTES = 32
FREE_FAILURES = 3
MAX_DELAY_SECONDS = 300.0
# A missing attempts file (deleted to skip the wait) is recreated as if this many had failed.
FAILURES_IF_MISSING = 5
# More failures than anyone could make (300 s each: ten years): the file was edited; count it as damaged.
MAX_FAILURES = 1_000_000
_RECORD = struct.Struct(">8sQ16s")


def delay_for(failures: int) -> float:
    """Seconds to wait before the next attempt, after ``failures`` unsuccessful ones in a row."""
    if failures < FREE_FAILURES:
        return 0.0
    return float(min(2 ** min(failures - FREE_FAILURES, 30), MAX_DELAY_SECONDS))


class AttemptCounter:
    def __init__(self, path: Path) -> None:
        self.path = path

    def create(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            write_all(fd, 0, _RECORD.pack(MAGIC, 0, bytes(16)))
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(self.path.parent)

    def read(self) -> int:
        """The failures in a row; a missing or damaged file counts as :data:`FAILURES_IF_MISSING`."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return FAILURES_IF_MISSING
        except OSError as exc:
            raise SiteError(f"The site's attempts file ({self.path}) cannot be read: {exc.strerror}.") from None
        if len(raw) != FILE_BYTES or raw[:8] != MAGIC:
            return FAILURES_IF_MISSING
        failures = int(_RECORD.unpack(raw)[1])
        return FAILURES_IF_MISSING if failures > MAX_FAILURES else failures

    def write(self, failures: int) -> None:
        data = _RECORD.pack(MAGIC, min(failures, MAX_FAILURES), bytes(16))
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SiteError(f"The attempts file cannot be written: {exc.strerror}.") from None
        try:
            write_all(fd, 0, data)
            os.ftruncate(fd, FILE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise unlock attempts across processes.

        Duress and panic replace the file: a process that waited on the old one's lock
        opens the new one and waits again, so two attempts never share the count.
        """
        while True:
            if not self.path.exists():
                self.write(FAILURES_IF_MISSING)
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise SiteError(f"The site's attempts file ({self.path}) cannot be opened: {exc.strerror}.") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if _same_file(fd, self.path):
                    yield
                    return
            finally:
                os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False
