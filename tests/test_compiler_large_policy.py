"""The long generated policy of benchmarks/large_policy.py: it loads, compiles and lints with the
answers its shapes imply (issue 25: a 600-criterion policy). Answers only, never timings."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from sijfasp.core.kinds import NodeKind
from sijfasp.policies.loading import load_policy

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "large_policy.py"


def _generator():
    spec = importlib.util.spec_from_file_location("large_policy", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("large_policy", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("large")
    policy, case = _generator().write(600, folder)
    return policy, case


@pytest.fixture(scope="module")
def generated_for_lint(tmp_path_factory):
    # The lint's answers come from the shapes, which repeat every 60 criteria: 150 criteria hold
    # each shape and its repeats at a small part of the 600's cost (benchmarks/large_policy.py
    # times the 600).
    folder = tmp_path_factory.mktemp("large_lint")
    policy, case = _generator().write(150, folder)
    return policy, case


@pytest.mark.slow
def test_the_600_criterion_policy_compiles_with_every_criterion_and_shape(generated):
    policy, _ = generated
    text = policy.read_text(encoding="utf-8")
    assert len(text) > 80_000  # the size the issue names, about 100 KB
    loaded = load_policy(policy)
    compiled = loaded.compiled
    tops = compiled.top["percutaneous_sij_fusion"]
    assert tops == tuple(f"c{i}" for i in range(600))
    nodes = compiled.nodes
    # Each shape compiled as written: a leaf, a group of its kind, a definition, a set.
    assert nodes["c0"].kind == NodeKind.LEAF and nodes["c0"].fact_key() is not None
    assert nodes["c2"].kind == NodeKind.ALL and len(nodes["c2"].children) == 2
    assert nodes["c3"].kind == NodeKind.ANY
    assert nodes["c4"].kind == NodeKind.AT_LEAST and nodes["c4"].minimum == 2
    assert nodes["c5"].records_leaf().unit == "records"
    assert nodes["c6"].children == ("d6",)
    assert nodes["c7"].records_leaf().set_id == "s7" and nodes["c7"].records_leaf().apart
    assert nodes["c8"].records_leaf().unit == "days"
    assert nodes["c9"].kind == NodeKind.ALL
    assert len(loaded.policy.defines) == 60 and len(loaded.policy.record_sets) == 60
    assert (
        len(re.findall(r"^top\(percutaneous_sij_fusion, c\d+\)\.$", compiled.program, re.M)) == 600
    )


@pytest.mark.slow
def test_the_long_policy_lints_without_errors_and_names_each_redundant_criterion(
    generated_for_lint,
):
    from sijfasp.authoring import prove

    policy, _ = generated_for_lint
    loaded = load_policy(policy)
    found = prove.prove(loaded)
    assert found, "the generated criteria repeat tests with other thresholds: some are implied"
    assert all(d.severity == "warning" for d in found)
    assert {str(d.code) for d in found} <= {"redundant-criterion", "never-matters"}
    redundant = [d for d in found if str(d.code) == "redundant-criterion"]
    # Every criterion reported is implied by ones the lint names, each a top criterion.
    for diagnostic in redundant:
        named = re.findall(r"'(c\d+)'", diagnostic.message)
        assert len(named) >= 2 and named[0] not in named[1:]
    # A single test with a lower threshold than an earlier one of the same finding is implied:
    # c61 (vas_score >= 5) by c1 (vas_score >= 5, written first).
    assert any(re.match(r"'c61' \(line \d+\) is implied by 'c1' ", d.message) for d in redundant)


@pytest.mark.slow
def test_the_case_of_the_long_policy_is_decided_without_missing_documentation(generated):
    from sijfasp.api import evaluate_case
    from sijfasp.cases.case import load_case

    policy, case_path = generated
    loaded = load_policy(policy)
    case = load_case(case_path, loaded.policy.vocabulary)
    (result,) = evaluate_case([loaded], case).results
    assert result.determination.value in ("met", "not_met")
    assert not result.missing
