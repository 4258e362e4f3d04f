"""Long charts: the encoding's counts and days stay linear in the chart, and stay right.

Forty overlapping home exercise programs whose optional fields are all undocumented leave the
days of therapy open in the hypothetical world; with counts written as one atom per possible
value this took minutes. These tests assert what the answers are, not how long they take:
the timings are in the benchmark's output (benchmarks/run.py, scripts/benchmark.py).
"""

from __future__ import annotations

import datetime as dt
import sys

import pytest
import support

from sijfasp.api import Options, evaluate
from sijfasp.cases.case import validate_case
from sijfasp.core.kinds import CountUnit, Determination
from sijfasp.language.compiler import RecordsLeaf
from sijfasp.solve import solver
from sijfasp.solve.atoms import MoreDays, Snapshot, Span, World
from sijfasp.solve.case_facts import case_atoms, case_symbols, months_before

sys.path.insert(0, str(support.REPO_ROOT / "benchmarks"))
import generate

COURSES = 40
RECORDS = 5000


def open_courses(case: dict, count: int = COURSES) -> dict:
    """`case` without its therapy, plus `count` overlapping home programs, fields undocumented."""
    return generate.open_home_chart(case, count, seed=7)


def _checked(case: dict):
    return validate_case(case, support.vocabulary(), "long chart")


def union_days(snapshot: Snapshot, case, leaf: RecordsLeaf, world: World = World.DOC) -> int:
    """The days the members of the leaf's set in `world` cover, counted day by day."""
    spans = {a.record: a for a in case_atoms(case) if isinstance(a, Span)}
    low, high = None, 0
    if leaf.window is not None:
        low = -leaf.window
    if leaf.window_months is not None:
        low = (months_before(case.date, leaf.window_months) - case.date).days
    days: set[int] = set()
    for record in snapshot.members(world, leaf.set_id):
        span = spans[record]
        first = span.start if low is None else max(span.start, low)
        last = span.end if low is None else min(span.end, high)
        days.update(range(first, last + 1))
    return len(days)


def _duration_leaves(loaded) -> list[tuple[str, RecordsLeaf]]:
    return [
        (node_id, node.leaf)
        for node_id, node in loaded.compiled.nodes.items()
        if isinstance(node.leaf, RecordsLeaf) and node.leaf.unit == CountUnit.DAYS
    ]


@pytest.mark.slow
def test_forty_open_home_programs_give_sound_minimal_sets():
    case = open_courses(support.base_case())
    for policy_id in ("aim_sijf_2022", "caresource_sijf_2026"):
        result = support.evaluate(case, policy_id)
        assert result.determination == Determination.INCOMPLETE
        assert result.missing
        for items in result.missing:
            completed = support.apply_missing_set(case, policy_id, items)
            assert support.determination(completed, policy_id) == "approvable", [
                i.key for i in items
            ]
        # Filling in one program's fields is enough where that program alone is long enough.
        assert any(i.key.startswith("fill(") for s in result.missing for i in s)


def test_days_still_lacking_are_the_models_own():
    """Where a set adds days, the days already covered in that model are read from it."""
    case = open_courses(support.base_case(), 12)
    loaded = support.loaded("aim_sijf_2022")
    checked = _checked(case)
    abducer = solver.Abducer(loaded.compiled, case_symbols(checked))
    adding = [
        m
        for m in abducer.minimal_sets(limit=0).models
        if MoreDays("six_months_of_care") in m.items()
    ]
    assert adding
    leaf = _duration_leaves(loaded)[0][1]
    covered = [model.days(World.HYP, "six_months_of_care") for model in adding]
    assert covered == [union_days(m, checked, leaf, World.HYP) for m in adding]
    assert all(days < leaf.minimum for days in covered)
    assert any(days > 0 for days in covered)  # a program filled in for another criterion


@pytest.mark.slow
@pytest.mark.exhaustive
def test_five_thousand_records_with_forty_open_programs():
    case = generate.open_home_chart(support.base_case(), COURSES, seed=7, records=RECORDS)
    assert generate.record_count(case) == RECORDS
    checked = _checked(case)
    facts = case_symbols(checked)
    for loaded in support.policies().values():
        result = evaluate(loaded, checked, Options())
        snapshot = solver.determine(loaded.compiled, facts)
        assert result.determination == snapshot.determination
        leaves = _duration_leaves(loaded)
        assert leaves or loaded.policy.id not in ("aim_sijf_2022", "caresource_sijf_2026")
        for node_id, leaf in leaves:
            documented = snapshot.days(World.DOC, node_id)
            assert documented == union_days(snapshot, checked, leaf)
            assert documented > leaf.minimum  # the long chart's therapy covers them
        for node_id, node in loaded.compiled.nodes.items():
            if isinstance(node.leaf, RecordsLeaf) and node.leaf.unit == CountUnit.RECORDS:
                members = snapshot.members(World.DOC, node.leaf.set_id)
                assert snapshot.count(World.DOC, node_id) == len(members)


def test_days_are_counted_inclusive_and_once_where_records_overlap(base):
    """Three overlapping courses and a gap: the runs count each day once."""
    request = support.request_date(base)
    courses = [
        (request - dt.timedelta(days=300), request - dt.timedelta(days=201)),  # 100 days
        (request - dt.timedelta(days=250), request - dt.timedelta(days=151)),  # 50 more
        (request - dt.timedelta(days=260), request - dt.timedelta(days=240)),  # inside both
        (request - dt.timedelta(days=100), request - dt.timedelta(days=71)),  # 30 after a gap
    ]
    case = support.without_records(base, "therapy")
    case = support.add_records(
        case,
        "therapy",
        *({"kind": "physical_therapy", "start": a, "end": b} for a, b in courses),
    )
    loaded = support.loaded("aim_sijf_2022")
    checked = _checked(case)
    snapshot = solver.determine(loaded.compiled, case_symbols(checked))
    assert snapshot.days(World.DOC, "six_months_of_care") == 180
    assert union_days(snapshot, checked, _duration_leaves(loaded)[0][1]) == 180
