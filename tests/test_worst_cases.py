"""The worst valid cases of issue 25, on long generated charts: the answers, not the timings.

benchmarks/worst_cases.py builds these shapes and times them; here each answer is checked: the
days the encoding's segment tree reads off open spans against a day-by-day count, the
determination, and every listed set of missing documentation written into its case and judged
again.
"""

from __future__ import annotations

import datetime as dt
import random
import sys

import pytest
import support

from sijfasp.cases.case import validate_case
from sijfasp.core.kinds import CountUnit, Determination
from sijfasp.language.compiler import RecordsLeaf
from sijfasp.solve import solver
from sijfasp.solve.atoms import RecordRef, Span
from sijfasp.solve.case_facts import case_atoms, case_symbols, months_before

sys.path.insert(0, str(support.REPO_ROOT / "benchmarks"))
import worst_cases

POLICIES = (support.AIM, support.CARESOURCE)


def _checked(case: dict):
    return validate_case(case, support.vocabulary(), "worst case")


def _completes(case: dict, policy_id: str, items) -> bool:
    completed = support.apply_missing_set(case, policy_id, items)
    return support.determination(completed, policy_id) == "approvable"


def _sound(case: dict, policy_id: str) -> None:
    """The case is incomplete, and every listed set completes it."""
    result = support.evaluate(case, policy_id)
    assert result.determination == Determination.INCOMPLETE
    assert result.missing
    for items in result.missing:
        assert _completes(case, policy_id, items), [i.key for i in items]


# ------------------------------------------------------------------ open spans, day by day
def _random_chart(seed: int) -> dict:
    """The approvable example's therapy replaced by documented courses and open home programs
    (no optional field) drawn from the seed: nested, adjacent, one-day and overlapping spans,
    some reaching before a 12-month window."""
    rng = random.Random(seed)
    case = support.without_records(support.base_case(), "therapy")
    request = support.request_date(case)
    courses = []
    for _ in range(rng.randint(1, 40)):
        start = request - dt.timedelta(days=rng.randint(0, 700))
        length = rng.choice((0, 1, 2, rng.randint(3, 40), rng.randint(40, 300)))
        end = min(request, start + dt.timedelta(days=length))
        if rng.random() < 0.25:
            courses.append({"kind": "physical_therapy", "start": start, "end": end})
        else:
            courses.append({"kind": "home_exercise_program", "start": start, "end": end})
    return support.add_records(case, "therapy", *courses)


def _days(spans: list[tuple[int, int]], low: int | None) -> set[int]:
    days: set[int] = set()
    for start, end in spans:
        first = start if low is None else max(start, low)
        days.update(range(first, min(end, 0) + 1 if low is not None else end + 1))
    return days


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_open_days_are_the_union_of_the_open_spans(seed):
    """open_day/2 can hold for exactly the days some open span that may join the set covers,
    and doc_day/2 holds for those of them a documented run covers too."""
    checked = _checked(_random_chart(seed))
    spans = {a.record: (a.start, a.end) for a in case_atoms(checked) if isinstance(a, Span)}
    for policy_id in POLICIES:
        loaded = support.loaded(policy_id)
        grounded = solver.CaseSolver(loaded.compiled, case_symbols(checked))
        atoms = grounded.control.symbolic_atoms
        for node_id, node in loaded.compiled.nodes.items():
            leaf = node.leaf
            if not isinstance(leaf, RecordsLeaf) or leaf.unit != CountUnit.DAYS:
                continue
            low = None
            if leaf.window is not None:
                low = -leaf.window
            if leaf.window_months is not None:
                low = (months_before(checked.date, leaf.window_months) - checked.date).days

            def held(name: str, arity: int, fact: bool, node_id: str = node_id):
                return {
                    tuple(a.symbol.arguments)
                    for a in atoms.by_signature(name, arity)
                    if str(a.symbol.arguments[0]) == node_id and (a.is_fact or not fact)
                }

            members = {
                RecordRef(args[2].arguments[0].name, args[2].arguments[1].number)
                for args in (a.symbol.arguments for a in atoms.by_signature("in_set", 3))
                if args[1].name == leaf.set_id
            }
            documented = {r for r in members if _in_doc(atoms, leaf.set_id, r)}
            open_records = members - documented
            open_days = _days([spans[r] for r in open_records if r in spans], low)
            doc_days = _days([spans[r] for r in documented if r in spans], low)
            found_open = {args[1].number for args in held("open_day", 2, fact=False)}
            found_doc = {args[1].number for args in held("doc_day", 2, fact=True)}
            assert found_open == open_days, (policy_id, node_id)
            # (doc_day/2 may also hold on days of spans that can never join: extra/2 reads it
            # only on open days.)
            assert found_doc & found_open == open_days & doc_days, (policy_id, node_id)


def _in_doc(atoms, set_id: str, record: RecordRef) -> bool:
    import clingo

    symbol = clingo.Function(
        "in_set", [clingo.Function("doc"), clingo.Function(set_id), record.symbol()]
    )
    found = atoms[symbol]
    return found is not None and found.is_fact


# ------------------------------------------------------------------ the shapes of the benchmark
@pytest.mark.slow
@pytest.mark.parametrize("count", (40, pytest.param(300, marks=pytest.mark.exhaustive)))
def test_diagnostic_blocks_without_their_relief(count):
    """Blocks whose relief is not documented: relief on two of them is the cheapest set."""
    case = worst_cases.blocks_case(count)
    for policy_id in POLICIES:
        _sound(case, policy_id)
        first = support.evaluate(case, policy_id).missing[0]
        assert [i.key.split("(")[0] for i in first] == ["fill", "fill"]
        assert all("relief_percent" in i.key for i in first)


@pytest.mark.slow
@pytest.mark.parametrize("count", (40, 200))
def test_open_home_programs(count):
    """Open programs combine in many ways toward the months of therapy: the ranking stops at its
    bound there, and what is listed still completes the case."""
    _sound(worst_cases.home_case(count), support.AIM)


@pytest.mark.slow
def test_ranking_stops_at_its_bound_with_sets_that_are_still_minimal():
    case = worst_cases.home_case(200)
    checked = _checked(case)
    loaded = support.loaded(support.AIM)
    abducer = solver.CaseSolver(loaded.compiled, case_symbols(checked)).abducer()
    found = abducer.minimal_sets(limit=10)
    assert found.bounded and not found.complete
    assert len(found.models) == 10  # the rest from the enumeration
    assert len({frozenset(m.items()) for m in found.models}) == 10
    # The bundled examples never reach the bound: their sets are ranked in full.
    for example in ("empty_request", "odi_missing"):
        base = _checked(worst_cases._example(example))
        for policy_id in POLICIES:
            grounded = solver.CaseSolver(support.loaded(policy_id).compiled, case_symbols(base))
            assert not grounded.abducer().minimal_sets(limit=10).bounded


@pytest.mark.slow
@pytest.mark.parametrize("count", (10, pytest.param(400, marks=pytest.mark.exhaustive)))
def test_overlapping_open_programs(count):
    case = worst_cases.overlap_case(count)
    for policy_id in POLICIES:
        result = support.evaluate(case, policy_id)
        assert result.determination == Determination.INCOMPLETE
        for items in result.missing:
            assert _completes(case, policy_id, items), [i.key for i in items]


@pytest.mark.slow
def test_the_empty_request_lists_a_bounded_number_of_sets():
    case = worst_cases.empty_case()
    for policy_id in POLICIES:
        result = support.evaluate(case, policy_id)
        assert result.determination == Determination.INCOMPLETE
        assert len(result.missing) == 10
        assert not result.missing_complete
