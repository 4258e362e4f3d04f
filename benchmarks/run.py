"""How fast sijfasp decides cases, in one run on the same generated cases.

    python benchmarks/run.py                      # the default run, a few minutes on 2 cores
    python benchmarks/run.py --mix 1000 --batch 2000

Prints a table:
- cases per second on the generated mix (one core): the determination alone (the solver's
  decide step per policy), `check --no-missing` (the fast path: decided and explained as
  documented, no missing documentation worked out), `check` with the cheapest missing-documentation settings
  (one set, unranked), `check --format json` as it runs (the ranked minimal sets), and clingo
  alone on the compiled programs with the case facts built beforehand (the floor: ground
  policy.lp as the solver specializes it to the policy + compiled policy + facts, solve the
  decide part; only that is timed);
- per-case time against the number of records (10 to 5,000), each point in its own process
  under a time cap, so the run always ends, timed after one small case has warmed the process
  as a batch worker's earlier cases have;
- the same for charts of 10 to 40 overlapping home exercise programs with their optional
  fields undocumented, and 40 of them in 5,000 records (`--long-charts` runs only these);
- peak memory (resident set, from getrusage) of the mix and of the record series;
- a cold `sijfasp check` against `python -c "import clingo, lark, yaml"`, with the cache of
  loaded policies and of the parser populated (the usual case) and empty (a first run after an
  install or a change to sijfasp); `--cold-start` runs only these;
- `sijfasp batch --workers 2` on generated cases, with the output counted (no case lost or
  duplicated, in input order).

Throughput against the previous release (`--throughput` runs only this part): the same
generated cases, in this checkout and in a git worktree of PREVIOUS (the code issue 25
measured), each in a process of its own (`benchmarks/throughput.py`): `check --no-missing`
(here the determinations of up to 100 cases come from one grounding, solve/batched.py),
`check --format json` with the minimal sets, the grounding floor (clingo alone, a grounding
per case) and, here, the batched floor (clingo alone, a grounding per 100 cases).

`--large-batch N` runs only a batch of N generated cases with `--workers`: killed after
`--interrupt` seconds and finished with `--resume`, every line counted, and `--sample` cases
chosen at random checked one by one against `sijfasp check --format json`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

REPO = HERE.parent
RECORD_POINTS = (10, 100, 1000, 5000)
RECORD_BASE = "odi_missing"  # incomplete under one policy: both phases have work to do
# Open home exercise programs (optional fields undocumented) on the fully documented example
# without its therapy: the days of therapy stay open in the hypothetical world.
HOME_BASE = "approvable"
HOME_POINTS = ((10, None), (20, None), (40, None), (40, 5000))
# The previous release the throughput is compared with: the code issue 25 measured (2026-11-26).
PREVIOUS = "960cff7"


# ------------------------------------------------------------------ the pieces timed
def _policies() -> list[Any]:
    from sijfasp.policies.loading import bundled_policies

    return list(bundled_policies())


def _cases(raw: list[dict], policies: list[Any]) -> list[Any]:
    from sijfasp.cases.case import validate_case
    from sijfasp.cases.reader import read_json_case_text

    vocabulary = policies[0].policy.vocabulary
    return [
        validate_case(read_json_case_text(generate.json_line(r), r["id"]), vocabulary, r["id"])
        for r in raw
    ]


def _determine_all(policies: list[Any], cases: list[Any]) -> float:
    from sijfasp.solve.case_facts import case_symbols
    from sijfasp.solve.solver import determine

    started = time.perf_counter()
    for case in cases:
        facts = case_symbols(case)
        for loaded in policies:
            determine(loaded.compiled, facts)
    return time.perf_counter() - started


def _evaluate_all(policies: list[Any], cases: list[Any], options: Any) -> float:
    return sum(_per_case(policies, cases, options))


def _per_case(policies: list[Any], cases: list[Any], options: Any) -> list[float]:
    """Each case's seconds, every policy judging it."""
    from sijfasp.api import evaluate_case

    seconds = []
    for case in cases:
        started = time.perf_counter()
        evaluate_case(policies, case, options)
        seconds.append(time.perf_counter() - started)
    return seconds


def _quiet(code: Any, message: str) -> None:
    """clingo's informational messages (atoms a policy does not use) are not for this table."""


def _floor(policies: list[Any], cases: list[Any]) -> float:
    """clingo alone: the programs as text and the facts as symbols are ready beforehand."""
    import clingo

    from sijfasp.solve.case_facts import case_symbols
    from sijfasp.solve.solver import encoding_for

    # policy.lp as the solver gives it to clingo for each policy: specialized (solve/prune.py); the
    # case's facts as the solver gives them: month_start/2 for the policy's own windows.
    encodings = ["\n".join(map(str, encoding_for(p.compiled.program))) for p in policies]
    programs = [p.compiled.program for p in policies]
    windows = [p.compiled.window_months() for p in policies]
    facts = []
    for case in cases:
        symbols = case_symbols(case)
        documented = [s for group in symbols.groups.values() for s in group]
        facts.append([[*symbols.month_starts(w), *documented] for w in windows])
    elapsed = 0.0
    for per_policy in facts:
        for encoding, program, case_facts in zip(encodings, programs, per_policy, strict=True):
            started = time.perf_counter()
            control = clingo.Control(["--opt-mode=opt", "--opt-strategy=usc"], logger=_quiet)
            control.add("base", [], encoding)
            control.add("base", [], program)
            with control.backend() as backend:
                for symbol in case_facts:
                    backend.add_rule([backend.add_atom(symbol)])
            control.ground([("base", []), ("decide", [])])
            control.solve()
            elapsed += time.perf_counter() - started
    return elapsed


def _record_point(count: int, mode: str, queue: Any) -> None:
    from sijfasp.api import Options

    policies = _policies()
    base = next(c for c in generate._examples() if c["id"] == RECORD_BASE)
    case = _cases([generate.with_records(base, count, seed=1)], policies)[0]
    _warm_up(policies)
    if mode == "determination":
        elapsed = _determine_all(policies, [case])
    else:
        elapsed = _evaluate_all(policies, [case], Options())
    queue.put(elapsed)


def record_series(cap: float) -> list[tuple[int, str, float | None]]:
    """Seconds per case against records; None past the cap (the process is stopped)."""
    context = multiprocessing.get_context("spawn")
    points = []
    for mode in ("determination", "minimal sets"):
        capped = False
        for count in RECORD_POINTS:
            if capped:  # a longer chart cannot be faster
                points.append((count, mode, None))
                continue
            queue = context.Queue()
            process = context.Process(target=_record_point, args=(count, mode, queue))
            process.start()
            process.join(cap + 15)  # the cap on the case, plus the start of the process
            if process.is_alive():
                process.kill()
                process.join()
                points.append((count, mode, None))
                capped = True
                continue
            elapsed = queue.get(timeout=5)
            capped = elapsed > cap
            points.append((count, mode, None if capped else elapsed))
    return points


def _home_point(courses: int, records: int | None, queue: Any) -> None:
    from sijfasp.api import Options

    policies = _policies()
    base = next(c for c in generate._examples() if c["id"] == HOME_BASE)
    case = _cases([generate.open_home_chart(base, courses, 1, records)], policies)[0]
    _warm_up(policies)
    queue.put(_evaluate_all(policies, [case], Options()))


def _warm_up(policies: list[Any]) -> None:
    """One small case first, as a batch worker has done before its next case: what a process
    does once (programs parsed, the encoding specialized, modules imported) is not the case's."""
    from sijfasp.api import Options

    example = next(c for c in generate._examples() if c["id"] == HOME_BASE)
    _evaluate_all(policies, _cases([example], policies), Options())


def home_series(cap: float) -> list[tuple[int, int | None, float | None]]:
    """Seconds of a full evaluation (both policies, minimal sets) against open home programs."""
    context = multiprocessing.get_context("spawn")
    points = []
    for courses, records in HOME_POINTS:
        queue = context.Queue()
        process = context.Process(target=_home_point, args=(courses, records, queue))
        process.start()
        process.join(cap + 15)
        if process.is_alive():
            process.kill()
            process.join()
            points.append((courses, records, None))
            continue
        elapsed = queue.get(timeout=5)
        points.append((courses, records, None if elapsed > cap else elapsed))
    return points


# ------------------------------------------------------------------ processes
def _command(name: str) -> list[str]:
    script = Path(sys.executable).parent / name
    return [str(script)] if script.exists() else [sys.executable, "-m", "sijfasp"]


def _median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=REPO)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def cold_start(runs: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU (user + system) seconds of `runs` runs, the three commands taking
    turns (so that a change in the machine's load falls on all three): `sijfasp check` with its
    cache populated by an earlier run, the imports, and `sijfasp check` with an empty cache each
    time. Each run gets a cache folder of its own (SIJFASP_CACHE_DIR), never the user's.
    sijfasp's own modules are compiled to bytecode first, as installing it does (its
    dependencies were compiled when they were installed). On a busy machine the CPU times
    hold better than the wall times."""
    import compileall

    compileall.compile_dir(REPO / "sijfasp", quiet=1)
    case = str(REPO / "examples" / "cases" / "approvable.yaml")
    check = [*_command("sijfasp"), "check", case]
    imports = [sys.executable, "-c", "import clingo, lark, yaml"]
    times: dict[str, list[float]] = {"populated": [], "imports": [], "empty": []}
    cpu: dict[str, list[float]] = {name: [] for name in times}
    with tempfile.TemporaryDirectory() as folder:
        populated = {**os.environ, "SIJFASP_CACHE_DIR": str(Path(folder) / "populated")}
        populated.pop("SIJFASP_NO_CACHE", None)
        subprocess.run(check, check=True, capture_output=True, cwd=REPO, env=populated)
        for run in range(runs):
            empty = {**populated, "SIJFASP_CACHE_DIR": str(Path(folder) / f"empty-{run}")}
            for name, command, env in (
                ("populated", check, populated),
                ("imports", imports, populated),
                ("empty", check, empty),
            ):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True, cwd=REPO, env=env)
                times[name].append(time.perf_counter() - started)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[name].append(
                    after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                )
    return {name: (statistics.median(times[name]), statistics.median(cpu[name])) for name in times}


def cold_rows(runs: int) -> list[tuple[str, str]]:
    found = cold_start(runs)
    (check, check_cpu), (imports, imports_cpu), (empty, empty_cpu) = (
        found["populated"],
        found["imports"],
        found["empty"],
    )
    rows = [
        ("cold sijfasp check (cache populated)", f"{check:.3f} s (CPU {check_cpu:.3f} s)"),
        ("python -c 'import clingo, lark, yaml'", f"{imports:.3f} s (CPU {imports_cpu:.3f} s)"),
        (
            "  cold check vs imports",
            f"{check / imports:.1f}x (CPU {check_cpu / imports_cpu:.1f}x)",
        ),
        ("cold sijfasp check, empty cache", f"{empty:.3f} s (CPU {empty_cpu:.3f} s)"),
        (
            "  empty-cache check vs imports",
            f"{empty / imports:.1f}x (CPU {empty_cpu / imports_cpu:.1f}x)",
        ),
    ]
    print(
        f"  cold check {check:.3f} s (empty cache {empty:.3f} s), imports {imports:.3f} s",
        flush=True,
    )
    return rows


def batch_run(count: int, workers: int, seed: int) -> tuple[float, int, bool]:
    """Seconds for `sijfasp batch` on `count` generated cases; lines out; ids all in order."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "cases.jsonl"
        out = Path(folder) / "out.jsonl"
        ids = []
        with source.open("w", encoding="utf-8") as file:
            for case in generate.generate(count, seed + 1):
                ids.append(case["id"])
                file.write(generate.json_line(case))
        command = [*_command("sijfasp"), "batch", str(source), "--out", str(out)]
        started = time.perf_counter()
        result = subprocess.run(
            [*command, "--workers", str(workers)], capture_output=True, text=True, cwd=REPO
        )
        elapsed = time.perf_counter() - started
        if result.returncode not in (0, 1):
            raise SystemExit(f"batch failed: {result.stderr}")
        written = [json.loads(line).get("case") for line in out.read_text().splitlines()]
        return elapsed, len(written), written == ids


def large_batch(count: int, workers: int, seed: int, interrupt: float, sample: int) -> int:
    """`sijfasp batch --workers N` on `count` generated cases, killed after `interrupt` seconds
    (0: not killed) and finished with `--resume`; then every line counted (each case once, in
    input order) and `sample` cases chosen at random checked one by one with `sijfasp check
    --format json` against their batch line. Prints the figures; exit 1 on any difference.
    Everything is written in a temporary folder, removed at the end."""
    with tempfile.TemporaryDirectory(prefix="sijfasp-batch-") as name:  # the output may be GBs
        return _large_batch(Path(name), count, workers, seed, interrupt, sample)


def _large_batch(
    folder: Path, count: int, workers: int, seed: int, interrupt: float, sample: int
) -> int:
    import random
    import signal

    source, out = folder / "cases.jsonl", folder / "out.jsonl"
    ids: list[str] = []
    with source.open("w", encoding="utf-8") as file:
        for case in generate.generate(count, seed):
            ids.append(case["id"])
            file.write(generate.json_line(case))
    print(f"{count:,} cases ({source.stat().st_size / 2**20:,.0f} MiB of JSON Lines)", flush=True)
    command = [*_command("sijfasp"), "batch", str(source), "--out", str(out)]
    command += ["--workers", str(workers)]
    started = time.perf_counter()
    if interrupt:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            process.wait(interrupt)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        done = out.read_bytes().count(b"\n") if out.exists() else 0
        print(f"killed after {interrupt:g} s with {done:,} whole lines written", flush=True)
        command.append("--resume")
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"batch failed: {result.stderr}")
    chosen = set(random.Random(seed).sample(range(count), min(sample, count)))
    written: list[str] = []
    kept: dict[int, str] = {}
    with out.open(encoding="utf-8") as file:  # streamed: the output may be gigabytes
        for index, line in enumerate(file):
            written.append(json.loads(line).get("case"))
            if index in chosen:
                kept[index] = line
    print("\n".join("  " + line for line in result.stderr.strip().splitlines()))
    print(f"batch --workers {workers}: {count / elapsed:,.1f} cases/s ({elapsed:,.0f} s in all)")
    in_order = written == ids
    print(
        f"lines out: {len(written):,} of {count:,}, distinct cases {len(set(written)):,}, "
        f"in input order: {'yes' if in_order else 'NO'}"
    )
    differences = 0
    for index in sorted(chosen):
        case_file = folder / f"sample-{index}.json"
        case_file.write_text(source_line(source, index), encoding="utf-8")
        check = subprocess.run(
            [*_command("sijfasp"), "check", str(case_file), "--format", "json"],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        if check.returncode != 0 or json.loads(check.stdout) != json.loads(kept.get(index, "0")):
            differences += 1
            print(f"  case {ids[index]}: batch and check differ", flush=True)
    print(
        f"sample of {min(sample, count)} cases against `check --format json`: {differences} differ"
    )
    return 0 if in_order and len(written) == count and not differences else 1


def source_line(source: Path, index: int) -> str:
    with source.open(encoding="utf-8") as file:
        for number, line in enumerate(file):
            if number == index:
                return line
    raise IndexError(index)


# ------------------------------------------------------------------ against the previous release
def _throughput(tree: Path, cases: Path, cache: Path, *only: str) -> dict[str, Any]:
    env = {**os.environ, "SIJFASP_CACHE_DIR": str(cache), "PYTHONPATH": str(tree)}
    env.pop("SIJFASP_NO_CACHE", None)
    command = [sys.executable, str(HERE / "throughput.py"), "--tree", str(tree)]
    done = subprocess.run(
        [*command, "--cases", str(cases), *(["--only", *only] if only else [])],
        capture_output=True,
        text=True,
        cwd=tree,
        env=env,
    )
    if done.returncode != 0:
        raise SystemExit(f"throughput in {tree} failed: {done.stderr}")
    found: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return found


def throughput_rows(mix: int, seed: int) -> list[tuple[str, str]]:
    """Cases per second (CPU seconds of one core; wall in brackets) here and in PREVIOUS, on
    the same generated cases."""
    with tempfile.TemporaryDirectory(prefix="sijfasp-throughput-") as name:
        folder = Path(name)
        generated = folder / "generated.jsonl"
        lines = [generate.json_line(case) for case in generate.generate(mix, seed)]
        generated.write_text("".join(lines), encoding="utf-8")
        worktree = folder / "previous"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(worktree), PREVIOUS],
            check=True,
            capture_output=True,
            cwd=REPO,
        )
        try:
            # The cases both checkouts accept (the earlier vocabulary refuses a few fields the
            # generator now writes): read and checked by each first, nothing timed.
            refused = set(
                _throughput(worktree, generated, folder / "cache-previous", "none")["invalid"]
            ) | set(_throughput(REPO, generated, folder / "cache-now", "none")["invalid"])
            cases = folder / "cases.jsonl"
            cases.write_text(
                "".join(line for i, line in enumerate(lines) if i not in refused), "utf-8"
            )
            previous = _throughput(worktree, cases, folder / "cache-previous")
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(worktree)],
                check=False,
                capture_output=True,
                cwd=REPO,
            )
        now = _throughput(REPO, cases, folder / "cache-now")
    rows = [
        (
            "throughput: cases",
            f"{now['cases']} of {mix} (the rest refused by {PREVIOUS}'s vocabulary), "
            f"the bundled policies of each",
        )
    ]

    def rate(found: dict[str, Any], key: str) -> str:
        count, clock = found["cases"], found[key]
        return f"{count / clock['cpu']:,.1f} cases/s ({count / clock['wall']:,.1f} wall)"

    for key, label in (
        ("no_missing", "check --no-missing"),
        ("json", "check --format json (minimal sets)"),
        ("floor", "floor: clingo alone, a grounding per case"),
    ):
        ratio = (now["cases"] / now[key]["cpu"]) / (previous["cases"] / previous[key]["cpu"])
        rows.append(
            (f"{label}", f"{rate(now, key)}; {PREVIOUS}: {rate(previous, key)}; {ratio:.2f}x")
        )
        print(f"  {rows[-1][0]}: {rows[-1][1]}", flush=True)
    if "batched_floor" in now:
        rows.append(("floor: clingo alone, 100 cases a grounding", rate(now, "batched_floor")))
        for key, label in (("no_missing", "--no-missing"), ("json", "json")):
            over = now[key]["cpu"] / now["batched_floor"]["cpu"]
            rows.append((f"  {label} against the batched floor", f"{over:.2f}x"))
    return rows


# ------------------------------------------------------------------ report
def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, {platform.system()}"
    )


def _rss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux


def _print_home_series(cap: float) -> list[tuple[str, str]]:
    rows = []
    for courses, records, seconds in home_series(cap):
        label = f"{courses} open home programs" + (f", {records} records" if records else "")
        shown = f"> {cap:g} s (capped)" if seconds is None else f"{seconds:.3f} s"
        rows.append((f"{label}, minimal sets", shown))
        print(f"  {rows[-1][0]}: {rows[-1][1]}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="sijfasp throughput and scaling")
    parser.add_argument("--mix", type=int, default=200, help="cases in the mix (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=500, help="cases for batch (default 500)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--cap", type=float, default=20.0, help="seconds per record-series point (default 20)"
    )
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--cold-start", action="store_true", help="only the cold start figures")
    parser.add_argument(
        "--long-charts", action="store_true", help="only the open home programs series"
    )
    parser.add_argument(
        "--large-batch",
        type=int,
        metavar="N",
        help="only a batch of N cases: killed, resumed, counted and sampled against check",
    )
    parser.add_argument(
        "--interrupt", type=float, default=60.0, help="with --large-batch: kill after S seconds"
    )
    parser.add_argument("--sample", type=int, default=20, help="with --large-batch: cases checked")
    parser.add_argument(
        "--throughput",
        action="store_true",
        help=f"only the throughput on the mix, here and in {PREVIOUS} (the previous release)",
    )
    args = parser.parse_args(argv)
    if args.large_batch:
        print(f"machine: {machine()}")
        return large_batch(args.large_batch, args.workers, args.seed, args.interrupt, args.sample)
    if args.cold_start:
        print(f"machine: {machine()}")
        rows = cold_rows(args.cold_runs)
        width = max(len(label) for label, _ in rows)
        print("\n".join(f"{label:<{width}}  {value}" for label, value in rows))
        return 0
    if args.long_charts:
        print(f"machine: {machine()}")
        _print_home_series(args.cap)
        return 0
    if args.throughput:
        print(f"machine: {machine()}, load average {os.getloadavg()[0]:.2f}")
        rows = throughput_rows(args.mix, args.seed)
        width = max(len(label) for label, _ in rows)
        print("\n".join(f"{label:<{width}}  {value}" for label, value in rows))
        return 0

    from sijfasp.api import Options

    started = time.perf_counter()
    print(f"machine: {machine()}")
    policies = _policies()
    raw = list(generate.generate(args.mix, args.seed))
    cases = _cases(raw, policies)
    records = [len(c.records) for c in cases]
    print(
        f"mix: {len(cases)} cases, seed {args.seed}, {len(policies)} policies, records per case "
        f"median {statistics.median(records):g}, max {max(records)}"
    )
    rows: list[tuple[str, str]] = []

    def rate(label: str, seconds: float) -> None:
        rows.append((label, f"{len(cases) / seconds:,.1f} cases/s ({seconds:.1f} s)"))
        print(f"  {rows[-1][0]}: {rows[-1][1]}", flush=True)

    floor = _floor(policies, cases)
    rate("clingo alone, decide (floor)", floor)
    rate("determination only", _determine_all(policies, cases))
    rate(
        "check --no-missing (the fast path)",
        _evaluate_all(policies, cases, Options(missing=False)),
    )
    rate("check, 1 unranked set", _evaluate_all(policies, cases, Options(enumerate=1, rank=False)))
    each = _per_case(policies, cases, Options())
    full = sum(each)
    rate("check --format json (minimal sets)", full)
    rows.append(("  json check vs floor", f"{full / floor:.1f}x"))
    slowest = max(range(len(cases)), key=each.__getitem__)
    rows.append(
        (
            "  slowest case of the mix, minimal sets",
            f"{each[slowest]:.3f} s ({records[slowest]} records, {cases[slowest].id})",
        )
    )
    rows.append(("peak memory, mix", f"{_rss_mib(resource.RUSAGE_SELF):,.0f} MiB"))

    for count, mode, seconds in record_series(args.cap):
        shown = f"> {args.cap:g} s (capped)" if seconds is None else f"{seconds:.3f} s"
        rows.append((f"{count:>5} records, {mode}", shown))
        print(f"  {rows[-1][0]}: {rows[-1][1]}", flush=True)
    rows.extend(_print_home_series(args.cap))
    rows.append(("peak memory, record series", f"{_rss_mib(resource.RUSAGE_CHILDREN):,.0f} MiB"))

    rows.extend(cold_rows(args.cold_runs))
    rows.extend(throughput_rows(args.mix, args.seed))

    seconds, lines, in_order = batch_run(args.batch, args.workers, args.seed)
    rows.append(
        (
            f"batch --workers {args.workers}, {args.batch} cases",
            f"{args.batch / seconds:,.1f} cases/s ({seconds:.1f} s, with start-up)",
        )
    )
    verdict = "ok" if lines == args.batch and in_order else "LOST, DUPLICATED OR OUT OF ORDER"
    rows.append(("  batch lines out", f"{lines} of {args.batch}, in input order: {verdict}"))

    width = max(len(label) for label, _ in rows)
    print()
    print(f"{'measure':<{width}}  figure")
    print(f"{'-' * width}  {'-' * 40}")
    for label, figure in rows:
        print(f"{label:<{width}}  {figure}")
    print(f"\n(whole run {time.perf_counter() - started:.0f} s)")
    return 0 if verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
