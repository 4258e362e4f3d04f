"""`latest of SET`: the most recent attempt of a set decides (the latest cotinine test)."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import pytest
from support import VOCABULARY

from sijfasp.api import evaluate
from sijfasp.authoring.semdiff import semantic_diff
from sijfasp.cases.case import validate_case
from sijfasp.cli.main import main
from sijfasp.core.diagnostics import SijfaspError
from sijfasp.language.formatter import format_text
from sijfasp.policies.loading import load_policy
from sijfasp.results.results import PolicyResult

# A lab record kind, in an extension of the test's own: neither bundled policy reads a lab.
LAB_EXTRA = """\
vocabulary lab_extra "A laboratory result, for a policy that reads one"

record lab {
  means "A laboratory test"
  ask "Document the laboratory test: date, test and result"
  cost 10
  field date: date { required means "Day the sample was taken" }
  field test: choice {cotinine, hba1c} { required means "The test done" }
  field result: choice {positive, negative} {
    means "The result of the test"
    ask "Document the result of the test (positive or negative)"
  }
}
"""

POLICY = """\
import "vocabulary.sijv"
import "lab_extra.sijv"

policy latest_demo {
  payer     "Example payer"
  title     "Latest result"
  document  "Demo policy"
  effective 2026-01-01
  cite      "DEMO"
}

service percutaneous_sij_fusion [1] "Percutaneous fusion"

records negative_cotinine [2] "Cotinine test with a negative result":
  lab where test is cotinine
  with result is negative

criteria for percutaneous_sij_fusion {
  nicotine_free [2] "The latest cotinine test is negative": latest of negative_cotinine
}
"""

REQUEST = {"service": "percutaneous_sij_fusion", "date": "2026-07-15"}


def _folder(root: Path, policy: str = POLICY) -> Path:
    shutil.copy(VOCABULARY, root / "vocabulary.sijv")
    (root / "lab_extra.sijv").write_text(LAB_EXTRA, encoding="utf-8")
    path = root / "latest_demo.sijp"
    path.write_text(policy, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory) -> Path:
    return _folder(tmp_path_factory.mktemp("latest"))


@pytest.fixture(scope="module")
def loaded(policy_file):
    return load_policy(policy_file)


def lab(date: str, result: str | None = None, test: str = "cotinine") -> dict:
    record = {"date": date, "test": test}
    if result is not None:
        record["result"] = result
    return record


def judge(loaded, *labs: dict) -> PolicyResult:
    data: dict = {"request": dict(REQUEST)}
    if labs:
        data["records"] = {"lab": list(labs)}
    return evaluate(loaded, validate_case(data, loaded.policy.vocabulary))


def evidence(result: PolicyResult) -> list[str]:
    (node,) = result.criteria
    return list(node.evidence)


def test_met_when_the_latest_shows_the_outcome_even_after_an_older_failure(loaded):
    result = judge(loaded, lab("2026-01-10", "positive"), lab("2026-05-01", "negative"))
    assert result.determination == "approvable"
    assert evidence(result)[0] == "latest: lab 2026-05-01: shows the outcome"


def test_not_met_when_the_latest_fails_even_after_an_older_success(loaded):
    result = judge(loaded, lab("2026-01-10", "negative"), lab("2026-05-01", "positive"))
    assert result.determination == "not_met"
    (reason,) = result.reasons
    assert "lab 2026-05-01: result positive, needs negative" in reason
    assert "1 older record showing the outcome (not the latest)" in reason


def test_a_record_that_is_not_an_attempt_is_never_the_latest(loaded):
    # A newer HbA1c is not a cotinine test: the cotinine of May decides.
    result = judge(loaded, lab("2026-05-01", "negative"), lab("2026-06-01", "positive", "hba1c"))
    assert result.determination == "approvable"


def test_no_attempt_is_not_documented_and_one_new_record_is_the_minimal_set(loaded):
    result = judge(loaded)
    assert result.determination == "incomplete"
    assert evidence(result) == ["no documented attempt"]
    assert [[item.key for item in option] for option in result.missing] == [
        ["more(negative_cotinine,1)"]
    ]


def test_the_latest_with_its_outcome_undocumented_is_not_documented(loaded):
    # The older negative does not decide: the latest, without its result, leaves it open.
    result = judge(loaded, lab("2026-01-10", "negative"), lab("2026-05-01"))
    assert result.determination == "incomplete"
    assert "latest: lab 2026-05-01: result not documented" in evidence(result)
    keys = {item.key for option in result.missing for item in option}
    assert "fill(r(lab,1),result,negative)" in keys  # the latest record's result, asked for
    assert "more(negative_cotinine,1)" in keys  # or a new test


def test_a_tie_on_the_latest_date_needs_every_record_of_that_date(loaded):
    failing = judge(loaded, lab("2026-05-01", "negative"), lab("2026-05-01", "positive"))
    assert failing.determination == "not_met"
    assert "result positive, needs negative" in failing.reasons[0]
    passing = judge(loaded, lab("2026-05-01", "negative"), lab("2026-05-01", "negative"))
    assert passing.determination == "approvable"
    open_tie = judge(loaded, lab("2026-05-01", "negative"), lab("2026-05-01"))
    assert open_tie.determination == "incomplete"


def test_a_failed_latest_asks_nothing_but_the_retest_abduction_proposes_a_new_test(loaded):
    result = judge(loaded, lab("2026-05-01", "positive"))
    assert result.determination == "not_met"
    assert result.missing == ()
    assert [[item.key for item in option] for option in result.new_attempts] == [
        ["more(negative_cotinine,1)"]
    ]


def test_a_set_without_an_outcome_is_refused(tmp_path):
    text = POLICY.replace("\n  with result is negative", " and result is negative")
    path = _folder(tmp_path, text)
    with pytest.raises(SijfaspError) as raised:
        load_policy(path)
    (problem,) = raised.value.diagnostics
    assert "'latest of'" in problem.message and "'with'" in problem.message
    assert (
        problem.span is not None
        and problem.span.line
        == text.splitlines().index(
            '  nicotine_free [2] "The latest cotinine test is negative": latest of negative_cotinine'
        )
        + 1
    )


def test_the_latest_of_a_set_written_in_place_formats_and_round_trips():
    text = POLICY.replace(
        "latest of negative_cotinine",
        "latest of lab where test is cotinine with result is negative",
    )
    formatted = format_text(text, "p.sijp")
    # Past 100 characters, the condition takes the line after the label.
    assert (
        '"The latest cotinine test is negative":\n    latest of lab where test is cotinine with result is negative\n'
        in formatted
    )
    assert format_text(formatted, "p.sijp") == formatted
    assert format_text(POLICY, "p.sijp") == POLICY


def test_lint_makes_no_false_claim_about_the_latest(tmp_path, capsys):
    # The latest negative and an older positive can both be documented: no warning.
    both = POLICY.replace(
        "latest of negative_cotinine",
        "all of {\n    latest of negative_cotinine\n"
        "    at least 1 lab where test is cotinine with result is positive\n  }",
    )
    path = _folder(tmp_path, both)
    assert main(["lint", str(path)]) == 0
    assert "no errors, no warnings" in capsys.readouterr().out


@pytest.mark.slow
def test_diff_tells_the_latest_from_any_one_result(tmp_path):
    first = _folder(tmp_path)
    second = tmp_path / "latest_any.sijp"
    second.write_text(
        POLICY.replace("latest of negative_cotinine", "at least 1 negative_cotinine").replace(
            "effective 2026-01-01\n  cite", 'version   "any"\n  effective 2026-01-01\n  cite'
        ),
        encoding="utf-8",
    )
    report = semantic_diff(load_policy(first), load_policy(second), with_impact=False)
    assert [d.name for d in report.differences] == ["nicotine_free"]
    witness = report.differences[0].witnesses[0]
    labs = witness.case["records"]["lab"]
    assert [record["result"] for record in labs] == ["negative", "positive"]


@pytest.mark.slow
def test_a_chart_of_2000_records_is_judged_in_under_a_second(loaded):
    start = dt.date(2021, 1, 1)
    labs = [
        lab((start + dt.timedelta(days=i)).isoformat(), "negative" if i % 3 else "positive")
        for i in range(2000)
    ]
    labs[-1]["result"] = "negative"
    began = time.perf_counter()
    result = judge(loaded, *labs)
    elapsed = time.perf_counter() - began
    assert result.determination == "approvable"
    assert elapsed < 1.0, elapsed


def test_a_witness_dates_a_new_result_on_the_request_date(loaded):
    # Documented yesterday and failed: the new test the retest abduction asks for is the latest.
    from sijfasp.authoring.witness import Writer

    case = {"request": {**REQUEST, "date": dt.date(2026, 7, 15)}}
    case["records"] = {"lab": [lab("2026-07-14", "positive")]}
    written = Writer(loaded.compiled, loaded.policy.vocabulary).apply(
        case, ["more(negative_cotinine,1)"]
    )
    newest = written["records"]["lab"][-1]
    assert newest["date"] == dt.date(2026, 7, 15) and newest["result"] == "negative"
    data = {**written, "request": REQUEST}
    result = evaluate(loaded, validate_case(data, loaded.policy.vocabulary))
    assert result.determination == "approvable"
