"""Bundles as streams of frames (format 2): every frame dropped, moved, repeated or added is refused
whole; a file changed between its check and its merge changes nothing; memory stays bounded."""

from __future__ import annotations

import io
import os
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from haven.core.records import SealedRecord
from haven.errors import BundleInvalidError, BundleUnreadableError
from haven.store.sqlite import SQLiteStore
from haven.sync import bundle, service
from tests.sync.network import Network, make_network, snapshot
from tests.sync.test_bundles import refused_whole

SEALED = 1 + 12 + 256 + 16  # a one-block record
ROW = 16 + 16 + 4 + SEALED
FRAME = bundle.FRAME + 16  # a frame as stored: its plaintext and tag


def fake_rows(n: int) -> list[SealedRecord]:
    return [SealedRecord(os.urandom(16), os.urandom(16), b"\x01" + os.urandom(SEALED - 1)) for _ in range(n)]


def opened_stream(data: bytes, candidates: Sequence[x25519.X25519PrivateKey]) -> bytes:
    """The plaintext stream of a bundle, as a holder of the network key reads it."""
    return b"".join(bundle._frames(io.BytesIO(data), candidates))


def resealed(stream: bytes, to: x25519.X25519PublicKey) -> bytes:
    """``stream`` sealed again as a bundle, its frames as the format makes them (a forger's tool)."""
    key = os.urandom(32)
    aead = AESGCM(key)
    chunks = [stream[i : i + bundle.FRAME] for i in range(0, len(stream), bundle.FRAME)]
    frames = [
        aead.encrypt(n.to_bytes(12, "big"), c, b"haven/v2/bundle-frame" + bytes([n == len(chunks) - 1]))
        for n, c in enumerate(chunks)
    ]
    return bytes(bundle.SUITE.encrypt(key, to, bundle.INFO)) + b"".join(frames)


@pytest.fixture
def net(tmp_path: Path) -> Network:
    return make_network(tmp_path)


def _keys(net: Network, name: str) -> tuple[Any, Any, list[x25519.X25519PrivateKey]]:
    with net.sync(name) as (_, sync):
        roster, own = sync.roster(), sync.site_keys()
        keys = [k for _, k in sorted(sync.network_keys().items())]
    return roster, own, keys


def test_frames_dropped_moved_repeated_or_added_are_refused_whole(net: Network) -> None:
    roster, own, _ = _keys(net, "a")
    data = bundle.seal_bundle(own, roster.network_key(), fake_rows(700), roster=None)  # four frames
    head, frames = data[:80], [data[i : i + FRAME] for i in range(80, len(data), FRAME)]
    assert len(frames) == 4 and len(data) == 80 + 4 * 16 + bundle.padme(700 * ROW + 200)
    cases = {
        "cut at a frame's edge": head + b"".join(frames[:3]),
        "the last frame dropped, the one before repeated": head + b"".join([*frames[:3], frames[2]]),
        "two frames swapped": head + b"".join([frames[0], frames[2], frames[1], frames[3]]),
        "a frame repeated": head + b"".join([frames[0], frames[1], frames[1], frames[2], frames[3]]),
        "a frame added after the last": data + frames[1],
        "the last frame added again": data + frames[3],
        "cut inside the last frame": data[:-100],
        "no frames at all": head,
    }
    for why, bad in cases.items():
        error = refused_whole(net, "b", bad, BundleUnreadableError)
        assert "does not open here" in str(error), why
    assert net.import_("b", data).new == 700


def test_rows_out_of_order_or_repeated_inside_are_refused(net: Network) -> None:
    roster, own, keys = _keys(net, "a")
    rows = sorted(fake_rows(3), key=lambda r: (r.locator, r.id))
    stream = opened_stream(bundle.seal_bundle(own, roster.network_key(), rows), keys)
    packed = [r.locator + r.id + len(r.sealed).to_bytes(4, "big") + r.sealed for r in rows]
    swapped = stream.replace(packed[0] + packed[1], packed[1] + packed[0])
    repeated = stream.replace(packed[0] + packed[1], packed[0] + packed[0])
    for bad in (swapped, repeated):
        error = refused_whole(net, "b", resealed(bad, roster.network_key()), BundleInvalidError)
        assert "out of order or repeated" in str(error)


def test_a_bundle_changed_between_its_check_and_its_merge_writes_nothing(net: Network) -> None:
    roster, own, _ = _keys(net, "a")
    good = bundle.seal_bundle(own, roster.network_key(), fake_rows(5))
    other = bundle.seal_bundle(own, roster.network_key(), fake_rows(5))

    class Swapped(io.BytesIO):
        """Reads as ``good`` until it was read through once, then as ``other`` (a stick swapped)."""

        def __init__(self) -> None:
            super().__init__(good)
            self.reads = 0

        def seek(self, offset: int, whence: int = 0) -> int:
            if (offset, whence) == (0, 0):
                self.reads += 1
                if self.reads == 2:  # the second reading: the merge's
                    self.getbuffer()[:] = other  # (the same length: both hold five rows)
            return super().seek(offset, whence)

    before = snapshot(net.sites["b"])
    with net.sync("b") as (_, sync), pytest.raises(BundleInvalidError, match="changed while"):
        sync.import_bundle(Swapped())
    assert snapshot(net.sites["b"]) == before


def test_a_format_1_bundle_is_refused_saying_so(net: Network) -> None:
    roster, _, _ = _keys(net, "a")
    old = bundle.SUITE.encrypt(b"\x82" + bytes(64 * 1024), roster.network_key(), b"haven/v1/bundle")
    error = refused_whole(net, "b", old, BundleUnreadableError)
    assert "earlier version of Haven (bundle format 1)" in str(error)


def _peak_mib(net: Network, rows: int, tmp: Path) -> float:
    """Peak Python memory of exporting, then importing, a bundle of ``rows`` rows (the rows stored first)."""
    roster, own, keys = _keys(net, "a")
    source = SQLiteStore(tmp / f"source-{rows}.db")
    target = SQLiteStore(tmp / f"target-{rows}.db")
    try:
        for start in range(0, rows, 5_000):
            source.merge(fake_rows(min(5_000, rows - start)))
        path = tmp / f"bundle-{rows}"
        tracemalloc.start()
        try:
            with path.open("wb") as out:
                written, _ = bundle.write_bundle(out, own, roster.network_key(), service.rows_in_buckets(source))
            with path.open("rb") as src:
                opened = bundle.read_bundle(src, keys)
                merged = 0
                with target.transaction():
                    for batch in opened.rows():
                        merged += target.merge(batch)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert written == merged == opened.count == rows
        return peak / 2**20
    finally:
        source.close()
        target.close()


def test_export_and_import_hold_a_bounded_amount_of_memory(
    net: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "EXPORT_BATCH_ROWS", 1_000)
    small, large = _peak_mib(net, 4_000, tmp_path), _peak_mib(net, 24_000, tmp_path)
    # Six times the rows (7.6 MiB of them, against 1.3 MiB): the peak stays near the smaller one's.
    assert large < 3.0 and large < small * 1.5 + 0.5, (small, large)


def test_a_state_of_every_bucket_opens(net: Network) -> None:
    """A site with rows in all 65,536 buckets writes a state of about 1 MiB: it spans frames and opens."""
    from haven.sync import reconcile
    from haven.sync.buckets import Bucket

    roster, own, keys = _keys(net, "a")
    summary = reconcile.pack_nodes({b: Bucket(os.urandom(16), 15) for b in range(1 << 16)}, 8)
    assert len(summary) > 1 << 20
    opened = bundle.open_bundle(bundle.seal_bundle(own, roster.network_key(), summary=summary), keys)
    assert opened.summary == summary and opened.count == 0
