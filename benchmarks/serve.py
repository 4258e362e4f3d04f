"""A bounded load on `sijfasp serve` over loopback: order-sign calls, some at a time.

    python benchmarks/serve.py [--calls 2000] [--concurrency 16] [--workers 2] [--distinct]
                               [--cache-mb 32]

Starts the real server (`--dev`, a fresh SQLite file in a temporary folder) on a free port of
127.0.0.1, sends the example order-sign requests (each with its own hookInstance) and reports
throughput, latency percentiles and errors. The examples are two requests, so every call after
the first two is answered from the judgement the server keeps for identical contents
(docs/serve.md); `--distinct` gives each call its own practitioner (`context.userId`, which
the judgement does not read), so every call is judged anew, and `--cache-mb 0` turns keeping off; then checks the database: one stored request and
two decisions per answered call, none lost, none twice. Nothing but 127.0.0.1 is contacted;
the run stops after the calls or after `--max-seconds`.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import httpx
from serve_support import FHIR, start


def _processor_seconds(pid: int) -> float:
    """The processor time (user and system) a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-seconds", type=float, default=1800)
    parser.add_argument("--distinct", action="store_true", help="every call its own request")
    parser.add_argument("--cache-mb", type=int, default=None, help="the server's cache_mb")
    args = parser.parse_args()
    hooks = [json.loads(p.read_text()) for p in sorted((FHIR / "hooks").glob("*.json"))]
    folder = Path(tempfile.mkdtemp(prefix="sijfasp-bench-"))
    config = folder / "serve.toml"
    cache = "" if args.cache_mb is None else f"cache_mb = {args.cache_mb}\n"
    config.write_text(
        f"[server]\nworkers = {args.workers}\nqueue = {args.concurrency * 4}\n{cache}"
    )
    database = folder / "bench.db"
    server = start(folder, "--dev", config=config, database=database)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(args.calls))
    deadline = time.monotonic() + args.max_seconds

    def worker() -> None:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            for number in counter:
                if time.monotonic() > deadline:
                    return
                body = dict(hooks[number % len(hooks)], hookInstance=f"bench-{number}")
                if args.distinct:
                    user = f"Practitioner/bench-{number}"
                    body["context"] = dict(body["context"], userId=user)
                began = time.perf_counter()
                try:
                    answer = http.post("/cds-services/sijfasp-order-sign", json=body)
                    status = answer.status_code
                except httpx.HTTPError as error:
                    status = 0
                    with lock:
                        errors.append(type(error).__name__)
                elapsed = time.perf_counter() - began
                with lock:
                    latencies.append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1

    started_at = _processor_seconds(server.process.pid)  # loading the policies, at start
    own = time.process_time()
    began = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    processor = _processor_seconds(server.process.pid) - started_at
    own = time.process_time() - own
    server.stop()
    with sqlite3.connect(database) as db:
        stored = db.execute(
            "SELECT COUNT(*) FROM requests WHERE endpoint = 'cds-services/sijfasp-order-sign'"
        ).fetchone()[0]
        decisions = db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
        distinct = db.execute("SELECT COUNT(DISTINCT id) FROM requests").fetchone()[0]
    ok = statuses.get(200, 0)
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    kind = "each its own request" if args.distinct else f"{len(hooks)} requests in turn"
    kept = "" if args.cache_mb is None else f", cache_mb {args.cache_mb}"
    print(
        f"calls {len(latencies)} ({kind}), {args.concurrency} at a time, "
        f"{args.workers} workers{kept}"
    )
    print(f"load average before the end: {os.getloadavg()[0]:.2f} (2 cores)")
    print(f"wall {wall:.1f} s, throughput {len(latencies) / wall:.1f} calls/s")
    print(
        f"latency ms: p50 {pct(50):.0f}, p95 {pct(95):.0f}, p99 {pct(99):.0f}, "
        f"mean {statistics.fmean(latencies) * 1000:.0f}"
    )
    each = max(len(latencies), 1) / 1000
    print(
        f"processor time per call: server {processor / each:.1f} ms, "
        f"these clients {own / each:.1f} ms"
    )
    print(f"statuses {dict(sorted(statuses.items()))}, transport errors {len(errors)}")
    print(f"stored requests {stored}, distinct {distinct}, decisions {decisions}")
    lost = ok - stored
    print(f"lost {max(lost, 0)}, duplicated {max(-lost, 0)}")
    good = stored == ok and decisions == 2 * ok and not errors
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
