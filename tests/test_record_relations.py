"""Relations between records: dates spaced apart (`at least K separate dates of SET, at least G
days apart`) and order against another record set (`date after SET`, `date before SET`).

Each test policy is written in a temporary folder beside a copy of the bundled vocabulary.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sijfasp import solver
from sijfasp.api import Options, evaluate
from sijfasp.case import validate_case
from sijfasp.case_facts import case_symbols
from sijfasp.diagnostics import SijfaspError
from sijfasp.formatter import format_text
from sijfasp.kinds import Determination, Status
from sijfasp.policies import LoadedPolicy, load_policy
from sijfasp.results import NodeResult, PolicyResult
from sijfasp.witness import Writer

REPO = Path(__file__).resolve().parent.parent
VOCABULARY = REPO / "policies_asp" / "vocabulary.sijv"
REQUEST = {"service": "percutaneous_sij_fusion", "date": "2026-06-01"}

HEADER = """import "vocabulary.sijv"

policy relations_demo {
  payer     "Example payer"
  title     "Relations demo"
  document  "Demo policy"
  effective 2026-01-01
  cite      "DEMO"
}

service percutaneous_sij_fusion [1] "Percutaneous fusion"
"""

SPACED = (
    HEADER
    + """
records diagnostic_blocks [2] "Diagnostic SIJ blocks with at least 75% relief":
  injection where purpose is diagnostic with relief_percent >= 75

criteria for percutaneous_sij_fusion {
  blocks_apart [2] "Two diagnostic blocks at least 14 days apart":
    at least 2 separate dates of diagnostic_blocks, at least 14 days apart
}
"""
)


def write_policy(folder: Path, text: str, name: str = "demo.sijp") -> Path:
    shutil.copy(VOCABULARY, folder / "vocabulary.sijv")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def spaced(tmp_path_factory) -> LoadedPolicy:
    return load_policy(write_policy(tmp_path_factory.mktemp("spaced"), SPACED))


def injection(date: str, relief: int | None = 80, purpose: str = "diagnostic") -> dict:
    record = {
        "date": date,
        "purpose": purpose,
        "site": "sij_intra_articular",
        "image_guided": True,
        "contrast_enhanced": True,
        "agent": "local_anesthetic",
    }
    if relief is not None:
        record["relief_percent"] = relief
    return record


def case_with(injections: list[dict] = (), therapies: list[dict] = ()) -> dict:
    records: dict = {}
    if injections:
        records["injection"] = list(injections)
    if therapies:
        records["therapy"] = list(therapies)
    return {"id": "relations", "request": dict(REQUEST), "records": records}


def judge(loaded: LoadedPolicy, case: dict) -> PolicyResult:
    checked = validate_case(case, loaded.policy.vocabulary, "<test case>")
    return evaluate(loaded, checked, Options(enumerate=10))


def node(result: PolicyResult, node_id: str) -> NodeResult:
    stack = list(result.criteria)
    while stack:
        current = stack.pop()
        if current.id == node_id:
            return current
        stack.extend(current.children)
    raise KeyError(node_id)


def item_keys(result: PolicyResult) -> list[set[str]]:
    return [{item.key for item in items} for items in result.missing]


# ------------------------------------------------------------------ spacing
def test_two_blocks_far_enough_apart_are_met_and_the_dates_counted_are_named(spaced):
    result = judge(spaced, case_with([injection("2026-03-01"), injection("2026-03-15")]))
    assert result.determination == Determination.APPROVABLE
    evidence = node(result, "blocks_apart").evidence
    assert evidence[0] == "2 of 2 separate dates at least 14 days apart: 2026-03-01, 2026-03-15"


def test_the_longest_chain_is_counted_not_the_first_pair(spaced):
    # 03-01, 03-10 (too close to 03-01), 03-16 (14 days after 03-01): 03-01 and 03-16 count.
    dates = ["2026-03-10", "2026-03-01", "2026-03-16"]
    result = judge(spaced, case_with([injection(d) for d in dates]))
    assert result.determination == Determination.APPROVABLE
    assert "2026-03-01, 2026-03-16" in node(result, "blocks_apart").evidence[0]


def test_blocks_too_close_are_not_documented_and_the_close_dates_are_quoted(spaced):
    result = judge(spaced, case_with([injection("2026-03-01"), injection("2026-03-08")]))
    assert result.determination == Determination.INCOMPLETE
    leaf = node(result, "blocks_apart")
    assert leaf.status == Status.NOT_DOCUMENTED
    assert "1 of 2 separate dates at least 14 days apart: 2026-03-01" in leaf.evidence
    assert "too close: 2026-03-01 and 2026-03-08 are 7 days apart, need 14" in leaf.evidence
    # The minimal set: one more block, on a date far enough from the others.
    assert item_keys(result) == [{"more(diagnostic_blocks,1)"}]
    (item,) = result.missing[0]
    assert "at least 14 days from the other dates counted" in item.need


def test_a_case_lacking_one_block_is_approvable_once_its_minimal_set_is_applied(spaced):
    case = case_with([injection("2026-05-20"), injection("2026-05-25")])
    result = judge(spaced, case)
    assert result.determination == Determination.INCOMPLETE
    writer = Writer(spaced.compiled, spaced.policy.vocabulary)
    completed = writer.apply(case, [item.key for item in result.missing[0]])
    added = completed["records"]["injection"][-1]["date"]
    assert all(abs((added - dt.date(2026, 5, d)).days) >= 14 for d in (20, 25))
    assert judge(spaced, completed).determination == Determination.APPROVABLE


def test_a_failed_block_closes_the_count_and_too_close_dates_are_quoted(spaced):
    # One good block, one too close to it, and a block far enough away that failed (50%):
    # the documented attempts cannot reach two spaced dates.
    case = case_with(
        [injection("2026-03-01"), injection("2026-03-05"), injection("2026-04-01", relief=50)]
    )
    result = judge(spaced, case)
    assert result.determination == Determination.NOT_MET
    leaf = node(result, "blocks_apart")
    assert leaf.status == Status.NOT_MET
    (reason,) = result.reasons
    assert "2026-03-01 and 2026-03-05 are 4 days apart, need 14" in reason
    assert "attempt without the required outcome: injection 2026-04-01" in reason


def test_a_failed_block_with_an_open_attempt_far_enough_stays_not_documented(spaced):
    # The block of 04-01 has no relief documented yet: it could still make the second date.
    case = case_with(
        [injection("2026-03-01"), injection("2026-03-05", relief=50), injection("2026-04-01", None)]
    )
    result = judge(spaced, case)
    assert result.determination == Determination.INCOMPLETE
    assert {"fill(r(injection,2),relief_percent,7500)"} in item_keys(result)


def test_the_spacing_is_written_and_formatted_back_unchanged(spaced):
    text = SPACED.replace("diagnostic_blocks, at least", "diagnostic_blocks ,at  least")
    assert format_text(text) == SPACED
    assert format_text(SPACED) == SPACED


def test_a_count_that_follows_a_spaced_count_is_read_as_a_member(tmp_path):
    text = SPACED.replace(
        "    at least 2 separate dates of diagnostic_blocks, at least 14 days apart\n",
        "    all of {\n"
        "      at least 2 separate dates of diagnostic_blocks, at least 14 days apart\n"
        "      at least 1 injection where purpose is therapeutic\n"
        "    }\n",
    )
    loaded = load_policy(write_policy(tmp_path, text))
    assert len(loaded.compiled.nodes["blocks_apart"].children) == 2


@pytest.mark.parametrize(
    ("count", "message"),
    [
        (
            "at least 2 separate dates of therapy, at least 14 days apart",
            "dates are spaced over records with a date; 'therapy' has none",
        ),
        (
            "at least 2 separate dates of diagnostic_blocks, at least 0 days apart",
            "a spacing runs from 1 to",
        ),
    ],
)
def test_a_spacing_that_cannot_be_read_is_refused(tmp_path, count, message):
    text = SPACED.replace(
        "at least 2 separate dates of diagnostic_blocks, at least 14 days apart", count
    )
    with pytest.raises(SijfaspError) as caught:
        load_policy(write_policy(tmp_path, text))
    assert message in str(caught.value)


@pytest.mark.slow
def test_lint_and_diff_accept_a_spaced_count(tmp_path):
    old = write_policy(tmp_path, SPACED.replace(", at least 14 days apart", ""), "old.sijp")
    new = write_policy(tmp_path, SPACED, "new.sijp")
    lint = subprocess.run(
        [sys.executable, "-m", "sijfasp", "lint", str(new)], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "no errors, no warnings" in lint.stdout
    diff = subprocess.run(
        [sys.executable, "-m", "sijfasp", "diff", str(old), str(new)],
        capture_output=True,
        text=True,
    )
    assert diff.returncode in (0, 1), diff.stdout + diff.stderr
    assert "Traceback" not in diff.stderr


def long_chart(count: int, step: int) -> list[dict]:
    first = dt.date(2026, 5, 31) - dt.timedelta(days=step * (count - 1))
    return [
        injection(str(first + dt.timedelta(days=step * i)), relief=80 if i % 2 else 50)
        for i in range(count)
    ]


def decide(loaded: LoadedPolicy, case: dict) -> tuple[Determination, float]:
    """The determination alone, and the seconds the solver took to reach it (case facts built
    beforehand)."""
    facts = case_symbols(validate_case(case, loaded.policy.vocabulary, "<test case>"))
    started = time.perf_counter()
    snapshot = solver.determine(loaded.compiled, facts)
    return snapshot.determination, time.perf_counter() - started


def ground_rules(loaded: LoadedPolicy, case: dict) -> int:
    facts = case_symbols(validate_case(case, loaded.policy.vocabulary, "<test case>"))
    control = solver._control([], loaded.compiled, facts)
    control.ground([("base", []), ("decide", [])])
    control.solve()
    return int(control.statistics["problem"]["lp"]["rules"])


@pytest.mark.slow
def test_a_chart_of_two_thousand_blocks_is_decided_well_under_a_second(spaced):
    decide(spaced, case_with(long_chart(20, 1)))  # the encodings read once
    determination, seconds = decide(spaced, case_with(long_chart(2000, 1)))
    assert determination == Determination.APPROVABLE
    assert seconds < 0.8, seconds


@pytest.mark.slow
def test_the_spaced_count_grows_linearly_with_the_chart(spaced):
    # Twice the records, about twice the ground program: no rule pairs the dates.
    small = ground_rules(spaced, case_with(long_chart(500, 3)))
    large = ground_rules(spaced, case_with(long_chart(1000, 3)))
    assert large < 2.2 * small, (small, large)
