"""The example third policy (examples/third_policy) dropped into a copy of the bundled set:
it compiles, lints, passes its tests with full coverage and is judged, with the bundled
policies unchanged. Its constructs (several CPT codes, spaced dates, order between records,
the latest result, a record kind of its own) are the ones a policy of the eviCore kind needs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sijfasp.cli.main import main

REPO = Path(__file__).resolve().parent.parent
BUNDLE = REPO / "policies_asp"
EXAMPLE = REPO / "examples" / "third_policy"
THIRD = "examplepayer_sijf_2026"
CASE = "examplepayer_approvable.yaml"


def _run(capsys, *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def policy_set(tmp_path: Path) -> Path:
    folder = tmp_path / "policies_asp"
    # The bundled set as it is, without the example should it already have been dropped in.
    shutil.copytree(BUNDLE, folder, ignore=shutil.ignore_patterns(f"{THIRD}*", "examplepayer_*"))
    for source in [*EXAMPLE.glob("*.sijp"), *EXAMPLE.glob("*.sijv")]:
        shutil.copy(source, folder)
    shutil.copy(EXAMPLE / "tests" / f"{THIRD}.tests.yaml", folder / "tests")
    shutil.copy(EXAMPLE / "tests" / "cases" / CASE, folder / "tests" / "cases")
    return folder


@pytest.mark.slow
def test_the_example_compiles_lints_and_passes_its_tests_with_full_coverage(policy_set, capsys):
    code, _, err = _run(capsys, "fmt", "--check", *EXAMPLE.glob("*.sij?"))
    assert code == 0, err  # the example is written as `sijfasp fmt` writes it
    code, _, err = _run(capsys, "compile", "--check", "--policies", policy_set)
    assert code == 1 and f"not compiled: {policy_set.resolve() / (THIRD + '.lp')}" in err
    code, out, _ = _run(capsys, "compile", "--write", "--policies", policy_set)
    assert code == 0 and out.splitlines() == [f"wrote {policy_set.resolve() / (THIRD + '.lp')}"]
    for compiled in policy_set.glob("*.lp"):
        if compiled.stem != THIRD:
            assert compiled.read_bytes() == (BUNDLE / compiled.name).read_bytes()
    files = len(list(policy_set.glob("*.sijp")))
    code, out, err = _run(capsys, "lint", "--policies", policy_set)
    assert code == 0 and out == f"{files} policy files: no errors, no warnings\n", err
    # The example's own test file, found beside its policy in the set (the bundled policies'
    # tests and coverage are tests/test_policytests.py's).
    own_tests = policy_set / "tests" / f"{THIRD}.tests.yaml"
    code, out, err = _run(capsys, "test", "--coverage", own_tests)
    assert code == 0, out + err
    assert f"coverage of {THIRD}@2026-01-01: 14/14 statuses seen (100%)" in out
    assert out.count("coverage of ") == 1 and "full coverage" in out
    assert "0 failed" in out


@pytest.mark.slow
def test_the_example_is_judged_and_the_bundled_policies_do_not_see_its_records(policy_set, capsys):
    case = policy_set / "tests" / "cases" / CASE
    code, out, err = _run(capsys, "check", case, "--format", "json", "--policies", policy_set)
    assert code == 0, err
    results = {r["policy"]: r for r in json.loads(out)["results"]}
    assert list(results) == [THIRD]  # the case names payer: examplepayer
    assert results[THIRD]["determination"] == "approvable"
    # Without the payer, the bundled policies judge it too, never reading its lab records.
    unnamed = policy_set / "unnamed.yaml"
    unnamed.write_text(case.read_text().replace("payer: examplepayer\n", ""))
    code, out, err = _run(capsys, "explain", unnamed, "--format", "json", "--policies", policy_set)
    assert code == 0, err
    results = {r["policy"]: r for r in json.loads(out)["results"]}
    assert {"aim_sijf_2022", "caresource_sijf_2026", THIRD} <= set(results)
    for policy in ("aim_sijf_2022", "caresource_sijf_2026"):
        assert "cotinine" not in json.dumps(results[policy])
