"""Benchmark: sync by bundle: a first sync of N rows into an empty site, then 1,000 new rows into N.

    .venv/bin/python bench/bench_sync.py                   # N = 20,000 (seconds)
    .venv/bin/python bench/bench_sync.py --rows 1000000    # the issue's figure (a few minutes)

Measures, on encrypted SQLite stores (SQLCipher under a random key, as every site's):
- first sync: writing the bundle to a file as ``haven sync export`` does (rows/s), its bytes per row against
  the rows' own bytes (locator, id and sealed value), and reading it from the file, checking it whole and
  merging it into an empty store in one transaction, as ``haven sync import`` does (rows/s); each in a
  process of its own, whose peak RSS is printed (memory stays bounded: frames of 64 KiB, rows read and
  merged in batches; SQLite's page cache and the import's dirty pages come on top);
- incremental: 1,000 new rows at the sender; the receiver's state file, the sender's bundle of the buckets
  that differ (``export --have``), both in bytes, and the time of the whole exchange; beside it, what the
  tree exchange down to row fingerprints (haven/sync/reconcile.py, as a hub drives it) would send.
Goals (issue 12): >= 50,000 rows/s merged; bundle <= 1.1 x the rows' bytes; incremental <= 3 x the new
rows' bytes + 200 KB, under 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric import x25519  # noqa: E402

from haven.certs.signing_keys import new_private_key, public_bytes  # noqa: E402
from haven.core.records import SealedRecord  # noqa: E402
from haven.store.sqlite import SQLiteStore  # noqa: E402
from haven.sync import reconcile  # noqa: E402
from haven.sync.bundle import open_bundle, read_bundle, seal_bundle, write_bundle  # noqa: E402
from haven.sync.roster import Roster, SiteKeys, new_roster, parse_roster  # noqa: E402
from haven.sync.service import rows_in_buckets  # noqa: E402

SEALED_BYTES = 1 + 12 + 256 + 16  # a one-block visit record (haven/core/records.py)


def fake_rows(n: int) -> list[SealedRecord]:
    return [SealedRecord(os.urandom(16), os.urandom(16), b"\x01" + os.urandom(SEALED_BYTES - 1)) for _ in range(n)]


def own_bytes(rows: list[SealedRecord]) -> int:
    return sum(len(r.locator) + len(r.id) + len(r.sealed) for r in rows)


def receive(store: SQLiteStore, data: bytes, keys: SiteKeys, roster: Roster) -> int:
    """What ``haven sync import`` does to the store: open, check whole, merge in one transaction."""
    opened = open_bundle(data, [keys.encryption, *roster.open_network_keys(keys).values()])
    opened.check(roster, keys.member)
    with store.transaction():
        return sum(store.merge(batch) for batch in opened.rows())


def phase(args: argparse.Namespace) -> None:
    """One side of the first sync in this process, as the command does it; prints its figures as JSON."""
    setup = json.loads(Path(args.setup).read_text())
    keys = SiteKeys.from_bytes(bytes.fromhex(setup["keys"]))
    roster_bytes = bytes.fromhex(setup["roster"])
    roster = parse_roster(roster_bytes, bytes.fromhex(setup["root"]))
    store = SQLiteStore(Path(args.store), key=bytes.fromhex(setup["store_key"]))
    began, cpu = time.perf_counter(), time.process_time()
    if args.phase == "export":
        with Path(args.bundle).open("wb") as out:
            rows, size = write_bundle(out, keys, roster.network_key(), rows_in_buckets(store), roster_bytes)
    else:
        with Path(args.bundle).open("rb") as source:
            opened = read_bundle(source, [keys.encryption, *roster.open_network_keys(keys).values()])
            opened.check(roster, keys.member)
            with store.transaction():
                rows = sum(store.merge(batch) for batch in opened.rows())
        size = Path(args.bundle).stat().st_size
    figures = {"seconds": time.perf_counter() - began, "cpu": time.process_time() - cpu, "rows": rows, "bytes": size}
    store.close()
    figures["peak_rss_mib"] = peak_rss_kib() / 1024
    print(json.dumps(figures))


def peak_rss_kib() -> int:
    """This process's peak RSS since it started (VmHWM: ru_maxrss would count the parent's memory,
    which Linux carries across the fork and exec that start a child)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def run_phase(name: str, setup: Path, store: Path, bundle: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--phase", name, "--setup", str(setup), "--store", str(store)]
    done = subprocess.run([*command, "--bundle", str(bundle)], capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def load() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def tree_exchange_bytes(local: reconcile.StorePeer, remote: reconcile.StorePeer) -> tuple[int, int]:
    """Bytes of the tree exchange as a site would drive it against a hub: the root's digest, then at each
    level the site sends the nodes that differ (4 bytes each) and the hub answers with their children's
    8-byte digests (:func:`~haven.sync.reconcile.pack_children`); then the hub's fingerprints of the
    differing buckets, which tell the site both what to fetch and what to push.
    Returns (bytes, rows the site would push)."""
    leaves = reconcile.LEAF_LEVEL
    root = remote.nodes(0, [0])
    total = len(reconcile.pack_nodes(root, 8))
    indices = reconcile.differing(local.nodes(0, [0]), root, [0])
    for level in range(1, leaves + 1):
        if not indices:
            break
        answer = reconcile.pack_children(remote.nodes(level, reconcile.children(indices)), indices)
        total += 4 * len(indices) + len(answer)
        wanted = reconcile.children(indices)
        indices = reconcile.differing(local.nodes(level, wanted), reconcile.unpack_children(answer, indices), wanted)
    theirs_fps = remote.fingerprints(indices)
    total += 2 * len(indices) + len(reconcile.pack_fingerprints(theirs_fps))
    plan = reconcile.compare_fingerprints(local.fingerprints(indices), theirs_fps)
    return total, sum(len(s) for s in plan.send.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--phase", choices=("export", "import"), help=argparse.SUPPRESS)
    for hidden in ("--setup", "--store", "--bundle"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phase(args)
        return

    root = new_private_key(os.urandom)
    sender_keys, receiver_keys = SiteKeys.generate(os.urandom), SiteKeys.generate(os.urandom)
    roster_bytes = new_roster(
        None,
        public_bytes(root),
        [sender_keys.member, receiver_keys.member],
        (),
        {1: x25519.X25519PrivateKey.generate()},
    ).sign(root)
    roster = parse_roster(roster_bytes, public_bytes(root))

    with tempfile.TemporaryDirectory(prefix="haven-bench-sync-") as tmp:
        keys = {"sender": os.urandom(32), "receiver": os.urandom(32)}
        sender = SQLiteStore(Path(tmp) / "sender.db", key=keys["sender"])
        receiver = SQLiteStore(Path(tmp) / "receiver.db", key=keys["receiver"])
        for store in (sender, receiver):
            store.tune_for_bulk()
        print(f"filling the sender with {args.rows:,} rows...", flush=True)
        for start in range(0, args.rows, 50_000):
            sender.add(fake_rows(min(50_000, args.rows - start)), [])
        receiver.close()
        setups = {}
        for side, site_keys in (("sender", sender_keys), ("receiver", receiver_keys)):
            setups[side] = Path(tmp) / f"{side}.json"
            doc = {"keys": site_keys.to_bytes().hex(), "roster": roster_bytes.hex(), "root": public_bytes(root).hex()}
            setups[side].write_text(json.dumps({**doc, "store_key": keys[side].hex()}))
        path = Path(tmp) / "bundle.haven"
        print(f"first sync of {args.rows:,} rows ({load()}):")
        out = run_phase("export", setups["sender"], Path(tmp) / "sender.db", path)
        print(
            f"  export (read, seal, sign, write the file): {out['seconds']:.2f} s ({args.rows / out['seconds']:,.0f}"
            f" rows/s), {out['cpu']:.2f} s CPU, peak RSS {out['peak_rss_mib']:.0f} MiB;"
            f" bundle {out['bytes']:,.0f} bytes"
        )
        ratio = out["bytes"] / (args.rows * (16 + 16 + SEALED_BYTES))
        print(f"  bundle / rows' own bytes: {ratio:.3f} ({out['bytes'] / args.rows:.1f} bytes per row)")
        into = run_phase("import", setups["receiver"], Path(tmp) / "receiver.db", path)
        assert into["rows"] == args.rows, into
        print(
            f"  import (read and check whole, then read again and merge in one transaction): {into['seconds']:.2f} s"
            f" ({args.rows / into['seconds']:,.0f} rows/s merged), {into['cpu']:.2f} s CPU"
            f" ({args.rows / into['cpu']:,.0f} rows per CPU second), peak RSS {into['peak_rss_mib']:.0f} MiB"
        )
        print(f"  ({load()} after)")
        receiver = SQLiteStore(Path(tmp) / "receiver.db", key=keys["receiver"])

        new = fake_rows(args.new)
        sender.add(new, [])
        began = time.perf_counter()
        summary = reconcile.pack_nodes(receiver.sync_buckets(), 8)
        state = seal_bundle(receiver_keys, roster.network_key(), (), roster_bytes, summary=summary)
        theirs = reconcile.unpack_nodes(
            open_bundle(state, [sender_keys.encryption, *roster.open_network_keys(sender_keys).values()]).summary or b""
        )
        mine = sender.sync_buckets()
        differing = reconcile.differing(mine, theirs, set(mine) | set(theirs))
        bundle = seal_bundle(
            sender_keys,
            receiver_keys.member.enc_key(),
            sender.sync_rows(differing),
            roster_bytes,
            recipient=receiver_keys.member,
        )
        added = receive(receiver, bundle, receiver_keys, roster)
        incremental_s = time.perf_counter() - began
        assert added == args.new
        print(f"incremental: {args.new:,} new rows ({own_bytes(new):,} bytes) into {args.rows:,}:")
        print(f"  by bundle: state {len(state):,} + bundle {len(bundle):,} bytes, {incremental_s:.2f} s in all")
        more = fake_rows(args.new)
        sender.add(more, [])
        began = time.perf_counter()
        exchanged, to_send = tree_exchange_bytes(reconcile.StorePeer(sender), reconcile.StorePeer(receiver))
        tree_s = time.perf_counter() - began
        rows_bytes = own_bytes(more) + 4 * len(more)
        print(
            f"  by tree exchange (a hub's path, {args.new:,} more): {exchanged:,} bytes of digests and fingerprints"
            f" + {rows_bytes:,} of rows ({to_send:,} rows), planned in {tree_s:.2f} s"
        )
        sender.close()
        receiver.close()


if __name__ == "__main__":
    main()
