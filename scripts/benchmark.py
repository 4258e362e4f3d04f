"""Timing figures for sijfasp: prints them, asserts nothing (timing goals are read, not tested).

    python scripts/benchmark.py [--repeat N]

For each example case and each bundled policy: the median wall time of a full evaluation
(determination, criteria, minimal sets and the grouped view), in the same process, after the
policies are loaded. Also the load-and-compile time of the bundled policies and the time of a
whole `sijfasp missing` command on the empty request, the worst case.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sijfasp.api import evaluate  # noqa: E402
from sijfasp.cases.case import validate_case  # noqa: E402
from sijfasp.policies.loading import bundled_policies, bundled_policy_paths, load_policy  # noqa: E402

EMPTY = {"id": "empty", "request": {"service": "percutaneous_sij_fusion", "date": "2026-07-15"}}


def median_ms(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat

    os.environ["SIJFASP_NO_CACHE"] = "1"  # loaded afresh each time, not from the cache
    load = median_ms(lambda: [load_policy(p) for p in bundled_policy_paths()], repeat)
    del os.environ["SIJFASP_NO_CACHE"]
    print(f"load, check and compile both policies: {load:7.1f} ms")
    policies = bundled_policies()
    import yaml

    cases = {"empty request (worst case)": EMPTY}
    for path in sorted((ROOT / "examples" / "cases").glob("*.yaml")):
        cases[path.stem] = yaml.safe_load(path.read_text(encoding="utf-8"))
    print(f"{'case':<32} {'policy':<22} {'determination':<15} {'median ms':>9}")
    for name, data in cases.items():
        for loaded in policies:
            case = validate_case(data, loaded.policy.vocabulary, name)
            result = evaluate(loaded, case)
            ms = median_ms(lambda: evaluate(loaded, case), repeat)
            print(f"{name:<32} {loaded.policy.id:<22} {result.determination:<15} {ms:9.1f}")

    empty = ROOT / "examples" / "cases" / "empty_request.yaml"
    if empty.exists():
        command = [sys.executable, "-m", "sijfasp", "missing", str(empty)]
        ms = median_ms(
            lambda: subprocess.run(command, cwd=ROOT, capture_output=True, check=True), repeat
        )
        print(
            f"whole command `sijfasp missing {empty.relative_to(ROOT)}` "
            f"(start-up included): {ms:.1f} ms"
        )


if __name__ == "__main__":
    main()
