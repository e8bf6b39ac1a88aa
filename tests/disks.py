"""Real small filesystems for disk-full tests: a 1 MiB tmpfs and a loop-mounted ext4 with 1 KiB blocks
(what mkfs picks for any filesystem under 512 MB: every small USB stick). Mounting needs root; a test
skips, saying why, only where mounting is impossible."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

KINDS = ("tmpfs", "ext4-1k")
ALL_KINDS = ("tmpfs", "ext4-1k", "ext4-4k")


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True)


@contextlib.contextmanager
def small_disk(tmp_path: Path, kind: str, mib: int = 1) -> Iterator[Path]:
    """A ``kind`` filesystem (one of :data:`ALL_KINDS`) of about ``mib`` MiB (ext4: ``mib`` + 2), mounted."""
    mount_point = tmp_path / f"disk-{kind}"
    mount_point.mkdir()
    if kind == "tmpfs":
        done = _run("mount", "-t", "tmpfs", "-o", f"size={mib}m,mode=0700", "tmpfs", str(mount_point))
    else:
        image = tmp_path / "disk.img"
        with open(image, "wb") as f:
            f.truncate((mib + 2) * 1024 * 1024)
        block = "4096" if kind == "ext4-4k" else "1024"
        made = _run("mkfs.ext4", "-q", "-F", "-b", block, "-m", "0", str(image))  # -m 0: no blocks kept for root
        if made.returncode != 0:
            pytest.skip(f"cannot make an ext4 filesystem here: {made.stderr.strip() or made.returncode}")
        done = _run("mount", "-o", "loop", str(image), str(mount_point))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small {kind} here (needs root): {done.stderr.strip() or done.returncode}")
    try:
        yield mount_point
    finally:
        _run("umount", "-l", str(mount_point))


def fill(disk: Path, leave: int) -> Path:
    """Fill the disk, leaving about ``leave`` bytes free (an earlier filler is replaced)."""
    filler = disk / "filler"
    with contextlib.suppress(FileNotFoundError):
        filler.unlink()
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    # A disk already full to the last block may refuse even to create the filler: it is full, as asked.
    with contextlib.suppress(OSError), open(filler, "wb") as f:
        f.write(b"\0" * max(0, free - leave))
        f.flush()
        os.fsync(f.fileno())
    return filler
