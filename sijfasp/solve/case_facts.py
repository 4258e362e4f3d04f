"""A validated case as solver input: ground facts built as clingo symbols, never program text.

doc/2 (findings and request fields), record/2, rfield/3, rmember/3 (list fields), span/3
(therapy days) with span_next/2 (the spans in order of start day), as declared in `atoms`. Numbers are scaled by 100; dates are day offsets from
the request date (day 0).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

import clingo

from ..cases.case import Case, Record
from ..core.kinds import FactScope
from ..core.units import day_offset, months_before
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


def record_ref(record: Record) -> RecordRef:
    return RecordRef(record.kind, record.index)


def record_symbol(record: Record) -> clingo.Symbol:
    """The record's term r(Kind, Index), stable across runs."""
    return record_ref(record).symbol()


# A window `within last N months` may reach this far back (the language's limit).
MAX_WINDOW_MONTHS = 240


CaseAtom = Doc | RecordFact | RField | RMember | Span | SpanNext | MonthStart | DateNext


ALL_WINDOWS = range(1, MAX_WINDOW_MONTHS + 1)


def month_atoms(request_date: dt.date, windows: Iterable[int] = ALL_WINDOWS) -> list[MonthStart]:
    """month_start/2 of each window length (in calendar months) asked for: every length the
    language allows by default; a policy needs only those it uses (solve/solver.py)."""
    return [
        MonthStart(months, day_offset(months_before(request_date, months), request_date))
        for months in windows
    ]


def case_atoms(case: Case) -> list[CaseAtom]:
    """The case as typed input atoms: month_start/2 for every window length, then the rest."""
    atoms: list[CaseAtom] = [*month_atoms(case.date), *_documented_atoms(case)]
    return atoms


def _documented_atoms(case: Case) -> list[CaseAtom]:
    """Every case atom but month_start/2."""
    atoms: list[CaseAtom] = []
    spans: list[Span] = []
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


# Each kind of case atom's predicate, as name and arity (the names are distinct): the one list
# of what a case brings, read by solve/prune.py and solve/solver.py.
SIGNATURE_OF: dict[type, tuple[str, int]] = {
    Doc: ("doc", 2),
    RecordFact: ("record", 2),
    RField: ("rfield", 3),
    RMember: ("rmember", 3),
    Span: ("span", 3),
    SpanNext: ("span_next", 2),
    MonthStart: ("month_start", 2),
    DateNext: ("date_next", 2),
}


class CaseFacts(Sequence[clingo.Symbol]):
    """A case's ground facts in the order `case_atoms` gives them, and grouped by predicate
    name (`groups`, month_start/2 left out: `month_starts` gives the windows a policy uses), so
    that a long chart's thousands of atoms of one predicate can be handed to clingo in one
    call (solve/solver.py) without asking clingo each symbol's name."""

    __slots__ = ("_date", "_documented", "_flat", "groups")

    def __init__(self, request_date: dt.date, atoms: Sequence[CaseAtom]):
        groups: dict[str, list[clingo.Symbol]] = {}
        documented: list[clingo.Symbol] = []
        for atom in atoms:
            symbol = atom.symbol()
            documented.append(symbol)
            groups.setdefault(SIGNATURE_OF[type(atom)][0], []).append(symbol)
        self._documented = tuple(documented)
        self._date = request_date
        self.groups: dict[str, tuple[clingo.Symbol, ...]] = {
            name: tuple(group) for name, group in groups.items()
        }
        self._flat: tuple[clingo.Symbol, ...] | None = None

    def month_starts(self, windows: frozenset[int]) -> tuple[clingo.Symbol, ...]:
        """month_start/2 of these window lengths (built once per request date and lengths)."""
        return _month_start_symbols(self._date, windows)

    @property
    def _symbols(self) -> tuple[clingo.Symbol, ...]:
        if self._flat is None:
            months = self.month_starts(frozenset(ALL_WINDOWS))
            self._flat = months + self._documented
        return self._flat

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


@functools.lru_cache(maxsize=256)
def _month_start_symbols(
    request_date: dt.date, windows: frozenset[int]
) -> tuple[clingo.Symbol, ...]:
    """month_start/2 of a request date's windows: the same for every case of that date (a
    batch's cases share a few dates), and a few hundred symbols to build (about 2 ms)."""
    return tuple(a.symbol() for a in month_atoms(request_date, sorted(windows)))


def case_symbols(case: Case) -> CaseFacts:
    """The case as ground facts: doc/2, record/2, rfield/3, rmember/3, span/3, span_next/2,
    date_next/2, and month_start/2 (for a policy, only its windows: `month_starts`)."""
    return CaseFacts(case.date, _documented_atoms(case))
