"""The fast path: a case decided as documented, the missing documentation only when asked for.

`check --no-missing` (Options(missing=False)) decides and explains each case exactly as `check`
does, without the abduction of missing sets; and the API abducts only for an incomplete case.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import support

from sijfasp.api import Options, evaluate
from sijfasp.cases.case import validate_case
from sijfasp.core.kinds import Determination
from sijfasp.solve import solver
from sijfasp.solve.case_facts import case_symbols


def _no_abduction(*args, **kwargs):
    raise AssertionError("the missing documentation was worked out")


def _checked(path):
    return validate_case(support.load_yaml(path), support.vocabulary(), str(path))


@pytest.mark.slow
@pytest.mark.parametrize("path", support.example_paths(), ids=lambda p: p.stem)
def test_no_missing_decides_as_the_full_check(path, monkeypatch):
    case = _checked(path)
    full = {p: evaluate(loaded, case, Options()) for p, loaded in support.policies().items()}
    monkeypatch.setattr(solver.CaseSolver, "abducer", _no_abduction)
    for policy_id, loaded in support.policies().items():
        fast = evaluate(loaded, case, Options(missing=False))
        assert fast.determination == full[policy_id].determination
        assert fast.criteria == full[policy_id].criteria
        assert fast.exclusions == full[policy_id].exclusions
        assert fast.reasons == full[policy_id].reasons
        assert fast.missing == ()
        assert fast.grouped == ()
        if fast.determination == Determination.INCOMPLETE:
            assert not fast.missing_complete  # not worked out, not "nothing missing"
            assert fast.missing_total is None


@pytest.mark.slow
@pytest.mark.parametrize("path", support.example_paths(), ids=lambda p: p.stem)
def test_only_an_incomplete_case_is_abducted(path, monkeypatch):
    case = _checked(path)
    monkeypatch.setattr(solver.CaseSolver, "abducer", _no_abduction)
    for loaded in support.policies().values():
        try:
            result = evaluate(loaded, case, Options())
        except AssertionError:
            # Abduction was attempted: the case must then be incomplete, or not met with a
            # documented attempt that failed (what new attempts would have to show).
            result = evaluate(loaded, case, Options(missing=False))
            assert result.determination in (Determination.INCOMPLETE, Determination.NOT_MET)
            if result.determination == Determination.NOT_MET:
                assert any("attempt without the required outcome" in r for r in result.reasons)
        else:
            assert result.determination != Determination.INCOMPLETE


def test_no_missing_leaves_an_incomplete_case_not_worked_out(monkeypatch):
    case = _checked(support.REPO_ROOT / "examples" / "cases" / "odi_missing.yaml")
    monkeypatch.setattr(solver.CaseSolver, "abducer", _no_abduction)
    result = evaluate(support.loaded("aim_sijf_2022"), case, Options(missing=False))
    assert result.determination == Determination.INCOMPLETE
    assert (result.missing, result.missing_complete, result.missing_total) == ((), False, None)
    assert support.status(result, "pain_and_function") == "not_documented"


@pytest.mark.slow
def test_check_no_missing_on_the_command_line():
    case = str(support.REPO_ROOT / "examples" / "cases" / "odi_missing.yaml")
    command = [sys.executable, "-m", "sijfasp", "check", case, "--format", "json"]
    fast = subprocess.run([*command, "--no-missing"], capture_output=True, text=True, check=True)
    full = subprocess.run(command, capture_output=True, text=True, check=True)
    fast_results = {r["policy"]: r for r in json.loads(fast.stdout)["results"]}
    full_results = {r["policy"]: r for r in json.loads(full.stdout)["results"]}
    aim = fast_results["aim_sijf_2022"]
    assert aim["determination"] == "incomplete"
    assert aim["missing"] == [] and aim["missing_grouped"] == []
    assert aim["missing_complete"] is False and aim["missing_total"] is None
    assert full_results["aim_sijf_2022"]["missing"]
    for policy, result in fast_results.items():
        for key in ("determination", "criteria", "exclusions", "reasons"):
            assert result[key] == full_results[policy][key]
    text = subprocess.run(
        [*command[:-2], "--no-missing"], capture_output=True, text=True, check=True
    ).stdout
    assert "missing documentation: not worked out (--no-missing)" in text


def test_no_missing_is_a_check_option_only():
    case = str(support.REPO_ROOT / "examples" / "cases" / "odi_missing.yaml")
    run = subprocess.run(
        [sys.executable, "-m", "sijfasp", "missing", case, "--no-missing"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "--no-missing" in run.stderr


def test_the_fewest_items_are_searched_for_only_where_they_are_read():
    """The determination's second optimum (fewest items, policy.lp `#program fewest`) is
    grounded for the semantic diff, which reads the model's items, and left out of `--no-missing`
    and of the abduction, whose determination is read for everything but its items (the sets
    are found by the abduction's own phases)."""
    case = case_symbols(_checked(support.EXAMPLES_DIR / "two_tests_undocumented.yaml"))
    compiled = support.loaded(support.AIM).compiled
    with_sets = solver.CaseSolver(compiled, case).determine()
    for_diff = solver.CaseSolver(compiled, case, abduce=False, fewest_items=True).determine()
    decided = solver.CaseSolver(compiled, case, abduce=False).determine()
    assert with_sets.determination == decided.determination == Determination.INCOMPLETE
    # The cost of each optimum, highest priority first: reachable, then the items.
    # With the sets, priority 1 is only the ranking's cost, switched off while deciding.
    assert decided.cost == with_sets.cost[:1] == for_diff.cost[:1]
    assert len(decided.cost) == 1 and with_sets.cost[1:] == (0,)
    assert for_diff.cost[1] == len(for_diff.items()) == 1  # one of the two tests is enough
