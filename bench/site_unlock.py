"""Benchmark: what one unlock costs here, and what that makes an offline guess of a passphrase cost.

Run:  .venv/bin/python bench/site_unlock.py [--runs 5] [--json]

It calibrates Argon2id as ``haven init`` does (at least 0.5 s and 256 MiB),
creates a throwaway site in a temporary folder, times right, wrong and duress
unlocks and ``haven panic``, and prints the table that docs/threat-model.md
quotes. Guessing costs assume an attacker who knows the passphrase is n random
words from the 2048-word BIP39 list and copied the key slot file: on average
they try half of the 2048**n candidates, each costing one Argon2id derivation.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from haven.errors import HavenError
from haven.site.config import SecuritySettings
from haven.site.folder import SiteFolder
from haven.site.kdf import calibrate, time_derive
from haven.site.passphrase import suggest
from haven.site.site import Site

YEAR = 365.25 * 24 * 3600
# Attacker hardware for the memory-bandwidth bound (datasheet figures).
GPU_NAME = "one NVIDIA H200 (4.8 TB/s HBM3e)"
GPU_BANDWIDTH = 4.8e12


def _unlock_seconds(site: Site, passphrase: str) -> float:
    start = time.perf_counter()
    with contextlib.suppress(HavenError):
        site.unlock(passphrase).close()
    return time.perf_counter() - start


def measure(runs: int) -> dict[str, Any]:
    os.environ.pop("HAVEN_KDF_PROFILE", None)
    settings = SecuritySettings(kdf_profile="calibrated")
    calibration = calibrate()
    params = calibration.params
    derive = statistics.median(time_derive(params) for _ in range(runs))
    # CPU time per guess (every lane's thread counted): what an attacker's cores must spend, whatever the load.
    cpu_seconds = statistics.median(time_derive(params, time.process_time) for _ in range(runs))
    real, duress, wrong = suggest(), suggest(), suggest()
    times: dict[str, list[float]] = {"real": [], "wrong": [], "duress": []}
    panic: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        shared = Site(SiteFolder(Path(tmp) / "shared"), settings)
        shared.create("bench", real, duress=duress, calibration=calibration).close()
        for n in range(runs):
            times["real"].append(_unlock_seconds(shared, real))
            times["wrong"].append(_unlock_seconds(shared, wrong))
            shared.attempts.write(0)
            fresh = Site(SiteFolder(Path(tmp) / f"fresh{n}"), settings)
            fresh.create("bench", real, duress=duress, calibration=calibration).close()
            times["duress"].append(_unlock_seconds(fresh, duress))
            start = time.perf_counter()
            fresh.panic()
            panic.append(time.perf_counter() - start)
    traffic = 3 * params.memory_kib * 1024 * params.time_cost  # read 2 blocks, write 1, per block and pass
    gpu_guesses_per_second = GPU_BANDWIDTH / traffic
    guessing = []
    for words in (4, 5, 6):
        expected = 2048**words / 2
        guessing.append(
            {
                "words": words,
                "bits": 11 * words,
                "expected_guesses": expected,
                "cpu_core_years": expected * cpu_seconds / YEAR,
                "gpu_years_bandwidth_bound": expected / gpu_guesses_per_second / YEAR,
            }
        )
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "kdf": params.to_doc(),
        "derive_seconds": derive,
        "unlock_seconds": {k: statistics.median(v) for k, v in times.items()},
        "unlock_spread_seconds": max(statistics.median(v) for v in times.values())
        - min(statistics.median(v) for v in times.values()),
        "panic_seconds_max": max(panic),
        "cpu_seconds_per_guess": cpu_seconds,
        "gpu": GPU_NAME,
        "gpu_guesses_per_second_upper_bound": gpu_guesses_per_second,
        "guessing": guessing,
        "runs": runs,
    }


def _years(value: float) -> str:
    return f"{value:.1e}" if value >= 1e4 else f"{value:,.1f}"


def table(doc: dict[str, Any]) -> str:
    k = doc["kdf"]
    u = doc["unlock_seconds"]
    lines = [
        f"Machine: {doc['machine']}.",
        f"Argon2id: {k['memory_kib'] // 1024} MiB, {k['time_cost']} passes, {k['parallelism']} lanes; "
        f"one derivation {doc['derive_seconds']:.2f} s wall, {doc['cpu_seconds_per_guess']:.2f} s CPU "
        f"(medians of {doc['runs']}).",
        f"Unlock (median): right {u['real']:.3f} s, wrong {u['wrong']:.3f} s, duress {u['duress']:.3f} s "
        f"(spread {doc['unlock_spread_seconds'] * 1000:.0f} ms); "
        f"panic at most {doc['panic_seconds_max'] * 1000:.0f} ms.",
        "",
        "| random words | bits | expected guesses | CPU core-years (this machine) | "
        f"GPU-years, {doc['gpu']}, bandwidth bound |",
        "| --- | --- | --- | --- | --- |",
    ]
    for g in doc["guessing"]:
        lines.append(
            f"| {g['words']} | {g['bits']} | {g['expected_guesses']:.1e} | {_years(g['cpu_core_years'])} | "
            f"{_years(g['gpu_years_bandwidth_bound'])} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    doc = measure(args.runs)
    print(json.dumps(doc, indent=2) if args.json else table(doc))


if __name__ == "__main__":
    main()
