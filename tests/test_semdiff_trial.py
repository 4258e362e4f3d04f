"""The author's diff trial (issue 24): AIM 2022 against a policy of the eviCore kind (the example
third policy, examples/third_policy, with its own record kind) and against an open-fusion
guideline of our own (tests/diff_trial, with its own findings). The diff must report every AIM
criterion the other policy does not ask, on a case the other approves; every exclusion only the
other has, one of them on an item of its vocabulary extension; and each service only one of
them addresses. Every witness is judged again by `sijfasp check` (a subprocess, the case read
with both policies' vocabularies) as the diff says.

Then the "not tried" reason: a criterion no case fails while the other criteria of its service
hold is reported with the criteria it fails only alongside, named by section and words (by id
in JSON).

One diff per pair, shared by the tests of the module (each takes about 35 s of CPU).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from support import POLICIES_DIR, REPO, run_cli, run_many

from sijfasp.authoring import diff_render, semdiff
from sijfasp.authoring.diff_judge import FailsWith, Judge
from sijfasp.authoring.diff_model import Difference, Report, deciding_level
from sijfasp.core.kinds import Determination
from sijfasp.policies.loading import load_policy

AIM = "aim_sijf_2022"
EVICORE_LIKE = "examplepayer_sijf_2026"
OPEN_LIKE = "openpayer_sijf_2026"
PERCUTANEOUS = "percutaneous_sij_fusion"
EXAMPLE = REPO / "examples" / "third_policy"
TRIAL = Path(__file__).resolve().parent / "diff_trial"

# AIM criteria the other policy asks too, or that never fail alone: no case the other approves
# fails them alone. Both others ask for a pain score of 5 or more; the episode's conservative
# course fails only when the 6 months of conservative management do (each course counted for
# the months must reach into the episode too).
SHARED = {
    EVICORE_LIKE: {"vas_at_least_5", "course_in_episode"},
    # The open-fusion policy asks for the same fixation device.
    OPEN_LIKE: {"vas_at_least_5", "course_in_episode", "structural_device"},
}


class Trial:
    """One diff of AIM against another policy, its witnesses written and checked."""

    def __init__(self, folder: Path, other: str):
        self.folder = folder
        self.other = other
        self.aim = load_policy(folder / f"{AIM}.sijp")
        self.loaded = load_policy(folder / f"{other}.sijp")
        self.report: Report = semdiff.semantic_diff(self.aim, self.loaded, with_impact=False)
        written = diff_render.write_cases(self.report, folder / "witnesses")
        done = run_cli("check", *written, "--policies", folder, "--format", "json", cwd=folder)
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        self.verdicts = {
            (case["case"], result["policy"]): result["determination"]
            for case in (data if isinstance(data, list) else [data])
            for result in case["results"]
        }

    def alone(self, side: str, node: str) -> list[Difference]:
        """The differences decided by `node` alone under one policy and by nothing under the
        other (approvable there, or an exclusion on one side only)."""
        mine, theirs = ("a", "b") if side == "a" else ("b", "a")
        return [
            d
            for d in self.report.differences
            if getattr(d, mine) == {node} and not getattr(d, theirs)
        ]


def _trial_folder(root: Path, other_files: list[Path]) -> Path:
    root.mkdir()
    for source in [POLICIES_DIR / "vocabulary.sijv", POLICIES_DIR / f"{AIM}.sijp", *other_files]:
        shutil.copy(source, root)
    return root


# One worker runs the module (--dist loadgroup), so each pair's diff is worked out once.
pytestmark = pytest.mark.xdist_group("diff_trial")


@pytest.fixture(scope="module")
def evicore_like(tmp_path_factory) -> Trial:
    files = [*EXAMPLE.glob("*.sijp"), *EXAMPLE.glob("*.sijv")]
    return Trial(_trial_folder(tmp_path_factory.mktemp("trial") / "evicore", files), EVICORE_LIKE)


@pytest.fixture(scope="module")
def open_like(tmp_path_factory) -> Trial:
    files = [*TRIAL.glob("*.sijp"), *TRIAL.glob("*.sijv")]
    return Trial(_trial_folder(tmp_path_factory.mktemp("trial") / "open", files), OPEN_LIKE)


@pytest.fixture(params=[EVICORE_LIKE, OPEN_LIKE])
def trial(request) -> Trial:
    return request.getfixturevalue("evicore_like" if request.param == EVICORE_LIKE else "open_like")


# ------------------------------------------------------------------ the trial
@pytest.mark.slow  # fmt and lint (with its proofs) through the command line
def test_the_open_fusion_policy_is_formatted_and_lints_clean() -> None:
    files = sorted(TRIAL.glob("*.sij?"))
    runs = run_many([("fmt", "--check", *files), ("lint", TRIAL / f"{OPEN_LIKE}.sijp")])
    fmt, lint = runs.values()
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    assert lint.returncode == 0 and "no errors, no warnings" in lint.stdout, lint.stdout


@pytest.mark.slow
@pytest.mark.exhaustive
def test_every_aim_only_criterion_is_reported_on_a_case_the_other_approves(trial) -> None:
    aim_criteria = [
        d.id for d in deciding_level(trial.aim, PERCUTANEOUS) if d.status == "criterion"
    ]
    assert SHARED[trial.other] < set(aim_criteria)
    missed = []
    for node in aim_criteria:
        if node in SHARED[trial.other]:
            continue
        found = [
            w
            for d in trial.alone("a", node)
            for w in d.witnesses
            if w.b.determination == Determination.APPROVABLE
        ]
        if not found:
            missed.append(node)
            continue
        assert found[0].a.determination in (Determination.INCOMPLETE, Determination.NOT_MET)
    assert missed == [], diff_render.text(trial.report)


@pytest.mark.slow
@pytest.mark.exhaustive
def test_every_aim_only_exclusion_is_reported(trial) -> None:
    for node in trial.aim.compiled.exclusions[PERCUTANEOUS]:
        found = [w for d in trial.report.differences if node in d.a for w in d.witnesses]
        assert found, node
        assert found[0].a.determination == Determination.EXCLUDED


@pytest.mark.slow
@pytest.mark.exhaustive
def test_the_other_policys_own_criteria_and_exclusions_are_reported(evicore_like) -> None:
    # Blocks 14 days apart after conservative therapy, and the latest cotinine test of the
    # extension's record kind: each fails alone on a case AIM approves.
    for node in ("blocks_apart", "nicotine_free"):
        (difference,) = evicore_like.alone("b", node)
        witness = difference.witnesses[0]
        assert (witness.a.determination, witness.b.determination) == (
            "approvable",
            "incomplete",
        )
    lab = evicore_like.alone("b", "nicotine_free")[0].witnesses[0]
    assert "lab" not in lab.case.get("records", {})  # no cotinine test: AIM never asks for one
    # CPT 27278: excluded by the example policy, a code AIM does not address.
    (code,) = [d for d in evicore_like.report.differences if "intra_articular_only" in d.b]
    witness = code.witnesses[0]
    assert str(witness.case["request"]["cpt_code"]) == "27278"
    assert (witness.a.determination, witness.b.determination) == ("not_applicable", "excluded")


@pytest.mark.slow
@pytest.mark.exhaustive
def test_an_exclusion_on_an_extension_item_only_the_other_has(open_like) -> None:
    (difference,) = open_like.alone("b", "poor_bone_stock")
    witness = difference.witnesses[0]
    assert (witness.a.determination, witness.b.determination) == ("approvable", "excluded")
    assert witness.case["findings"]["severe_osteoporosis"] is True  # the extension's finding


@pytest.mark.slow
@pytest.mark.exhaustive
def test_each_service_only_one_policy_addresses(evicore_like, open_like) -> None:
    def service(trial: Trial, name: str) -> tuple[str, str]:
        (difference,) = [d for d in trial.report.differences if d.service == name]
        witness = difference.witnesses[0]
        assert witness.case["request"]["service"] == name
        return witness.a.determination.value, witness.b.determination.value

    assert service(open_like, "open_sij_fusion") == ("not_applicable", "approvable")
    for trial in (evicore_like, open_like):
        assert service(trial, "revision_sij_fusion") == ("approvable", "not_applicable")
    # Neither AIM nor the example policy addresses open fusion: nothing to compare.
    assert "open_sij_fusion" not in evicore_like.report.services


@pytest.mark.slow
@pytest.mark.exhaustive
def test_check_judges_every_witness_as_the_diff_says(trial) -> None:
    witnesses = diff_render.witnesses(trial.report)
    assert witnesses
    for name, _, witness in witnesses:
        under_aim = trial.verdicts[(name, AIM)]
        under_other = trial.verdicts[(name, trial.other)]
        assert (under_aim, under_other) == (witness.a.determination, witness.b.determination)
        assert under_aim != under_other, name


@pytest.mark.slow
@pytest.mark.exhaustive
def test_every_criterion_of_both_was_tried(trial) -> None:
    assert trial.report.not_tried == [], diff_render.text(trial.report)
    assert trial.report.unwritten == ()


# ------------------------------------------------------------------ "not tried" names the cause
PLANTED = """\
import "vocabulary.sijv"

policy {id} {{
  payer     "Example Payer"
  title     "Pain"
  document  "Guideline"
  effective 2026-01-01
  cite      "{cite}"
}}

service percutaneous_sij_fusion [1] "SIJ fusion"

criteria for percutaneous_sij_fusion {{
{criteria}
}}
"""

# A asks for a pain score of exactly 4; B reads the same finding twice, at 3 and at 5: B's
# `mild` fails only where its `pain` fails too, and every case A approves meets `mild`, so no
# case the search builds is decided by `mild`.
PAIR = {
    "exact_a": ("EXA", '  exact [2] "Pain of exactly 4": vas_score = 4'),
    "twice_b": (
        "TWO",
        '  mild [2] "Pain of at least 3": vas_score >= 3\n'
        '  pain [3] "Pain of at least 5": vas_score >= 5',
    ),
}


def _planted(folder: Path, policies: dict[str, tuple[str, str]]) -> None:
    folder.mkdir(exist_ok=True)
    shutil.copy(POLICIES_DIR / "vocabulary.sijv", folder)
    for policy_id, (cite, criteria) in policies.items():
        text = PLANTED.format(id=policy_id, cite=cite, criteria=criteria)
        (folder / f"{policy_id}.sijp").write_text(text, encoding="utf-8")


@pytest.mark.slow  # three diffs through the command line
def test_a_criterion_failing_only_alongside_another_names_it(tmp_path: Path) -> None:
    _planted(tmp_path, PAIR)
    runs = run_many(
        [
            ("diff", "exact_a.sijp", "twice_b.sijp", "--format", form)
            for form in ("text", "json", "markdown")
        ],
        cwd=tmp_path,
    )
    text, data, markdown = (
        runs[("diff", "exact_a.sijp", "twice_b.sijp", "--format", form)]
        for form in ("text", "json", "markdown")
    )
    for run in (text, data, markdown):
        assert run.returncode == 1, run.stderr
    cause = "no case fails it while the service's other criteria hold: it fails only alongside "
    named = cause + "TWO 3 (Pain of at least 5)"
    assert "not tried (1):" in text.stdout
    (line,) = [x for x in text.stdout.splitlines() if "TWO 2" in x and "not met" not in x]
    assert line.endswith("criterion TWO 2 mild: Pain of at least 3: " + named)
    assert "Not tried:" in markdown.stdout and named in markdown.stdout
    (untried,) = json.loads(data.stdout)["not_tried"]
    assert (untried["policy"], untried["id"], untried["why"]) == ("b", "mild", named)
    assert untried["fails_only_with"] == ["pain"] and untried["fails_only_with_all"] is False


@pytest.mark.slow  # grounds the policy for the search
def test_a_criterion_two_others_imply_names_both_as_failing_together(tmp_path: Path) -> None:
    _planted(
        tmp_path,
        {
            "together": (
                "TOG",
                '  either [2] "ODI of 30, or pain of 5": any of {\n'
                "    odi_score >= 30\n"
                "    vas_score >= 5\n"
                "  }\n"
                '  odi [3] "ODI of 30 or more": odi_score >= 30\n'
                '  pain [4] "Pain of 5 or more": vas_score >= 5',
            )
        },
    )
    judge = Judge(load_policy(tmp_path / "together.sijp"))
    base = {"id": "w", "request": {"service": PERCUTANEOUS, "date": dt.date(2026, 1, 1)}}
    criteria = ["either", "odi", "pain"]
    cases = judge.failing(base, criteria, criteria, explain={"either"})
    # `odi` and `pain` each fail alone; `either` fails only when both do.
    assert [c["findings"] for c in cases] == [{"vas_score": 5}, {"odi_score": 30}]
    assert judge.fails_with == {"either": FailsWith(("odi", "pain"), together=True)}
    words = semdiff.fails_with_words(
        [d for d in deciding_level(judge.loaded, PERCUTANEOUS) if d.id in ("odi", "pain")], True
    )
    assert words == (
        "it fails only alongside TOG 3 (ODI of 30 or more) and TOG 4 (Pain of 5 or more)"
    )


def test_a_witness_writes_a_date_used_twice_in_full() -> None:
    """A case file refuses YAML aliases, which PyYAML writes for one date object used twice
    (the latest result of a kind is written on the request date)."""
    day = dt.date(2026, 1, 1)
    case = {"id": "w", "request": {"service": PERCUTANEOUS, "date": day}}
    case["records"] = {"lab": [{"date": day, "test": "cotinine", "result": "negative"}]}
    text = diff_render.case_yaml(diff_render.witness_case(case, "w"))
    assert "&" not in text and "*" not in text
    assert text.count("2026-01-01") == 2
