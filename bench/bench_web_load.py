"""Benchmark: 50 concurrent clients on loopback for 60 s against the main routes of `haven serve`.

    .venv/bin/python bench/bench_web_load.py                       # 50 clients, 60 s
    .venv/bin/python bench/bench_web_load.py --clients 10 --seconds 10
    .venv/bin/python bench/bench_web_load.py --compare-wal       # the same load with WAL, then without

Starts `haven serve --demo` in its own process on a free loopback port: a real encrypted site (key
slots, SQLCipher), with the real calibrated Argon2id unless HAVEN_KDF_PROFILE says otherwise. First
every client signs in as the demo clinician through the key slots (one Argon2id run each; the site
queues unlocks, so these are timed on their own), makes its own card and records a first visit. Then,
for the timed window, each loops over a mix of the routes staff use: its history (API), the open-card
page, the history page, the catalogue, the health check, and now and then another visit (a write).
Goal (issue 5): zero errors. Reports the sign-ins, p50/p99 latency per route and overall, requests/s,
and the server's memory (resident at start, after the sign-ins, after the load, and peak, from /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
VISIT = [{"type": "test", "test": "antigen", "result": "negative", "date": None}]
# `haven serve` with the store's journal mode set first (a benchmark-only switch: see --compare-wal).
SERVE = (
    "import sys; from haven.store import sqlite; sqlite.JOURNAL_MODE = sys.argv.pop(1); "
    "from haven.cli import run; run()"
)
MIX = [
    ("GET /api/history", 40),
    ("GET /card", 15),
    ("GET /card/history", 15),
    ("GET /api/catalogue", 15),
    ("GET /api/health", 10),
    ("POST /api/visits", 5),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memory_kib(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


async def sign_in(
    c: httpx.AsyncClient, staff: dict[str, str], today: str, timings: dict[str, list[float]], errors: list[str]
) -> tuple[dict[str, str], list[dict[str, object]]] | None:
    """Sign in through the key slots, make a card, record its first visit; the headers and visit to use."""
    rng = random.Random()
    token = (await c.get("/api/session")).json()["csrf_token"]
    started = time.perf_counter()
    r = await c.post(
        "/api/session",
        json={"name": staff["name"], "passphrase": staff["passphrase"]},
        headers={"X-CSRF-Token": token},
        timeout=600,  # sign-ins queue behind each other: the last of 50 waits for all the others
    )
    timings["POST /api/session (sign-in)"].append(time.perf_counter() - started)
    if r.status_code != 200:
        errors.append(f"sign-in: {r.status_code} {r.text[:100]}")
        return None
    h = {"X-CSRF-Token": r.json()["csrf_token"]}
    await c.post("/api/cards", json={"language": rng.choice(["en", "ko", "zh"])}, headers=h)
    visit: list[dict[str, object]] = [dict(VISIT[0], date=today)]
    r = await c.post("/api/visits", json={"visit": visit}, headers=h)
    if r.status_code != 200:
        errors.append(f"first visit: {r.status_code} {r.text[:100]}")
        return None
    return h, visit


async def client_loop(
    c: httpx.AsyncClient,
    h: dict[str, str],
    visit: list[dict[str, object]],
    until: float,
    timings: dict[str, list[float]],
    errors: list[str],
) -> None:
    rng = random.Random()
    names = [n for n, _ in MIX]
    weights = [w for _, w in MIX]
    while time.monotonic() < until:
        name = rng.choices(names, weights)[0]
        method, path = name.split(" ")
        started = time.perf_counter()
        try:
            if method == "GET":
                r = await c.get(path)
            else:
                r = await c.post(path, json={"visit": visit}, headers=h)
        except httpx.HTTPError as exc:
            errors.append(f"{name}: {type(exc).__name__}")
            continue
        timings[name].append(time.perf_counter() - started)
        if r.status_code != 200:
            errors.append(f"{name}: {r.status_code} {r.text[:100]}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run(
    base: str, staff: dict[str, str], today: str, clients: int, seconds: float, pid: int
) -> tuple[dict[str, list[float]], dict[str, list[float]], list[str], float, float, dict[str, int]]:
    timings: dict[str, list[float]] = defaultdict(list)
    signins: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    async with contextlib.AsyncExitStack() as stack:
        conns = [await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=30)) for _ in range(clients)]
        started = time.monotonic()
        ready = await asyncio.gather(*(sign_in(c, staff, today, signins, errors) for c in conns))
        signing_in = time.monotonic() - started
        after_sign_in = memory_kib(pid)
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(
            *(client_loop(c, r[0], r[1], until, timings, errors) for c, r in zip(conns, ready, strict=True) if r)
        )
        elapsed = time.monotonic() - started
    return timings, signins, errors, elapsed, signing_in, after_sign_in


def serve_and_load(args: argparse.Namespace, journal: str) -> dict[str, object]:
    """Start a demo server whose store uses ``journal`` as its journal mode, load it, report."""
    port = free_port()
    env = {**os.environ, "HAVEN_WEB_MAX_SESSIONS": "5000"}
    with subprocess.Popen(
        [sys.executable, "-c", SERVE, journal, "serve", "--demo", "--port", str(port), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    ) as server:
        assert server.stdout is not None
        lines = []
        for line in server.stdout:
            lines.append(line)
            if line.rstrip() == "}":
                break
        doc = json.loads("".join(lines))
        base = doc["url"].rstrip("/")
        for _ in range(200):
            try:
                if httpx.get(base + "/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        clinician = next(a for a in doc["staff"] if a["role"] == "clinician")
        before = memory_kib(server.pid)
        today = time.strftime("%Y-%m-%d", time.gmtime())
        timings, signins, errors, elapsed, signing_in, after_sign_in = asyncio.run(
            run(base, clinician, today, args.clients, args.seconds, server.pid)
        )
        after = memory_kib(server.pid)
        server.send_signal(signal.SIGINT)
        server.wait(15)
    every = [t for values in timings.values() for t in values]
    sign_in_times = signins["POST /api/session (sign-in)"]
    report: dict[str, object] = {
        "journal_mode": journal,
        "kdf_profile": os.environ.get("HAVEN_KDF_PROFILE", "calibrated"),
        "clients": args.clients,
        "sign_ins": {
            "n": len(sign_in_times),
            "all_done_s": round(signing_in, 1),
            "p50_ms": round(pct(sign_in_times, 0.5), 1),
            "p99_ms": round(pct(sign_in_times, 0.99), 1),
        },
        "seconds": round(elapsed, 1),
        "requests": len(every),
        "requests_per_s": round(len(every) / elapsed, 1),
        "errors": len(errors),
        "p50_ms": round(pct(every, 0.50), 1),
        "p99_ms": round(pct(every, 0.99), 1),
        "routes": {
            name: {"n": len(v), "p50_ms": round(pct(v, 0.5), 1), "p99_ms": round(pct(v, 0.99), 1)}
            for name, v in sorted(timings.items())
        },
        "server_rss_mib_before": round(before["VmRSS"] / 1024, 1),
        "server_rss_mib_after_sign_ins": round(after_sign_in["VmRSS"] / 1024, 1),
        "server_rss_mib_after": round(after["VmRSS"] / 1024, 1),
        "server_peak_rss_mib": round(after["VmHWM"] / 1024, 1),
        "first_errors": errors[:5],
    }
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--compare-wal",
        action="store_true",
        help="run the load twice, the store in WAL mode (as before) and then with Haven's rollback journal",
    )
    args = parser.parse_args()
    journals = ["wal", "truncate"] if args.compare_wal else ["truncate"]
    reports = [serve_and_load(args, journal) for journal in journals]
    print(json.dumps(reports if args.compare_wal else reports[0], indent=2))
    return 0 if not any(r["errors"] for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
