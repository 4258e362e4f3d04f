"""Record matching in `policy.lp` agrees with the plainer formulation it replaced.

A long chart's cost is mostly matching its records against the policy's filters, so the encoding
tests each record once per distinct test of its kind (`tholds/3`, shared by the filters that
repeat a condition), works out in hyp only what an addition can change (`thyp/2`), and says per
test whether the documented case decides it (`tdecided/2`). The reference below is the
formulation before that: one atom per filter, condition, record and world (`ref_holds/4`), a
copy of the record's fields into each world, and whether a condition is decided per filter and
condition. Both are grounded together, with the encoding as the solver gives it to clingo, for
seeded random charts under the bundled policies and under a policy whose filters use every
kind of condition; no answer set may exist in which they differ (`differs`, assumed true, must be
unsatisfiable), in either world, whatever is added.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import clingo
import pytest
import support
from test_near_misses import POLICY, _case

from sijfasp.cases.case import validate_case
from sijfasp.policies.loading import load_policy
from sijfasp.solve import solver
from sijfasp.solve.case_facts import case_symbols

REFERENCE = """
ref_field(W, R, Fd, V) :- rfield(R, Fd, V), world(W).
ref_field(hyp, R, Fd, V) :- fill(R, Fd, V).
ref_holds(W, Fl, I, R) :- condition(Fl, I, value_in(Fd)), applies(Fl, R),
                          ref_field(W, R, Fd, V), condition_value(Fl, I, V).
ref_holds(W, Fl, I, R) :- condition(Fl, I, compare(Fd, ge, T)), applies(Fl, R),
                          ref_field(W, R, Fd, V), V >= T.
ref_holds(W, Fl, I, R) :- condition(Fl, I, compare(Fd, gt, T)), applies(Fl, R),
                          ref_field(W, R, Fd, V), V > T.
ref_holds(W, Fl, I, R) :- condition(Fl, I, compare(Fd, le, T)), applies(Fl, R),
                          ref_field(W, R, Fd, V), V <= T.
ref_holds(W, Fl, I, R) :- condition(Fl, I, compare(Fd, lt, T)), applies(Fl, R),
                          ref_field(W, R, Fd, V), V < T.
ref_holds(W, Fl, I, R) :- condition(Fl, I, compare(Fd, eq, T)), applies(Fl, R),
                          ref_field(W, R, Fd, V), V = T.
ref_holds(W, Fl, I, R) :- condition(Fl, I, compare(Fd, ne, T)), applies(Fl, R),
                          ref_field(W, R, Fd, V), V != T.
ref_holds(W, Fl, I, R) :- condition(Fl, I, has(Fd, V)), applies(Fl, R), rmember(R, Fd, V),
                          world(W).
ref_holds(W, Fl, I, R) :- condition(Fl, I, within(Fd, Lo, Hi)), applies(Fl, R),
                          ref_field(W, R, Fd, D), Lo <= D, D <= Hi.
ref_holds(W, Fl, I, R) :- condition(Fl, I, within_months(Fd, M)), applies(Fl, R),
                          ref_field(W, R, Fd, D), month_start(M, Lo), Lo <= D, D <= 0.
ref_holds(W, Fl, I, R) :- condition(Fl, I, matches(Fd, F)), applies(Fl, R),
                          ref_field(W, R, Fd, V), val(W, F, V).
ref_holds(W, Fl, I, R) :- condition(Fl, I, covers(Fd, F)), applies(Fl, R),
                          ref_field(W, R, Fd, V), val(W, F, V).
ref_holds(W, Fl, I, R) :- condition(Fl, I, covers(Fd, F)), applies(Fl, R),
                          ref_field(W, R, Fd, bilateral), known(W, F).
ref_day(W, R, end, B) :- condition(_, _, within_fact_months(end, _)), span(R, _, B), world(W).
ref_day(W, R, Fd, D) :- condition(_, _, within_fact_months(Fd, _)), Fd != end,
                        ref_field(W, R, Fd, D).
ref_holds(W, Fl, I, R) :- condition(Fl, I, within_fact_months(Fd, F)), applies(Fl, R),
                          ref_day(W, R, Fd, D), fact_start(F, Lo), Lo <= D.
ref_holds(W, Fl, I, R) :- condition(Fl, I, within_fact_months(_, F)), applies(Fl, R),
                          world(W), not fact_bounded(F).
ref_fails(W, Fl, R) :- condition(Fl, I, _), applies(Fl, R), world(W),
                       not ref_holds(W, Fl, I, R), not order_cond(Fl, I).
ref_fails(W, Fl, R) :- order_cond(Fl, I), applies(Fl, R), world(W), not ord_holds(W, Fl, I, R).
ref_matches(W, Fl, R) :- applies(Fl, R), world(W), not ref_fails(W, Fl, R).

ref_decided(Fl, I, R) :- condition(Fl, I, within_fact_months(Fd, _)), decided_filter(Fl),
                         applies(Fl, R), rfield(R, Fd, _).
ref_decided(Fl, I, R) :- condition(Fl, I, has(_, _)), decided_filter(Fl), applies(Fl, R).
ref_decided(Fl, I, R) :- cond_field(Fl, I, Fd), decided_filter(Fl), applies(Fl, R),
                         rfield(R, Fd, _).
ref_decided(Fl, I, R) :- condition(Fl, I, matches(Fd, F)), decided_filter(Fl), applies(Fl, R),
                         rfield(R, Fd, _), known(doc, F).
ref_decided(Fl, I, R) :- condition(Fl, I, covers(Fd, F)), decided_filter(Fl), applies(Fl, R),
                         rfield(R, Fd, _), known(doc, F).

% The encoding's answers, per filter and condition.
new_holds(doc, Fl, I, R) :- test_of(Fl, I, T), applies(Fl, R), tholds(doc, T, R).
new_holds(hyp, Fl, I, R) :- new_holds(doc, Fl, I, R).
new_holds(hyp, Fl, I, R) :- test_of(Fl, I, T), applies(Fl, R), thyp(T, R).
new_decided(Fl, I, R) :- decided_filter(Fl), test_of(Fl, I, T), applies(Fl, R), tdecided(T, R).

differs :- ref_holds(W, Fl, I, R), not new_holds(W, Fl, I, R).
differs :- new_holds(W, Fl, I, R), not ref_holds(W, Fl, I, R).
differs :- ref_matches(W, Fl, R), not matches(W, Fl, R).
differs :- matches(W, Fl, R), not ref_matches(W, Fl, R).
differs :- ref_decided(Fl, I, R), not new_decided(Fl, I, R).
differs :- new_decided(Fl, I, R), not ref_decided(Fl, I, R).
"""
DIFFERS = clingo.Function("differs")
CASES = 40


def _agree(compiled, facts) -> dict[str, int]:
    """Assert that no answer set tells the two formulations apart; the number of reference
    atoms that hold in every answer set (matches and decided conditions), so that the caller
    can check the comparison covered something."""
    control = solver._control(["--heuristic=Domain"], compiled, facts)
    control.add("reference", [], REFERENCE)
    control.ground([*solver.PHASES, ("reference", [])])
    result = control.solve(assumptions=[(DIFFERS, True)])
    assert result.unsatisfiable
    atoms = control.symbolic_atoms
    return {
        name: sum(1 for a in atoms.by_signature(name, arity) if a.is_fact)
        for name, arity in (("ref_matches", 3), ("ref_decided", 3), ("ref_holds", 4))
    } | {"open": sum(1 for a in atoms.by_signature("ref_holds", 4) if not a.is_fact)}


def _cases(rng: random.Random, vocabulary, count: int):
    cases = []
    for number in range(count):
        case = _case(rng)
        if rng.random() < 0.5:  # the current episode's window, from a documented duration
            case["findings"]["pain_duration_months"] = rng.choice([0, 3, 7, 14])
        cases.append(validate_case(case, vocabulary, f"case {number}"))
    return cases


@pytest.mark.slow
@pytest.mark.parametrize("policy_id", [support.AIM, support.CARESOURCE])
def test_bundled_policies_match_records_as_before(policy_id):
    loaded = support.loaded(policy_id)
    rng = random.Random(25)
    found = [
        _agree(loaded.compiled, case_symbols(c)) for c in _cases(rng, support.vocabulary(), CASES)
    ]
    assert sum(f["ref_matches"] for f in found) > 100
    assert sum(f["ref_decided"] for f in found) > 100
    assert sum(f["open"] for f in found) > 100  # conditions an addition can change


@pytest.mark.slow
def test_every_kind_of_condition_matches_as_before(tmp_path: Path):
    folder = tmp_path / "policies_asp"
    folder.mkdir()
    shutil.copy(support.REPO_ROOT / "policies_asp" / "vocabulary.sijv", folder)
    (folder / "near_test.sijp").write_text(POLICY, encoding="utf-8")
    loaded = load_policy(folder / "near_test.sijp")
    rng = random.Random(26)
    found = [
        _agree(loaded.compiled, case_symbols(c))
        for c in _cases(rng, loaded.policy.vocabulary, CASES)
    ]
    assert sum(f["ref_matches"] for f in found) > 50
    assert sum(f["open"] for f in found) > 50
