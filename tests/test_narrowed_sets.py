"""A named record set narrowed where it is used (`at least 1 recent_imaging where findings has
destructive_lesion_excluded`): the union is written once, and the narrowing reads as the set's
own filters with the condition added (semantics.narrow_record_sets)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from support import POLICIES_DIR

from sijfasp.api import evaluate
from sijfasp.cases.case import validate_case
from sijfasp.core.diagnostics import SijfaspError
from sijfasp.policies.loading import load_policy

POLICY = """\
import "vocabulary.sijv"

policy narrow_2026 {
  payer     "Example Payer"
  title     "Narrowed sets"
  document  "Guideline"
  effective 2026-01-01
  cite      "NAR"
}

service percutaneous_sij_fusion [1] "SIJ fusion"

records recent_imaging [2] "CT or MRI of the joint, or a pelvis film, in the last year":
  imaging where modality in {ct, mri} and region is sij and date within last 365 days
  or imaging where modality is xray and region is pelvis and date within last 365 days

criteria for percutaneous_sij_fusion {
  lesions_excluded [2.a] "Recent imaging ruling out a destructive lesion":
    at least 1 recent_imaging where findings has destructive_lesion_excluded
  {extra}
}
"""


def _load(tmp_path, extra: str = ""):
    shutil.copy(POLICIES_DIR / "vocabulary.sijv", tmp_path)
    path = tmp_path / "narrow_2026.sijp"
    path.write_text(POLICY.replace("{extra}", extra), encoding="utf-8")
    return load_policy(path)


def _case(*imaging: dict) -> dict:
    return {
        "request": {"service": "percutaneous_sij_fusion", "date": dt.date(2026, 7, 15)},
        "records": {"imaging": list(imaging)},
    }


def _study(modality: str, region: str, date: str, findings: list[str]) -> dict:
    return {"date": date, "modality": modality, "region": region, "findings": findings}


def test_the_narrowing_keeps_each_filter_of_the_set_and_adds_its_condition(tmp_path):
    loaded = _load(tmp_path)
    info = loaded.compiled.record_sets
    # The criterion's set: both filters of recent_imaging, each with the finding added.
    narrowed = [i for i in info.values() if i.id != "recent_imaging" and len(i.filters) == 2]
    assert narrowed, info
    assert all(
        len(f) == len(g) + 1 for f, g in zip(narrowed[0].filters, info["recent_imaging"].filters)
    )
    # The set is used: no 'unused' warning.
    assert not [w for w in loaded.policy.warnings if w.code == "unused"]


@pytest.mark.parametrize(
    ("imaging", "expected"),
    [
        ([_study("ct", "sij", "2026-03-01", ["destructive_lesion_excluded"])], "met"),
        ([_study("xray", "pelvis", "2026-03-01", ["destructive_lesion_excluded"])], "met"),
        # In the set but without the finding, or with it but outside the set: not counted.
        ([_study("ct", "sij", "2026-03-01", ["hip_pathology_excluded"])], "not_documented"),
        ([_study("xray", "sij", "2026-03-01", ["destructive_lesion_excluded"])], "not_documented"),
        ([_study("ct", "sij", "2025-01-01", ["destructive_lesion_excluded"])], "not_documented"),
    ],
)
def test_a_record_counts_when_it_is_in_the_set_and_meets_the_narrowing(tmp_path, imaging, expected):
    loaded = _load(tmp_path)
    case = validate_case(_case(*imaging), loaded.policy.vocabulary)
    result = evaluate(loaded, case)
    (node,) = [n for n in result.criteria if n.id == "lesions_excluded"]
    assert node.status == expected


def test_a_narrowing_condition_the_set_kind_lacks_is_one_error(tmp_path):
    with pytest.raises(SijfaspError) as caught:
        _load(tmp_path, 'other [3] "Other": at least 1 recent_imaging where relief_percent >= 50')
    errors = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert len(errors) == 1, errors  # checked against each filter, said once
    assert "relief_percent" in errors[0].message and errors[0].span.line == 20


def test_an_unknown_set_name_is_named_with_the_closest_set(tmp_path):
    with pytest.raises(SijfaspError) as caught:
        _load(tmp_path, 'other [3] "Other": at least 1 recent_imagin where region is sij')
    (error,) = caught.value.diagnostics
    assert "neither a record kind nor a defined set" in error.message
    assert error.hint == "did you mean 'recent_imaging'?"
