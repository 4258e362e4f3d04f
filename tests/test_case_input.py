"""How a case's facts reach clingo: one by one through the backend, or a predicate's many
atoms in one call while grounding (`solver._add_case_facts`). Both must give clingo the same
facts, so every answer is the same whichever way a predicate went."""

from __future__ import annotations

import sys
import typing

import clingo
import pytest
import support

from sijfasp.cases.case import validate_case
from sijfasp.language.compiler import FACT_WINDOW_MONTHS
from sijfasp.solve import solver
from sijfasp.solve.atoms import InSet, World
from sijfasp.solve.case_facts import SIGNATURE_OF, CaseAtom, CaseFacts, case_atoms, case_symbols
from sijfasp.solve.prune import CASE_PREDICATES

sys.path.insert(0, str(support.REPO_ROOT / "benchmarks"))
import generate


def _chart(records: int, seed: int = 3):
    base = next(c for c in generate._examples() if c["id"] == "odi_missing")
    return validate_case(generate.with_records(base, records, seed), support.vocabulary(), "chart")


def test_case_facts_keep_the_atoms_order_and_group_every_atom_by_its_predicate():
    case = _chart(120)
    facts = case_symbols(case)
    assert list(facts) == [atom.symbol() for atom in case_atoms(case)]
    months = len(facts.month_starts(frozenset(range(1, 241))))
    assert len(facts) == months + sum(len(group) for group in facts.groups.values())
    assert months == 240 and "month_start" not in facts.groups
    for name, group in facts.groups.items():
        assert {symbol.name for symbol in group} == {name}
    flat = list(facts)
    assert facts[1] == flat[1] and list(facts[1:3]) == flat[1:3]


def test_every_kind_of_case_atom_has_a_case_predicate():
    assert set(SIGNATURE_OF) == set(typing.get_args(CaseAtom))
    assert frozenset(SIGNATURE_OF.values()) == CASE_PREDICATES
    assert len({name for name, _ in SIGNATURE_OF.values()}) == len(SIGNATURE_OF)  # names distinct


def _answers(compiled, facts) -> tuple[frozenset[str], frozenset[frozenset[str]]]:
    grounded = solver.CaseSolver(compiled, facts)
    decided = frozenset(map(str, grounded.determine().atoms))
    sets = grounded.abducer().minimal_sets(limit=0)
    return decided, frozenset(frozenset(map(str, s.atoms)) for s in sets.models)


@pytest.mark.parametrize("policy_id", support.bundled_ids())
@pytest.mark.slow  # an integration run of a second or so; the full tier runs it
def test_facts_in_bulk_and_one_by_one_give_the_same_answers(policy_id, monkeypatch):
    compiled = support.loaded(policy_id).compiled
    case = _chart(150)
    facts = case_symbols(case)
    assert max(len(g) for g in facts.groups.values()) >= solver.BULK_ATOMS  # bulk is taken
    in_bulk = _answers(compiled, facts)
    monkeypatch.setattr(solver, "BULK_ATOMS", 10**9)
    one_by_one = _answers(compiled, facts)
    as_plain_list = _answers(compiled, list(facts))  # no groups: every atom one by one
    assert in_bulk == one_by_one == as_plain_list
    assert any(a.startswith("InSet(") for a in in_bulk[0])  # records were read


def test_a_bulk_predicate_lands_as_facts_before_the_encoding_is_grounded(monkeypatch):
    monkeypatch.setattr(solver, "BULK_ATOMS", 1)  # every predicate in bulk
    case = _chart(20)
    facts = case_symbols(case)
    compiled = support.loaded("caresource_sijf_2026").compiled
    grounded = solver.CaseSolver(compiled, facts)
    given = {a.symbol for a in grounded.control.symbolic_atoms if a.is_fact}
    wanted = {s for group in facts.groups.values() for s in group}
    wanted |= set(facts.month_starts(compiled.window_months()))
    assert wanted <= given
    assert {s.arguments[0].number for s in given if s.name == "month_start"} == {6, 12}
    assert grounded.determine().determination is not None


@pytest.mark.slow  # about half a second of solving; the full tier runs it
def test_the_decide_model_shows_set_members_as_documented_only():
    case = _chart(40)
    for policy_id in support.bundled_ids():
        snapshot = solver.determine(support.loaded(policy_id).compiled, case_symbols(case))
        worlds = {a.world for a in snapshot.atoms if isinstance(a, InSet)}
        assert worlds == {World.DOC}, policy_id


def test_a_plain_sequence_of_facts_still_works():
    case = _chart(5)
    compiled = support.loaded(support.bundled_ids()[0]).compiled
    facts = case_symbols(case)
    assert isinstance(facts, CaseFacts)
    plain = [clingo.parse_term(str(s)) for s in facts]
    assert (
        solver.determine(compiled, plain).determination
        == solver.determine(compiled, facts).determination
    )


def _months_in_program(program: str) -> set[int]:
    """Every window length a compiled program names, read from its facts by clingo."""
    control = clingo.Control(["--warn=none"])
    control.add("base", [], program)
    control.ground([("base", [])])
    found: set[int] = set()

    def walk(term: clingo.Symbol) -> None:
        if term.type != clingo.SymbolType.Function:
            return
        if term.name == "within_months" and len(term.arguments) == 2:
            found.add(term.arguments[1].number)
        if term.name == "months" and len(term.arguments) == 1:
            found.add(term.arguments[0].number)
        # `at least N months of`: the days of N months are read from month_start(N, _).
        if term.name == "duration_months" and len(term.arguments) == 2:
            found.add(term.arguments[1].number)
        # A window as long as a finding documents: the case's value decides its length.
        if term.name == "within_fact_months" and len(term.arguments) == 2:
            found.update(range(1, FACT_WINDOW_MONTHS + 1))
        for argument in term.arguments:
            walk(argument)

    for atom in control.symbolic_atoms:
        walk(atom.symbol)
    return found


@pytest.mark.parametrize("policy_id", support.bundled_ids())
def test_a_policy_is_given_month_starts_for_exactly_the_windows_its_program_names(policy_id):
    compiled = support.loaded(policy_id).compiled
    windows = compiled.window_months()
    assert windows == _months_in_program(compiled.program)
    facts = case_symbols(_chart(10))
    starts = facts.month_starts(windows)
    assert sorted(s.arguments[0].number for s in starts) == sorted(windows)
    every = {s for s in facts if s.name == "month_start"}
    assert set(starts) <= every and len(every) == 240


def test_the_caresource_windows_are_read_from_both_a_filter_and_a_days_leaf():
    assert support.loaded("caresource_sijf_2026").compiled.window_months() == {6, 12}
