"""Lint of a label's numbers against its condition (language/label_numbers.py, code `label-number`), and
a stale compiled `.lp` reported by lint and by `sijfasp test` (code `stale-compiled`).

The golden file tests/golden/lint/label_number.txt is the stderr of
`sijfasp lint tests/lint_policies/label_number.sijp` (SIJFASP_UPDATE_GOLDEN=1 rewrites it)."""

from __future__ import annotations

import shutil

import pytest
from support import GOLDEN, POLICIES_DIR, REPO, check_golden, run_cli

from sijfasp.language.label_numbers import label_warnings
from sijfasp.language.parser import parse_text
from sijfasp.policies.loading import bundled_policy_paths

HEADER = """\
import "vocabulary.sijv"
policy p { payer "P" title "T" document "D" effective 2024-01-01 cite "C" }
service percutaneous_sij_fusion [A] "Fusion"
criteria for percutaneous_sij_fusion {
"""


def _warned(criteria: str, records: str = "") -> list[str]:
    tree = parse_text(HEADER.replace("criteria for", records + "\ncriteria for") + criteria + "}\n")
    return [d.message for d in label_warnings(tree)]


@pytest.mark.parametrize(
    "criterion",
    [
        'pain [A] "Pain of at least 5 on a 0-10 scale": vas_score >= 5',
        'odi [A] "ODI of 30% or more": odi_score >= 30',
        'weeks [A] "Six weeks, 6 weeks of therapy": at least 42 days of therapy',
        'months [A] "6 months of therapy in the last 12 months":'
        " at least 6 months of therapy within last 12 months",
        'code [A] "CPT 27278 requested": request.cpt_code is 27278',
        'level [A] "Pain below L5": pain_caudal_to_l5 is true',
        'blocks [A] "Two blocks at least 14 days apart":'
        " at least 2 separate dates of injection, at least 14 days apart",
    ],
)
def test_a_label_that_agrees_is_not_reported(criterion):
    assert _warned(criterion + "\n") == []


@pytest.mark.parametrize(
    ("criterion", "stated"),
    [
        ('pain [A] "Pain of at least 5 on a 0-10 scale": vas_score >= 6', "says 5"),
        ('odi [A] "ODI of 30% or more": odi_score >= 40', "says 30"),
        ('therapy [A] "Therapy for 6 weeks": at least 30 days of therapy', "says 6"),
        (
            'recent [A] "Imaging in the last 180 days":'
            " at least 1 imaging where date within last 365 days",
            "says 180",
        ),
    ],
)
def test_a_label_that_disagrees_is_a_warning(criterion, stated):
    messages = _warned(criterion + "\n")
    assert len(messages) == 1 and stated in messages[0], messages


def test_a_record_set_label_is_read_against_its_filter():
    records = (
        'records block [B] "Block with at least 50% relief":\n'
        "  injection where purpose is diagnostic with relief_percent >= 60\n"
    )
    messages = _warned('blocks [A] "Two blocks": at least 2 block\n', records)
    assert messages == [
        "the label of 'block' says 50 ('at least 50%') but its condition's numbers are 60"
    ]


def test_the_bundled_policies_labels_agree_with_their_thresholds():
    for path in bundled_policy_paths():
        tree = parse_text(path.read_text(encoding="utf-8"), str(path))
        assert label_warnings(tree) == [], path.name


@pytest.mark.slow  # lint, with its proofs, through the command line
def test_lint_warns_of_a_label_number_golden():
    done = run_cli("lint", "tests/lint_policies/label_number.sijp", cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "2 warnings" in done.stdout
    check_golden(GOLDEN / "lint" / "label_number.txt", done.stderr)


@pytest.mark.slow  # lint (with its proofs) and the tests of a policy, through the command line
def test_a_stale_compiled_policy_is_reported_by_lint_and_test(tmp_path):
    folder = tmp_path / "policies_asp"
    shutil.copytree(POLICIES_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    policy = folder / "caresource_sijf_2026.sijp"
    compiled = policy.with_suffix(".lp")
    fresh = run_cli("lint", str(policy), cwd=tmp_path)
    assert "stale-compiled" not in fresh.stderr, fresh.stderr
    compiled.write_text(compiled.read_text(encoding="utf-8") + "% edited\n", encoding="utf-8")
    lint = run_cli("lint", str(policy), cwd=tmp_path)
    assert lint.returncode == 0, lint.stderr
    assert "warning[stale-compiled]: stale: caresource_sijf_2026.lp differs" in lint.stderr
    assert "sijfasp compile --write" in lint.stderr
    tests = run_cli("test", str(folder / "tests" / "caresource_sijf_2026.tests.yaml"), cwd=tmp_path)
    assert "warning: stale: caresource_sijf_2026.lp differs" in tests.stdout, tests.stdout
