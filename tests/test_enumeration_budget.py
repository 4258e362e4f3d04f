"""Enumerating every minimal set stops at its time budget with what it found, marked incomplete."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sijfasp.api import Options, evaluate
from sijfasp.cases.case import load_case
from sijfasp.policies.loading import bundled_policies
from sijfasp.solve.case_facts import case_symbols
from sijfasp.solve.solver import Abducer, CaseSolver, OutOfTime

EMPTY = Path(__file__).resolve().parent.parent / "examples" / "cases" / "empty_request.yaml"
CARESOURCE = next(p for p in bundled_policies() if p.policy.id == "caresource_sijf_2026")


def test_unbounded_enumeration_within_budget_is_complete():
    case = load_case(EMPTY, CARESOURCE.policy.vocabulary)
    found = Abducer(CARESOURCE.compiled, case_symbols(case)).minimal_sets(limit=0)
    assert found.complete
    # 1824 solver models under MM-1508: SIJ imaging, blocks and injections are tied to the
    # requested side (one model per side), a bilateral request may document each of them joint
    # by joint (or mix records of both joints with records of one), and D.I.B.8 has two ways
    # to be met. Listed, with the side one item where any side serves, they are 1752.
    assert len(found.models) == 1824


def test_unbounded_enumeration_past_budget_is_marked_incomplete():
    case = load_case(EMPTY, CARESOURCE.policy.vocabulary)
    found = Abducer(CARESOURCE.compiled, case_symbols(case), budget=0).minimal_sets(limit=0)
    assert not found.complete
    assert len(found.models) < 1824


def test_result_of_a_cut_enumeration_says_so():
    case = load_case(EMPTY, CARESOURCE.policy.vocabulary)
    result = evaluate(CARESOURCE, case, Options(enumerate=0, budget=0))
    assert result.determination == "incomplete"
    assert not result.missing_complete
    assert len(result.missing) < 1752


def test_a_solve_past_the_deadline_is_never_started(monkeypatch):
    """Past the case's deadline, a solve call stops before clingo is asked to search: a call
    started only to be cancelled at once would still spend its start (and, for a service
    under load, a moment of a worker's time)."""
    case = load_case(EMPTY, CARESOURCE.policy.vocabulary)
    solver = CaseSolver(CARESOURCE.compiled, case_symbols(case), deadline=time.monotonic() - 1)
    started: list[object] = []
    solve = solver.control.solve

    def counted(*args: object, **options: object) -> object:
        started.append(options)
        return solve(*args, **options)  # type: ignore[call-overload]

    monkeypatch.setattr(solver.control, "solve", counted)
    with pytest.raises(OutOfTime):
        solver.determine()
    with pytest.raises(OutOfTime):
        solver.abducer().minimal_sets(limit=0)
    assert started == []
