"""Compiled ASP programs: the committed policies_asp/*.lp are fresh, and a tiny policy's program
is pinned by a golden file.

tests/golden/compile/<name>.sijp is compiled with `python -m sijfasp compile` from the repository
root and compared with tests/golden/compile/<name>.lp. Set SIJFASP_UPDATE_GOLDEN=1 to rewrite the
golden programs from the current compiler instead of comparing; review the diff before committing.
"""

from __future__ import annotations

import pytest
from support import (
    GOLDEN,
    POLICIES_DIR,
    REPO,
    approvable_case,
    check_golden,
    determinations,
    run_cli,
)

from sijfasp.api import evaluate
from sijfasp.cases.case import validate_case
from sijfasp.policies.loading import bundled_policies, load_policy

COMPILE_DIR = GOLDEN / "compile"
GOLDEN_SOURCES = sorted(COMPILE_DIR.glob("*.sijp"))


@pytest.mark.slow  # a run of the command line over every bundled policy; the full tier runs it
def test_committed_programs_are_fresh():
    result = run_cli("compile", "--check")
    assert result.returncode == 0, result.stderr
    assert "stale" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("loaded", bundled_policies(), ids=lambda p: p.policy.id)
def test_committed_program_equals_in_process_compile(loaded):
    committed = (POLICIES_DIR / f"{loaded.policy.id}.lp").read_text(encoding="utf-8")
    assert committed == loaded.compiled.program


def test_compile_check_refuses_a_file_or_output(tmp_path):
    # --check and --write work on the bundled directory only: refuse a file or -o.
    result = run_cli("compile", "--check", "-o", tmp_path / "x.lp")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_golden_sources_exist():
    assert [p.name for p in GOLDEN_SOURCES] == ["tiny_policy.sijp"]


@pytest.mark.parametrize("source", GOLDEN_SOURCES, ids=lambda p: p.stem)
def test_compile_matches_golden(source):
    result = run_cli("compile", source.relative_to(REPO).as_posix())
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    check_golden(source.with_suffix(".lp"), result.stdout)


@pytest.mark.parametrize("source", GOLDEN_SOURCES, ids=lambda p: p.stem)
def test_golden_program_covers_every_kind_of_declaration(source):
    program = source.with_suffix(".lp").read_text(encoding="utf-8")
    for fact in (
        "policy(tiny_policy).",
        "service(percutaneous_sij_fusion).",
        "filter(relief_block,",
        "node(pain_requirement, all).",
        "top(percutaneous_sij_fusion, pain).",
        "leaf(blocks, dates(relief_block, 2)).",
        "node(provocative, at_least(2)).",
        "excludes(percutaneous_sij_fusion, excluded_tumor).",
        "advises(percutaneous_sij_fusion, tobacco).",
        "advisory_recommend(tobacco, tobacco_recommend).",
    ):
        assert fact in program, fact


@pytest.mark.parametrize(
    "change, expected",
    [
        ({}, "approvable"),
        ({"tumor": True}, "excluded"),
        ({"vas_score": 2}, "not_met"),
        ({"vas_score": None}, "incomplete"),
    ],
)
def test_tiny_policy_decides_cases(change, expected):
    """The golden program, with the encoding, decides cases like the bundled ones."""
    loaded = load_policy(COMPILE_DIR / "tiny_policy.sijp")
    case = approvable_case()
    for name, value in change.items():
        if value is None:
            case["findings"].pop(name)
        else:
            case["findings"][name] = value
    result = evaluate(loaded, validate_case(case, loaded.policy.vocabulary, "case.yaml"))
    assert result.determination == expected
    if expected == "incomplete":
        assert [[i.key for i in s] for s in result.missing] == [["guess(vas_score,500)"]]


@pytest.mark.slow  # a run of the command line; test_compile_matches_golden stays quick
def test_tiny_policy_through_the_command_line():
    source = (COMPILE_DIR / "tiny_policy.sijp").relative_to(REPO).as_posix()
    result = run_cli(
        "check", "examples/cases/approvable.yaml", "--policy-file", source, "--format", "json"
    )
    assert result.returncode == 0, result.stderr
    assert determinations(result.stdout) == {"tiny_policy": "approvable"}
