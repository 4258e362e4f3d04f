"""Mutation testing (`sijfasp test --mutate`, authoring/mutate.py): the mutants made from a policy's
syntax tree, the survivors reported with their line and the change, declarations of equivalent
mutants, and the bundled policies' score."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import POLICIES_DIR

from sijfasp.authoring import mutate
from sijfasp.core.source import SourceText
from sijfasp.language.parser import parse
from sijfasp.policies.loading import load_policy

POLICY = """\
import "vocabulary.sijv"

policy tiny_sijf_2026 {
  payer     "Tiny Payer"
  title     "Sacroiliac Joint Fusion (tiny)"
  document  "Tiny guideline"
  effective 2026-01-01
  cite      "TINY"
}

service percutaneous_sij_fusion [1] "SIJ fusion"

criteria for percutaneous_sij_fusion {
  pain [1] "Pain of at least 5 of 10": vas_score >= 5
  tests [2] "One provocative test": any of {
    thigh_thrust_test is true
    compression_test is true
  }
  blocks [3] "Two diagnostic blocks":
    at least 2 injection where purpose is diagnostic and date within last 365 days
}

exclusions for percutaneous_sij_fusion {
  infection [4] "Infection": infection is true
  fracture [4] "Fracture": fracture is true
}
"""

CASE = """\
request: {service: percutaneous_sij_fusion, date: 2026-07-15, side: left}
findings: {vas_score: 6, thigh_thrust_test: true, compression_test: true,
           infection: false, fracture: false}
records:
  injection:
  - {date: 2026-02-02, purpose: diagnostic, site: sij_intra_articular, side: left,
     image_guided: true, contrast_enhanced: true, agent: local_anesthetic}
  - {date: 2026-03-02, purpose: diagnostic, site: sij_intra_articular, side: left,
     image_guided: true, contrast_enhanced: true, agent: local_anesthetic}
"""

TESTS = """\
policy: tiny_sijf_2026
tests:
- name: as written
  case: cases/tiny.yaml
  expect: approvable
- name: low pain
  case: cases/tiny.yaml
  set: {findings.vas_score: 4}
  expect: not_met
- name: one block
  case: cases/tiny.yaml
  remove: [records.injection.1]
  expect: incomplete
- name: infection
  case: cases/tiny.yaml
  set: {findings.infection: true}
  expect: excluded
"""


@pytest.fixture
def tiny(tmp_path) -> Path:
    folder = tmp_path / "policies_asp"
    (folder / "tests" / "cases").mkdir(parents=True)
    shutil.copy(POLICIES_DIR / "vocabulary.sijv", folder)
    (folder / "tiny_sijf_2026.sijp").write_text(POLICY, encoding="utf-8")
    (folder / "tests" / "cases" / "tiny.yaml").write_text(CASE, encoding="utf-8")
    (folder / "tests" / "tiny_sijf_2026.tests.yaml").write_text(TESTS, encoding="utf-8")
    return folder


def _keys(folder: Path) -> list[str]:
    loaded = load_policy(folder / "tiny_sijf_2026.sijp")
    source = loaded.sources[0]
    return [m.key for m in mutate.mutants(parse(SourceText(source.path, source.text)), source)]


def test_every_kind_of_mutant_is_made_from_the_tree(tiny):
    keys = _keys(tiny)
    assert "pain: threshold of vas_score raised from 5 to 6" in keys
    assert "pain: threshold of vas_score lowered from 5 to 4" in keys
    assert "pain: comparison of vas_score flipped from >= to <" in keys
    assert "tests: member 'thigh_thrust_test is true' dropped from any of" in keys
    assert "tests: thigh_thrust_test is true flipped to is not true" in keys
    assert "blocks: count of records raised from 2 to 3" in keys
    assert "blocks: count of records lowered from 2 to 1" in keys
    assert "blocks: window of date raised from 365 to 366 days" in keys
    assert "infection: exclusion infection removed" in keys
    assert len(keys) == len(set(keys))  # each names one mutant


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sijfasp", "test", "--mutate", "--workers", "1", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow  # a few dozen mutants of a small policy, each judged by four tests
def test_survivors_are_listed_with_their_line_and_declarations_count(tiny):
    test_file = tiny / "tests" / "tiny_sijf_2026.tests.yaml"
    done = _run(str(test_file), cwd=tiny.parent)
    assert done.returncode == 1, done.stderr
    out = done.stdout
    # No test has a VAS of exactly 5: moving the threshold up is not noticed.
    line = POLICY.splitlines().index('  pain [1] "Pain of at least 5 of 10": vas_score >= 5') + 1
    assert (
        f"survived policies_asp/tiny_sijf_2026.sijp:{line}: pain: threshold of vas_score raised"
        in out
    )
    # The fracture exclusion is never exercised: removing it survives.
    assert "fracture: exclusion fracture removed" in out
    # Flipping the pain comparison turns the approvable case not met: killed, not listed.
    assert "flipped from >= to <" not in out
    assert "mutation score " in out and "survived;" in out

    # A test at the boundary kills the threshold mutant; a declaration accounts for another.
    extra = """\
- name: pain at the threshold
  case: cases/tiny.yaml
  set: {findings.vas_score: 5}
  expect: approvable
equivalent:
- mutant: 'fracture: exclusion fracture removed'
  reason: kept to show the syntax in this test
- mutant: 'no such mutant'
  reason: a declaration naming nothing is reported
"""
    test_file.write_text(TESTS + extra, encoding="utf-8")
    again = _run("tiny_sijf_2026", cwd=tiny)
    assert again.returncode == 1, again.stderr
    assert "pain: threshold of vas_score raised" not in again.stdout
    assert "fracture: exclusion fracture removed" not in again.stdout
    assert "declared equivalent but no such mutant: no such mutant" in again.stdout
    assert "1 declared equivalent" in again.stdout


@pytest.mark.slow  # two runs of the command
def test_a_bad_equivalent_entry_and_an_unknown_policy_are_refused(tiny):
    test_file = tiny / "tests" / "tiny_sijf_2026.tests.yaml"
    test_file.write_text(TESTS + "equivalent:\n- mutant: x\n", encoding="utf-8")
    done = _run(str(test_file), cwd=tiny.parent)
    assert done.returncode == 2 and "equivalent[0].reason" in done.stderr
    assert "Traceback" not in done.stderr
    test_file.write_text(TESTS, encoding="utf-8")
    done = _run("tiny_sijf_2025", cwd=tiny)
    assert done.returncode == 2 and "did you mean 'tiny_sijf_2026'" in done.stderr


# Each bundled policy version's mutants in the exhaustive tier, a sample of them: every EVERY-th,
# in the order they are made (from the top of the file down: every kind of change, in every part
# of the policy). Every mutant of the bundle is `python benchmarks/author_tools.py mutate`
# (docs/authoring.md).
SAMPLED = ("caresource_sijf_2026", "aim_sijf_2022@2022-09-11", "aim_sijf_2022@2022-06-12")
EVERY = 12


@pytest.mark.slow  # a sample of a policy's mutants (a minute or so)
@pytest.mark.exhaustive
@pytest.mark.parametrize("sampled", SAMPLED)
def test_the_bundled_policies_mutation_score_is_printed(capsys, sampled):
    from sijfasp.authoring import policytests
    from sijfasp.policies.versions import reference

    test_files = [
        loaded
        for loaded in map(policytests.load_test_file, policytests.default_test_files())
        if sampled in (loaded.policy.policy.id, reference(loaded.policy))
    ]
    assert len({reference(t.policy) for t in test_files}) == 1, sampled
    report = mutate.mutate_policy(
        test_files[0].policy, test_files, mutate.default_workers(), every=EVERY
    )
    text = mutate.report_text(report)
    with capsys.disabled():
        print(f"\n{text}\n  (every {EVERY}th mutant of {sampled})")
    _, counted = report.score
    assert counted >= 15 and "mutation score" in text
    # The bundled tests kill every sampled mutant (or it is declared equivalent, with a reason).
    assert report.count("survived") == 0, text


def test_the_documented_syntax_is_accepted():
    docs = (Path(__file__).parent.parent / "docs" / "authoring.md").read_text(encoding="utf-8")
    assert "equivalent:" in docs and "sijfasp test --mutate" in docs
    block = docs.split("```yaml\nequivalent:", 1)[1].split("```", 1)[0]
    import yaml

    entries = yaml.safe_load("equivalent:" + textwrap.dedent(block))["equivalent"]
    assert all(set(e) == {"mutant", "reason"} for e in entries)


# An advisory that recommends something: a mutant of what it recommends changes only the
# recommendation's status, which a test states with `recommendations:`.
ADVISED = (
    POLICY
    + """
advisories for percutaneous_sij_fusion {
  severe_pain [5] "Pain of 8 or more is reviewed first":
    when vas_score >= 5 recommend vas_score <= 7
}
"""
)

ADVISED_TESTS = """\
policy: tiny_sijf_2026
tests:
- name: pain 7
  case: cases/tiny.yaml
  set: {{findings.vas_score: 7}}
  expect: approvable
  advisories: [severe_pain]{seven}
- name: pain 8
  case: cases/tiny.yaml
  set: {{findings.vas_score: 8}}
  expect: approvable
  advisories: [severe_pain]{eight}
"""


def test_a_recommendation_mutant_is_killed_by_a_test_stating_its_status(tiny):
    from sijfasp.authoring import policytests

    (tiny / "tiny_sijf_2026.sijp").write_text(ADVISED, encoding="utf-8")
    test_path = tiny / "tests" / "tiny_sijf_2026.tests.yaml"
    loaded = load_policy(tiny / "tiny_sijf_2026.sijp")
    source = loaded.sources[0]
    made = [
        m
        for m in mutate.mutants(parse(SourceText(source.path, source.text)), source)
        if m.key.startswith("severe_pain: ") and ("from 7" in m.key or "from <=" in m.key)
    ]
    assert [m.key for m in made] == [
        "severe_pain: threshold of vas_score raised from 7 to 8",
        "severe_pain: threshold of vas_score lowered from 7 to 6",
        "severe_pain: comparison of vas_score flipped from <= to >",
    ]

    def judged(seven: str, eight: str) -> list[str]:
        test_path.write_text(ADVISED_TESTS.format(seven=seven, eight=eight), encoding="utf-8")
        test_file = policytests.load_test_file(test_path)
        tests = [(test_file.shown, t) for t in test_file.tests]
        mutate._init_worker({"loaded": test_file.policy, "mutants": made, "tests": tests})
        return [mutate._judge(i)[0] for i in range(len(made))]

    # The advisories that apply are the same under each mutant: a list of them kills none.
    assert judged("", "") == ["survived"] * 3
    # Pain of 7 meets the recommendation and 8 does not: each mutant changes one of them.
    stated = judged(
        "\n  recommendations: {severe_pain: met}", "\n  recommendations: {severe_pain: not_met}"
    )
    assert stated == ["killed"] * 3
