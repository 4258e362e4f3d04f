"""Record sets compared: `subsumed(A, B)` when every record of A is in B, and
`subsumed_when(A, B, F, V)` when so once request field F has value V, so that a set of missing
documentation never asks for two records where one would do.
"""

from __future__ import annotations

from ..core.kinds import BOTH_SIDES, Operator
from ..core.units import value_term
from .compiled import (
    CmpCondition,
    Condition,
    InCondition,
    MatchesCondition,
    RecordSetInfo,
    WithinCondition,
    WithinMonthsCondition,
    fact_term,
    set_filters,
)
from .program_builder import Builder


def _implies(narrow: Condition, broad: Condition) -> bool:
    """Whether every value meeting condition `narrow` meets condition `broad`."""
    if narrow.test != broad.test or narrow.field != broad.field:
        return False
    if isinstance(narrow, InCondition) and isinstance(broad, InCondition):
        return narrow.values <= broad.values
    if isinstance(narrow, CmpCondition) and isinstance(broad, CmpCondition):
        op1, t1, op2, t2 = narrow.operator, narrow.threshold, broad.operator, broad.threshold
        lower = {Operator.GE: 0, Operator.GT: 1}
        upper = {Operator.LE: 0, Operator.LT: -1}
        if op1 in lower and op2 in lower:
            return t1 + lower[op1] >= t2 + lower[op2]
        if op1 in upper and op2 in upper:
            return t1 + upper[op1] <= t2 + upper[op2]
        return narrow == broad
    if isinstance(narrow, WithinMonthsCondition) and isinstance(broad, WithinMonthsCondition):
        return narrow.months <= broad.months
    if isinstance(narrow, WithinCondition) and isinstance(broad, WithinCondition):
        return narrow.low >= broad.low and narrow.high <= broad.high
    return narrow == broad


def _within(narrow: list[tuple[Condition, ...]], broad: list[tuple[Condition, ...]]) -> bool:
    """Whether each filter of `narrow` implies some filter of `broad`."""
    return all(
        any(all(any(_implies(c1, c2) for c1 in f1) for c2 in f2) for f2 in broad) for f1 in narrow
    )


def subsumed_sets(sets: dict[str, RecordSetInfo]) -> list[tuple[str, str]]:
    """Pairs (narrow, broad) of record sets where every record of the first is in the second.

    A record added to meet one count then also counts for every count over a broader set, so a
    set of missing documentation never asks for two records where one would do.
    """
    return [
        (narrow, broad)
        for narrow, narrow_info in sets.items()
        for broad, broad_info in sets.items()
        if narrow_info.kind == broad_info.kind
        and _within(set_filters(sets, narrow), set_filters(sets, broad))
    ]


def _with_request(
    filters: list[tuple[Condition, ...]], field: str, value: str
) -> list[tuple[Condition, ...]]:
    """The filters once request field `field` has `value`: a condition tying a record field to
    it becomes a plain one (`side covers request.side` with a bilateral request: side is
    bilateral; with a left request: side in {left, bilateral})."""

    def plain(condition: Condition) -> Condition:
        if not isinstance(condition, MatchesCondition) or condition.target != field:
            return condition
        values = {value, BOTH_SIDES} if condition.test == "covers" else {value}
        return InCondition("in", condition.field, frozenset(values))

    return [tuple(plain(c) for c in f) for f in filters]


def request_subsumed_sets(
    sets: dict[str, RecordSetInfo], request_values: dict[str, tuple[str, ...]]
) -> list[tuple[str, str, str, str]]:
    """(narrow, broad, field, value): a set of the joint to be fused (a filter with `covers
    request.F`) lies inside a set with no tie to the request once request field F has
    `value`, and not otherwise.

    `side covers request.side` says nothing about the side by itself, but a record added to
    such a set for a bilateral request is a record of both joints, and so one of each joint's
    sets too (`side in {left, bilateral}`): it must count there, or a set of missing
    documentation would ask for two records where one does. Only this direction is given: a
    record added to a set with no tie is never offered again under the tied set's name.
    """

    def ties(filters: list[tuple[Condition, ...]], field: str, test: str | None = None) -> bool:
        return any(
            isinstance(c, MatchesCondition) and c.target == field and test in (None, c.test)
            for f in filters
            for c in f
        )

    found = []
    for narrow, narrow_info in sets.items():
        narrow_filters = set_filters(sets, narrow)
        for request_field, values in request_values.items():
            if not ties(narrow_filters, request_field, "covers"):
                continue
            for broad, broad_info in sets.items():
                broad_filters = set_filters(sets, broad)
                if (
                    narrow_info.kind != broad_info.kind
                    or ties(broad_filters, request_field)
                    or _within(narrow_filters, broad_filters)
                ):
                    continue
                for value in values:
                    if _within(
                        _with_request(narrow_filters, request_field, value),
                        _with_request(broad_filters, request_field, value),
                    ):
                        found.append((narrow, broad, request_field, value))
    return found


def request_subsumed(builder: Builder) -> list[tuple[str, str, str, str]]:
    choices = {
        fact.key: tuple(fact.type.values)
        for fact in builder.policy.vocabulary.request_fields
        if fact.type.kind == "choice"
    }
    return request_subsumed_sets(builder.record_sets, choices)


def emit_subsumed(
    builder: Builder,
    subsumed: list[tuple[str, str]],
    subsumed_when: list[tuple[str, str, str, str]],
) -> None:
    emit = builder.emit
    emit("% ================================================================ record sets compared")
    emit("% subsumed(A, B): every record of set A is also in set B (A = B included).")
    for narrow, broad in subsumed:
        emit(f"subsumed({narrow}, {broad}).")
    if subsumed_when:
        emit("% subsumed_when(A, B, F, V): so once request field F has value V.")
    for narrow, broad, request_field, value in subsumed_when:
        term = fact_term("request", request_field.removeprefix("request."))
        emit(f"subsumed_when({narrow}, {broad}, {term}, {value_term(value)}).")
    emit()
