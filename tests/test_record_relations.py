"""Relations between records: dates spaced apart (`at least K separate dates of SET, at least G
days apart`) and order against another record set (`date after SET`, `date before SET`).

Each test policy is written in a temporary folder beside a copy of the bundled vocabulary.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import examples, find_node

from sijfasp.api import Options, evaluate
from sijfasp.authoring import diff_render, semdiff
from sijfasp.authoring.witness import Unwritable, Writer
from sijfasp.cases.case import validate_case
from sijfasp.core.diagnostics import SijfaspError
from sijfasp.core.kinds import Determination, Status
from sijfasp.language.formatter import format_text
from sijfasp.policies.loaded import LoadedPolicy
from sijfasp.policies.loading import load_policy
from sijfasp.results.results import PolicyResult
from sijfasp.solve import solver
from sijfasp.solve.case_facts import case_symbols

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


def item_keys(result: PolicyResult) -> list[set[str]]:
    return [{item.key for item in items} for items in result.missing]


# ------------------------------------------------------------------ spacing
def test_two_blocks_far_enough_apart_are_met_and_the_dates_counted_are_named(spaced):
    result = judge(spaced, case_with([injection("2026-03-01"), injection("2026-03-15")]))
    assert result.determination == Determination.APPROVABLE
    evidence = find_node(result, "blocks_apart").evidence
    assert evidence[0] == "2 of 2 separate dates at least 14 days apart: 2026-03-01, 2026-03-15"


def test_more_dates_than_needed_are_counted_and_the_first_named(spaced):
    dates = [f"2026-0{month}-01" for month in range(1, 6)] + ["2026-05-10"]
    result = judge(spaced, case_with([injection(d) for d in dates]))
    assert result.determination == Determination.APPROVABLE
    assert find_node(result, "blocks_apart").evidence[0] == (
        "5 separate dates at least 14 days apart (2 needed): "
        "2026-01-01, 2026-02-01, 2026-03-01, 2026-04-01, 2026-05-01"
    )


def test_the_longest_chain_is_counted_not_the_first_pair(spaced):
    # 03-01, 03-10 (too close to 03-01), 03-16 (14 days after 03-01): 03-01 and 03-16 count.
    dates = ["2026-03-10", "2026-03-01", "2026-03-16"]
    result = judge(spaced, case_with([injection(d) for d in dates]))
    assert result.determination == Determination.APPROVABLE
    assert "2026-03-01, 2026-03-16" in find_node(result, "blocks_apart").evidence[0]


def test_blocks_too_close_are_not_documented_and_the_close_dates_are_quoted(spaced):
    result = judge(spaced, case_with([injection("2026-03-01"), injection("2026-03-08")]))
    assert result.determination == Determination.INCOMPLETE
    leaf = find_node(result, "blocks_apart")
    assert leaf.status == Status.NOT_DOCUMENTED
    assert "1 of 2 separate dates at least 14 days apart: 2026-03-01" in leaf.evidence
    assert "too close: 2026-03-01 and 2026-03-08 are 7 days apart, need 14" in leaf.evidence
    # The minimal set: one more block, on a date far enough from the others.
    assert item_keys(result) == [{"more(diagnostic_blocks,1)"}]
    (item,) = result.missing[0]
    assert "at least 14 days from the other dates counted" in item.need
    assert item.records == (
        "Diagnostic SIJ blocks with at least 75% relief, at least 14 days apart, "
        "each on a date of its own"
    )


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
    leaf = find_node(result, "blocks_apart")
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
        (
            "at least 30 days of injection",
            "days are counted over records with a start and an end; 'injection' has none",
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


def lint_and_diff(old: Path, new: Path) -> tuple[str, str]:
    """`sijfasp lint NEW` (clean) and `sijfasp diff OLD NEW` (no crash): their outputs."""
    lint = subprocess.run(
        [sys.executable, "-m", "sijfasp", "lint", str(new)], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    diff = subprocess.run(
        [sys.executable, "-m", "sijfasp", "diff", str(old), str(new)],
        capture_output=True,
        text=True,
    )
    assert diff.returncode in (0, 1), diff.stdout + diff.stderr
    assert "Traceback" not in diff.stderr
    return lint.stdout, diff.stdout


@pytest.mark.slow
def test_lint_and_diff_accept_a_spaced_count(tmp_path):
    old = write_policy(tmp_path, SPACED.replace(", at least 14 days apart", ""), "old.sijp")
    new = write_policy(tmp_path, SPACED, "new.sijp")
    lint, _ = lint_and_diff(old, new)
    assert "no errors, no warnings" in lint


def long_chart(count: int, step: int) -> list[dict]:
    first = dt.date(2026, 5, 31) - dt.timedelta(days=step * (count - 1))
    return [
        injection(str(first + dt.timedelta(days=step * i)), relief=80 if i % 2 else 50)
        for i in range(count)
    ]


def decide(loaded: LoadedPolicy, case: dict) -> tuple[Determination, float]:
    """The determination alone, and the seconds the solver took to reach it (case facts built
    beforehand), in processor time: other work on the machine does not count."""
    facts = case_symbols(validate_case(case, loaded.policy.vocabulary, "<test case>"))
    timings = []
    for _ in range(2):
        started = time.process_time()
        snapshot = solver.determine(loaded.compiled, facts)
        timings.append(time.process_time() - started)
    return snapshot.determination, min(timings)


def grounding(loaded: LoadedPolicy, case: dict) -> tuple[int, float]:
    """The ground program's rules and the processor seconds grounding took (the best of two)."""
    facts = case_symbols(validate_case(case, loaded.policy.vocabulary, "<test case>"))
    timings = []
    for _ in range(2):
        control = solver._control([], loaded.compiled, facts)
        started = time.process_time()
        control.ground([("base", []), ("decide", [])])
        timings.append(time.process_time() - started)
    control.solve()
    return int(control.statistics["problem"]["lp"]["rules"]), min(timings)


def assert_linear(loaded: LoadedPolicy, chart) -> None:
    """Four times the records: about four times the ground program, and well under the 16
    times the grounding time a join of every pair of records would take."""
    small_rules, small_seconds = grounding(loaded, chart(500))
    large_rules, large_seconds = grounding(loaded, chart(2000))
    assert large_rules < 4.4 * small_rules, (small_rules, large_rules)
    assert large_seconds < 8 * max(small_seconds, 0.01), (small_seconds, large_seconds)


@pytest.mark.slow
def test_a_chart_of_two_thousand_blocks_is_decided_well_under_a_second(spaced):
    decide(spaced, case_with(long_chart(20, 1)))  # the encodings read once
    determination, seconds = decide(spaced, case_with(long_chart(2000, 1)))
    assert determination == Determination.APPROVABLE
    assert seconds < 1.0, seconds


@pytest.mark.slow
def test_the_spaced_count_grows_linearly_with_the_chart(spaced):
    assert_linear(spaced, lambda count: case_with(long_chart(count, 3)))


# ------------------------------------------------------------------ order
ORDERED = (
    HEADER
    + """
records conservative_therapy [3] "Conservative therapy":
  therapy where kind is physical_therapy
  or therapy where kind is home_exercise_program and patient_specific is true

criteria for percutaneous_sij_fusion {
  injection_after_therapy [4] "A therapeutic injection after conservative therapy":
    at least 1 injection where purpose is therapeutic with date after conservative_therapy
  block_before_therapy [5] "A diagnostic block before conservative therapy":
    at least 1 injection where purpose is diagnostic and image_guided is true
      and date before conservative_therapy
}
"""
)


@pytest.fixture(scope="module")
def ordered(tmp_path_factory) -> LoadedPolicy:
    return load_policy(write_policy(tmp_path_factory.mktemp("ordered"), ORDERED))


def therapy(start: str, kind: str = "physical_therapy", **values) -> dict:
    return {"kind": kind, "start": start, "end": start[:8] + "28", **values}


def test_an_injection_after_and_a_block_before_the_therapy_are_met(ordered):
    case = case_with(
        [injection("2026-01-05"), injection("2026-03-01", None, "therapeutic")],
        [therapy("2026-02-01")],
    )
    result = judge(ordered, case)
    assert result.determination == Determination.APPROVABLE
    assert (
        find_node(result, "injection_after_therapy").evidence[-1]
        == "injection 2026-03-01 therapeutic"
    )


def test_the_same_day_does_not_order_two_records(ordered):
    case = case_with(
        [injection("2026-02-01"), injection("2026-02-01", None, "therapeutic")],
        [therapy("2026-02-01")],
    )
    result = judge(ordered, case)
    assert find_node(result, "block_before_therapy").status == Status.NOT_DOCUMENTED
    assert find_node(result, "injection_after_therapy").status == Status.NOT_MET


def test_an_injection_before_every_therapy_is_not_met_and_the_reason_quotes_the_dates(ordered):
    case = case_with(
        [injection("2026-01-05"), injection("2026-01-10", None, "therapeutic")],
        [therapy("2026-02-01"), therapy("2026-04-01")],
    )
    result = judge(ordered, case)
    assert result.determination == Determination.NOT_MET
    (reason,) = result.reasons
    assert (
        "injection 2026-01-10 therapeutic: not after any conservative therapy record: "
        "earliest 2026-02-01" in reason
    )


def test_a_block_after_every_therapy_nearly_qualifies_with_the_latest_date_quoted(ordered):
    case = case_with(
        [injection("2026-05-05"), injection("2026-03-01", None, "therapeutic")],
        [therapy("2026-02-01"), therapy("2026-04-01")],
    )
    result = judge(ordered, case)
    # Without `with`, the block is no attempt: another block is asked for.
    assert result.determination == Determination.INCOMPLETE
    leaf = find_node(result, "block_before_therapy")
    assert leaf.status == Status.NOT_DOCUMENTED
    (nearly,) = [line for line in leaf.evidence if line.startswith("nearly: injection 2026-05-05")]
    assert nearly.endswith("not before any conservative therapy record: latest 2026-04-01")
    assert item_keys(result) == [{"more(block_before_therapy_records,1)"}]


def test_an_added_therapy_has_no_date_and_orders_nothing(ordered):
    # No therapy documented: the injection documented cannot become later than a therapy that
    # would only be added, so it is a failed attempt.
    case = case_with([injection("2026-01-05"), injection("2026-01-10", None, "therapeutic")])
    result = judge(ordered, case)
    assert result.determination == Determination.NOT_MET
    assert "not after any conservative therapy record: none documented" in result.reasons[0]


def test_a_therapy_that_could_still_join_the_set_keeps_the_order_open(ordered):
    # The home exercise program of 01-01 is conservative therapy once it is documented as
    # patient specific: then the injection of 01-10 is after it.
    case = case_with(
        [injection("2025-12-20"), injection("2026-01-10", None, "therapeutic")],
        [therapy("2026-01-01", "home_exercise_program")],
    )
    result = judge(ordered, case)
    assert result.determination == Determination.INCOMPLETE
    fill = "fill(r(therapy,0),patient_specific,true)"
    assert item_keys(result)[0] == {fill}
    writer = Writer(ordered.compiled, ordered.policy.vocabulary)
    completed = writer.apply(case, [fill])
    assert completed["records"]["therapy"][0]["patient_specific"] is True
    assert judge(ordered, completed).determination == Determination.APPROVABLE


def test_a_case_lacking_the_injection_asks_for_one_after_the_therapy(ordered):
    case = case_with([injection("2026-01-05")], [therapy("2026-02-01")])
    result = judge(ordered, case)
    assert result.determination == Determination.INCOMPLETE
    assert item_keys(result) == [{"more(injection_after_therapy_records,1)"}]
    (item,) = result.missing[0]
    assert item.criterion_id == "injection_after_therapy"
    # Written as a case, the injection is dated after the therapy, and the case is approvable.
    writer = Writer(ordered.compiled, ordered.policy.vocabulary)
    completed = writer.apply(case, [item.key])
    added = completed["records"]["injection"][-1]
    assert added["purpose"] == "therapeutic" and added["date"] > dt.date(2026, 2, 1)
    assert judge(ordered, completed).determination == Determination.APPROVABLE


def test_a_record_ordered_against_a_set_the_case_lacks_comes_with_a_record_of_it(ordered):
    case = case_with([injection("2026-01-05")])
    writer = Writer(ordered.compiled, ordered.policy.vocabulary)
    keys = ["more(injection_after_therapy_records,1)", "more(block_before_therapy_records,1)"]
    completed = writer.apply(case, keys)
    (added_therapy,) = completed["records"]["therapy"]
    assert added_therapy["kind"] in ("physical_therapy", "home_exercise_program")
    assert added_therapy["start"] <= dt.date(2026, 5, 30)
    assert judge(ordered, completed).determination == Determination.APPROVABLE


def test_a_record_that_cannot_be_dated_against_the_other_set_is_not_written(ordered):
    # The therapy began on the request date: no injection a case accepts is after it.
    case = case_with([injection("2026-01-05")], [therapy("2026-06-01")])
    case["records"]["therapy"][0]["end"] = "2026-06-01"
    writer = Writer(ordered.compiled, ordered.policy.vocabulary)
    with pytest.raises(Unwritable):
        writer.apply(case, ["more(injection_after_therapy_records,1)"])


def test_a_record_after_one_of_the_day_before_is_dated_on_the_request_date(ordered):
    # The request date is a date a case accepts: the injection after the therapy takes it.
    case = case_with([injection("2026-01-05")], [therapy("2026-05-31")])
    case["records"]["therapy"][0]["end"] = "2026-05-31"
    writer = Writer(ordered.compiled, ordered.policy.vocabulary)
    completed = writer.apply(case, ["more(injection_after_therapy_records,1)"])
    assert completed["records"]["injection"][-1]["date"] == dt.date(2026, 6, 1)
    assert judge(ordered, completed).determination == Determination.APPROVABLE


def test_the_order_is_formatted_back_unchanged():
    assert format_text(ORDERED) == ORDERED
    squeezed = ORDERED.replace(
        "date after conservative_therapy", "date   after conservative_therapy"
    )
    assert format_text(squeezed) == ORDERED


@pytest.mark.slow
def test_a_set_ordered_against_itself_is_refused_with_its_place(tmp_path):
    text = ORDERED.replace(
        "  therapy where kind is physical_therapy\n",
        "  therapy where kind is physical_therapy and start after conservative_therapy\n",
    )
    path = write_policy(tmp_path, text)
    run = subprocess.run(
        [sys.executable, "-m", "sijfasp", "lint", str(path)], capture_output=True, text=True
    )
    assert run.returncode == 2
    line = text[: text.index("records conservative_therapy")].count("\n") + 1
    assert f"demo.sijp:{line}:1: error[cycle]: 'conservative_therapy' refers to itself" in (
        run.stdout + run.stderr
    )
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("date after pt_after_blocks", "'pt_after_blocks' is itself ordered against another set"),
        ("date after nothing_declared", "'nothing_declared' is not a set of records"),
        ("relief_percent after conservative_therapy", "'after' orders a date"),
        ("date after late_injections", "'late_injections' refers to itself"),
    ],
)
def test_an_order_that_cannot_be_read_is_refused(tmp_path, condition, message):
    text = ORDERED.replace("date after conservative_therapy", condition).replace(
        "criteria for",
        'records pt_after_blocks [3] "PT after blocks":\n'
        "  therapy where start after conservative_therapy\n\n"
        + (
            'records late_injections [3] "Injections after injections":\n'
            "  injection where date after late_injections\n\n"
            if "late_injections" in condition
            else ""
        )
        + "criteria for",
    )
    with pytest.raises(SijfaspError) as caught:
        load_policy(write_policy(tmp_path, text))
    assert message in str(caught.value)


@pytest.mark.slow
def test_lint_and_diff_accept_an_order(tmp_path):
    old = write_policy(tmp_path, ORDERED.replace(" with date after", " and date after"), "o.sijp")
    new = write_policy(tmp_path, ORDERED, "n.sijp")
    _, diff = lint_and_diff(old, new)
    # A therapeutic injection and no therapy: missing documentation under the first policy, a
    # failed attempt under the second.
    assert "1 difference" in diff
    assert "n.sijp): not_met" in diff and "o.sijp): incomplete" in diff


def ordered_chart(count: int) -> dict:
    """Half injections, half therapies, interleaved over the days before the request."""
    first = dt.date(2026, 5, 31) - dt.timedelta(days=count)
    injections, therapies = [], []
    for i in range(count):
        day = str(first + dt.timedelta(days=i))
        if i % 2:
            injections.append(injection(day, None, "therapeutic" if i % 4 == 1 else "diagnostic"))
        else:
            therapies.append({"kind": "physical_therapy", "start": day, "end": day})
    return case_with(injections, therapies)


@pytest.mark.slow
def test_a_chart_of_two_thousand_ordered_records_is_decided_well_under_a_second(ordered):
    decide(ordered, ordered_chart(20))
    determination, seconds = decide(ordered, ordered_chart(2000))
    assert determination == Determination.APPROVABLE
    assert seconds < 1.0, seconds


@pytest.mark.slow
def test_the_order_grows_linearly_with_the_chart(ordered):
    assert_linear(ordered, ordered_chart)


def test_a_spacing_written_without_its_comma_gets_a_hint(tmp_path):
    text = SPACED.replace("diagnostic_blocks, at least", "diagnostic_blocks at least")
    with pytest.raises(SijfaspError) as caught:
        load_policy(write_policy(tmp_path, text))
    (first, *_) = caught.value.diagnostics
    assert first.code == "syntax"
    assert first.hint is not None and "after a comma" in first.hint


# ------------------------------------------------------------------ against a plain reading
def longest_spaced_chain(days: list[int], gap: int) -> int:
    """The longest chain of distinct days, each at least `gap` after the one before, tried
    every way (not greedily)."""
    ordered = sorted(set(days))
    best = [1] * len(ordered)
    for i, day in enumerate(ordered):
        for j in range(i):
            if day - ordered[j] >= gap:
                best[i] = max(best[i], best[j] + 1)
    return max(best, default=0)


@pytest.mark.slow
@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.integers(min_value=1, max_value=60), max_size=8))
def test_a_spaced_count_agrees_with_every_chain_tried(spaced, days):
    day0 = dt.date(2026, 6, 1)
    case = case_with([injection(str(day0 - dt.timedelta(days=d))) for d in days])
    result = judge(spaced, case)
    chain = longest_spaced_chain(days, 14)
    if chain >= 2:
        assert result.determination == Determination.APPROVABLE
    else:
        assert result.determination == Determination.INCOMPLETE
        assert find_node(result, "blocks_apart").evidence[0].startswith(f"{chain} of 2 ")


@pytest.mark.slow
@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(st.integers(min_value=1, max_value=40), max_size=3),
    st.lists(st.tuples(st.integers(min_value=1, max_value=40), st.booleans()), max_size=4),
)
def test_an_order_agrees_with_comparing_every_pair(ordered, therapy_days, injections):
    day0 = dt.date(2026, 6, 1)

    def date(days_before: int) -> str:
        return str(day0 - dt.timedelta(days=days_before))

    case = case_with(
        [
            injection(date(d), None, "therapeutic" if therapeutic else "diagnostic")
            for d, therapeutic in injections
        ],
        [{"kind": "physical_therapy", "start": date(d), "end": date(d)} for d in therapy_days],
    )
    result = judge(ordered, case)
    therapeutic = [d for d, t in injections if t]
    diagnostic = [d for d, t in injections if not t]
    # Days before the request: a larger number is an earlier date.
    after = any(i < t for i in therapeutic for t in therapy_days)
    before = any(i > t for i in diagnostic for t in therapy_days)
    expected_after = Status.MET if after else Status.NOT_MET if therapeutic else None
    if expected_after is not None:
        assert find_node(result, "injection_after_therapy").status == expected_after
    else:
        assert find_node(result, "injection_after_therapy").status == Status.NOT_DOCUMENTED
    assert find_node(result, "block_before_therapy").status == (
        Status.MET if before else Status.NOT_DOCUMENTED
    )


def test_a_diff_says_which_sets_it_could_not_write():
    report = semdiff.Report("a@1", "b@1", ("percutaneous_sij_fusion",), dt.date(2026, 1, 1))
    report.unwritten = ("no record can meet the filter of late_blocks",)
    text = diff_render.text(report)
    assert (
        "some sets of missing documentation could not be written as cases, so were not "
        "searched: no record can meet the filter of late_blocks"
    ) in text
    assert json.loads(diff_render.to_json(report))["unwritten"] == list(report.unwritten)
