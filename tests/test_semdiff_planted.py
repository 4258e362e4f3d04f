"""`sijfasp diff` finds one planted change of each kind the language has.

A small policy reads a finding against a threshold, compares with each operator, groups members
(all of, any of), counts records of a set with a window and a filter, lists procedure codes and
has an exclusion. Each pair below is that policy and a copy with one change: a threshold moved,
an operator changed, a member added or removed, an exclusion removed, a code dropped, a window
shortened, a record filter loosened, a criterion and an exclusion on an item of the copy's own
vocabulary extension. The diff must report the change, named by the criterion that holds it, with a
witness; `sijfasp check` (a subprocess, reading the case with both policies' vocabularies as a
case judged by both is read) must decide each witness as the diff says, and differently under
the two.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import POLICIES_DIR, run_cli

from sijfasp.authoring import diff_render, semdiff
from sijfasp.authoring.diff_model import Report
from sijfasp.policies.loading import load_policy

POLICY = """\
import "vocabulary.sijv"
{imports}
policy {id} {{
  payer     "Example Payer"
  title     "Planted"
  document  "Guideline"
  effective 2026-01-01
  cite      "PLT"
}}

service percutaneous_sij_fusion cpt 27278, 27279 [1] "SIJ fusion"

records blocks [2] "Diagnostic blocks of the last year with 75% relief":
  injection where purpose is diagnostic and date within last 365 days
  with relief_percent >= 75

criteria for percutaneous_sij_fusion {{
  pain [3] "Pain of at least 5": vas_score >= 5
  function [4] "ODI over 30, or pain interfering with function": any of {{
    odi "ODI over 30": odi_score > 30
    interferes "Pain interferes with function": pain_interferes_with_function is true
  }}
  tenderness [5] "Tenderness over the joint, other sources excluded": all of {{
    palpation "Tenderness on palpation": sij_palpation_tenderness is true
    others "Other sources excluded": other_pain_sources_excluded is true
  }}
  block [6] "A diagnostic block": at least 1 blocks
{extra}}}

exclusions for percutaneous_sij_fusion {{
  infection [7] "Infection": infection is true
}}
"""

EXTENSION = """\
vocabulary planted_extra "What only the changed policy reads"

finding sleep_disturbed: bool {
  means "Sleep is disturbed by the pain"
  ask "Document whether the pain disturbs sleep"
}
"""

# Kind of change -> (the edit of the policy text, the side whose criterion decides the
# witness, that criterion or exclusion).
PLANTED = {
    "threshold": (("vas_score >= 5", "vas_score >= 6"), "b", "pain"),
    "operator": (("odi_score > 30", "odi_score >= 30"), "a", "function"),
    "member added": (
        (
            '    interferes "Pain interferes with function": pain_interferes_with_function is true\n',
            '    interferes "Pain interferes with function": pain_interferes_with_function is true\n'
            '    radiating "Pain does not radiate": pain_radiating is false\n',
        ),
        "a",
        "function",
    ),
    "member removed": (
        ('    others "Other sources excluded": other_pain_sources_excluded is true\n', ""),
        "a",
        "others",
    ),
    "exclusion": (
        ('  infection [7] "Infection": infection is true\n', ""),
        "a",
        "infection",
    ),
    "code": (("cpt 27278, 27279", "cpt 27279"), "b", "percutaneous_sij_fusion"),
    "window": (("date within last 365 days", "date within last 180 days"), "b", "block"),
    "record filter": (("relief_percent >= 75", "relief_percent >= 50"), "a", "block"),
    "extension item": (
        ("{extra}", '  sleep [8] "Sleep disturbed": sleep_disturbed is true\n'),
        "b",
        "sleep",
    ),
    "exclusion on an extension item": (
        (
            '  infection [7] "Infection": infection is true\n',
            '  infection [7] "Infection": infection is true\n'
            '  sleepless [9] "Sleep disturbed": sleep_disturbed is true\n',
        ),
        "b",
        "sleepless",
    ),
}


def _write_pair(folder: Path, kind: str) -> tuple[Path, Path]:
    (old, new), _, _ = PLANTED[kind]
    folder.mkdir()
    shutil.copy(POLICIES_DIR / "vocabulary.sijv", folder)
    base = POLICY
    a_text = base.format(id="planted_a", imports="", extra="")
    extension = kind.startswith("extension") or "extension item" in kind
    if extension:
        (folder / "planted_extra.sijv").write_text(EXTENSION, encoding="utf-8")
        b_text = base.replace(old, new.replace("{", "{{").replace("}", "}}"))
        b_text = b_text.format(id="planted_b", imports='import "planted_extra.sijv"\n', extra="")
    else:
        b_text = base.format(id="planted_b", imports="", extra="")
        assert old in b_text, kind
        b_text = b_text.replace(old, new)
    a_path, b_path = folder / "planted_a.sijp", folder / "planted_b.sijp"
    a_path.write_text(a_text, encoding="utf-8")
    b_path.write_text(b_text, encoding="utf-8")
    return a_path, b_path


def _checked(folder: Path, cases: list[Path]) -> dict[tuple[str, str], str]:
    """(case id, policy id) -> determination, from `sijfasp check` run on the witnesses."""
    done = run_cli("check", *cases, "--policies", folder, "--format", "json", cwd=folder)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    found = {}
    for case in data if isinstance(data, list) else [data]:
        for result in case["results"]:
            found[(case["case"], result["policy"])] = result["determination"]
    return found


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(PLANTED))
def test_the_diff_finds_each_kind_of_planted_change_with_a_witness_check_confirms(
    tmp_path: Path, kind: str
) -> None:
    a_path, b_path = _write_pair(tmp_path / "pair", kind)
    a, b = load_policy(a_path), load_policy(b_path)
    report: Report = semdiff.semantic_diff(a, b, with_impact=False)
    _, side, node = PLANTED[kind]
    found = [d for d in report.differences if node in getattr(d, side)]
    assert found, (kind, diff_render.text(report))
    # Every witness of the report (not only the planted one's) is decided as it says.
    written = diff_render.write_cases(report, tmp_path / "witnesses")
    verdicts = _checked(tmp_path / "pair", written)
    for name, _, witness in diff_render.witnesses(report):
        under_a, under_b = verdicts[(name, "planted_a")], verdicts[(name, "planted_b")]
        assert (under_a, under_b) == (witness.a.determination, witness.b.determination), name
        assert under_a != under_b


@pytest.mark.slow
def test_the_unchanged_policy_against_itself_has_every_criterion_tried(tmp_path: Path) -> None:
    folder = tmp_path / "same"
    folder.mkdir()
    shutil.copy(POLICIES_DIR / "vocabulary.sijv", folder)
    text = POLICY.format(id="planted_a", imports="", extra="")
    (folder / "planted_a.sijp").write_text(text, encoding="utf-8")
    loaded = load_policy(folder / "planted_a.sijp")
    report = semdiff.semantic_diff(loaded, loaded, with_impact=False)
    assert report.differences == [] and report.not_tried == []
    assert "no differences\n" in diff_render.text(report)


TWO_CRITERIA = """\
import "vocabulary.sijv"
{imports}
policy {id} {{
  payer     "Example Payer"
  title     "Two criteria"
  document  "Guideline"
  effective 2026-01-01
  cite      "TWO"
}}

service percutaneous_sij_fusion [1] "SIJ fusion"

criteria for percutaneous_sij_fusion {{
{first}
  pain [3] "Pain of at least 5": vas_score >= 5
}}
"""


@pytest.mark.slow
def test_an_extension_item_against_odi_reports_both_differences(tmp_path: Path) -> None:
    """A = {an item of A's own extension, VAS >= 5} against B = {ODI >= 30, VAS >= 5}: the diff
    reports the ODI difference (a case meeting A, not documenting ODI) as well as A's item."""
    shutil.copy(POLICIES_DIR / "vocabulary.sijv", tmp_path)
    (tmp_path / "planted_extra.sijv").write_text(EXTENSION, encoding="utf-8")
    texts = {
        "two_a": ('import "planted_extra.sijv"\n', '  sleep [2] "Sleep": sleep_disturbed is true'),
        "two_b": ("", '  odi [2] "ODI of 30 or more": odi_score >= 30'),
    }
    for policy_id, (imports, first) in texts.items():
        text = TWO_CRITERIA.format(id=policy_id, imports=imports, first=first)
        (tmp_path / f"{policy_id}.sijp").write_text(text, encoding="utf-8")
    a, b = load_policy(tmp_path / "two_a.sijp"), load_policy(tmp_path / "two_b.sijp")
    report = semdiff.semantic_diff(a, b, with_impact=False)
    odi = [d for d in report.differences if "odi" in d.b]
    assert odi, diff_render.text(report)
    witness = odi[0].witnesses[0]
    assert (witness.a.determination, witness.b.determination) == ("approvable", "incomplete")
    assert witness.case["findings"]["sleep_disturbed"] is True
    assert [d for d in report.differences if "sleep" in d.a]
    assert report.not_tried == []
    written = diff_render.write_cases(report, tmp_path / "witnesses")
    verdicts = _checked(tmp_path, written)
    for name, _, found in diff_render.witnesses(report):
        assert verdicts[(name, "two_a")] == found.a.determination
        assert verdicts[(name, "two_b")] == found.b.determination
