"""The pipeline in one call: a checked case and a compiled policy in, a PolicyResult out.

It only composes the stages: case symbols, the solver's determination and enumerations, and the
explain stage's reading of their models.
"""

from __future__ import annotations

from dataclasses import dataclass

from .case import Case
from .case_facts import case_symbols
from .explain import (
    CaseResult,
    MissingGroup,
    MissingItem,
    PolicyResult,
    Reader,
    advisory_results,
    criteria_tree,
    describe_item,
    exclusion_results,
    items_of,
    reasons,
    sort_items,
    sort_sets,
)
from .policies import LoadedPolicy
from .solver import Abducer, determine

DEFAULT_ENUMERATE = 10
OPTIONS_PER_GROUP = 12


@dataclass(frozen=True)
class Options:
    """How much missing documentation to work out."""

    enumerate: int = DEFAULT_ENUMERATE  # full minimal sets to list (0: every one)
    # With more sets than `enumerate`: find the best ones (fewest items, then cheapest) rather
    # than any; costs a few optimizations, so a summary that does not list them can skip it.
    rank: bool = True


def evaluate(loaded: LoadedPolicy, case: Case, options: Options = Options()) -> PolicyResult:
    policy, compiled = loaded.policy, loaded.compiled
    facts = case_symbols(case)
    snapshot = determine(compiled, facts)
    determination = str(snapshot.atoms("determination", 1)[0][0])
    reader = Reader(policy, compiled, case)
    roots = compiled.top.get(case.service, ())
    tree = criteria_tree(reader, snapshot, roots)
    exclusions = exclusion_results(reader, snapshot, case.service)
    advisories = advisory_results(reader, snapshot, case.service) if roots else ()
    missing: list[tuple[MissingItem, ...]] = []
    complete, total, grouped, exact = True, None, (), True
    if determination == "incomplete":
        abducer = Abducer(compiled, facts)
        found = abducer.minimal_sets(limit=options.enumerate, ranked=options.rank)
        statuses = reader.statuses(snapshot)
        missing = sort_sets(
            [
                sort_items(
                    [
                        describe_item(reader, model, item, roots, statuses)
                        for item in items_of(model)
                    ]
                )
                for model in found.models
            ]
        )
        complete = found.complete
        grouped = tuple(g for r in roots if (g := _group(reader, abducer, statuses, r)) is not None)
        exact = _disjoint(grouped)
        total = len(missing) if complete else _product(grouped) if exact else None
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
        reasons(reader, determination, tree, exclusions),
        tuple(missing),
        complete,
        total,
        grouped,
        exact,
    )


def evaluate_case(
    policies: list[LoadedPolicy], case: Case, options: Options = Options()
) -> CaseResult:
    return CaseResult(
        case.id, case.service, case.date, tuple(evaluate(p, case, options) for p in policies)
    )


def _group(
    reader: Reader, abducer: Abducer, statuses: dict[str, str], node_id: str
) -> MissingGroup | None:
    """What a criterion not yet met still needs, split along its all-of structure."""
    if statuses.get(node_id) == "met":
        return None
    compiled = reader.compiled
    info = compiled.nodes[node_id]
    cite, label = reader.cite(node_id), info.label
    if info.kind == "all":
        groups = tuple(
            g for c in info.children if (g := _group(reader, abducer, statuses, c)) is not None
        )
        return MissingGroup(node_id, cite, label, groups, (), True)
    if info.kind == "at_least":
        # "K more of these": exact when each open member has a single way to be met.
        met = sum(1 for c in info.children if statuses.get(c) == "met")
        per_member = [
            _options(reader, abducer, statuses, c, 2)
            for c in info.children
            if statuses.get(c) == "not_documented"
        ]
        if all(len(found) == 1 and complete for found, complete in per_member):
            assert info.minimum is not None
            return MissingGroup(
                node_id,
                cite,
                label,
                (),
                tuple(found[0] for found, _ in per_member),
                True,
                info.minimum - met,
            )
    options, complete = _options(reader, abducer, statuses, node_id, OPTIONS_PER_GROUP)
    return MissingGroup(node_id, cite, label, (), options, complete)


def _options(reader: Reader, abducer: Abducer, statuses: dict[str, str], node_id: str, limit: int):
    found = abducer.minimal_sets(focus=node_id, limit=limit)
    sets = sort_sets(
        [
            sort_items([describe_item(reader, m, i, (node_id,), statuses) for i in items_of(m)])
            for m in found.models
        ]
    )
    return tuple(sets), found.complete


def _leaf_groups(groups: tuple[MissingGroup, ...]):
    for group in groups:
        if group.groups:
            yield from _leaf_groups(group.groups)
        else:
            yield group


def _disjoint(groups: tuple[MissingGroup, ...]) -> bool:
    """True when no item serves two groups, so the sets are exactly their product."""
    seen: set[str] = set()
    for group in _leaf_groups(groups):
        keys = {item.key for option in group.options for item in option}
        if keys & seen:
            return False
        seen |= keys
    return True


def _product(groups: tuple[MissingGroup, ...]) -> int | None:
    total = 1
    for group in groups:
        count = group.count()
        if count is None:
            return None
        total *= count
    return total
