"""A validated case as solver input: ground facts built as clingo symbols, never program text.

doc/2 (findings and request fields), record/2, rfield/3, rmember/3 (list fields) and span/3
(therapy days). Numbers are scaled by 100; dates are day offsets from the request date (day 0).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import clingo

from .case import Case, Record
from .compiler import scaled


def record_symbol(record: Record) -> clingo.Symbol:
    """The record's term r(Kind, Index), stable across runs."""
    return clingo.Function("r", [clingo.Function(record.kind), clingo.Number(record.index)])


def _value_symbol(value: Any, case: Case) -> clingo.Symbol:
    if isinstance(value, bool):
        return clingo.Function("true" if value else "false")
    if isinstance(value, Decimal):
        return clingo.Number(scaled(value))
    if isinstance(value, dt.date):
        return clingo.Number((value - case.date).days)
    assert isinstance(value, str)
    return clingo.Function(value)


def _fact_symbol(scope: str, name: str) -> clingo.Symbol:
    if scope == "finding":
        return clingo.Function(name)
    return clingo.Function("request", [clingo.Function(name)])


def case_symbols(case: Case) -> list[clingo.Symbol]:
    """The case as ground facts: doc/2, record/2, rfield/3, rmember/3, span/3."""
    facts: list[clingo.Symbol] = []
    doc = lambda f, v: facts.append(clingo.Function("doc", [f, v]))  # noqa: E731
    for name, value in case.request.items():
        if name == "date":
            continue  # the request date is day 0: every other date is counted from it
        doc(_fact_symbol("request", name), _value_symbol(value, case))
    for name, value in case.findings.items():
        doc(_fact_symbol("finding", name), _value_symbol(value, case))
    for record in case.records:
        r = record_symbol(record)
        facts.append(clingo.Function("record", [r, clingo.Function(record.kind)]))
        for name, value in record.values.items():
            if isinstance(value, tuple):
                for member in value:
                    facts.append(
                        clingo.Function(
                            "rmember", [r, clingo.Function(name), clingo.Function(member)]
                        )
                    )
                continue
            facts.append(
                clingo.Function("rfield", [r, clingo.Function(name), _value_symbol(value, case)])
            )
        if "start" in record.values:
            start = (record.values["start"] - case.date).days
            end = min((record.values.get("end", case.date) - case.date).days, 0)
            facts.append(clingo.Function("span", [r, clingo.Number(start), clingo.Number(end)]))
    return facts
