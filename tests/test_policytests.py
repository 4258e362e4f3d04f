"""Policy tests: every bundled policy's test files pass and cover it fully; the `sijfasp test`
command reports failures, bad test files, updates and coverage as documented."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest
from support import POLICIES_DIR, POLICY_IDS, run_cli

from sijfasp.authoring import policytests as pt
from sijfasp.cli.main import main
from sijfasp.core.diagnostics import SijfaspError
from sijfasp.policies.loading import bundled_policies, bundled_policy_versions
from sijfasp.policies.versions import reference

TEST_FILES = pt.default_test_files()


@functools.cache
def _bundled_test_file(path: Path) -> pt.TestFile:
    """A bundled test file, read once per process (the tests here only read it)."""
    return pt.load_test_file(path)


class _Runs(dict[Path, tuple[pt.TestFile, list[pt.Outcome]]]):
    """Each test file's outcomes, worked out when first asked for."""

    def __missing__(self, path: Path) -> tuple[pt.TestFile, list[pt.Outcome]]:
        test_file = _bundled_test_file(path)
        self[path] = found = (test_file, pt.run_file(test_file))
        return found


@pytest.fixture(scope="module")
def runs() -> _Runs:
    return _Runs()


# The policy version each test file tests; a version's files and its coverage share an xdist
# group (--dist loadgroup), so one worker runs each file once.
VERSION_OF = {path: reference(_bundled_test_file(path).policy) for path in TEST_FILES}


def _of_version(value: object, version: str) -> object:
    return pytest.param(value, marks=pytest.mark.xdist_group(f"policy tests {version}"))


def test_the_policies_with_expectations_have_test_files():
    policies = {_bundled_test_file(p).policy.policy.id for p in TEST_FILES}
    assert set(POLICY_IDS) <= policies


def test_every_bundled_version_has_a_test_file():
    tested = {reference(_bundled_test_file(p).policy) for p in TEST_FILES}
    assert {reference(p) for p in bundled_policy_versions()} <= tested


@pytest.mark.slow  # every test of every policy evaluated, with its missing sets
@pytest.mark.parametrize(
    "path", [_of_version(p, VERSION_OF[p]) for p in TEST_FILES], ids=lambda p: p.name
)
def test_every_policy_test_passes(runs, path):
    test_file, outcomes = runs[path]
    failures = [pt.failure_text(test_file, o) for o in outcomes if not o.passed]
    assert not failures, "\n\n".join(failures)


@pytest.mark.slow  # every test of every policy evaluated, with its missing sets
@pytest.mark.parametrize(
    "policy",
    [_of_version(v, v) for v in sorted(reference(p) for p in bundled_policy_versions())],
    ids=lambda p: p,
)
def test_every_tested_policy_version_is_fully_covered(runs, policy):
    paths = [path for path, version in VERSION_OF.items() if version == policy]
    if not paths:
        pytest.skip(f"{policy} has no test file yet")
    files = [runs[path][0] for path in paths]
    outcomes = [o for path in paths for o in runs[path][1]]
    report = pt.coverage(files[0].policy, files, outcomes)
    assert report.full, pt.coverage_text(report)
    seen, total = report.counts()
    assert seen == total > 0


def test_coverage_counts_every_node_and_exclusion():
    aim = next(p for p in bundled_policies() if p.policy.id == POLICY_IDS[0])
    nodes, exclusions = pt.coverage_universe(aim)
    # Members of compound criteria count as nodes of their own.
    assert {"pain_and_function", "vas_at_least_5", "function_not_spared_1"} <= set(nodes)
    assert "excluded_infection" in exclusions and "excluded_infection" not in nodes


# ------------------------------------------------------------------ the command
@pytest.fixture
def workspace(tmp_path) -> Path:
    """A copy of the bundled policies with their tests, to edit freely."""
    target = tmp_path / "policies_asp"
    shutil.copytree(POLICIES_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _write(workspace: Path, text: str) -> Path:
    path = workspace / "tests" / "scratch.tests.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(capsys, *args) -> tuple[int, str, str]:
    status = main(["test", *map(str, args)])
    out = capsys.readouterr()
    return status, out.out, out.err


SMALL = """\
policy: aim_sijf_2022
tests:
- name: as written
  case: cases/approvable.yaml
  expect: approvable
- name: no odi
  case: cases/approvable.yaml
  remove: [findings.odi_score]
  expect: {expect}
  missing: [[{need}]]
  criteria:
    odi_at_least_30: {odi}
"""


def test_a_passing_file_prints_dots_and_a_summary(workspace, capsys):
    path = _write(
        workspace, SMALL.format(expect="incomplete", odi="not_documented", need="odi_score >= 30")
    )
    status, out, _ = _run(capsys, path)
    assert status == 0
    assert out.splitlines()[0].endswith("scratch.tests.yaml ..")
    assert out.rstrip().endswith("2 passed, 0 failed")


@pytest.mark.slow
def test_a_failure_shows_a_diff_and_exits_1(workspace, capsys):
    path = _write(workspace, SMALL.format(expect="approvable", odi="met", need="vas_score >= 5"))
    status, out, _ = _run(capsys, path)
    assert status == 1
    assert "scratch.tests.yaml .F" in out
    assert "FAILED" in out and "::no odi" in out
    assert "-determination: approvable" in out and "+determination: incomplete" in out
    assert "-  - vas_score >= 5" in out and "+  - odi_score >= 30" in out
    assert "-criteria.odi_at_least_30: met" in out
    assert "+criteria.odi_at_least_30: not_documented" in out
    assert out.rstrip().endswith("1 passed, 1 failed")


@pytest.mark.slow  # an integration run of half a second or more; the full tier runs it
def test_update_writes_the_actual_results_and_then_passes(workspace, capsys):
    path = _write(workspace, SMALL.format(expect="approvable", odi="met", need="vas_score >= 5"))
    status, out, _ = _run(capsys, path, "--update")
    assert status == 0 and "updated" in out
    written = path.read_text(encoding="utf-8")
    assert "expect: incomplete" in written and "odi_at_least_30: not_documented" in written
    assert "- [odi_score >= 30]" in written
    assert "remove: [findings.odi_score]" in written  # the case itself is kept as written
    status, out, _ = _run(capsys, path)
    assert status == 0 and out.rstrip().endswith("2 passed, 0 failed")


def test_reason_words_are_checked(workspace, capsys):
    text = """\
policy: aim_sijf_2022
tests:
- name: low vas
  case: cases/approvable.yaml
  set: {findings.vas_score: 4}
  expect: not_met
  reason: [VAS, nowhere in the reason]
"""
    status, out, _ = _run(capsys, _write(workspace, text))
    assert status == 1
    assert "+reason contains 'nowhere in the reason': False" in out
    assert "reason contains 'VAS'" not in out.split("FAILED", 1)[1].replace(
        "reason contains 'VAS': True", ""
    )


@pytest.mark.slow
def test_set_remove_and_add_change_a_copy_of_the_case(workspace):
    text = """\
policy: caresource_sijf_2026
tests:
- name: bilateral with a film of each hip
  case: cases/approvable.yaml
  set: {request.side: bilateral}
  add:
    records.imaging:
    - {date: 2026-01-20, modality: xray, region: hip, side: left, findings: [hip_osteoarthritis_excluded]}
    - {date: 2026-01-20, modality: xray, region: hip, side: right, findings: [hip_osteoarthritis_excluded]}
  # The SIJ imaging and the injections are of the left joint only: a bilateral request wants both.
  expect: incomplete
  criteria: {each_hip_film: met}
- name: as written
  case: cases/approvable.yaml
  expect: approvable
"""
    loaded = pt.load_test_file(_write(workspace, text))
    changed, plain = (t.case for t in loaded.tests)
    assert changed.request["side"] == "bilateral" and plain.request["side"] == "left"
    assert len(changed.records) == len(plain.records) + 2
    assert all(o.passed for o in pt.run_file(loaded))


@pytest.mark.parametrize(
    "text, words",
    [
        ("policy: aim_sijf_2022\ntests: []\n", ["tests", "expected a list of tests"]),
        ("polcy: aim_sijf_2022\ntests: []\n", ["unknown field 'polcy'", "did you mean 'policy'?"]),
        (
            "policy: aim_sijf_2O22\ntests: [{name: a, case: cases/approvable.yaml}]\n",
            ["unknown policy", "did you mean 'aim_sijf_2022'?"],
        ),
        (
            "policy: aim_sijf_2022\ntests: [{name: a, case: cases/nope.yaml, expect: approvable}]\n",
            ["tests[0] (a).case", "cannot find the case file 'cases/nope.yaml'"],
        ),
        (
            "policy: aim_sijf_2022\ntests: [{name: a, case: cases/approvable.yaml, expect: aproved}]\n",
            ["tests[0] (a).expect", "expected one of"],
        ),
        (
            "policy: aim_sijf_2022\ntests:\n- {name: a, case: cases/approvable.yaml, expect: approvable,"
            " criteria: {vas_at_least5: met}}\n",
            ["tests[0] (a).criteria.vas_at_least5", "did you mean 'vas_at_least_5'?"],
        ),
        (
            "policy: aim_sijf_2022\ntests:\n- {name: a, case: cases/approvable.yaml, expect: approvable,"
            " remove: [findings.nothing_here]}\n",
            ["tests[0] (a).remove", "nothing to remove"],
        ),
        (
            "policy: aim_sijf_2022\ntests:\n- {name: a, case: cases/approvable.yaml, expect: approvable,"
            " set: {findings.vas_score: 11}}\n",
            ["scratch.tests.yaml::a", "vas_score"],
        ),
        (
            "policy: aim_sijf_2022\nnot_applicable: {vas_at_least_5: [never]}\n"
            "tests: [{name: a, case: cases/approvable.yaml}]\n",
            ["not_applicable.vas_at_least_5", "expected a list of"],
        ),
    ],
    ids=[
        "no tests",
        "unknown top field",
        "unknown policy",
        "missing case file",
        "bad determination",
        "unknown criterion",
        "nothing to remove",
        "case out of range",
        "bad not-applicable status",
    ],
)
@pytest.mark.slow  # an integration run of a second or so; the full tier runs it
def test_a_bad_test_file_is_one_clear_message_and_exit_2(workspace, capsys, text, words):
    status, out, err = _run(capsys, _write(workspace, text))
    assert status == 2 and out == ""
    assert "scratch.tests.yaml" in err and "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


@pytest.mark.slow
def test_coverage_lists_what_was_never_exercised(workspace, capsys):
    path = _write(
        workspace, SMALL.format(expect="incomplete", odi="not_documented", need="odi_score >= 30")
    )
    status, out, _ = _run(capsys, path, "--coverage")
    assert status == 0  # gaps alone do not fail the run
    assert "coverage of aim_sijf_2022@" in out and "never exercised:" in out
    assert "criterion vas_at_least_5: not met, not documented" in out
    assert "exclusion excluded_infection: applies" in out
    status, _, _ = _run(capsys, path, "--fail-under-full")
    assert status == 1


def test_a_status_declared_not_applicable_but_seen_is_reported(workspace):
    text = """\
policy: aim_sijf_2022
not_applicable: {vas_at_least_5: [met]}
tests:
- name: as written
  case: cases/approvable.yaml
  expect: approvable
"""
    loaded = pt.load_test_file(_write(workspace, text))
    report = pt.coverage(loaded.policy, [loaded], pt.run_file(loaded))
    assert ("vas_at_least_5", ["met"]) in report.contradicted()
    assert not report.full
    assert "declared not applicable but seen: vas_at_least_5: met" in pt.coverage_text(report)


@pytest.mark.slow
def test_default_runs_every_bundled_test_file(capsys, monkeypatch):
    # Which files a plain `sijfasp test` runs; that each passes is test_every_policy_test_passes.
    ran: list[Path] = []

    def run_file(test_file: pt.TestFile) -> list[pt.Outcome]:
        ran.append(test_file.path)
        return []

    monkeypatch.setattr(pt, "run_file", run_file)
    status, out, _ = _run(capsys)
    assert status == 0
    assert sorted(p.resolve() for p in ran) == sorted(p.resolve() for p in TEST_FILES)
    for path in TEST_FILES:
        assert path.name in out
    assert out.rstrip().endswith("0 passed, 0 failed")


@pytest.mark.slow  # two commands in processes of their own
def test_a_test_file_outside_the_set_policies_names_is_refused(tmp_path):
    named = tmp_path / "policies_asp"
    shutil.copytree(POLICIES_DIR, named)
    outside = POLICIES_DIR / "tests" / "caresource_sijf_2026.boundaries.tests.yaml"
    refused = run_cli("test", "--policies", named, outside)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "is not in the policy set --policies names" in refused.stderr
    assert f"move it to {named / 'tests'}" in refused.stderr and "Traceback" not in refused.stderr
    inside = run_cli("test", "--policies", named, named / "tests" / outside.name)
    assert inside.returncode == 0, inside.stdout + inside.stderr


def test_a_test_file_needs_its_policy_beside_it(tmp_path):
    folder = tmp_path / "tests"
    folder.mkdir()
    path = folder / "x.tests.yaml"
    path.write_text("policy: aim_sijf_2022\ntests: [{name: a, case: {}}]\n", encoding="utf-8")
    with pytest.raises(SijfaspError) as raised:
        pt.load_test_file(path)
    assert "unknown policy 'aim_sijf_2022'" in str(raised.value)
    assert "no policy files (.sijp)" in raised.value.diagnostics[0].hint


@pytest.mark.slow  # a few seconds; the full tier runs it
def test_the_example_in_the_authoring_guide_is_valid_and_passes(workspace):
    guide = (Path(__file__).resolve().parent.parent / "docs" / "authoring.md").read_text(
        encoding="utf-8"
    )
    example = guide.split("```yaml\n", 1)[1].split("```", 1)[0]
    loaded = pt.load_test_file(_write(workspace, example))
    outcomes = pt.run_file(loaded)
    assert len(outcomes) == 5
    assert all(o.passed for o in outcomes), [pt.failure_text(loaded, o) for o in outcomes]


@pytest.mark.slow
def test_update_drops_ids_the_policy_no_longer_has(workspace, capsys):
    text = """\
policy: aim_sijf_2022
not_applicable: {renamed_node: [not_met], diagnostic_blocks: [not_met]}
tests:
- name: as written
  case: cases/approvable.yaml
  expect: approvable
  criteria: {vas_at_least_5: met, old_name: met}
  exclusions: {old_exclusion: not_documented}
"""
    path = _write(workspace, text)
    status, _, err = _run(capsys, path)
    assert status == 2 and "renamed_node" in err  # a plain run refuses the stale id
    status, out, _ = _run(capsys, path, "--update")
    assert status == 0
    assert "dropped tests[0] (as written).criteria.old_name" in out
    assert "dropped not_applicable.renamed_node" in out
    written = path.read_text(encoding="utf-8")
    assert "old_name" not in written and "old_exclusion" not in written
    assert "renamed_node" not in written and "diagnostic_blocks: [not_met]" in written
    assert "vas_at_least_5: met" in written
    status, out, _ = _run(capsys, path)
    assert status == 0 and out.rstrip().endswith("1 passed, 0 failed")


def test_missing_sets_compare_in_any_order(workspace):
    text = """\
policy: aim_sijf_2022
tests:
- name: three revision indications undocumented
  case: cases/revision_loosening.yaml
  set: {findings.implant_failure: false}
  expect: incomplete
  missing:
  - [symptomatic_pseudarthrosis = true]
  - [infection = true]
  - [symptomatic_malposition = true]
"""
    loaded = pt.load_test_file(_write(workspace, text))
    (outcome,) = pt.run_file(loaded)
    assert outcome.passed, pt.failure_text(loaded, outcome)


@pytest.mark.slow
def test_a_need_holding_a_colon_unquoted_is_refused_with_the_quoted_form(workspace, capsys):
    path = _write(
        workspace,
        SMALL.format(expect="incomplete", odi="not_documented", need="imaging 1 of 1 more: SIJ CT"),
    )
    status, _, err = _run(capsys, path)
    assert status == 2
    assert "tests[1] (no odi).missing" in err
    assert "- ['imaging 1 of 1 more: SIJ CT']" in err


# ------------------------------------------------------------------ advisories
LATER_BLOCK = """\
policy: caresource_sijf_2026
tests:
- name: a later block with {relief}% relief
  case: cases/approvable.yaml
  add:
    records.injection:
    - {{date: 2026-06-01, purpose: diagnostic, site: sij_intra_articular, side: left,
       image_guided: true, contrast_enhanced: true, agent: local_anesthetic, relief_percent: {relief}}}
  expect: approvable
  advisories: {advisories}
"""


def test_a_test_states_the_advisories_that_apply_and_a_wrong_list_fails(workspace, capsys):
    right = LATER_BLOCK.format(relief=49, advisories="[later_block_failed]")
    status, out, _ = _run(capsys, _write(workspace, right))
    assert status == 0, out
    # At 50% the later block did not fail: no advisory applies, and a test saying one does fails.
    wrong = LATER_BLOCK.format(relief=50, advisories="[later_block_failed]")
    status, out, _ = _run(capsys, _write(workspace, wrong))
    assert status == 1
    assert "-advisories: later_block_failed" in out and "+advisories: []" in out
    none = LATER_BLOCK.format(relief=50, advisories="[]")
    status, out, _ = _run(capsys, _write(workspace, none))
    assert status == 0, out


def test_an_unknown_advisory_is_a_bad_test_file_with_a_did_you_mean(workspace, capsys):
    text = LATER_BLOCK.format(relief=49, advisories="[later_block_fail]")
    status, _, err = _run(capsys, _write(workspace, text))
    assert status == 2
    assert "unknown advisory 'later_block_fail'" in err
    assert "did you mean 'later_block_failed'?" in err
    assert "Traceback" not in err


@pytest.mark.slow  # an update run of the command
def test_update_rewrites_the_advisories_listed_and_keeps_an_empty_list(workspace, capsys):
    path = _write(workspace, LATER_BLOCK.format(relief=50, advisories="[later_block_failed]"))
    status, out, _ = _run(capsys, path, "--update")
    assert status == 0, out
    assert "advisories: []" in path.read_text(encoding="utf-8")


# ------------------------------------------------------------------ recommendations
# AIM's tobacco advisory applies to a tobacco user (or fewer than 6 weeks without tobacco) and
# recommends 6 weeks without tobacco; that recommendation is met, not met or not documented.
TOBACCO = """\
policy: aim_sijf_2022@2022-06-12
tests:
- name: six weeks without tobacco
  case: cases/approvable.yaml
  set: {{findings.tobacco_use: true, findings.tobacco_free_weeks: 6}}
  expect: approvable
  recommendations: {{tobacco_abstinence: {six}}}
- name: five weeks without tobacco
  case: cases/approvable.yaml
  set: {{findings.tobacco_use: true, findings.tobacco_free_weeks: 5}}
  expect: approvable
  recommendations: {{tobacco_abstinence: {five}}}
- name: weeks without tobacco not documented
  case: cases/approvable.yaml
  set: {{findings.tobacco_use: true}}
  expect: approvable
  advisories: [tobacco_abstinence]
  recommendations: {{tobacco_abstinence: {unknown}}}
"""


def test_a_test_states_a_recommendation_met_not_met_or_not_documented(workspace, capsys):
    text = TOBACCO.format(six="met", five="not_met", unknown="not_documented")
    status, out, _ = _run(capsys, _write(workspace, text))
    assert status == 0, out
    assert out.rstrip().endswith("3 passed, 0 failed")
    test_file = pt.load_test_file(workspace / "tests" / "scratch.tests.yaml")
    assert [t.recommendations for t in test_file.tests] == [
        {"tobacco_abstinence": "met"},
        {"tobacco_abstinence": "not_met"},
        {"tobacco_abstinence": "not_documented"},
    ]


@pytest.mark.slow  # three cases of AIM evaluated, with their missing sets
def test_a_wrong_recommendation_fails_with_what_it_is(workspace, capsys):
    text = TOBACCO.format(six="not_met", five="not_met", unknown="met")
    status, out, _ = _run(capsys, _write(workspace, text))
    assert status == 1
    assert "scratch.tests.yaml F.F" in out
    assert "-recommendations.tobacco_abstinence: not_met" in out
    assert "+recommendations.tobacco_abstinence: met" in out
    assert "+recommendations.tobacco_abstinence: not_documented" in out
    # Without tobacco use and with 6 weeks, the advisory does not apply: a recommendation
    # stated for it fails, as the reviewer sees none.
    quit_smoking = text.replace(
        "findings.tobacco_use: true, findings.tobacco_free_weeks: 6",
        "findings.tobacco_use: false, findings.tobacco_free_weeks: 6",
    )
    status, out, _ = _run(capsys, _write(workspace, quit_smoking))
    assert status == 1
    assert "+recommendations.tobacco_abstinence: (the advisory does not apply)" in out


# What is written, what the message says, its hint, and the column of what is wrong.
BAD_RECOMMENDATIONS = [
    (
        "{tobaco_abstinence: met}",
        "unknown advisory 'tobaco_abstinence'",
        "did you mean 'tobacco_abstinence'?",
        21,
    ),
    ("{tobacco_abstinence: mett}", "found 'mett'", "did you mean 'met'?", 41),
    (
        "{weight_reduction: met}",
        "advisory 'weight_reduction' recommends nothing",
        "advisories with a recommendation: tobacco_abstinence, diabetes_control",
        21,
    ),
    (
        "[tobacco_abstinence]",
        "expected a mapping: advisory id -> met, not_met, not_documented",
        "advisories with a recommendation",
        20,
    ),
]


def test_a_bad_recommendation_is_refused_at_its_line_and_column(workspace, capsys):
    text = TOBACCO.format(six="met", five="not_met", unknown="not_documented")
    for written, message, hint, column in BAD_RECOMMENDATIONS:
        path = _write(workspace, text.replace("{tobacco_abstinence: met}", written, 1))
        status, out, err = _run(capsys, path)
        assert status == 2 and not out, written
        lines = err.splitlines()
        assert lines[0].startswith(f"{path}:7:{column}: tests[0] (six weeks without tobacco)")
        assert message in lines[0]
        # The line quoted, with a caret under what is wrong.
        assert lines[1] == f"   7 |   recommendations: {written}"
        assert lines[2].index("^") == len("   7 | ") + column - 1
        assert f"hint: {hint}" in err


@pytest.mark.slow  # a run of the command in a process of its own
def test_the_command_refuses_an_unknown_advisory_in_recommendations(workspace):
    text = TOBACCO.format(six="met", five="not_met", unknown="not_documented")
    path = _write(workspace, text.replace("{tobacco_abstinence: not_met}", "{tobacco: not_met}"))
    done = run_cli("test", path, cwd=workspace.parent)
    assert done.returncode == 2 and not done.stdout
    assert done.stderr.startswith(
        "policies_asp/tests/scratch.tests.yaml:12:21: tests[1] (five weeks without tobacco)"
        ".recommendations.tobacco: error[property]: unknown advisory 'tobacco'"
    )
    # Nothing close enough to name: the advisories that recommend something are listed.
    assert "hint: advisories with a recommendation: tobacco_abstinence, diabetes_control" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr


@pytest.mark.slow  # an update run of the command
def test_update_writes_the_recommendations_of_a_test_listing_advisories(workspace, capsys):
    text = """\
policy: aim_sijf_2022@2022-06-12
tests:
- name: lists the advisories
  case: cases/approvable.yaml
  set: {findings.tobacco_use: true, findings.tobacco_free_weeks: 5, findings.diabetes: true}
  expect: approvable
  advisories: []
- name: states one recommendation
  case: cases/approvable.yaml
  set: {findings.tobacco_use: true, findings.tobacco_free_weeks: 6, findings.diabetes: true}
  expect: approvable
  recommendations: {tobacco_abstinence: not_met}
- name: compares no advisory
  case: cases/approvable.yaml
  set: {findings.tobacco_use: true, findings.tobacco_free_weeks: 6}
  expect: approvable
"""
    path = _write(workspace, text)
    status, out, _ = _run(capsys, path, "--update")
    assert status == 0, out
    raw = [t.raw for t in pt.load_test_file(path).tests]
    # A test listing the advisories asks them compared: the recommendation of each that
    # applies is written. One stating recommendations keeps those, with the status found.
    assert raw[0]["advisories"] == ["diabetes_control", "tobacco_abstinence"]
    assert raw[0]["recommendations"] == {
        "tobacco_abstinence": "not_met",
        "diabetes_control": "not_documented",
    }
    assert raw[1]["recommendations"] == {"tobacco_abstinence": "met"}
    assert "advisories" not in raw[1] and "recommendations" not in raw[2]
    status, out, _ = _run(capsys, path)
    assert status == 0, out


def test_a_plain_test_run_has_no_time_limit_unless_one_is_given():
    from sijfasp.cli.main import _bounds

    assert _bounds(["test"])[0] == 0
    assert _bounds(["test", "--mutate", "aim_sijf_2022"])[0] == 0
    assert _bounds(["test", "--time-limit", "30"])[0] == 30
    assert _bounds(["check", "case.yaml"])[0] > 0
