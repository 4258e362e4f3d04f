"""Policy tests: what a policy must decide for given cases, checked, with coverage.

A test file (`<policies>/tests/<policy id>.tests.yaml`, format in docs/authoring.md) names a
policy and lists cases with their expected determination, missing documentation, reason words
and criterion or exclusion statuses. Running it evaluates each case through `api.evaluate`;
coverage reads the statuses off the same results (the solver's), never recomputes them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from ..api import evaluate
from ..core.diagnostics import Code, Diagnostic, SijfaspError
from ..core.kinds import Determination, ExclusionStatus, Status
from ..core.resources import policies_dir
from ..policies import versions
from ..policies.loaded import LoadedPolicy
from ..policies.loading import stale_compiled
from ..results.results import NodeResult, PolicyResult
from .policytest_file import (
    ENTRY_KEYS,
    EXCLUSION_ORDER,
    STATUS_ORDER,
    TestCase,
    TestFile,
    applying_advisories,
    coverage_universe,
    default_test_files,
    load_test_file,
    recommendation_statuses,
)

# Read with the test file; named here too, where the callers of `sijfasp test` look for them.
from .policytest_file import TESTS_FOLDER as TESTS_FOLDER
from .policytest_file import TESTS_SUFFIX as TESTS_SUFFIX
from .policytest_file import _apply as _apply
from .policytest_file import _slug as _slug
from .policytest_file import advisory_ids as advisory_ids


# ------------------------------------------------------------------ running
@dataclass
class Outcome:
    test: TestCase
    result: PolicyResult
    problems: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    actual: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def missing_needs(result: PolicyResult) -> list[list[str]]:
    return sorted(sorted(item.need for item in option) for option in result.missing)


def walk(nodes: Iterable[NodeResult]) -> Iterator[NodeResult]:
    for node in nodes:
        yield node
        yield from walk(node.children)


def run_test(test: TestCase, loaded: LoadedPolicy) -> Outcome:
    result = evaluate(loaded, test.case)
    outcome = Outcome(test, result)
    statuses = {n.id: n.status for n in walk(result.criteria)}
    excluded = {e.id: e.status for e in result.exclusions}

    def compare(label: str, expected: Any, actual: Any) -> None:
        outcome.expected.append(f"{label}: {_show(expected)}")
        outcome.actual.append(f"{label}: {_show(actual)}")
        if expected != actual:
            outcome.problems.append(label)

    compare("determination", test.expect, result.determination)
    if test.missing is not None:
        compare("missing", test.missing, missing_needs(result))
    reasons = " ".join(result.reasons).lower()
    for words in test.reason:
        compare(f"reason contains {words!r}", True, words.lower() in reasons)
    for node_id, status in test.criteria.items():
        compare(f"criteria.{node_id}", status, statuses.get(node_id))
    for node_id, excl in test.exclusions.items():
        compare(f"exclusions.{node_id}", excl, excluded.get(node_id))
    if test.advisories is not None:
        compare("advisories", list(test.advisories), list(applying_advisories(result)))
    recommended = recommendation_statuses(result)
    for advisory, status in test.recommendations.items():
        compare(f"recommendations.{advisory}", status, recommended.get(advisory, NOT_APPLYING))
    return outcome


# What a test stating an advisory's recommendation is shown when the advisory does not apply.
NOT_APPLYING = "(the advisory does not apply)"


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        if value and isinstance(value[0], list):
            return "\n" + "\n".join("  - " + " + ".join(s) for s in value) if value else "[]"
        return "[]" if not value else ", ".join(map(str, value))
    return str(value)


def run_file(test_file: TestFile) -> list[Outcome]:
    return [run_test(t, test_file.policy) for t in test_file.tests]


def failure_text(test_file: TestFile, outcome: Outcome) -> str:
    lines = [f"FAILED {test_file.shown}::{outcome.test.name}"]
    if outcome.test.expect is None:
        lines.append("  no expected determination (write 'expect', or run with --update)")
    expected = "\n".join(outcome.expected).splitlines()
    actual = "\n".join(outcome.actual).splitlines()
    diff = difflib.unified_diff(expected, actual, "expected", "actual", lineterm="", n=1)
    lines += ["  " + line for line in diff]
    return "\n".join(lines)


# ------------------------------------------------------------------ --update
def updated_entry(outcome: Outcome) -> dict[str, Any]:
    """The test as written, with the actual results in place of the expected ones."""
    entry = dict(outcome.test.raw)
    result = outcome.result
    entry["expect"] = str(result.determination)
    if result.determination == Determination.INCOMPLETE:
        entry["missing"] = missing_needs(result)
    else:
        entry.pop("missing", None)
    reasons = " ".join(result.reasons).lower()
    kept = [w for w in outcome.test.reason if w.lower() in reasons]
    if kept:
        entry["reason"] = kept
    else:
        entry.pop("reason", None)
    statuses = {n.id: n.status for n in walk(result.criteria)}
    if "criteria" in entry:
        entry["criteria"] = {
            k: str(statuses[k]) for k in outcome.test.criteria if statuses.get(k) is not None
        }
    excluded = {e.id: e.status for e in result.exclusions}
    if "exclusions" in entry:
        entry["exclusions"] = {
            k: str(excluded[k]) for k in outcome.test.exclusions if excluded.get(k) is not None
        }
    if "advisories" in entry:
        entry["advisories"] = list(applying_advisories(result))
    # The recommendations of a test that lists the advisories are written whole (it asks
    # advisories to be compared); otherwise those already stated that still apply.
    recommended = recommendation_statuses(result)
    if "advisories" in entry or "recommendations" in entry:
        stated = recommended if "advisories" in entry else outcome.test.recommendations
        entry["recommendations"] = {k: str(recommended[k]) for k in stated if k in recommended}
    # Keep the author's field order, then the fields that are new. An empty list of
    # advisories says that none applies, and is kept.
    ordered = {k: entry[k] for k in ENTRY_KEYS if k in entry}
    return {k: v for k, v in ordered.items() if k == "advisories" or v not in ({}, [])}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return str(value)
    return value


class _Dumper(yaml.SafeDumper):
    pass


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> Any:
    # Short lists of words (one missing set, statuses) on one line; longer ones in block.
    flow = all(not isinstance(v, (dict, list)) for v in data) and len(str(data)) < 80
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def update_text(test_file: TestFile, outcomes: Sequence[Outcome]) -> str:
    raw = dict(test_file.raw)
    if "not_applicable" in raw:
        raw["not_applicable"] = {
            node_id: [s for s in raw["not_applicable"][node_id] if s in statuses]
            for node_id, statuses in test_file.not_applicable.items()
        }
    raw["tests"] = [updated_entry(o) for o in outcomes]
    header = "# Policy tests (format: docs/authoring.md). Rewritten by `sijfasp test --update`.\n"
    body = yaml.dump(_plain(raw), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    return header + body


# ------------------------------------------------------------------ coverage


@dataclass
class Coverage:
    policy: str
    tests: int
    nodes: dict[str, set[str]]  # node id -> statuses seen
    exclusions: dict[str, set[str]]
    not_applicable: dict[str, set[str]]

    def gaps(self) -> list[tuple[str, str, list[str]]]:
        """(kind, id, statuses never seen), in tree order."""
        found = []
        for kind, table, order in (
            ("criterion", self.nodes, STATUS_ORDER),
            ("exclusion", self.exclusions, EXCLUSION_ORDER),
        ):
            for node_id, seen in table.items():
                skip = self.not_applicable.get(node_id, set())
                unseen = [str(s) for s in order if s not in seen and s not in skip]
                if unseen:
                    found.append((kind, node_id, unseen))
        return found

    def contradicted(self) -> list[tuple[str, list[str]]]:
        """Statuses declared not applicable that a test saw all the same."""
        found = []
        for table in (self.nodes, self.exclusions):
            for node_id, seen in table.items():
                wrong = sorted(seen & self.not_applicable.get(node_id, set()))
                if wrong:
                    found.append((node_id, wrong))
        return found

    def counts(self) -> tuple[int, int]:
        """(statuses seen, statuses to see), not-applicable ones left out."""
        total = seen = 0
        for table, order in (
            (self.nodes, STATUS_ORDER),
            (self.exclusions, EXCLUSION_ORDER),
        ):
            for node_id, statuses in table.items():
                skip = self.not_applicable.get(node_id, set())
                wanted = [s for s in order if s not in skip]
                total += len(wanted)
                seen += sum(1 for s in wanted if s in statuses)
        return seen, total

    @property
    def full(self) -> bool:
        return not self.gaps() and not self.contradicted()


def coverage(
    policy: LoadedPolicy, files: Sequence[TestFile], outcomes: Sequence[Outcome]
) -> Coverage:
    nodes, exclusions = coverage_universe(policy)
    seen_nodes: dict[str, set[str]] = {n: set() for n in nodes}
    seen_exclusions: dict[str, set[str]] = {e: set() for e in exclusions}
    for outcome in outcomes:
        for node in walk(outcome.result.criteria):
            seen_nodes.setdefault(node.id, set()).add(str(node.status))
        for exclusion in outcome.result.exclusions:
            seen_exclusions.setdefault(exclusion.id, set()).add(str(exclusion.status))
    not_applicable: dict[str, set[str]] = {}
    for test_file in files:
        for node_id, statuses in test_file.not_applicable.items():
            not_applicable.setdefault(node_id, set()).update(statuses)
    return Coverage(
        versions.reference(policy), len(outcomes), seen_nodes, seen_exclusions, not_applicable
    )


_MARKS = {
    Status.MET: "met",
    Status.NOT_MET: "not met",
    Status.NOT_DOCUMENTED: "not documented",
    ExclusionStatus.APPLIES: "applies",
    ExclusionStatus.DOCUMENTED_ABSENT: "documented absent",
    ExclusionStatus.NOT_DOCUMENTED: "not documented",
}


def coverage_text(report: Coverage) -> str:
    seen, total = report.counts()
    percent = 100 * seen // total if total else 100
    lines = [
        f"coverage of {report.policy}: {seen}/{total} statuses seen ({percent}%) "
        f"by {report.tests} test{'s' if report.tests != 1 else ''}"
    ]
    for title, table, order in (
        ("criteria", report.nodes, STATUS_ORDER),
        ("exclusions", report.exclusions, EXCLUSION_ORDER),
    ):
        width = max([len(title) - 2, *map(len, table)])
        heads = [_MARKS[s] for s in order]
        lines.append(f"  {title:<{width + 2}}  " + "  ".join(heads))
        for node_id, statuses in table.items():
            skip = report.not_applicable.get(node_id, set())
            marks = ["n/a" if s in skip else ("yes" if s in statuses else "NO") for s in order]
            cells = "  ".join(f"{m:<{len(h)}}" for m, h in zip(marks, heads))
            lines.append(f"    {node_id:<{width}}  {cells}".rstrip())
    gaps = report.gaps()
    if gaps:
        lines.append("  never exercised:")
        for kind, node_id, unseen in gaps:
            lines.append(f"    {kind} {node_id}: " + ", ".join(_MARKS[_status(s)] for s in unseen))
    for node_id, wrong in report.contradicted():
        lines.append(
            f"  declared not applicable but seen: {node_id}: "
            + ", ".join(_MARKS[_status(s)] for s in wrong)
        )
    if report.full:
        lines.append("  full coverage")
    return "\n".join(lines)


def _status(word: str) -> Status | ExclusionStatus:
    return Status(word) if word in Status.__members__.values() else ExclusionStatus(word)


# ------------------------------------------------------------------ the command
@dataclass
class Report:
    text: str
    failed: int
    passed: int
    coverages: list[Coverage]


def _cannot_write(shown: str, reason: str, hint: str | None = None) -> SijfaspError:
    message = f"cannot update {shown}: {reason}"
    return SijfaspError([Diagnostic(Code.IMPORT, message, hint=hint, file=shown)])


def _check_writable(test_file: TestFile) -> None:
    """--update writes a test file beside itself and then over it: both must be allowed, known
    before any test runs."""
    path = test_file.path
    hint = "make it writable, or run without --update"
    if not os.access(path, os.W_OK):
        raise _cannot_write(test_file.shown, "the file is read-only", hint)
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise _cannot_write(test_file.shown, "its folder cannot be written to", hint)


def _write_update(test_file: TestFile, text: str) -> None:
    """The updated text, written whole or not at all: into a new file beside the test file,
    then renamed over it, so that a failed write leaves the test file as it was."""
    path = test_file.path
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        partial.write_text(text, encoding="utf-8")
        os.chmod(partial, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(partial, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink()
        reason = f"{error.strerror or error}; the file is left as it was"
        raise _cannot_write(test_file.shown, reason) from None


def run_tests(paths: Sequence[Path], update: bool = False, with_coverage: bool = False) -> Report:
    """Load every test file first (a bad one stops the run), then run them all."""
    files = [load_test_file(p, lenient=update) for p in (list(paths) or default_test_files())]
    if update:
        for test_file in files:
            _check_writable(test_file)
    if not files:
        raise SijfaspError(
            [Diagnostic(Code.PROPERTY, "no test files found", file=str(policies_dir()))]
        )
    lines: list[str] = []
    failures: list[str] = []
    passed = failed = 0
    by_policy: dict[str, tuple[LoadedPolicy, list[TestFile], list[Outcome]]] = {}
    for test_file in files:
        outcomes = run_file(test_file)
        marks = "".join("." if o.passed else "F" for o in outcomes)
        lines.append(f"{test_file.shown} {marks}")
        for outcome in outcomes:
            if outcome.passed:
                passed += 1
            else:
                failed += 1
                failures.append(failure_text(test_file, outcome))
        entry = by_policy.setdefault(
            versions.reference(test_file.policy), (test_file.policy, [], [])
        )
        entry[1].append(test_file)
        entry[2].extend(outcomes)
        if update and (test_file.dropped or any(not o.passed for o in outcomes)):
            _write_update(test_file, update_text(test_file, outcomes))
            lines.append(f"  updated {test_file.shown}")
            lines += [f"  dropped {where}: no such id in the policy" for where in test_file.dropped]
    coverages = [coverage(p, fs, os_) for p, fs, os_ in by_policy.values()]
    for loaded, _, _ in by_policy.values():  # the tests ran a fresh compile; CI reads the .lp
        stale = stale_compiled(loaded)
        if stale is not None:
            lines.append(f"warning: {stale.message} (run: sijfasp compile --write)")
    text = "\n".join(lines)
    if failures:
        text += "\n\n" + "\n\n".join(failures)
    if with_coverage:
        text += "\n\n" + "\n\n".join(coverage_text(c) for c in coverages)
    verb = "updated" if update else "failed"
    text += f"\n\n{passed} passed, {failed} {verb}\n"
    return Report(text, 0 if update else failed, passed, coverages)


__all__ = [
    "Coverage",
    "Outcome",
    "Report",
    "TestCase",
    "TestFile",
    "coverage",
    "coverage_universe",
    "default_test_files",
    "load_test_file",
    "run_file",
    "run_tests",
]


def command(
    paths: Sequence[Path], update: bool, with_coverage: bool, fail_under_full: bool
) -> tuple[str, int]:
    """`sijfasp test`: the report's text and the exit status (1 on a failure or, when asked,
    on coverage short of full)."""
    report = run_tests(paths, update=update, with_coverage=with_coverage or fail_under_full)
    short = fail_under_full and any(not c.full for c in report.coverages)
    return report.text, 1 if report.failed or short else 0
