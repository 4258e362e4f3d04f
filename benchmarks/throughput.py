"""Cases per second of one checkout of sijfasp on a file of cases, one core, as JSON.

    python benchmarks/throughput.py --tree DIR --cases FILE.jsonl

`benchmarks/run.py` runs it twice on the same cases: in this checkout and in a git worktree of
the previous release (run.py's PREVIOUS), so that the two are compared on one machine in one
run. It imports sijfasp from DIR only, and finds each piece where that checkout has it (the
modules moved into stage subpackages after the previous release), so it stays as it is for both.

Printed figures (seconds, wall and CPU, of the timed part only; the cases are read and checked
beforehand, each process warmed up by one case under every policy):
- `floor`: clingo alone, one grounding and solve of base + decide per case and policy, with
  the programs as text and the facts as symbols built beforehand (as run.py's floor);
- `batched_floor` (only where the checkout has solve/batched.py): clingo alone on the batched
  program, chunks of `batched.CHUNK` cases in one grounding and one solve;
- `no_missing`: `check --no-missing` on every case (the cases together where the checkout can);
- `json`: `check --format json` as it runs (the ranked minimal sets).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

TREE: list[Path] = []  # the checkout measured


def _first(*names: str) -> Any:
    """The first of `module:attribute` that this checkout has (a module found elsewhere, as
    an editable install of another checkout may offer, does not count)."""
    for name in names:
        module_name, attribute = name.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        where = Path(module.__file__ or "").resolve()
        if TREE and not where.is_relative_to(TREE[0]):
            continue
        if hasattr(module, attribute):
            return getattr(module, attribute)
    raise ImportError(f"none of {names} in {TREE}")


class Clock:
    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall += time.perf_counter() - self._wall
        self.cpu += time.process_time() - self._cpu

    def figures(self) -> dict[str, float]:
        return {"wall": self.wall, "cpu": self.cpu}


def _quiet(code: Any, message: str) -> None:
    """clingo's informational messages (atoms a policy does not use) are not for this table."""


def floor(policies: list[Any], cases: list[Any]) -> Clock:
    import clingo

    case_symbols = _first(
        "sijfasp.solve.case_facts:case_symbols", "sijfasp.case_facts:case_symbols"
    )
    encoding_for = _first("sijfasp.solve.solver:encoding_for", "sijfasp.solver:encoding_for")
    encodings = ["\n".join(map(str, encoding_for(p.compiled.program))) for p in policies]
    programs = [p.compiled.program for p in policies]
    windows = [p.compiled.window_months() for p in policies]
    facts = []
    for case in cases:
        symbols = case_symbols(case)
        documented = [s for group in symbols.groups.values() for s in group]
        facts.append([[*symbols.month_starts(w), *documented] for w in windows])
    clock = Clock()
    for per_policy in facts:
        for encoding, program, case_facts in zip(encodings, programs, per_policy, strict=True):
            with clock:
                control = clingo.Control(["--opt-mode=opt", "--opt-strategy=usc"], logger=_quiet)
                control.add("base", [], encoding)
                control.add("base", [], program)
                with control.backend() as backend:
                    for symbol in case_facts:
                        backend.add_rule([backend.add_atom(symbol)])
                control.ground([("base", []), ("decide", [])])
                control.solve()
    return clock


def batched_floor(policies: list[Any], cases: list[Any]) -> Clock | None:
    """clingo alone on the batched program: a chunk's indexed facts built beforehand, then one
    grounding and one solve per chunk and policy."""
    try:
        batched = _first("sijfasp.solve.batched:determine_many") and importlib.import_module(
            "sijfasp.solve.batched"
        )
    except ImportError:
        return None
    import clingo

    from sijfasp.solve.case_facts import case_symbols

    chunks = [cases[i : i + batched.CHUNK] for i in range(0, len(cases), batched.CHUNK)]
    prepared = []
    for loaded in policies:
        statements, _ = batched.batched_statements(loaded.compiled.program)
        text = "\n".join(map(str, statements))
        windows = loaded.compiled.window_months()
        for chunk in chunks:
            facts = []
            for k, case in enumerate(chunk):
                index = clingo.Number(k)
                facts.append(clingo.Function(batched.CASE_INDEX, [index]))
                symbols = case_symbols(case)
                for group in [*symbols.groups.values(), symbols.month_starts(windows)]:
                    facts.extend(clingo.Function(s.name, [index, *s.arguments]) for s in group)
            prepared.append((text, facts))
    clock = Clock()
    for text, facts in prepared:
        with clock:
            control = clingo.Control(["--opt-mode=opt", "--opt-strategy=usc"], logger=_quiet)
            control.add("base", [], text)
            with control.backend() as backend:
                for symbol in facts:
                    backend.add_rule([backend.add_atom(symbol)])
            control.ground(batched.PARTS)
            control.solve()
    return clock


def evaluate_all(policies: list[Any], cases: list[Any], options: Any) -> Clock:
    evaluate_case = _first("sijfasp.api:evaluate_case")
    try:
        evaluate_cases = _first("sijfasp.api:evaluate_cases")
    except ImportError:
        evaluate_cases = None
    clock = Clock()
    with clock:
        if evaluate_cases is not None:
            evaluate_cases([(case, policies) for case in cases], options)
        else:
            for case in cases:
                evaluate_case(policies, case, options)
    return clock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, required=True, help="the checkout to measure")
    parser.add_argument("--cases", type=Path, required=True, help="JSON Lines of cases")
    parser.add_argument("--only", nargs="*", default=None, help="figures to measure")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.tree.resolve()))
    TREE.append(args.tree.resolve())
    import sijfasp

    where = Path(sijfasp.__file__).resolve()
    if not where.is_relative_to(args.tree.resolve()):
        raise SystemExit(f"sijfasp imported from {where}, not from {args.tree}")
    bundled_policies = _first(
        "sijfasp.policies.loading:bundled_policies", "sijfasp.policies:bundled_policies"
    )
    validate_case = _first("sijfasp.cases.case:validate_case", "sijfasp.case:validate_case")
    read_json = _first(
        "sijfasp.cases.reader:read_json_case_text", "sijfasp.case_reader:read_json_case_text"
    )
    options_type = _first("sijfasp.api:Options")
    policies = list(bundled_policies())
    vocabulary = policies[0].policy.vocabulary
    cases, invalid = [], []
    for number, line in enumerate(args.cases.read_text(encoding="utf-8").splitlines()):
        name = f"case-{number}"
        try:
            cases.append(validate_case(read_json(line, name), vocabulary, name))
        except Exception:  # a case this checkout refuses is counted, not timed
            invalid.append(number)
    # Warm up as a worker's earlier cases have: programs parsed, modules imported.
    evaluate_all(policies, cases[:1], options_type())
    evaluate_all(policies, cases[:2], options_type(missing=False))
    wanted = set(args.only or ("floor", "batched_floor", "no_missing", "json"))
    found: dict[str, Any] = {
        "tree": str(args.tree),
        "policies": [p.policy.id for p in policies],
        "cases": len(cases),
        "invalid": invalid,
    }
    if "floor" in wanted:
        found["floor"] = floor(policies, cases).figures()
    if "batched_floor" in wanted and (clock := batched_floor(policies, cases)) is not None:
        found["batched_floor"] = clock.figures()
    if "no_missing" in wanted:
        found["no_missing"] = evaluate_all(policies, cases, options_type(missing=False)).figures()
    if "json" in wanted:
        found["json"] = evaluate_all(policies, cases, options_type()).figures()
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
