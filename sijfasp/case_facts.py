"""A validated case as solver input: ground facts built as clingo symbols, never program text.

doc/2 (findings and request fields), record/2, rfield/3, rmember/3 (list fields), span/3
(therapy days) with span_next/2 (the spans in order of start day), as declared in `atoms`. Numbers are scaled by 100; dates are day offsets from
the request date (day 0).
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from collections.abc import Iterator, Sequence
from typing import overload

import clingo

from .atoms import (
    DateNext,
    Doc,
    FactRef,
    MonthStart,
    RecordFact,
    RecordRef,
    RField,
    RMember,
    Span,
    SpanNext,
    case_value,
)
from .case import Case, Record
from .kinds import FactScope
from .units import day_offset


def record_ref(record: Record) -> RecordRef:
    return RecordRef(record.kind, record.index)


def record_symbol(record: Record) -> clingo.Symbol:
    """The record's term r(Kind, Index), stable across runs."""
    return record_ref(record).symbol()


# A window `within last N months` may reach this far back (the language's limit).
MAX_WINDOW_MONTHS = 240


def months_before(date: dt.date, months: int) -> dt.date:
    """The first day of a window of `months` calendar months ending on `date`, inclusive: the
    same day of the month, `months` months back (the month's last day when it is shorter)."""
    index = date.year * 12 + date.month - 1 - months
    year, month = divmod(index, 12)
    day = min(date.day, calendar.monthrange(year, month + 1)[1])
    return dt.date(year, month + 1, day)


CaseAtom = Doc | RecordFact | RField | RMember | Span | SpanNext | MonthStart | DateNext


def case_atoms(case: Case) -> list[CaseAtom]:
    """The case as typed input atoms."""
    atoms: list[CaseAtom] = []
    spans: list[Span] = []
    for months in range(1, MAX_WINDOW_MONTHS + 1):
        first = months_before(case.date, months)
        atoms.append(MonthStart(months, day_offset(first, case.date)))
    for name, value in case.request.items():
        if name == "date":
            continue  # the request date is day 0: every other date is counted from it
        atoms.append(Doc(FactRef(FactScope.REQUEST, name), case_value(value, case.date)))
    for name, value in case.findings.items():
        atoms.append(Doc(FactRef(FactScope.FINDING, name), case_value(value, case.date)))
    for record in case.records:
        ref = record_ref(record)
        atoms.append(RecordFact(ref))
        for name, value in record.values.items():
            if isinstance(value, tuple):
                atoms.extend(RMember(ref, name, member) for member in value)
                continue
            atoms.append(RField(ref, name, case_value(value, case.date)))
        if "start" in record.values:
            start = day_offset(record.values["start"], case.date)
            end = min(day_offset(record.values.get("end", case.date), case.date), 0)
            spans.append(Span(ref, start, end))
    atoms.extend(spans)
    ordered = sorted(spans, key=lambda span: (span.start, span.record.kind, span.record.index))
    atoms.extend(SpanNext(a.record, b.record) for a, b in itertools.pairwise(ordered))
    # The records' distinct dates in order, each with the next: chains the program follows
    # instead of comparing every pair of dates.
    days = sorted(
        {
            day_offset(value, case.date)
            for record in case.records
            for value in record.values.values()
            if isinstance(value, dt.date)
        }
    )
    atoms.extend(DateNext(a, b) for a, b in itertools.pairwise(days))
    return atoms


# Each kind of case atom's predicate name (the names are distinct across arities).
PREDICATE_OF: dict[type, str] = {
    Doc: "doc",
    RecordFact: "record",
    RField: "rfield",
    RMember: "rmember",
    Span: "span",
    SpanNext: "span_next",
    MonthStart: "month_start",
    DateNext: "date_next",
}


class CaseFacts(Sequence[clingo.Symbol]):
    """A case's ground facts in the order `case_atoms` gives them, and the same facts grouped
    by predicate name, so that a long chart's thousands of atoms of one predicate can be handed
    to clingo in one call (solver.py) without asking clingo each symbol's name."""

    __slots__ = ("_symbols", "groups")

    def __init__(self, atoms: Sequence[CaseAtom]):
        symbols: list[clingo.Symbol] = []
        groups: dict[str, list[clingo.Symbol]] = {}
        for atom in atoms:
            symbol = atom.symbol()
            symbols.append(symbol)
            groups.setdefault(PREDICATE_OF[type(atom)], []).append(symbol)
        self._symbols: tuple[clingo.Symbol, ...] = tuple(symbols)
        self.groups: dict[str, tuple[clingo.Symbol, ...]] = {
            name: tuple(group) for name, group in groups.items()
        }

    @overload
    def __getitem__(self, index: int) -> clingo.Symbol: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[clingo.Symbol]: ...
    def __getitem__(self, index: int | slice) -> clingo.Symbol | Sequence[clingo.Symbol]:
        return self._symbols[index]

    def __len__(self) -> int:
        return len(self._symbols)

    def __iter__(self) -> Iterator[clingo.Symbol]:
        return iter(self._symbols)


def case_symbols(case: Case) -> CaseFacts:
    """The case as ground facts: doc/2, record/2, rfield/3, rmember/3, span/3, span_next/2,
    date_next/2, month_start/2."""
    return CaseFacts(case_atoms(case))
