"""The pipeline in one call: a checked case and a compiled policy in, a PolicyResult out.

It only composes the stages: case symbols, the solver's determination, the explain stage's
reading of its model, and the missing documentation.
"""

from __future__ import annotations

from .case import Case
from .case_facts import case_symbols
from .explain import Reader, advisory_results, criteria_tree, exclusion_results, reasons
from .kinds import Determination
from .missing import (
    DEFAULT_ENUMERATE,
    DEFAULT_OPTIONS,
    NOTHING_MISSING,
    Options,
    missing_documentation,
)
from .policies import LoadedPolicy
from .results import CaseResult, PolicyResult
from .solver import determine

__all__ = ["DEFAULT_ENUMERATE", "Options", "evaluate", "evaluate_case"]


def evaluate(loaded: LoadedPolicy, case: Case, options: Options = DEFAULT_OPTIONS) -> PolicyResult:
    policy, compiled = loaded.policy, loaded.compiled
    facts = case_symbols(case)
    snapshot = determine(compiled, facts)
    determination = snapshot.determination
    reader = Reader(policy, compiled, case)
    roots = compiled.top.get(case.service, ())
    tree = criteria_tree(reader, snapshot, roots)
    exclusions = exclusion_results(reader, snapshot, case.service)
    advisories = advisory_results(reader, snapshot, case.service) if roots else ()
    missing = NOTHING_MISSING
    if determination == Determination.INCOMPLETE:
        missing = missing_documentation(reader, facts, snapshot, tree, options)
    return PolicyResult(
        policy.id,
        policy.payer,
        policy.title,
        policy.document,
        policy.number,
        policy.effective,
        policy.cite,
        case.service,
        determination,
        tree,
        exclusions,
        advisories,
        reasons(determination, tree, exclusions),
        missing.sets,
        missing.complete,
        missing.total,
        missing.grouped,
        missing.grouped_exact,
    )


def evaluate_case(
    policies: list[LoadedPolicy], case: Case, options: Options = DEFAULT_OPTIONS
) -> CaseResult:
    return CaseResult(
        case.id, case.service, case.date, tuple(evaluate(p, case, options) for p in policies)
    )
