"""Output files (QR codes, certificate sheets) that appear only once the change behind them is stored.

Each file is first written whole to a temporary file in its own folder (so a
missing folder or a full disk fails before anything is stored); the command
then commits, and only after that is the temporary file renamed into place.
If anything fails, the temporary files are removed and no output appears.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from haven.errors import InputError, StoreFullError


def _refuse(path: Path, exc: OSError) -> Exception:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreFullError(f"The disk is full: {str(path)!r} could not be written, so nothing was saved.")
    if isinstance(exc, FileNotFoundError):
        return InputError(f"The folder of {str(path)!r} does not exist; nothing was saved.")
    return InputError(f"{str(path)!r} cannot be written ({exc.strerror}); nothing was saved.")


def _write_temporary(path: Path, data: bytes) -> Path:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        # Owner only: a card's QR code is the key to its holder's records.
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise _refuse(path, exc) from None
    return temporary


@contextlib.contextmanager
def staged(files: dict[str, bytes]) -> Iterator[None]:
    """Write ``files`` (path -> bytes) aside now; put them in place when the block ends without error."""
    written: list[tuple[Path, Path]] = []
    try:
        for name, data in files.items():
            path = Path(name)
            if path.is_dir():
                raise InputError(f"{name!r} is a folder; give a file name; nothing was saved.")
            written.append((_write_temporary(path, data), path))
        yield
        for temporary, path in written:
            try:
                os.replace(temporary, path)
            except OSError as exc:  # after the commit: the change is stored, only this file is missing
                raise InputError(f"{str(path)!r} could not be put in place ({exc.strerror}).") from None
    finally:
        for temporary, _ in written:
            with contextlib.suppress(OSError):
                temporary.unlink()


@contextlib.contextmanager
def streamed(name: str) -> Iterator[BinaryIO]:
    """A file written as it is made (a bundle too large to hold in memory): to a temporary file in its
    folder, owner only, synced and put in place when the block ends without error, else removed."""
    path = Path(name)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        raise _refuse(path, exc) from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def write(files: dict[str, bytes]) -> None:
    """Write ``files`` whole or not at all (nothing to commit first)."""
    with staged(files):
        pass
