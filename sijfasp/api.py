"""The pipeline in one call: a checked case and a compiled policy in, a PolicyResult out.

It only composes the stages: case symbols, the solver's determination, the explain stage's
reading of its model, and the missing documentation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from . import __version__
from .cases.case import LINE_OF_BUSINESS, Case, restrict_case
from .cases.vocabulary import payer_id, policies_for_payer
from .core.kinds import Determination
from .policies import versions
from .policies.loaded import LoadedPolicy
from .policies.versions import Choice
from .results.explain import (
    Reader,
    advisory_results,
    code_reasons,
    criteria_tree,
    exclusion_results,
    reasons,
    reasons_in_words,
)
from .results.missing import (
    DEFAULT_ENUMERATE,
    DEFAULT_OPTIONS,
    NOT_WORKED_OUT,
    NOTHING_MISSING,
    Options,
    missing_documentation,
)
from .results.results import CaseDetails, CaseResult, PolicyResult, VersionUse
from .solve.atoms import Snapshot
from .solve.batched import CHUNK, determine_many
from .solve.case_facts import CaseFacts, case_symbols
from .solve.solver import CaseSolver, Facts

__all__ = [
    "DEFAULT_ENUMERATE",
    "Options",
    "evaluate",
    "evaluate_case",
    "evaluate_cases",
    "no_version_result",
    "payer_id",
    "policies_for_payer",
    "version_use",
]


def _extension_hashes(loaded: LoadedPolicy) -> tuple[tuple[str, str], ...]:
    """The policy's vocabulary extensions (the files it imports after the vocabulary)."""
    own = {loaded.policy.path, loaded.policy.vocabulary.path}
    return tuple(
        (Path(s.path).name, hashlib.sha256(s.text.encode("utf-8")).hexdigest())
        for s in loaded.sources[2:]
        if s.path not in own
    )


def _sha256(loaded: LoadedPolicy, path: str) -> str:
    source = next((s for s in loaded.sources if s.path == path), None)
    if source is None:
        return ""
    return hashlib.sha256(source.text.encode("utf-8")).hexdigest()


def version_use(choice: Choice, as_of: bool = False) -> VersionUse:
    """The version a choice made, with its reasons, in the results model's plain terms."""
    chosen = choice.chosen
    return VersionUse(
        chosen.policy.version if chosen is not None else None,
        choice.on,
        as_of,
        choice.plan,
        choice.effective,
        choice.plan_line,
        choice.explicit,
        tuple((v.policy.version, versions.dates_text(v)) for v in choice.versions),
        choice.undecided,
    )


def _explicit_use(loaded: LoadedPolicy, case: Case) -> VersionUse:
    """A version judged as given (a policy test, `evaluate` called directly)."""
    line = case.details.get(LINE_OF_BUSINESS)
    date, own = versions.effective_for(loaded, line)
    choice = versions.Choice(loaded.policy.id, case.date, line, loaded, date, own, True, (loaded,))
    return version_use(choice)


def _notices(loaded: LoadedPolicy, use: VersionUse) -> tuple[str, ...]:
    """An explicitly chosen version that is not in effect on the date says so."""
    if not use.explicit or use.effective is None or use.effective <= use.on:
        return ()
    plan = f" for {versions.line_words(use.plan)}" if use.plan else ""
    return (
        f"version {loaded.policy.version} takes effect on {use.effective.isoformat()}{plan}, "
        f"after {use.on.isoformat()}; it was applied because it was chosen explicitly",
    )


def line_notice(choice: Choice) -> tuple[str, ...]:
    """A policy whose version the case's undocumented line of business decides: what to
    document (the case's `line_of_business`, docs/case-format.md), in words."""
    if not choice.undecided:
        return ()
    lines = ", ".join(versions.line_words(line) for line in versions.LINES_OF_BUSINESS)
    return (
        "document the plan's line of business: it decides which version of this policy applies "
        f"on {choice.on.isoformat()}, and the plan's name is not read for it (one of: {lines})",
    )


def no_version_result(choice: Choice, case: Case, as_of: bool = False) -> PolicyResult:
    """The result for a policy with no version in effect (or none chosen, for want of the
    case's line of business): what the policy is, and no finding."""
    latest = choice.versions[-1].policy
    return PolicyResult(
        latest.id,
        latest.payer,
        latest.title,
        latest.document,
        latest.number,
        latest.effective,
        latest.cite,
        case.service,
        Determination.NO_VERSION,
        (),
        (),
        (),
        (),
        (),
        True,
        0,
        (),
        True,
        payer_id(latest.id),
        next((s.label for s in latest.services if s.name == case.service), case.service),
        notices=line_notice(choice),
        version_use=version_use(choice, as_of),
    )


# The last case's symbols: the policies judging one case usually see it unchanged
# (restrict_case returns the case itself when no extension is involved), so its facts are
# built once, not once per policy. One entry, replaced as a whole: safe across threads.
_last_symbols: tuple[Case, Facts] | None = None


def _symbols(case: Case) -> Facts:
    global _last_symbols
    last = _last_symbols
    if last is not None and last[0] is case:
        return last[1]
    symbols = case_symbols(case)
    _last_symbols = (case, symbols)
    return symbols


def evaluate(
    loaded: LoadedPolicy,
    case: Case,
    options: Options = DEFAULT_OPTIONS,
    use: VersionUse | None = None,
    deadline: float | None = None,
    determined: Snapshot | None = None,
    facts: Facts | None = None,
) -> PolicyResult:
    """The case under one version of a policy; `use` says why that version (default: it was
    given explicitly). Past `deadline` (a `time.monotonic()`), solving stops: `OutOfTime`.
    `determined`: the determination's model, found already with other cases
    (`evaluate_cases`); the case is then grounded on its own only for its missing
    documentation, from `facts` when given (the case's symbols, built for that model)."""
    use = use or _explicit_use(loaded, case)
    policy, compiled = loaded.policy, loaded.compiled
    case = restrict_case(case, policy.vocabulary)  # other policies' extensions left out
    if determined is None:
        # One grounding for every phase; the abduction's parts are grounded when asked for.
        solver = CaseSolver(compiled, _symbols(case), deadline, abduce=options.missing)
        snapshot = solver.determine()
    else:
        snapshot = determined
    determination = snapshot.determination
    reader = Reader(policy, compiled, case)
    # A policy that does not address the request (its service, or its procedure code) is not
    # looked at further: no criteria, exclusions or advisories are shown.
    applies = determination != Determination.NOT_APPLICABLE
    roots = compiled.top.get(case.service, ()) if applies else ()
    tree = criteria_tree(reader, snapshot, roots)
    exclusions = exclusion_results(reader, snapshot, case.service) if applies else ()
    advisories = advisory_results(reader, snapshot, case.service) if roots else ()
    missing = retried = NOTHING_MISSING
    wanted = determination == Determination.INCOMPLETE or (
        determination == Determination.NOT_MET and snapshot.any_failed_attempt()
    )
    if wanted and not options.missing:  # `check --no-missing`: no abduction at all
        if determination == Determination.INCOMPLETE:
            missing = NOT_WORKED_OUT
        else:
            retried = NOT_WORKED_OUT
    elif wanted:
        if determined is not None:
            # The case's own grounding, decided again as on its own: each later solve call
            # starts from the same solver state as in `evaluate` without `determined`.
            solver = CaseSolver(compiled, facts or _symbols(case), deadline)
            solver.determine()
        if determination == Determination.INCOMPLETE:
            missing = missing_documentation(reader, solver, snapshot, tree, options)
        else:
            retried = missing_documentation(reader, solver, snapshot, tree, options, retest=True)
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
        code_reasons(reader)
        if determination == Determination.NOT_APPLICABLE
        else reasons(determination, tree, exclusions),
        missing.sets,
        missing.complete,
        missing.total,
        missing.grouped,
        missing.grouped_exact,
        payer_id(policy.id),
        next((s.label for s in policy.services if s.name == case.service), case.service),
        _sha256(loaded, policy.path),
        _sha256(loaded, policy.vocabulary.path),
        _extension_hashes(loaded),
        _notices(loaded, use),
        use,
        retried.sets,
        retried.grouped,
        code_reasons(reader)
        if determination == Determination.NOT_APPLICABLE
        else reasons_in_words(determination, tree, exclusions),
    )


def evaluate_case(
    policies: list[LoadedPolicy],
    case: Case,
    options: Options = DEFAULT_OPTIONS,
    as_of: dt.date | None = None,
    pinned: Iterable[str] = (),
    time_limit: float = 0,
) -> CaseResult:
    """The case under the version of each policy in effect on its request date (or `as_of`)
    for its plan; the ids in `pinned` are judged by the one version given, whatever its dates.
    With a `time_limit` (seconds; 0: none), solving stops after it with `solver.OutOfTime`."""
    deadline = time.monotonic() + time_limit if time_limit else None
    on = as_of or case.date
    choices = versions.choose(policies, on, case.details.get(LINE_OF_BUSINESS), pinned)
    results = []
    for choice in choices:
        if choice.chosen is None:
            results.append(no_version_result(choice, case, as_of is not None))
        else:
            use = version_use(choice, as_of is not None)
            results.append(evaluate(choice.chosen, case, options, use, deadline))
    return _case_result(case, results)


# Fewer cases than this are judged one by one: the batched program is worked out once per
# process and policy (about half a second), more than a few cases' groundings save.
TOGETHER_FROM = 8


def evaluate_cases(
    cases: Sequence[tuple[Case, list[LoadedPolicy]]],
    options: Options = DEFAULT_OPTIONS,
    as_of: dt.date | None = None,
    pinned: Iterable[str] = (),
    time_limit: float = 0,
) -> list[CaseResult]:
    """`evaluate_case` of each case under its policies, the same results: the determinations
    of up to `batched.CHUNK` cases under one policy version come from one grounding
    (solve/batched.py); each case's missing documentation from a grounding of its own. With a
    `time_limit`, each case's own solving stops after it (`solver.OutOfTime`)."""
    pinned = tuple(pinned)
    found: list[CaseResult] = []
    for start in range(0, len(cases), CHUNK):
        found += _evaluate_chunk(cases[start : start + CHUNK], options, as_of, pinned, time_limit)
    return found


def _evaluate_chunk(
    cases: Sequence[tuple[Case, list[LoadedPolicy]]],
    options: Options,
    as_of: dt.date | None,
    pinned: tuple[str, ...],
    time_limit: float,
) -> list[CaseResult]:
    if len(cases) < TOGETHER_FROM:
        return [
            evaluate_case(policies, case, options, as_of, pinned, time_limit)
            for case, policies in cases
        ]
    chosen = [
        versions.choose(policies, as_of or case.date, case.details.get(LINE_OF_BUSINESS), pinned)
        for case, policies in cases
    ]
    # Each policy version's cases, determined together.
    by_policy: dict[int, tuple[LoadedPolicy, list[tuple[int, int]]]] = {}
    for i, choices in enumerate(chosen):
        for j, choice in enumerate(choices):
            if choice.chosen is not None:
                by_policy.setdefault(id(choice.chosen), (choice.chosen, []))[1].append((i, j))
    determined: dict[tuple[int, int], Snapshot] = {}
    # Each case's symbols, built once for every policy that sees the case unchanged (as
    # `_symbols` does for one case): restrict_case returns the case itself then.
    symbols: dict[tuple[int, int], CaseFacts] = {}
    built: dict[int, tuple[Case, CaseFacts]] = {}
    for loaded, where in by_policy.values():
        for i, j in where:
            restricted = restrict_case(cases[i][0], loaded.policy.vocabulary)
            known = built.get(id(restricted))
            if known is None or known[0] is not restricted:
                known = built[id(restricted)] = (restricted, case_symbols(restricted))
            symbols[i, j] = known[1]
        chunk = [symbols[each] for each in where]
        determined.update(zip(where, determine_many(loaded.compiled, chunk), strict=True))
    found = []
    for i, ((case, _), choices) in enumerate(zip(cases, chosen, strict=True)):
        deadline = time.monotonic() + time_limit if time_limit else None
        results = []
        for j, choice in enumerate(choices):
            if choice.chosen is None:
                results.append(no_version_result(choice, case, as_of is not None))
            else:
                use = version_use(choice, as_of is not None)
                snapshot, facts = determined[i, j], symbols[i, j]
                results.append(
                    evaluate(choice.chosen, case, options, use, deadline, snapshot, facts)
                )
        found.append(_case_result(case, results))
    return found


def _case_result(case: Case, results: list[PolicyResult]) -> CaseResult:
    return CaseResult(
        case.id,
        case.service,
        case.date,
        tuple(results),
        CaseDetails(
            case.details.get("patient"),
            case.details.get("member_id"),
            case.details.get("payer"),
            case.details.get("plan"),
            case.details.get("reference_id"),
            case.details.get(LINE_OF_BUSINESS),
        ),
        __version__,
    )
