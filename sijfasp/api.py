"""The pipeline in one call: a checked case and a compiled policy in, a PolicyResult out.

It only composes the stages: case symbols, the solver's determination, the explain stage's
reading of its model, and the missing documentation.
"""

from __future__ import annotations

import hashlib

from . import __version__, textsafe
from .case import Case, restrict_case
from .case_facts import case_symbols
from .diagnostics import Diagnostic, SijfaspError, did_you_mean
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
from .results import CaseDetails, CaseResult, PolicyResult
from .solver import determine

__all__ = [
    "DEFAULT_ENUMERATE",
    "Options",
    "evaluate",
    "evaluate_case",
    "payer_id",
    "policies_for_payer",
]


def payer_id(policy_id: str) -> str:
    """The payer a policy is for, as a case names it: the policy id up to its first `_`."""
    return policy_id.split("_", 1)[0].lower()


def policies_for_payer(policies: list[LoadedPolicy], payer: str) -> list[LoadedPolicy]:
    """The policies of the payer a case names: by payer id or full policy id, any case."""
    wanted = payer.strip().lower()
    return [p for p in policies if wanted in (payer_id(p.policy.id), p.policy.id.lower())]


def policies_for_case(case: Case, policies: list[LoadedPolicy]) -> list[LoadedPolicy]:
    """The policies of the payer the case names, or all of them when it names none."""
    payer = case.details.get("payer")
    if payer is None:
        return policies
    chosen = policies_for_payer(policies, payer)
    if chosen:
        return chosen
    names = sorted({payer_id(p.policy.id) for p in policies} | {p.policy.id for p in policies})
    raise SijfaspError(
        [
            Diagnostic(
                "case",
                f"no policy of the payer '{textsafe.terminal(payer)}' among the policies used",
                hint=did_you_mean(payer.lower(), names) or "payers: " + ", ".join(names),
                field_path="payer",
                file=textsafe.terminal(case.path),
            )
        ]
    )


def _sha256(loaded: LoadedPolicy, path: str) -> str:
    source = next((s for s in loaded.sources if s.path == path), None)
    if source is None:
        return ""
    return hashlib.sha256(source.text.encode("utf-8")).hexdigest()


def _notices(loaded: LoadedPolicy, case: Case) -> tuple[str, ...]:
    policy = loaded.policy
    if case.date < policy.effective:
        return (
            f"the request date {case.date.isoformat()} is before this policy's effective date "
            f"{policy.effective.isoformat()}; it is applied as the only version known",
        )
    return ()


def evaluate(loaded: LoadedPolicy, case: Case, options: Options = DEFAULT_OPTIONS) -> PolicyResult:
    policy, compiled = loaded.policy, loaded.compiled
    case = restrict_case(case, policy.vocabulary)  # other policies' extensions left out
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
        payer_id(policy.id),
        next((s.label for s in policy.services if s.name == case.service), case.service),
        _sha256(loaded, policy.path),
        _sha256(loaded, policy.vocabulary.path),
        _notices(loaded, case),
    )


def evaluate_case(
    policies: list[LoadedPolicy], case: Case, options: Options = DEFAULT_OPTIONS
) -> CaseResult:
    return CaseResult(
        case.id,
        case.service,
        case.date,
        tuple(evaluate(p, case, options) for p in policies),
        CaseDetails(
            case.details.get("patient"),
            case.details.get("member_id"),
            case.details.get("payer"),
            case.details.get("plan"),
            case.details.get("reference_id"),
        ),
        __version__,
    )
