"""A ranking round after the first takes a set tied with the last optimum without proving it
best (`solver.Abducer._tied`): the listing has the sizes and costs that proving every round
gives, and each of its sets is minimal."""

from __future__ import annotations

import pytest
import support

from sijfasp.cases.case import validate_case
from sijfasp.solve import solver
from sijfasp.solve.case_facts import case_symbols

BLOCKS = 30


def _blocks_without_relief(count: int) -> dict:
    """The approvable example with its diagnostic blocks replaced by `count` blocks whose relief
    is not documented, each on a day of its own: any two of them, documented, meet the policy."""
    case = support.without_records(
        support.base_case(), "injection", lambda record: record["purpose"] == "diagnostic"
    )
    blocks = [
        {**support.LEFT_BLOCK, "date": support.days_before(case, 1 + index)}
        for index in range(count)
    ]
    return support.add_records(case, "injection", *blocks)


def _ranked(case: dict, limit: int) -> solver.Enumeration:
    checked = validate_case(case, support.vocabulary(), "blocks")
    grounded = solver.CaseSolver(support.loaded(support.AIM).compiled, case_symbols(checked))
    grounded.determine()
    return grounded.abducer().minimal_sets(limit=limit)


def _rank(found: solver.Enumeration) -> list[tuple[int, tuple[int, ...]]]:
    return sorted((len(model.items()), model.cost) for model in found.models)


def _count_ties(monkeypatch) -> list[int]:
    """How many sets each tie search of the ranking found, in order."""
    taken: list[int] = []
    tied = solver.Abducer._tied

    def counting(self, cost):
        found = tied(self, cost)
        taken.append(len(found))
        return found

    monkeypatch.setattr(solver.Abducer, "_tied", counting)
    return taken


def test_tied_sets_are_taken_without_a_proof_and_rank_as_proved_ones(monkeypatch):
    case = _blocks_without_relief(BLOCKS)
    taken = _count_ties(monkeypatch)
    with_ties = _ranked(case, 10)
    # Every round after the first found a tie: ten sets, two reliefs each, all equally good.
    assert taken == [1] * 9
    assert not with_ties.complete and not with_ties.bounded
    assert len({frozenset(model.items()) for model in with_ties.models}) == 10
    assert len(set(_rank(with_ties))) == 1 and _rank(with_ties)[0][0] == 2
    # Proving each round best instead gives sets of the same sizes and costs.
    monkeypatch.setattr(solver.Abducer, "_tied", lambda self, cost: [])
    proved = _ranked(case, 10)
    assert _rank(proved) == _rank(with_ties)


def test_a_round_without_a_tie_optimizes(monkeypatch):
    """The example without its side: one set of one item (the side), then sets of six. After the
    first, no set ties, so the second round proves its set best, and the listing ranks as the
    one proved round by round."""
    case = support.base_case()
    del case["request"]["side"]
    taken = _count_ties(monkeypatch)
    ranked = _ranked(case, 10)
    assert taken[0] == 0 and sum(taken) >= 7
    sizes = [size for size, _ in _rank(ranked)]
    assert sizes[0] == 1 and set(sizes[1:]) == {6}
    monkeypatch.setattr(solver.Abducer, "_tied", lambda self, cost: [])
    assert _rank(_ranked(case, 10)) == _rank(ranked)


@pytest.mark.slow
def test_each_tied_set_completes_the_case_and_is_minimal():
    support.self_check(_blocks_without_relief(BLOCKS), support.AIM)
