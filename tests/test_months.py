"""Durations in months (`at least N months of SET`): as many days as the N calendar months that
end on the request date, worked out for each case and handed to the solver with it; `days`
stays exact."""

from __future__ import annotations

import datetime as dt

import pytest
import support as s

from sijfasp.core.units import month_days, month_days_range, months_before
from sijfasp.language.formatter import format_text
from sijfasp.language.parser import parse_text

AIM_NODE = "six_months_of_care"


@pytest.mark.parametrize(
    ("request_date", "start", "days"),
    [
        ("2026-07-15", "2026-01-15", 181),  # the reading's own example
        ("2026-08-31", "2026-02-28", 184),  # a 31st: February has no 31st
        ("2028-08-31", "2028-02-29", 184),  # a leap year's February
        ("2026-03-31", "2025-09-30", 182),  # a 31st six months after a 30-day month
        ("2026-03-01", "2025-09-01", 181),  # a February in the months counted
        ("2026-09-01", "2026-03-01", 184),
    ],
)
def test_n_months_are_the_days_of_the_calendar_months_ending_on_the_request(
    request_date, start, days
):
    day = dt.date.fromisoformat(request_date)
    assert months_before(day, 6) == dt.date.fromisoformat(start)
    assert month_days(day, 6) == days


def test_the_fewest_and_most_days_of_six_months():
    assert month_days_range(6) == (181, 184)
    assert month_days_range(1) == (28, 31)


def _therapy_case(request_date: str, start: str, end: str) -> dict:
    case = s.with_request(s.base_case(), date=request_date)
    # Only documentation up to the request counts: the example's later records go.
    for kind in ("injection", "imaging"):
        case = s.without_records(case, kind, lambda r, d=request_date: str(r.get("date")) > d)
    return s.with_records(
        case, "therapy", [{"kind": "physical_therapy", "start": start, "end": end}]
    )


@pytest.mark.parametrize(
    ("request_date", "start", "end", "status", "evidence"),
    [
        # 2026-07-15: 6 months from 2026-01-15, 181 days. 180 is one short.
        ("2026-07-15", "2026-01-15", "2026-07-14", "met", "181 of 181 days"),
        ("2026-07-15", "2026-01-16", "2026-07-14", "not_documented", "180 of 181 days"),
        # 2026-08-31 (a 31st, six months after a February): 184 days from 2026-02-28; 183 is
        # short, though more than 180.
        ("2026-08-31", "2026-02-28", "2026-08-30", "met", "184 of 184 days"),
        ("2026-08-31", "2026-03-01", "2026-08-30", "not_documented", "183 of 184 days"),
    ],
)
def test_six_months_of_care_is_read_for_the_request_date(
    request_date, start, end, status, evidence
):
    result = s.evaluate(_therapy_case(request_date, start, end), s.AIM)
    node = s.find_node(result, AIM_NODE)
    assert node.status == status
    assert node.evidence[0].startswith(evidence), node.evidence
    assert node.condition.startswith("6 months of "), node.condition


def test_the_days_still_lacking_are_counted_against_the_cases_months():
    result = s.evaluate(_therapy_case("2026-08-31", "2026-03-01", "2026-08-30"), s.AIM)
    needs = [item.need for option in result.missing for item in option if "more_days" in item.key]
    assert needs and all(need.startswith("1 more day of") for need in needs), needs


def test_a_duration_in_days_stays_exact():
    tree = parse_text(
        'criteria for s {\n  a "a": at least 180 days of therapy\n  b "b": at least 6 months of therapy\n}',
        "p.sijp",
    )
    days, months = (c.body for c in tree.declarations[0].items)
    assert (days.minimum, days.in_months) == (180, False)
    assert (months.minimum, months.in_months) == (6, True)


def test_the_compiled_leaf_reads_the_months_from_the_case():
    program = s.loaded(s.AIM).compiled.program
    assert f"duration_months({AIM_NODE}, 6)." in program
    assert f"leaf({AIM_NODE}, days(conservative_management_therapy, 181, unbounded))." in program
    assert 6 in s.loaded(s.AIM).compiled.window_months()


def test_caresource_counts_six_months_within_the_last_twelve():
    program = s.loaded(s.CARESOURCE).compiled.program
    assert "duration_months(active_six_months, 6)." in program
    assert "duration_months(inactive_therapy, 6)." in program


def test_the_formatter_keeps_months():
    text = (
        "criteria for s {\n"
        '  a "a": at least 6 months of therapy within last 12 months\n'
        '  b "b": at least 180 days of therapy\n'
        "}\n"
    )
    formatted = format_text(text, "p.sijp")
    assert "at least 6 months of therapy within last 12 months" in formatted
    assert "at least 180 days of therapy" in formatted
    assert format_text(formatted, "p.sijp") == formatted
