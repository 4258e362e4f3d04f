"""A long policy, generated from the bundled vocabulary, timed stage by stage (issue 25).

    python benchmarks/large_policy.py                   # N = 75, 150, 300, 600 criteria
    python benchmarks/large_policy.py --sizes 600 --profile parse,check,compile,lint
    python benchmarks/large_policy.py --write 600 DIR   # the policy and its case, to look at

The policy is written to a temporary folder beside a copy of the bundled vocabulary: N top
criteria for the percutaneous service, drawn in turn from ten shapes over the vocabulary's
true/false and number findings and its record kinds (a single test, a comparison, groups, a
count of records in a window, separate dates of a named record set, days of therapy, a
definition used by several criteria), each with a section and a label, about 150 bytes each
(600 criteria: 91 KB). Criteria differ in their thresholds and windows, so none is a
copy of another. The case documents every finding the vocabulary has and a few records of
each kind, so that it is decided without missing documentation.

Printed per N: the policy's size, and the CPU seconds of this process (clingo runs in it; the
best of `--repeat` runs; CPU time, as the machine is shared, with the wall-clock total) of `parse`, `check` (the policy against its vocabulary), `compile`, `lint` (the proving
lint of `sijfasp lint`, over the compiled policy) and `check` of the one case
(`api.evaluate_case`, minimal sets asked for, as `sijfasp check` does). Parse, check and
compile are the loading of a policy afresh; nothing comes from the policy cache.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sijfasp.core.resources import policies_dir  # noqa: E402
from sijfasp.core.source import SourceText  # noqa: E402
from sijfasp.language.semantics import FactDef, RecordKind, Vocabulary  # noqa: E402
from sijfasp.policies.loading import load_vocabulary  # noqa: E402

SIZES = (75, 150, 300, 600)
SERVICE = "percutaneous_sij_fusion"
REQUEST_DATE = dt.date(2026, 7, 15)
# Findings a generated criterion leaves alone: those an implication joins (a criterion
# testing `tumor is false` beside `sacral_tumor_present is true` would contradict itself).
STAGES = ("parse", "check", "compile", "lint", "case")


# ---------------------------------------------------------------------------- the policy
def _bools(vocabulary: Vocabulary) -> list[str]:
    joined = {n for i in vocabulary.implications for n in (i.narrow, i.broad)}
    return [
        f.name
        for f in vocabulary.findings
        if f.type.kind == "bool" and f.name not in joined and not f.required
    ]


def _numbers(vocabulary: Vocabulary) -> list[FactDef]:
    return [f for f in vocabulary.findings if f.type.kind == "number"]


def _threshold(fact: FactDef, index: int) -> Decimal:
    """A whole number inside the finding's range, different from one criterion to the next."""
    assert fact.type.low is not None and fact.type.high is not None
    low, high = int(fact.type.low), int(fact.type.high)
    return Decimal(low + 1 + (index * 7) % max(1, high - low - 1))


def _choice_filter(kind: RecordKind, index: int) -> str:
    """`FIELD in {a, b}` over the kind's first choice field with two values or more."""
    field = next(f for f in kind.fields if f.type.kind == "choice" and len(f.type.values) > 1)
    values = field.type.values
    first = values[index % len(values)]
    second = values[(index + 1) % len(values)]
    return f"{field.name} in {{{first}, {second}}}"


def _dated(kind: RecordKind) -> str:
    return "date" if kind.field("date") is not None else "start"


def _criterion(index: int, vocabulary: Vocabulary) -> tuple[str, str]:
    """Criterion `index`: its text inside the criteria block, and the declarations it needs
    (a definition or a named record set, written before the block)."""
    bools, numbers = _bools(vocabulary), _numbers(vocabulary)
    kinds = [k for k in vocabulary.records if any(f.type.kind == "choice" for f in k.fields)]

    def b(offset: int) -> str:
        return bools[(index + offset) % len(bools)]

    number = numbers[index % len(numbers)]
    value = _threshold(number, index)
    kind = kinds[index % len(kinds)]
    name = f"c{index}"
    head = f'  {name} [G.{index}] "Generated criterion {index}'
    shape = index % 10
    before = ""
    if shape == 0:
        body = f'{head}: {b(0)} documented": {b(0)} is true'
    elif shape == 1:
        body = f'{head}: {number.name} at least {value}": {number.name} >= {value}'
    elif shape == 2:
        body = (
            f'{head}: both tests": all of {{\n'
            f"    {b(1)} is true\n    {number.name} <= {value}\n  }}"
        )
    elif shape == 3:
        body = f'{head}: either test": any of {{\n    {b(2)} is true\n    {b(3)} is false\n  }}'
    elif shape == 4:
        body = (
            f'{head}: two of three": at least 2 of {{\n'
            f"    {b(4)} is true\n    {b(5)} is true\n    {b(6)} is true\n  }}"
        )
    elif shape == 5:
        window = 30 + index % 700
        body = (
            f'{head}: recent records": at least {1 + index % 2} {kind.name} where '
            f"{_choice_filter(kind, index)} and {_dated(kind)} within last {window} days"
        )
    elif shape == 6:
        define = f"d{index}"
        before = (
            f'define {define} [G.{index}] "Generated definition {index}": any of {{\n'
            f"  {b(7)} is true\n  {number.name} >= {value}\n}}\n\n"
        )
        body = f'{head}: the definition": {define}'
    elif shape == 7:
        records = f"s{index}"
        dated = next(k for k in kinds if k.field("date") is not None)
        before = (
            f'records {records} [G.{index}] "Generated record set {index}":\n'
            f"  {dated.name} where {_choice_filter(dated, index)}\n\n"
        )
        body = (
            f'{head}: separate dates": at least 2 separate dates of {records}, '
            f"at least {1 + index % 30} days apart"
        )
    elif shape == 8:
        therapy = next(k for k in kinds if k.field("end") is not None)
        body = (
            f'{head}: days of therapy": at least {10 + index % 80} days of '
            f"{therapy.name} where {_choice_filter(therapy, index)} within last 365 days"
        )
    else:
        body = (
            f'{head}: nested groups": all of {{\n'
            f"    any of {{ {b(8)} is true  {b(9)} is true }}\n"
            f"    {number.name} >= {value}\n  }}"
        )
    return body, before


def policy_text(size: int, vocabulary: Vocabulary) -> str:
    """A valid policy of `size` top criteria for the percutaneous service."""
    criteria, declarations = [], []
    for index in range(size):
        body, before = _criterion(index, vocabulary)
        criteria.append(body)
        if before:
            declarations.append(before)
    return (
        f"# Generated by benchmarks/large_policy.py: {size} criteria.\n\n"
        'import "vocabulary.sijv"\n\n'
        "policy generated_large {\n"
        '  payer     "Generated payer"\n'
        '  title     "Generated long policy"\n'
        '  document  "Benchmark policy"\n'
        "  effective 2026-01-01\n"
        '  cite      "GEN"\n'
        "}\n\n"
        f'service {SERVICE} [G] "Percutaneous SIJ fusion"\n\n'
        + "".join(declarations)
        + f"criteria for {SERVICE} {{\n"
        + "\n".join(criteria)
        + "\n}\n"
    )


def case_data(vocabulary: Vocabulary) -> dict[str, Any]:
    """Every finding documented (true, or the middle of its range) and two records of each
    kind with every field, so that the case is decided without missing documentation."""
    findings: dict[str, Any] = {}
    for fact in vocabulary.findings:
        if fact.type.kind == "bool":
            findings[fact.name] = fact.name not in {i.narrow for i in vocabulary.implications}
        elif fact.type.kind == "number":
            assert fact.type.low is not None and fact.type.high is not None
            findings[fact.name] = int((fact.type.low + fact.type.high) / 2)
        elif fact.type.kind == "choice":
            findings[fact.name] = fact.type.values[0]
    records: dict[str, list[dict[str, Any]]] = {}
    for kind in vocabulary.records:
        rows = []
        for offset in (40, 200):
            row: dict[str, Any] = {}
            for field in kind.fields:
                if field.derived or field.only_for:  # only_for: a value of another field
                    continue
                if field.type.kind == "date":
                    row[field.name] = (REQUEST_DATE - dt.timedelta(days=offset)).isoformat()
                elif field.type.kind == "bool":
                    row[field.name] = True
                elif field.type.kind == "number":
                    assert field.type.high is not None
                    row[field.name] = int(field.type.high)
                elif field.type.kind == "choice":
                    row[field.name] = field.type.values[offset % len(field.type.values)]
                elif field.type.kind == "set":
                    row[field.name] = list(field.type.values)
            if "end" in row and "start" in row:
                row["end"] = (REQUEST_DATE - dt.timedelta(days=offset - 30)).isoformat()
            rows.append(row)
        records[kind.name] = rows
    return {
        "id": "large_policy_case",
        "request": {
            "service": SERVICE,
            "date": REQUEST_DATE.isoformat(),
            "side": "left",
            "approach": "lateral",
            "fixation": "fda_structural_device",
        },
        "findings": findings,
        "records": records,
    }


def write(size: int, folder: Path) -> tuple[Path, Path]:
    """The generated policy and its case in `folder`, with a copy of the bundled vocabulary."""
    import json

    source = policies_dir() / "vocabulary.sijv"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, folder / "vocabulary.sijv")
    vocabulary = load_vocabulary(folder / "vocabulary.sijv")
    policy = folder / "generated_large.sijp"
    policy.write_text(policy_text(size, vocabulary), encoding="utf-8")
    case = folder / "large_policy_case.json"
    case.write_text(json.dumps(case_data(vocabulary), indent=1) + "\n", encoding="utf-8")
    return policy, case


# ---------------------------------------------------------------------------- the stages
def stages(policy: Path, case_path: Path) -> dict[str, Callable[[], object]]:
    """Each stage as a call over the results of the ones before it (run in order once first)."""
    from sijfasp.api import evaluate_case
    from sijfasp.authoring import prove
    from sijfasp.cases.case import load_case
    from sijfasp.language.compiler import compile_policy
    from sijfasp.language.parser import parse
    from sijfasp.language.semantics import check_policy
    from sijfasp.policies.loaded import LoadedPolicy

    vocabulary = load_vocabulary(policy.parent / "vocabulary.sijv")
    source = SourceText(str(policy), policy.read_text(encoding="utf-8"))
    held: dict[str, Any] = {}

    def do_parse() -> object:
        held["tree"] = parse(source)
        return held["tree"]

    def do_check() -> object:
        held["policy"] = check_policy(held["tree"], vocabulary)
        return held["policy"]

    def do_compile() -> object:
        compiled = compile_policy(held["policy"])
        held["loaded"] = LoadedPolicy(held["policy"], compiled, (source,))
        return compiled

    def do_lint() -> object:
        return prove.prove(held["loaded"])

    def do_case() -> object:
        case = load_case(case_path, vocabulary)
        return evaluate_case([held["loaded"]], case)

    return {
        "parse": do_parse,
        "check": do_check,
        "compile": do_compile,
        "lint": do_lint,
        "case": do_case,
    }


def measure(size: int, repeat: int, profile: set[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sijfasp-large-") as folder:
        policy, case = write(size, Path(folder))
        calls = stages(policy, case)
        seconds: dict[str, float] = {}
        answers: dict[str, object] = {}
        wall = time.perf_counter()
        for name, call in calls.items():
            best = float("inf")
            for _ in range(repeat):
                start = time.process_time()
                answers[name] = call()
                best = min(best, time.process_time() - start)
            seconds[name] = best
            if name in profile:
                _profile(name, size, call)
        result = answers["case"]
        return {
            "size": size,
            "bytes": policy.stat().st_size,
            "seconds": seconds,
            "wall": time.perf_counter() - wall,
            "lint_findings": len(answers["lint"]),  # type: ignore[arg-type]
            "determination": result.results[0].determination.value,  # type: ignore[attr-defined]
        }


def _profile(name: str, size: int, call: Callable[[], object]) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    call()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    print(f"--- profile of {name}, {size} criteria\n{out.getvalue()}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="criteria counts")
    parser.add_argument("--repeat", type=int, default=1, help="runs per stage (the best counts)")
    parser.add_argument("--profile", default="", help="stages to profile (cProfile, to stderr)")
    parser.add_argument("--write", nargs=2, metavar=("N", "DIR"), help="write one policy and stop")
    args = parser.parse_args(argv)
    if args.write:
        policy, case = write(int(args.write[0]), Path(args.write[1]))
        print(f"{policy}\n{case}")
        return 0
    profile = {s for s in args.profile.split(",") if s}
    print("CPU seconds per stage; wall: every stage's runs, end to end")
    head = " ".join(f"{s:>8}" for s in STAGES)
    print(f"{'criteria':>8} {'KB':>6} {head} {'wall':>8}  determination")
    for size in (int(s) for s in args.sizes.split(",")):
        row = measure(size, args.repeat, profile)
        times = " ".join(f"{row['seconds'][s]:8.2f}" for s in STAGES)
        print(
            f"{row['size']:>8} {row['bytes'] / 1000:6.0f} {times} {row['wall']:8.2f}"
            f"  {row['determination']}"
            f" ({row['lint_findings']} lint findings)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
