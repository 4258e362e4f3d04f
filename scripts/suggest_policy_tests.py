"""Suggest policy tests for the coverage gaps of a test file: prints YAML entries to review.

    python scripts/suggest_policy_tests.py policies_asp/tests/aim_sijf_2022.tests.yaml

Runs the file's tests, lists the statuses never seen, then tries one change at a time on every
case in the file's `cases/` folder (a finding or request field set to each kind of value or
removed, a record list removed, a record field changed or removed) and keeps the first change
that shows each missing status. Changes that do not disturb each other are merged into one
test. The statuses come from the solver, as in `sijfasp test`. What one change cannot reach
(an `any of` not met needs all its members not met) is listed for the author to write by hand.
Paste the entries into the test file, then run `sijfasp test --update` and review.
"""

from __future__ import annotations

import argparse
import copy
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from sijfasp.authoring import policytests as pt
from sijfasp.cases.case import validate_case
from sijfasp.cases.reader import read_case_file
from sijfasp.core.diagnostics import SijfaspError
from sijfasp.language.semantics import ValueType
from sijfasp.policies.loaded import LoadedPolicy
from sijfasp.results.explain import Reader, criteria_tree, exclusion_results
from sijfasp.solve.case_facts import case_symbols
from sijfasp.solve.solver import determine

REMOVE = "__remove__"
NUMBERS = (0, 1, 2, 3, 4, 5, 6, 10, 20, 29, 30, 40, 49, 50, 60, 74, 75, 80, 100)
Change = tuple[str, Any]


def _values(value_type: ValueType) -> list[Any]:
    if value_type.kind == "bool":
        return [True, False]
    if value_type.kind == "number":
        low, high = value_type.low or Decimal(0), value_type.high or Decimal(0)
        return sorted({Decimal(n) for n in NUMBERS if low <= n <= high} | {low, high})
    if value_type.kind == "choice":
        return list(value_type.values)
    if value_type.kind == "set":
        return [[v] for v in value_type.values] + [[]]
    return []


def _changes(loaded: LoadedPolicy, data: dict[str, Any]) -> list[Change]:
    vocabulary = loaded.policy.vocabulary
    found: list[Change] = []
    for scope, facts in (("findings", vocabulary.findings), ("request", vocabulary.request_fields)):
        for fact in facts:
            if fact.name in ("service", "date"):
                continue
            path = f"{scope}.{fact.name}"
            if fact.name in (data.get(scope) or {}):
                found.append((path, REMOVE))
            found += [(path, v) for v in _values(fact.type)]
    for kind, records in (data.get("records") or {}).items():
        found.append((f"records.{kind}", REMOVE))
        record_kind = next(r for r in vocabulary.records if r.name == kind)
        for index, record in enumerate(records):
            for field in record_kind.fields:
                if field.derived:
                    continue
                path = f"records.{kind}.{index}.{field.name}"
                if field.name in record:
                    found.append((path, REMOVE))
                found += [(path, v) for v in _values(field.type)]
    return found


def _statuses(loaded: LoadedPolicy, data: Any, changes: list[Change]) -> dict[str, str] | None:
    changed = copy.deepcopy(data)
    try:
        for path, value in changes:
            if value == REMOVE:
                pt._apply(changed, path, "-", "-", remove=True)
            else:
                pt._apply(changed, path, "-", "-", value=value)
        case = validate_case(changed, loaded.policy.vocabulary, "suggestion")
    except SijfaspError:
        return None
    snapshot = determine(loaded.compiled, case_symbols(case))
    reader = Reader(loaded.policy, loaded.compiled, case)
    tree = criteria_tree(reader, snapshot, loaded.compiled.top.get(case.service, ()))
    seen = {n.id: str(n.status) for n in pt.walk(tree)}
    for exclusion in exclusion_results(reader, snapshot, case.service):
        seen["exclusion:" + exclusion.id] = str(exclusion.status)
    return seen


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("test_file", type=Path)
    args = parser.parse_args(argv)
    test_file = pt.load_test_file(args.test_file)
    loaded = test_file.policy
    report = pt.coverage(loaded, [test_file], pt.run_file(test_file))
    gaps = {
        ("exclusion:" if kind == "exclusion" else "") + node_id: set(unseen)
        for kind, node_id, unseen in report.gaps()
    }
    wanted = {(node, status) for node, statuses in gaps.items() for status in statuses}
    print(f"# {len(wanted)} statuses never seen", file=sys.stderr)
    cases = sorted((args.test_file.parent / "cases").glob("*.yaml"))
    found: dict[tuple[str, str], tuple[Path, list[Change]]] = {}
    for path in cases:
        data = read_case_file(path)
        for change in [None, *_changes(loaded, data)]:
            changes = [change] if change else []
            seen = _statuses(loaded, data, changes)
            for target in wanted - set(found):
                if seen and seen.get(target[0]) == target[1]:
                    found[target] = (path, changes)
    # Merge suggestions on one case whose changes touch different fields and still hold.
    tests: list[tuple[Path, list[Change], list[tuple[str, str]]]] = []
    for target, (path, changes) in sorted(found.items()):
        for test_path, test_changes, targets in tests:
            touched = {p for p, _ in test_changes}
            if test_path != path or any(p in touched for p, _ in changes):
                continue
            seen = _statuses(loaded, read_case_file(path), test_changes + changes)
            if seen and all(seen.get(n) == s for n, s in [*targets, target]):
                test_changes += changes
                targets.append(target)
                break
        else:
            tests.append((path, list(changes), [target]))
    entries = []
    for number, (path, changes, targets) in enumerate(tests, 1):
        entry: dict[str, Any] = {
            "name": f"suggested {number}",
            "case": str(path.relative_to(args.test_file.parent)),
        }
        sets = {p: _plain(v) for p, v in changes if v != REMOVE}
        removes = [p for p, v in changes if v == REMOVE]
        if sets:
            entry["set"] = sets
        if removes:
            entry["remove"] = removes
        criteria = {n: s for n, s in targets if not n.startswith("exclusion:")}
        exclusions = {n.split(":", 1)[1]: s for n, s in targets if n.startswith("exclusion:")}
        if criteria:
            entry["criteria"] = criteria
        if exclusions:
            entry["exclusions"] = exclusions
        entries.append(entry)
    if entries:
        print(yaml.safe_dump(entries, sort_keys=False, width=100), end="")
    for node, status in sorted(wanted - set(found)):
        print(f"# not reached by one change: {node} {status}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
