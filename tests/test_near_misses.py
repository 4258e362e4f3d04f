"""Near misses (`near_miss/3`, explain only) agree with a reference encoding of them.

`policy.lp` counts, per record and filter, the conditions a record holds and names the misses
of a near record only. The reference below is the plainer formulation it replaced: an atom per
failed condition of every record, counted per record. Both run on a policy whose filters have
3 to 6 conditions, order conditions (`after`, `before`), `covers` and `matches` on the request's
side, list members, windows in days and months, outcomes and `latest of`, over seeded random
cases; the near_miss atoms of their determination models must be the same.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
from pathlib import Path

import pytest
import support

from sijfasp.cases.case import validate_case
from sijfasp.core.kinds import Operator
from sijfasp.language.compiler import (
    CmpCondition,
    InCondition,
    MatchesCondition,
    WithinMonthsCondition,
)
from sijfasp.policies.loading import load_policy
from sijfasp.results.near_misses import Miss, only_date_or_side, why_sentence
from sijfasp.solve import solver
from sijfasp.solve.atoms import NearMiss
from sijfasp.solve.case_facts import case_symbols

POLICY = """import "vocabulary.sijv"

policy near_test {
  payer     "Test"
  title     "Near misses"
  document  "Test"
  effective 2000-01-01
  cite      "NT"
}

service percutaneous_sij_fusion [1] "Fusion"

records therapy_set [2] "Therapy":
  therapy where kind in {physical_therapy, home_exercise_program} and start within last 12 months
    and patient_specific is true
  or therapy where kind is chiropractic

records inj3 [3] "Three conditions and an order":
  injection where purpose is diagnostic and image_guided is true and date after therapy_set

records inj4 [4] "Four or five conditions":
  injection where purpose is diagnostic and side covers request.side and relief_percent >= 75
    and date within last 6 months
  or injection where purpose is therapeutic and agent is corticosteroid and date before therapy_set
    and site is sij_intra_articular

records img5 [5] "Five conditions":
  imaging where modality in {ct, mri} and region is sij and findings has localized_sij_pathology
    and side matches request.side and date within last 24 months

records img6 [6] "Six conditions":
  imaging where modality is ct and region is sij and findings has sij_injury_or_degeneration
    and side covers request.side and date within last 3 months and date after therapy_set
  or imaging where modality in {ct, mri} and region is sij and findings has localized_sij_pathology
    and side matches request.side and date within last 24 months and date before therapy_set

records blocks [7] "Blocks with an outcome":
  injection where purpose is diagnostic and site is sij_intra_articular and date within last 9 months
  with relief_percent >= 75

criteria for percutaneous_sij_fusion {
  c3 [3] "inj3": at least 2 inj3
  c4 [4] "inj4": at least 1 inj4
  c5 [5] "img5": at least 2 separate dates of img5
  c6 [6] "img6": at least 1 img6
  c7 [7] "blocks": at least 1 blocks
  c8 [8] "days": at least 60 days of therapy_set within last 7 months
  c9 [9] "spaced": at least 2 separate dates of inj4, at least 14 days apart
  c10 [10] "latest": latest of blocks
}
"""

# The near-miss rules of policy.lp, and the formulation they are checked against.
CURRENT_START = "near_filter(Fl, All) :- "
CURRENT_END = (
    "near(Fl, R, I) :- near_record(Fl, R), order_cond(Fl, I), not ord_holds(doc, Fl, I, R).\n"
)
REFERENCE = """
near_filter(Fl) :- filter(_, Fl, _), #count{ J : condition(Fl, J, _) } >= 3.
cond_missed(Fl, I, R) :- test_of(Fl, I, T), near_filter(Fl), applies(Fl, R),
                         not tholds(doc, T, R).
cond_missed(Fl, I, R) :- order_cond(Fl, I), near_filter(Fl), applies(Fl, R),
                         not ord_holds(doc, Fl, I, R).
near(Fl, R, I) :- cond_missed(Fl, I, R), filter(S, Fl, _), not in_set(doc, S, R),
                  Missed = #count{ J : cond_missed(Fl, J, R) }, Missed <= 2,
                  All = #count{ J : condition(Fl, J, _) }, 2 * Missed < All.
"""
REQUEST = dt.date(2026, 7, 15)
CASES = 80


def _reference_encoding() -> str:
    text = solver._encoding_text()
    start = text.index(CURRENT_START)
    end = text.index(CURRENT_END) + len(CURRENT_END)
    return text[:start] + REFERENCE + text[end:]


def _day(rng: random.Random, low: int, high: int) -> str:
    return (REQUEST - dt.timedelta(days=rng.randint(low, high))).isoformat()


def _case(rng: random.Random) -> dict:
    request = {"service": "percutaneous_sij_fusion", "date": REQUEST.isoformat()}
    if rng.random() < 0.8:
        request["side"] = rng.choice(["left", "right", "bilateral"])
    therapy = []
    for _ in range(rng.randint(0, 4)):
        kind = rng.choice(["physical_therapy", "home_exercise_program", "chiropractic"])
        record = {"kind": kind, "start": _day(rng, 10, 500)}
        if rng.random() < 0.5:
            start = dt.date.fromisoformat(record["start"])
            record["end"] = (start + dt.timedelta(days=rng.randint(0, 120))).isoformat()
        if kind == "home_exercise_program" and rng.random() < 0.6:
            record["patient_specific"] = rng.random() < 0.6
        therapy.append(record)
    injections = []
    for _ in range(rng.randint(0, 6)):
        record = {
            "date": _day(rng, 0, 400),
            "purpose": rng.choice(["diagnostic", "therapeutic"]),
            "site": rng.choice(["sij_intra_articular", "other"]),
            "image_guided": rng.random() < 0.6,
            "contrast_enhanced": rng.random() < 0.5,
            "agent": rng.choice(
                ["local_anesthetic", "corticosteroid", "corticosteroid_and_anesthetic"]
            ),
        }
        if rng.random() < 0.75:
            record["side"] = rng.choice(["left", "right", "bilateral"])
        if rng.random() < 0.75:
            record["relief_percent"] = rng.choice([10, 50, 74, 75, 90])
        injections.append(record)
    imaging = []
    for _ in range(rng.randint(0, 6)):
        findings = ["localized_sij_pathology", "sij_injury_or_degeneration"]
        record = {
            "date": _day(rng, 0, 1000),
            "modality": rng.choice(["xray", "ct", "mri"]),
            "region": rng.choice(["sij", "pelvis"]),
            "findings": rng.sample(findings, rng.randint(0, 2)),
        }
        if rng.random() < 0.75:
            record["side"] = rng.choice(["left", "right", "bilateral"])
        imaging.append(record)
    records = {"therapy": therapy, "injection": injections, "imaging": imaging}
    return {"request": request, "findings": {}, "records": records}


def _near_misses(compiled, facts) -> frozenset[NearMiss]:
    atoms = solver.determine(compiled, facts).atoms
    return frozenset(a for a in atoms if isinstance(a, NearMiss))


@pytest.fixture
def fresh_encoding(monkeypatch):
    """Clear the solver's per-process caches of the encoding before and after."""
    caches = (solver.encoding_for, solver._statements)
    for cache in caches:
        cache.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    for cache in caches:
        cache.cache_clear()


@pytest.mark.slow
@pytest.mark.parametrize("count", [CASES // 4, pytest.param(CASES, marks=pytest.mark.exhaustive)])
def test_near_misses_agree_with_the_reference_formulation(
    tmp_path: Path, fresh_encoding, count: int
):
    folder = tmp_path / "policies_asp"
    folder.mkdir()
    shutil.copy(support.REPO_ROOT / "policies_asp" / "vocabulary.sijv", folder)
    (folder / "near_test.sijp").write_text(POLICY, encoding="utf-8")
    loaded = load_policy(folder / "near_test.sijp")
    rng = random.Random(11)
    cases = [validate_case(_case(rng), loaded.policy.vocabulary, f"case {n}") for n in range(count)]
    facts = [case_symbols(case) for case in cases]
    current = [_near_misses(loaded.compiled, f) for f in facts]
    reference_text = _reference_encoding()
    fresh_encoding.setattr(solver, "_encoding_text", lambda: reference_text)
    solver.encoding_for.cache_clear()
    reference = [_near_misses(loaded.compiled, f) for f in facts]
    assert current == reference
    found = [m for misses in current for m in misses]
    # The comparison means something: near misses of every set, order conditions among them.
    assert {m.set_id for m in found} >= {"inj3", "inj4", "img5", "img6", "blocks"}
    assert "date" in {m.field for m in found if m.set_id in ("inj3", "img6")}
    assert len(found) * CASES > 200 * count  # as many near misses a case as ever


# ------------------------------------------------------------------ how near a record is
DATE = WithinMonthsCondition("within_months", "date", 6)
SIDE = MatchesCondition("covers", "side", "request.side")
SIDES_IN = InCondition("in", "side", frozenset({"left", "bilateral"}))
RELIEF = CmpCondition("cmp", "relief_percent", Operator.GE, 75)


@pytest.mark.parametrize(
    "misses, expected",
    [
        ([Miss(DATE, "more than 6 months before the request")], True),
        ([Miss(SIDE, "right joint, needs the left joint or both joints")], True),
        (
            [Miss(SIDES_IN, "right joint, needs the left joint or both joints"), Miss(DATE, "")],
            True,
        ),
        ([Miss(DATE, ""), Miss(RELIEF, "relief 60%, needs 75% or more")], False),
        ([Miss(SIDE, "side not documented", documented=False)], False),  # asked for, not failed
        ([Miss(None, "side does not qualify")], False),
        ([], False),
    ],
    ids=[
        "date",
        "covers",
        "side in and date",
        "date and relief",
        "undocumented",
        "unworded",
        "none",
    ],
)
def test_a_record_fails_only_by_its_date_or_side(misses, expected):
    assert only_date_or_side(misses) is expected


@pytest.mark.parametrize(
    "why, expected",
    [
        (
            "ended on 2023-04-01, before the current pain began around 2025-11-15",
            "the physical therapy starting 2022-09-01 ended on 2023-04-01, before the current "
            "pain began around 2025-11-15",
        ),
        (
            "more than 6 months before the request",
            "the physical therapy starting 2022-09-01 is more than 6 months before the request",
        ),
        (
            "right joint, needs the left joint or both joints",
            "the physical therapy starting 2022-09-01 does not count: right joint, needs the left "
            "joint or both joints",
        ),
    ],
)
def test_why_a_record_does_not_count_is_one_sentence(why, expected):
    assert why_sentence("the physical therapy starting 2022-09-01", why) == expected


SIDE_POLICY = """import "vocabulary.sijv"

policy side_test {
  payer     "Test"
  title     "Outcomes on side and date"
  document  "Test"
  effective 2000-01-01
  cite      "ST"
}

service percutaneous_sij_fusion [1] "Fusion"

records blocks_side [2] "Blocks of the joint to be fused":
  injection where purpose is diagnostic and site is sij_intra_articular
  with side covers request.side

records blocks_recent [3] "Recent blocks":
  injection where purpose is diagnostic and site is sij_intra_articular
  with date within last 3 months

records blocks_relief [4] "Blocks with relief":
  injection where purpose is diagnostic and site is sij_intra_articular
  with relief_percent >= 90

criteria for percutaneous_sij_fusion {
  c2 [2] "blocks of the side": at least 1 blocks_side
  c3 [3] "latest recent": latest of blocks_recent
  c4 [4] "blocks with relief": at least 1 blocks_relief
}
"""
SIDE_CASE = """request: {service: percutaneous_sij_fusion, date: 2026-07-15, side: left}
records:
  injection:
    - {date: 2026-01-10, purpose: diagnostic, site: sij_intra_articular, side: right,
       relief_percent: 80, image_guided: true, contrast_enhanced: true, agent: local_anesthetic}
"""


@pytest.mark.slow  # the command line in a subprocess, about a second and a half
def test_an_attempt_failing_only_by_its_side_or_date_says_why(tmp_path: Path):
    """An outcome on the side or the date is not an outcome the attempt failed to show: the
    explanation says why it does not count; an outcome on the relief still reads as one."""
    folder = tmp_path / "policies"
    folder.mkdir()
    shutil.copy(support.REPO_ROOT / "policies_asp" / "vocabulary.sijv", folder)
    (folder / "side_test.sijp").write_text(SIDE_POLICY, encoding="utf-8")
    case = tmp_path / "case.yaml"
    case.write_text(SIDE_CASE, encoding="utf-8")
    result = support.run_cli("--policies", folder, "explain", case, "--policy", "side_test")
    assert result.returncode == 0, result.stderr
    flat = " ".join(result.stdout.split())
    assert (
        "the diagnostic injection of 2026-01-10 does not count: right joint, needs the left "
        "joint or both joints" in flat
    ), result.stdout
    assert (
        "latest: the diagnostic injection of 2026-01-10 is more than 3 months before the request"
        in flat
    ), result.stdout
    assert (
        "the diagnostic injection of 2026-01-10 did not show the outcome needed (relief 80%, "
        "needs 90% or more)" in flat
    ), result.stdout
    assert flat.count("did not show the outcome needed") == 2  # the criterion and its reason
