"""Mutation testing of a policy: would its tests notice a change of meaning?

Each mutant is the policy's syntax tree with one small change (a threshold moved past its
boundary, a comparison flipped, a member of a group dropped, a count or window moved by one, an
exclusion removed), checked and compiled like any policy (language/semantics.py, language/compiler.py: never an
edit of the source text). The policy's tests run against each mutant; a mutant that every test
still passes *survives*: no test would catch that change. A mutant whose compiled program is
the policy's own changes nothing and is not counted; a mutant the checks refuse (an `at least 3
of` left with two members) is not a policy and is not counted either.

A surviving mutant that cannot change any determination is declared in the test file, with the
reason (docs/authoring.md, "Mutation testing"):

    equivalent:
    - mutant: 'pain_six_months: window lowered from 365 to 364 days'
      reason: no case dates a therapy on the window's first day...
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..core.diagnostics import Code, Diagnostic, SijfaspError, did_you_mean
from ..core.kinds import CountUnit, FieldOperator
from ..core.source import SourceText, Span
from ..core.textsafe import for_diagnostic
from ..language import ast
from ..language.ast import BlockRole, CombinatorKind
from ..policies import versions
from ..policies.loaded import LoadedPolicy
from ..results.missing import Options

# A comparison and the one that accepts exactly the values it refuses.
FLIPPED = {">=": "<", "<": ">=", ">": "<=", "<=": ">", "=": "!=", "!=": "="}


@dataclass(frozen=True)
class Mutant:
    key: str  # "<owner>: <change>", stable across runs: what an `equivalent` entry names
    span: Span
    change: str
    tree: ast.SourceFile


@dataclass
class MutantResult:
    mutant: Mutant
    outcome: str  # killed, survived, equivalent (declared), unchanged (same program), invalid
    by: str = ""  # the test that killed it, or the reason it is equivalent / invalid


@dataclass
class PolicyReport:
    reference: str
    shown: str  # the policy file, as shown
    results: list[MutantResult] = field(default_factory=list)
    seconds: float = 0.0
    stale_declarations: list[str] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)  # tests the policy itself fails: left out

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def score(self) -> tuple[int, int]:
        """(killed or declared equivalent, mutants that are policies changing the program)."""
        counted = [r for r in self.results if r.outcome in ("killed", "survived", "equivalent")]
        return sum(1 for r in counted if r.outcome != "survived"), len(counted)


# ------------------------------------------------------------------ making mutants
def _step(value: Decimal) -> Decimal:
    """The smallest change of a number as written: 1 for 50, 0.1 for 2.5."""
    exponent = value.as_tuple().exponent
    return Decimal(1).scaleb(exponent) if isinstance(exponent, int) and exponent < 0 else Decimal(1)


def _number(value: Decimal) -> str:
    return format(value, "f")


# The changed node, where the change is, the change in words, and the span whose owner (the
# innermost criterion, define, records or advisory around it) names the mutant.
Variant = tuple[Any, Span, str, Span]


def _fact_name(ref: ast.FactRef) -> str:
    return f"request.{ref.name}" if ref.scope == "request" else ref.name


def _local(node: Any, source: SourceText) -> Iterator[Variant]:
    """The changes of one node itself (its children are changed by `_variants`)."""
    if isinstance(node, ast.Compare):
        name = _fact_name(node.fact)
        step = _step(node.value)
        for value, verb in ((node.value + step, "raised"), (node.value - step, "lowered")):
            words = f"threshold of {name} {verb} from {_number(node.value)} to {_number(value)}"
            yield dataclasses.replace(node, value=value), node.span, words, node.span
        flipped = FLIPPED[node.operator]
        words = f"comparison of {name} flipped from {node.operator} to {flipped}"
        yield dataclasses.replace(node, operator=flipped), node.span, words, node.span
    elif isinstance(node, ast.IsValue) and node.value in ("true", "false"):
        # The language negates `is true` only (`is not false` is refused): `is false` flips
        # to `is true`, `is true` and `is not true` to each other.
        before = f"is {'not ' if node.negated else ''}{node.value}"
        if node.value == "false":
            changed, after = dataclasses.replace(node, value="true"), "is true"
        else:
            changed = dataclasses.replace(node, negated=not node.negated)
            after = f"is {'' if node.negated else 'not '}true"
        words = f"{_fact_name(node.fact)} {before} flipped to {after}"
        yield changed, node.span, words, node.span
    elif isinstance(node, ast.FieldCondition):
        yield from _field_variants(node)
    elif isinstance(node, ast.Combinator):
        yield from _combinator_variants(node, source)
    elif isinstance(node, ast.CountRecords):
        yield from _count_variants(node)
    elif isinstance(node, ast.CriteriaBlock) and node.role == BlockRole.EXCLUSIONS:
        for index, item in enumerate(node.items):
            items = node.items[:index] + node.items[index + 1 :]
            if items:
                replaced = dataclasses.replace(node, items=items)
                yield replaced, item.span, f"exclusion {item.name} removed", item.span


def _field_variants(node: ast.FieldCondition) -> Iterator[Variant]:
    if node.operator == FieldOperator.COMPARE and node.number is not None and node.comparator:
        step = _step(node.number)
        for value, verb in ((node.number + step, "raised"), (node.number - step, "lowered")):
            words = (
                f"threshold of {node.field} {verb} from {_number(node.number)} to {_number(value)}"
            )
            yield dataclasses.replace(node, number=value), node.span, words, node.span
        flipped = FLIPPED[node.comparator]
        words = f"comparison of {node.field} flipped from {node.comparator} to {flipped}"
        yield dataclasses.replace(node, comparator=flipped), node.span, words, node.span
    elif node.operator == FieldOperator.WITHIN and node.number is not None:
        unit = "months" if node.months else "days"
        for value, verb in ((node.number + 1, "raised"), (node.number - 1, "lowered")):
            if value >= 1:
                words = (
                    f"window of {node.field} {verb} from {_number(node.number)} "
                    f"to {_number(value)} {unit}"
                )
                yield dataclasses.replace(node, number=value), node.span, words, node.span


def _member_name(member: ast.Member, source: SourceText) -> str:
    if isinstance(member, ast.Criterion):
        return member.name
    if isinstance(member, ast.Reference):
        return member.name
    text = source.line(member.span.line)[member.span.column - 1 :].strip()
    return f"'{text[:40]}{'...' if len(text) > 40 else ''}'"


def _combinator_variants(node: ast.Combinator, source: SourceText) -> Iterator[Variant]:
    group = f"at least {node.minimum}" if node.kind == CombinatorKind.AT_LEAST else node.kind.value
    if len(node.members) > 1:
        for index, member in enumerate(node.members):
            members = node.members[:index] + node.members[index + 1 :]
            if node.kind == CombinatorKind.AT_LEAST and (node.minimum or 0) > len(members):
                continue
            words = f"member {_member_name(member, source)} dropped from {group} of"
            yield dataclasses.replace(node, members=members), member.span, words, node.span
    if node.kind == CombinatorKind.AT_LEAST and node.minimum is not None:
        for value, verb in ((node.minimum + 1, "raised"), (node.minimum - 1, "lowered")):
            if 1 <= value <= len(node.members):
                words = f"at least {node.minimum} of {verb} to {value} of"
                yield dataclasses.replace(node, minimum=value), node.span, words, node.span


def _count_variants(node: ast.CountRecords) -> Iterator[Variant]:
    what = {CountUnit.DAYS: "days", CountUnit.DATES: "dates"}.get(node.unit, "records")
    if node.unit != CountUnit.LATEST:
        if node.in_months:
            what = "months"
        for value, verb in ((node.minimum + 1, "raised"), (node.minimum - 1, "lowered")):
            if value >= 1:
                words = f"count of {what} {verb} from {node.minimum} to {value}"
                yield dataclasses.replace(node, minimum=value), node.span, words, node.span
    for attribute, unit in (
        ("window_days", "days"),
        ("window_months", "months"),
        ("apart_days", "days apart"),
    ):
        current = getattr(node, attribute)
        if current is None:
            continue
        name = "spacing" if attribute == "apart_days" else "window"
        for value, verb in ((current + 1, "raised"), (current - 1, "lowered")):
            if value >= 1:
                words = f"{name} {verb} from {current} to {value} {unit}"
                yield dataclasses.replace(node, **{attribute: value}), node.span, words, node.span


def _variants(node: Any, source: SourceText) -> Iterator[Variant]:
    """Every single-change variant of a node: its own changes, then its children's, each
    rebuilt into a copy of the node."""
    yield from _local(node, source)
    if not dataclasses.is_dataclass(node) or isinstance(node, (type, Span, ast.FactRef)):
        return
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if isinstance(value, tuple):
            for index, child in enumerate(value):
                if dataclasses.is_dataclass(child):
                    for changed, span, words, at in _variants(child, source):
                        items = value[:index] + (changed,) + value[index + 1 :]
                        yield dataclasses.replace(node, **{f.name: items}), span, words, at
        elif dataclasses.is_dataclass(value) and not isinstance(value, Span):
            for changed, span, words, at in _variants(value, source):
                yield dataclasses.replace(node, **{f.name: changed}), span, words, at


_OWNERS = (ast.Criterion, ast.DefineDecl, ast.RecordsDecl, ast.Advisory)
_MUTABLE = (ast.CriteriaBlock, ast.DefineDecl, ast.RecordsDecl)


def _owner(tree: ast.SourceFile, span: Span) -> str:
    """The innermost named item (criterion, define, records, advisory) holding a span."""
    best: tuple[int, str] | None = None

    def inside(outer: Span) -> bool:
        return (outer.line, outer.column) <= (span.line, span.column) and (
            span.end_line,
            span.end_column,
        ) <= (outer.end_line, outer.end_column)

    def visit(node: Any, depth: int) -> None:
        nonlocal best
        owns = isinstance(node, _OWNERS) and inside(node.span)
        if owns and (best is None or depth >= best[0]):
            best = (depth, node.name)
        if dataclasses.is_dataclass(node) and not isinstance(node, Span):
            for f in dataclasses.fields(node):
                value = getattr(node, f.name)
                for child in value if isinstance(value, tuple) else (value,):
                    if dataclasses.is_dataclass(child):
                        visit(child, depth + 1)

    visit(tree, 0)
    return best[1] if best else "policy"


def mutants(tree: ast.SourceFile, source: SourceText) -> list[Mutant]:
    """Every mutant of a policy's tree, in source order, each with a unique key."""
    found: list[Mutant] = []
    keys: dict[str, int] = {}
    for index, declaration in enumerate(tree.declarations):
        if not isinstance(declaration, _MUTABLE):
            continue
        for changed, span, words, at in _variants(declaration, source):
            declarations = tree.declarations[:index] + (changed,) + tree.declarations[index + 1 :]
            if isinstance(declaration, ast.CriteriaBlock) and words.startswith("exclusion "):
                owner = words.split()[1]
            else:
                owner = _owner(tree, at)
            key = f"{owner}: {words}"
            keys[key] = keys.get(key, 0) + 1
            if keys[key] > 1:
                key += f" ({keys[key]})"
            found.append(
                Mutant(key, span, words, dataclasses.replace(tree, declarations=declarations))
            )
    found.sort(key=lambda m: (m.span.line, m.span.column))
    return found


# ------------------------------------------------------------------ running them
def _policy_tree(loaded: LoadedPolicy) -> tuple[ast.SourceFile, SourceText]:
    from ..language.parser import parse

    source = loaded.sources[0]
    return parse(source), source


def _compile(loaded: LoadedPolicy, tree: ast.SourceFile) -> LoadedPolicy:
    from ..language.compiler import compile_policy
    from ..language.semantics import check_policy

    policy = check_policy(tree, loaded.policy.vocabulary)
    return LoadedPolicy(policy, compile_policy(policy), loaded.sources)


_NO_MISSING = Options(missing=False)

# The state a worker process needs, set before the pool forks (or in each worker).
_STATE: dict[str, Any] = {}


def _judge(index: int) -> tuple[str, str]:
    """Run the tests against mutant `index` of `_STATE`; (outcome, test that killed it)."""
    from ..api import evaluate
    from .policytests import coverage_universe, run_test

    loaded: LoadedPolicy = _STATE["loaded"]
    mutant: Mutant = _STATE["mutants"][index]
    try:
        changed = _compile(loaded, mutant.tree)
    except SijfaspError as error:
        return "invalid", error.diagnostics[0].message if error.diagnostics else ""
    if changed.compiled.program == loaded.compiled.program:
        return "unchanged", ""
    nodes, exclusions = coverage_universe(changed)
    tests = [
        # A status asked of a node the mutant no longer has (a dropped member, a removed
        # exclusion) would kill it by its name alone: only what the mutant decides counts.
        (
            shown,
            dataclasses.replace(
                test,
                criteria={k: v for k, v in test.criteria.items() if k in nodes},
                exclusions={k: v for k, v in test.exclusions.items() if k in exclusions},
            ),
        )
        for shown, test in _STATE["tests"]
    ]
    # First without working out missing documentation (the costly part), then, for a mutant
    # still alive, the tests that compare missing sets, in full. The test that killed the last
    # mutant goes first: neighbouring mutants change one criterion, and one test often kills
    # them all.
    order: list[int] = _STATE.setdefault("order", list(range(len(tests))))
    for position, number in enumerate(order):
        shown, test = tests[number]
        try:
            killed = _differs(test, evaluate(changed, test.case, _NO_MISSING))
        except Exception as error:  # a mutant the solver cannot run is caught all the same
            return "killed", f"{shown}::{test.name} ({type(error).__name__})"
        if killed:
            order.insert(0, order.pop(position))
            return "killed", f"{shown}::{test.name}"
    for shown, test in tests:
        if test.missing is None:
            continue
        try:
            if not run_test(test, changed).passed:
                return "killed", f"{shown}::{test.name}"
        except Exception as error:
            return "killed", f"{shown}::{test.name} ({type(error).__name__})"
    return "survived", ""


def _differs(test: Any, result: Any) -> bool:
    """Whether a result contradicts a test in anything but its missing sets (policytests.run_test
    compares the same)."""
    from .policytest_file import recommendation_statuses
    from .policytests import applying_advisories, walk

    if result.determination != test.expect:
        return True
    reasons = " ".join(result.reasons).lower()
    if any(words.lower() not in reasons for words in test.reason):
        return True
    statuses = {n.id: n.status for n in walk(result.criteria)}
    excluded = {e.id: e.status for e in result.exclusions}
    if test.advisories is not None and test.advisories != applying_advisories(result):
        return True
    if test.recommendations:
        recommended = recommendation_statuses(result)
        if any(recommended.get(k) != v for k, v in test.recommendations.items()):
            return True
    return any(statuses.get(k) != v for k, v in test.criteria.items()) or any(
        excluded.get(k) != v for k, v in test.exclusions.items()
    )


def _init_worker(state: dict[str, Any]) -> None:
    _STATE.clear()
    _STATE.update(state)


def mutate_policy(
    loaded: LoadedPolicy,
    test_files: Sequence[Any],
    workers: int = 1,
    progress: Callable[[str], None] | None = None,
    every: int = 1,
) -> PolicyReport:
    """Every mutant of `loaded` (or every `every`-th, in the order they are made: a sample the
    test suite can afford), judged by the tests of `test_files` (policytests.TestFile)."""
    started = time.monotonic()
    tree, source = _policy_tree(loaded)
    made = mutants(tree, source)
    found = made[::every]
    from .policytests import run_test

    # Only a test the policy itself passes can tell a mutant from it.
    tests: list[tuple[str, Any]] = []
    failing: list[tuple[str, Any]] = []
    for test_file in test_files:
        for test in test_file.tests:
            passed = run_test(test, loaded).passed
            (tests if passed else failing).append((test_file.shown, test))
    declared: dict[str, str] = {}
    for test_file in test_files:
        declared.update(getattr(test_file, "equivalent", {}))
    state = {"loaded": loaded, "mutants": found, "tests": tests}
    report = PolicyReport(versions.reference(loaded), loaded.policy.path)
    report.failing = [f"{shown}::{test.name}" for shown, test in failing]
    if workers > 1 and len(found) > 1:
        with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(state,)) as pool:
            judged = list(pool.map(_judge, range(len(found)), chunksize=4))
    else:
        _init_worker(state)
        judged = [_judge(i) for i in range(len(found))]
    for mutant, (outcome, by) in zip(found, judged):
        if outcome == "survived" and mutant.key in declared:
            outcome, by = "equivalent", declared[mutant.key]
        report.results.append(MutantResult(mutant, outcome, by))
    known = {m.key for m in made}
    report.stale_declarations = sorted(k for k in declared if k not in known)
    report.seconds = time.monotonic() - started
    return report


def _shown(path: str) -> str:
    """A policy file as the user would name it: relative to the working folder when inside."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


def report_text(report: PolicyReport) -> str:
    killed, counted = report.score
    lines = [f"mutants of {report.reference} ({_shown(report.shown)}):"]
    for name in report.failing:
        lines.append(f"  left out (fails on the policy itself): {name}")
    for result in report.results:
        if result.outcome == "survived":
            span = result.mutant.span
            lines.append(f"  survived {_shown(span.path)}:{span.line}: {result.mutant.key}")
    for key in report.stale_declarations:
        lines.append(f"  declared equivalent but no such mutant: {key}")
    percent = 100 * killed / counted if counted else 100.0
    lines.append(
        f"  mutation score {killed}/{counted} ({percent:.1f}%): {report.count('killed')} killed, "
        f"{report.count('equivalent')} declared equivalent, {report.count('survived')} survived; "
        f"{report.count('unchanged')} left the program unchanged, "
        f"{report.count('invalid')} were not valid policies; {report.seconds:.1f} s"
    )
    return "\n".join(lines)


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def command(
    paths: Sequence[Path], policies: Sequence[str], workers: int, every: int = 1
) -> tuple[str, int]:
    """`sijfasp test --mutate [POLICY...]`: every policy the test files `paths` are for (or
    only those named: an id, ID@VERSION, or a policy file), mutated and judged by its tests.
    Exit status 1 when a mutant survives undeclared or a declaration names no mutant."""
    from .policytests import load_test_file

    files = [load_test_file(p) for p in paths]
    groups: dict[str, tuple[LoadedPolicy, list[Any]]] = {}
    for test_file in files:
        groups.setdefault(versions.reference(test_file.policy), (test_file.policy, []))[1].append(
            test_file
        )
    if policies:
        chosen = {}
        for wanted in policies:
            matches = [
                ref
                for ref, (loaded, _) in groups.items()
                if wanted in (ref, loaded.policy.id)
                or Path(wanted).resolve() == Path(loaded.policy.path).resolve()
            ]
            if not matches:
                raise SijfaspError(
                    [
                        Diagnostic(
                            Code.PROPERTY,
                            f"no test file is for a policy '{for_diagnostic(wanted)}'",
                            hint=did_you_mean(
                                wanted, [*groups, *(g[0].policy.id for g in groups.values())]
                            )
                            or "policies with tests: " + ", ".join(groups),
                        )
                    ]
                )
            chosen.update({ref: groups[ref] for ref in matches})
        groups = chosen
    reports = [mutate_policy(loaded, fs, workers, every=every) for loaded, fs in groups.values()]
    text = "\n\n".join(report_text(r) for r in reports) + "\n"
    bad = any(r.count("survived") or r.stale_declarations for r in reports)
    return text, 1 if bad else 0


__all__ = [
    "Mutant",
    "MutantResult",
    "PolicyReport",
    "command",
    "mutants",
    "mutate_policy",
    "report_text",
]
