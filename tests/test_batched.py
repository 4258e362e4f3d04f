"""Many cases in one grounding (solve/batched.py) decide as each case grounded on its own.

The transform is worked out from the program: the case's input and whatever depends on it get
the case's index, the policy's own facts and what follows from them alone do not. The
determinations of a generated corpus, and the whole output of `check` on several cases (with
and without the minimal sets), are the same as one case at a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from clingo import ast

from sijfasp.api import Options, evaluate_case, evaluate_cases
from sijfasp.cases.case import Case, restrict_case, validate_case
from sijfasp.cases.reader import read_json_case_text
from sijfasp.policies.loaded import LoadedPolicy
from sijfasp.policies.loading import bundled_policies
from sijfasp.results import render
from sijfasp.solve import batched
from sijfasp.solve.atoms import CoveredFrom, CoveredTo, ItemAtom, ItemCost, Snapshot
from sijfasp.solve.case_facts import case_symbols
from sijfasp.solve.solver import determine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import generate  # noqa: E402


@cache
def _policies() -> tuple[LoadedPolicy, ...]:
    return tuple(bundled_policies())


def _corpus(count: int, seed: int = 3) -> list[Case]:
    vocabulary = _policies()[0].policy.vocabulary
    return [
        validate_case(read_json_case_text(generate.json_line(r), r["id"]), vocabulary, r["id"])
        for r in generate.generate(count, seed)
    ]


# Which of several equally good sets of items the determination's optimum holds is the
# solver's choice; nothing reads them from that model (batched.py).
_CHOSEN = (ItemAtom, ItemCost, CoveredFrom, CoveredTo)


def _read(snapshot: Snapshot) -> set[object]:
    return {a for a in snapshot.atoms if not isinstance(a, _CHOSEN)}


@pytest.mark.slow  # the program of a policy rewritten: about a second
def test_the_case_input_and_what_follows_from_it_are_indexed_and_the_policy_is_not():
    for loaded in _policies()[:1]:  # the other policy's program: in the slow tests below
        statements, dependent = batched.batched_statements(loaded.compiled.program)
        names = {name for name, _ in dependent}
        assert {"doc", "record", "rfield", "guess", "item", "reachable", "abducing"} <= names
        assert {"node", "leaf", "child", "filter", "condition", "top"}.isdisjoint(names)
        shown = {(s.name, s.arity) for s in statements if s.ast_type == ast.ASTType.ShowSignature}
        assert ("item", 2) in shown and ("item", 1) not in shown
        text = "\n".join(map(str, statements))
        assert "#external abducing(CaseIndex) : case_index(CaseIndex)." in text
        # A choice whose body reads only the policy is made once per case.
        assert any(
            "case_index(CaseIndex)" in str(s) and "more(CaseIndex," in str(s) for s in statements
        )


def test_the_case_variable_is_fresh():
    statements: list[ast.AST] = []
    ast.parse_string("p(CaseIndex) :- q(CaseIndex).", statements.append)
    assert batched._fresh_variable(statements) == "CaseIndex_"


@pytest.mark.slow
def test_determinations_of_a_small_chunk_are_those_of_each_case_alone():
    cases = _corpus(12)
    for loaded in _policies():
        facts = [case_symbols(restrict_case(c, loaded.policy.vocabulary)) for c in cases]
        together = batched.determine_many(loaded.compiled, facts)
        assert [_read(s) for s in together] == [_read(determine(loaded.compiled, f)) for f in facts]
        assert {s.determination for s in together} != {together[0].determination}


def _outputs(cases: list[Case], options: Options, together: bool) -> str:
    policies = list(_policies())
    if together:
        results = evaluate_cases([(c, policies) for c in cases], options)
    else:
        results = [evaluate_case(policies, c, options) for c in cases]
    return render.json_cases(results)


@pytest.mark.slow
@pytest.mark.exhaustive
def test_a_generated_corpus_checks_the_same_together_as_one_case_at_a_time(monkeypatch):
    # Chunks of 20 rather than batched.CHUNK's 100: the same program, three chunks in 60 cases,
    # at a fraction of 200 cases' time. With the minimal sets, where each incomplete case is
    # grounded again on its own, 30 cases (a whole chunk and a short last one).
    monkeypatch.setattr(batched, "CHUNK", 20)
    cases = _corpus(60)
    assert len(cases) == 60
    outputs = []
    for options, count in ((Options(missing=False), 60), (Options(), 30)):
        alone = _outputs(cases[:count], options, together=False)
        assert _outputs(cases[:count], options, together=True) == alone
        outputs.append(alone)
    found = json.loads(outputs[0])
    determinations = {r["determination"] for case in found for r in case["results"]}
    assert {"approvable", "incomplete", "not_met", "excluded"} <= determinations


@pytest.mark.slow
def test_check_of_several_cases_prints_what_each_case_alone_prints():
    # api.TOGETHER_FROM cases or more are judged together.
    cases = sorted((ROOT / "examples" / "cases").glob("*.yaml"))[:8]
    command = [sys.executable, "-m", "sijfasp", "check", "--format", "json"]

    def run(paths: list[Path]) -> list[object]:
        done = subprocess.run(
            [*command, *map(str, paths)], capture_output=True, text=True, cwd=ROOT, check=False
        )
        assert done.returncode in (0, 1), done.stderr
        found = json.loads(done.stdout)
        return found if isinstance(found, list) else [found]

    assert run(cases) == [case for path in cases for case in run([path])]


@pytest.mark.slow  # two rewritings of a policy's program, one of them read back
def test_the_rewriting_read_back_from_the_cache_is_the_one_worked_out(cache):
    loaded = _policies()[1]
    program = loaded.compiled.program
    batched.batched_statements.cache_clear()
    worked_out, dependent = batched.batched_statements(program)
    (entry,) = cache.glob("batched-*.json")
    batched.batched_statements.cache_clear()
    read_back, dependent_read = batched.batched_statements(program)
    assert dependent_read == dependent
    assert [str(s) for s in read_back] == [str(s) for s in worked_out]
    cases = [restrict_case(c, loaded.policy.vocabulary) for c in _corpus(6)]
    facts = [case_symbols(c) for c in cases]
    assert [_read(s) for s in batched.determine_many(loaded.compiled, facts)] == [
        _read(determine(loaded.compiled, f)) for f in facts
    ]
    # An entry cut short, or not the user's own, is worked out again and written whole.
    entry.write_text(entry.read_text(encoding="utf-8")[:-40], encoding="utf-8")
    batched.batched_statements.cache_clear()
    assert [str(s) for s in batched.batched_statements(program)[0]] == [str(s) for s in worked_out]
    assert json.loads(entry.read_text(encoding="utf-8"))["statements"] == len(worked_out)
    entry.chmod(0o666)
    batched.batched_statements.cache_clear()
    assert len(batched.batched_statements(program)[0]) == len(worked_out)
    batched.batched_statements.cache_clear()
