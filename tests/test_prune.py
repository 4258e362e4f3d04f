"""The encoding specialized to a policy (sijfasp/solve/prune.py): what it removes, that nothing a
case can show changes, and the positions it remembers between runs."""

from __future__ import annotations

import json
import shutil
import typing
from pathlib import Path

import clingo
import pytest
from clingo import ast

from sijfasp.cases.case import load_case
from sijfasp.policies.loaded import LoadedPolicy
from sijfasp.policies.loading import bundled_policies, load_policy
from sijfasp.solve import case_facts, prune, solver
from sijfasp.solve.case_facts import case_symbols

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((REPO / "examples" / "cases").glob("*.yaml"))
THIRD = REPO / "examples" / "third_policy"


def _statements(text: str) -> tuple[ast.AST, ...]:
    found: list[ast.AST] = []
    ast.parse_string(text, found.append)
    return tuple(found)


def _kept_text(encoding: str, facts: str) -> list[str]:
    """The rules of `encoding` kept for a policy of `facts`, as text."""
    kept = prune.specialize(_statements(encoding), prune.policy_atoms(facts))
    return [str(s) for s in kept if s.ast_type == ast.ASTType.Rule]


# ------------------------------------------------------------------ what is removed
def test_a_rule_needing_a_policy_fact_of_a_shape_the_policy_lacks_goes():
    encoding = """
        uses(N) :- leaf(N, spaced(S, K, G)).
        counts(N) :- leaf(N, count(S, K)).
    """
    assert _kept_text(encoding, "leaf(a, count(s, 2)).") == ["counts(N) :- leaf(N,count(S,K))."]


def test_removal_follows_what_the_removed_rules_derived():
    encoding = """
        sp(N) :- leaf(N, spaced(_, _, _)).
        walk(N, D) :- sp(N), rfield(R, date, D).
        far(N) :- walk(N, _).
        near(N) :- leaf(N, _), not far(N).
    """
    kept = _kept_text(encoding, "leaf(a, count(s, 2)).")
    # Only rules with a positive need go; a negative literal on an empty predicate is true.
    assert kept == ["near(N) :- leaf(N,_); not far(N)."]


def test_case_predicates_externals_and_heads_elsewhere_keep_a_rule():
    encoding = """
        #external abducing.
        a(R) :- record(R, K).
        b :- abducing.
        c(X) :- made(X).
        made(X) :- leaf(X, _).
        { pick(X) } :- leaf(X, _).
        d(X) :- pick(X).
    """
    kept = _kept_text(encoding, "leaf(x, count(s, 1)).")
    assert len(kept) == 6


def test_terms_it_does_not_read_are_taken_to_match():
    encoding = """
        low(N) :- leaf(N, compare(F, ge, 3 + 4)).
        other(N) :- leaf(N, compare(F, lt, T)).
        exact(N) :- leaf(N, compare(F, ge, 700)).
        wrong(N) :- leaf(N, compare(F, ge, 500)).
        text(N) :- code(N, "27279").
    """
    kept = _kept_text(encoding, 'leaf(a, compare(vas, ge, 700)). code(a, "27279").')
    assert kept == [
        "low(N) :- leaf(N,compare(F,ge,(3+4))).",
        "exact(N) :- leaf(N,compare(F,ge,700)).",
        'text(N) :- code(N,"27279").',
    ]


def test_a_constant_stands_for_its_value_not_for_itself():
    encoding = """
        #const k = 3.
        s :- t(k).
        u :- t(f(k)).
    """
    assert _kept_text(encoding, "t(3). t(f(3)).") == ["s :- t(k).", "u :- t(f(k))."]


def test_a_predicate_that_is_also_an_external_is_not_read_as_the_policys_alone():
    encoding = """
        #external w(x).
        v :- w(x).
    """
    assert _kept_text(encoding, "w(y).") == ["v :- w(x)."]


def test_a_predicate_the_encoding_also_derives_is_not_read_as_the_policys_alone():
    encoding = """
        node(N, all) :- record(N, _).
        top_all(N) :- node(N, all).
    """
    assert len(_kept_text(encoding, "node(a, any).")) == 2


def test_a_recursion_with_no_way_in_goes():
    encoding = """
        walk(N, D) :- leaf(N, spaced(_, _, _)), rfield(_, date, D).
        walk(N, E) :- walk(N, D), date_next(D, E).
    """
    assert _kept_text(encoding, "leaf(a, count(s, 2)).") == []


@pytest.mark.slow
def test_every_predicate_a_case_brings_is_known_as_one():
    """A case predicate missing from CASE_PREDICATES (case_facts.SIGNATURE_OF) would let rules
    reading it go."""
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    import generate

    loaded = bundled_policies()[0]
    cases = [load_case(path, loaded.policy.vocabulary) for path in EXAMPLES]
    seen: set[tuple[str, int]] = set()
    for case in cases:
        seen |= {(s.name, len(s.arguments)) for s in case_symbols(case)}
    base = next(c for c in generate._examples() if c["id"] == "odi_missing")
    long_chart = generate.with_records(base, 40, seed=1)
    from sijfasp.cases.case import validate_case

    seen |= {
        (s.name, len(s.arguments))
        for s in case_symbols(validate_case(long_chart, loaded.policy.vocabulary, "chart"))
    }
    assert seen == prune.CASE_PREDICATES
    # One predicate per kind of case atom: a new kind must be added to SIGNATURE_OF too.
    assert len(typing.get_args(case_facts.CaseAtom)) == len(prune.CASE_PREDICATES)


# ------------------------------------------------------------------ nothing shown changes
def _third_policy(tmp_path: Path) -> LoadedPolicy:
    folder = tmp_path / "policies_asp"
    folder.mkdir()
    shutil.copy(REPO / "policies_asp" / "vocabulary.sijv", folder)
    for source in [*THIRD.glob("*.sijp"), *THIRD.glob("*.sijv")]:
        shutil.copy(source, folder)
    return load_policy(folder / "examplepayer_sijf_2026.sijp")


def _control(statements: tuple[ast.AST, ...], loaded: LoadedPolicy, facts) -> clingo.Control:
    control = clingo.Control(["--heuristic=Domain", "--warn=none"])
    with ast.ProgramBuilder(control) as builder:
        for statement in statements + solver._statements(loaded.compiled.program):
            builder.add(statement)
    with control.backend() as backend:
        for symbol in facts:
            backend.add_rule([backend.add_atom(symbol)])
    control.ground(solver.PHASES)
    return control


def _answers(control: clingo.Control) -> tuple[frozenset[str], frozenset[frozenset[str]]]:
    """The optimal decide model's shown atoms, and every minimal set of missing documentation."""
    control.configuration.solve.opt_mode = "opt"  # type: ignore[union-attr]
    best: list[frozenset[str]] = []
    control.solve(on_model=lambda m: best.append(frozenset(map(str, m.symbols(shown=True)))))
    control.assign_external(solver.ABDUCING, True)
    control.configuration.solve.opt_mode = "ignore"  # type: ignore[union-attr]
    control.configuration.solve.enum_mode = "domRec"  # type: ignore[union-attr]
    control.configuration.solve.models = "0"  # type: ignore[union-attr]
    control.configuration.solver.heuristic = "domain,0"  # type: ignore[union-attr]
    sets: set[frozenset[str]] = set()
    control.solve(
        on_model=lambda m: sets.add(
            frozenset(str(s) for s in m.symbols(shown=True) if s.name == "item")
        )
    )
    return best[-1], frozenset(sets)


@pytest.mark.slow
@pytest.mark.exhaustive
def test_every_example_gets_the_same_answers_from_the_specialized_encoding(tmp_path):
    full = solver._statements(solver._encoding_text())
    third = _third_policy(tmp_path)
    runs = [(p, EXAMPLES) for p in bundled_policies()]
    runs.append((third, [*EXAMPLES, *(THIRD / "tests" / "cases").glob("*.yaml")]))
    compared = 0
    for loaded, cases in runs:
        kept = prune.specialize(full, prune.policy_atoms(loaded.compiled.program))
        assert len(kept) < len(full)
        for path in cases:
            facts = case_symbols(load_case(path, loaded.policy.vocabulary))
            assert _answers(_control(kept, loaded, facts)) == _answers(
                _control(full, loaded, facts)
            ), (loaded.policy.id, path.name)
            compared += 1
    assert compared == sum(len(cases) for _, cases in runs)


def test_the_spaced_dates_rules_stay_only_for_a_policy_that_counts_spaced_dates(tmp_path):
    full = solver._statements(solver._encoding_text())

    def spaced_rules(loaded: LoadedPolicy) -> int:
        kept = prune.specialize(full, prune.policy_atoms(loaded.compiled.program))
        return sum(1 for s in kept if str(s).startswith("sp_"))

    assert all(spaced_rules(p) == 0 for p in bundled_policies())
    assert spaced_rules(_third_policy(tmp_path)) > 5


# ------------------------------------------------------------------ remembered between runs
def _remembered(cache: Path) -> tuple[str, tuple[ast.AST, ...], str, tuple[ast.AST, ...], Path]:
    """The encoding's text and statements, a bundled policy's program, the statements kept for
    it (worked out, then remembered) and the cache entry that remembers them."""
    text = solver._encoding_text()
    full = solver._statements(text)
    program = bundled_policies()[0].compiled.program
    kept = prune.kept_statements(text, full, program)
    (entry,) = cache.glob("kept-*.json")
    return text, full, program, kept, entry


def test_the_kept_rules_are_remembered_and_read_back(cache, monkeypatch):
    text, full, program, kept, entry = _remembered(cache)
    positions = json.loads(entry.read_text())
    assert [full[i] for i in positions] == list(kept)

    def not_again(*args):
        raise AssertionError("worked out again instead of read from the cache")

    monkeypatch.setattr(prune, "specialize", not_again)
    assert prune.kept_statements(text, full, program) == kept


@pytest.mark.parametrize(
    "written", ["[0, 1, 99999]", "[3, 2]", "[1, 1]", '["a"]', "{}", "not json", "[true]"]
)
@pytest.mark.slow  # an integration run of a second or so; the full tier runs it
def test_an_entry_that_does_not_read_back_is_worked_out_again(cache, written):
    text, full, program, kept, entry = _remembered(cache)
    positions = entry.read_text()
    entry.write_text(written)
    assert prune.kept_statements(text, full, program) == kept
    assert entry.read_text() == positions  # written again, whole


def test_an_entry_of_other_code_is_not_read(cache, monkeypatch):
    text, full, program, kept, entry = _remembered(cache)
    entry.write_text("[0]")  # what other code could have kept, here planted
    monkeypatch.setattr(prune, "code_digest", lambda: "another version of sijfasp")
    assert prune.kept_statements(text, full, program) == kept
    assert len(list(cache.glob("kept-*.json"))) == 2


def test_an_entry_others_may_write_is_not_read(cache):
    text, full, program, kept, entry = _remembered(cache)
    entry.write_text("[0]")
    entry.chmod(0o666)
    assert prune.kept_statements(text, full, program) == kept


@pytest.mark.slow
def test_old_entries_beyond_the_limit_go_and_so_do_stale_temporaries(cache, monkeypatch):
    import os
    import time

    monkeypatch.setattr(prune, "MAX_ENTRIES", 1)
    cache.mkdir(mode=0o700)
    stale = cache / ".kept-left-behind.tmp"
    stale.write_text("[")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    text = solver._encoding_text()
    full = solver._statements(text)
    programs = [loaded.compiled.program for loaded in bundled_policies()]
    assert len(set(programs)) == 2  # two policy texts: an entry each
    for program in programs:
        prune.kept_statements(text, full, program)
    assert len(list(cache.glob("kept-*.json"))) == 1
    assert not stale.exists()
