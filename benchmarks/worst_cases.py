"""The worst valid cases of issue 25, each timed in a process of its own.

    python benchmarks/worst_cases.py                  # every shape, 30 s cap per run
    python benchmarks/worst_cases.py --cap 10 --only blocks
    python benchmarks/worst_cases.py --against 20f88b7  # the same runs on that commit, beside

Shapes (valid cases within the documented limits, core/limits.py):
- `blocks N`: the fully documented example with its diagnostic blocks replaced by N diagnostic
  blocks documented without their relief (N = 10 to 5,000): every block is an open record that
  a relief figure would put in the set;
- `home N`: the fully documented example without its therapy, plus N home exercise programs
  with none of their optional fields documented (N = 10 to 5,000);
- `overlap k`: the same, with k open programs that all cover the same months (k = 10 to 400);
- `empty`: the request with nothing documented but its service and date.

Each shape is judged by `sijfasp check --format json` with its minimal sets (the default) and
with `--no-missing`, each run a fresh process limited to the cap in processor seconds (and
killed if the clock runs far past it), so the run always ends. Printed: processor seconds (user
and system, the figure to compare on a shared machine), wall-clock seconds, the peak resident
memory of that process (getrusage, through os.wait4) and the bytes of JSON written. `--against REV`
runs the same cases on a commit of this repository (extracted with `git archive`) and prints
its figures beside.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

BLOCKS = (10, 100, 300, 1000, 5000)
HOMES = (10, 100, 1000, 5000)
OVERLAPS = (10, 100, 400)
MODES = ("sets", "no-missing")
WALL_FACTOR = 20  # a shared machine may give a process a twentieth of a core
MAX_RECORDS = 5_000  # core/limits.py: a longer chart is refused, so the shapes stop there


# ------------------------------------------------------------------ the shapes
def _example(name: str) -> dict[str, Any]:
    return next(c for c in generate._examples() if c["id"] == name)


def blocks_case(count: int) -> dict[str, Any]:
    """The approvable example with `count` diagnostic blocks whose relief is not documented,
    each on a day of its own (going back from the day before the request)."""
    case = copy.deepcopy(_example("approvable"))
    request: dt.date = case["request"]["date"]
    injections = [i for i in case["records"]["injection"] if i["purpose"] != "diagnostic"]
    others = sum(len(v) for k, v in case["records"].items() if k != "injection") + len(injections)
    for index in range(min(count, MAX_RECORDS - others)):
        injections.append(
            {
                "date": request - dt.timedelta(days=1 + index),
                "purpose": "diagnostic",
                "site": "sij_intra_articular",
                "side": "left",
                "image_guided": True,
                "contrast_enhanced": True,
                "agent": "local_anesthetic",
            }
        )
    case["records"]["injection"] = injections
    case["id"] = f"blocks-{count}"
    return case


def home_case(count: int) -> dict[str, Any]:
    """`count` home exercise programs without their optional fields (benchmarks/generate.py)."""
    base = _example("approvable")
    others = sum(len(v) for k, v in base["records"].items() if k != "therapy")
    case = generate.open_home_chart(base, min(count, MAX_RECORDS - others), 1)
    case["id"] = f"home-{count}"
    return case


def overlap_case(count: int) -> dict[str, Any]:
    """`count` open home programs, every one over the same 300 days before the request."""
    case = copy.deepcopy(_example("approvable"))
    request: dt.date = case["request"]["date"]
    programs = [
        {
            "kind": "home_exercise_program",
            "start": request - dt.timedelta(days=300 + index % 7),
            "end": request - dt.timedelta(days=index % 5),
        }
        for index in range(count)
    ]
    case["records"]["therapy"] = programs
    case["id"] = f"overlap-{count}"
    return case


def empty_case() -> dict[str, Any]:
    case = copy.deepcopy(_example("empty_request"))
    case["id"] = "empty"
    return case


def shapes(only: str | None, sizes: set[int] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The shapes by name (`only`), and by size (`sizes`) where they have one."""
    found: list[tuple[str, dict[str, Any]]] = []

    def wanted(size: int) -> bool:
        return sizes is None or size in sizes

    if only in (None, "blocks"):
        found += [(f"blocks {n}", blocks_case(n)) for n in BLOCKS if wanted(n)]
    if only in (None, "home"):
        found += [(f"home {n}", home_case(n)) for n in HOMES if wanted(n)]
    if only in (None, "overlap"):
        found += [(f"overlap {n}", overlap_case(n)) for n in OVERLAPS if wanted(n)]
    if only in (None, "empty") and sizes is None:
        found.append(("empty", empty_case()))
    return found


# ------------------------------------------------------------------ one run
Result = tuple[float | None, float, float, int, int]


def run_once(
    command: list[str], case_file: Path, mode: str, cap: float, cwd: Path, env: dict[str, str]
) -> Result:
    """(seconds or None past the cap, CPU seconds, peak MiB, bytes written, exit status) of one
    process. The cap is processor time (user and system), the figure to compare on a shared
    machine: the process may use `cap` seconds of it (RLIMIT_CPU), and is killed after
    WALL_FACTOR times as long on the clock."""
    arguments = [*command, "check", "--format", "json", "--time-limit", "0"]
    if mode == "no-missing":
        arguments.append("--no-missing")
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*arguments, str(case_file)],
            stdout=out,
            stderr=subprocess.DEVNULL,
            cwd=cwd,
            env=env,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CPU, (int(cap) + 1,) * 2),
        )
        deadline = started + cap * WALL_FACTOR + 15
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped above
        size = out.tell()
    peak = usage.ru_maxrss / 1024  # KiB on Linux
    cpu = usage.ru_utime + usage.ru_stime
    code = os.waitstatus_to_exitcode(status)
    finished = code in (0, 1) and cpu <= cap
    return (elapsed if finished else None), cpu, peak, size, code


# ------------------------------------------------------------------ another commit
def checkout(revision: str, into: Path, repository: Path = REPO) -> Path:
    """The tree of `revision`, extracted (the working tree is left alone)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision],
        cwd=repository,
        check=True,
        capture_output=True,
    ).stdout
    target = into / "tree"
    target.mkdir()
    tar_path = into / "tree.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(target, filter="data")
    return target


def runner(tree: Path | None) -> tuple[list[str], Path, dict[str, str]]:
    env = dict(os.environ)
    if tree is None:
        return [sys.executable, "-m", "sijfasp"], REPO, env
    env["PYTHONPATH"] = str(tree)
    env["SIJFASP_CACHE_DIR"] = str(tree / ".cache")
    return [sys.executable, "-m", "sijfasp"], tree, env


def _cell(result: Result | None, cap: float) -> str:
    if result is None:
        return ""
    seconds, cpu, peak, size, code = result
    if seconds is None:
        return f"CPU > {cap:g} s ({peak:.0f} MiB when stopped, exit {code})"
    return f"CPU {cpu:.2f} s (wall {seconds:.2f} s), {peak:.0f} MiB, {size / 1024:.0f} KiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--cap", type=float, default=30.0, help="processor seconds per run (default 30)"
    )
    parser.add_argument("--only", choices=("blocks", "home", "overlap", "empty"))
    parser.add_argument("--mode", choices=MODES, help="only this mode")
    parser.add_argument("--size", type=int, action="append", help="only this size (repeatable)")
    parser.add_argument("--against", metavar="REV", help="also run this commit, beside")
    parser.add_argument(
        "--repository",
        type=Path,
        default=REPO,
        help="the git repository REV is taken from (default: this one)",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        other = checkout(args.against, folder, args.repository) if args.against else None
        cases = []
        for label, case in shapes(args.only, set(args.size) if args.size else None):
            path = folder / f"{case['id']}.json"
            path.write_text(json.dumps(case, default=str), encoding="utf-8")
            cases.append((label, path))
        modes = [args.mode] if args.mode else list(MODES)
        header = ["case", "mode", "this tree"] + ([args.against] if other else [])
        print(" | ".join(header))
        print(" | ".join("---" for _ in header))
        for label, path in cases:
            for mode in modes:
                now = run_once(*_with(runner(None), path, mode, args.cap))
                row = [label, mode, _cell(now, args.cap)]
                if other is not None:
                    before = run_once(*_with(runner(other), path, mode, args.cap))
                    row.append(_cell(before, args.cap))
                print(" | ".join(row), flush=True)
    return 0


def _with(
    run: tuple[list[str], Path, dict[str, str]], path: Path, mode: str, cap: float
) -> tuple[list[str], Path, str, float, Path, dict[str, str]]:
    command, cwd, env = run
    return command, path, mode, cap, cwd, env


if __name__ == "__main__":
    sys.exit(main())
