"""Candidate values for missing documentation: per finding, request field or record field the
criteria ask about, one value per class of values the criteria treat alike (a number) or each
value (true/false, a choice), and what each kind of record costs to obtain.
"""

from __future__ import annotations

from ..core.units import scaled, value_term
from .checked import ValueType
from .compiled import ValueClass
from .program_builder import Builder


def value_classes(
    value_type: ValueType, thresholds: set[tuple[str, int]]
) -> tuple[ValueClass, ...]:
    """Split a number's range into classes that no comparison of the policy can tell apart."""
    assert value_type.low is not None and value_type.high is not None
    low, high = scaled(value_type.low), scaled(value_type.high)
    # Cut before and after every threshold, so every comparison is constant on each piece;
    # then join neighbouring pieces on which all comparisons give the same answers.
    cuts = sorted(
        {low}
        | {t for _, t in thresholds if low < t <= high}
        | {t + 1 for _, t in thresholds if low <= t < high}
    )
    merged: list[ValueClass] = []
    for index, start in enumerate(cuts):
        end = cuts[index + 1] - 1 if index + 1 < len(cuts) else high
        if merged and _signature(merged[-1].low, thresholds) == _signature(start, thresholds):
            merged[-1] = ValueClass(merged[-1].representative, merged[-1].low, end)
        else:
            merged.append(ValueClass(start, start, end))
    return tuple(merged)


# Each comparison operator as the solver reads it (policy.lp), for Python that must agree.
COMPARISONS = {
    "ge": lambda v, t: v >= t,
    "gt": lambda v, t: v > t,
    "le": lambda v, t: v <= t,
    "lt": lambda v, t: v < t,
    "eq": lambda v, t: v == t,
    "ne": lambda v, t: v != t,
}


def _signature(value: int, thresholds: set[tuple[str, int]]) -> tuple[bool, ...]:
    return tuple(COMPARISONS[op](value, t) for op, t in sorted(thresholds))


def _candidates(
    value_type: ValueType, thresholds: set[tuple[str, int]]
) -> tuple[list[str], tuple[ValueClass, ...]]:
    if value_type.kind == "bool":
        return ["true", "false"], ()
    if value_type.kind == "choice":
        return [value_term(v) for v in value_type.values], ()
    if value_type.kind == "number":
        classes = value_classes(value_type, thresholds)
        return [str(c.representative) for c in classes], classes
    return [], ()


def emit_candidates(builder: Builder):
    emit = builder.emit
    emit("% ================================================================ missing documentation")
    emit("% Values that documentation not yet in the case could supply: one per class of values")
    emit("% the criteria treat alike (a number) or each value (true/false, a choice).")
    fact_classes: dict[str, tuple[ValueClass, ...]] = {}
    for term, fact in sorted(builder.asked_facts.items()):
        if fact.required:
            continue
        values, classes = _candidates(fact.type, builder.fact_thresholds.get(term, set()))
        if classes:
            fact_classes[term] = classes
        emit(f"candidate({term}, ({'; '.join(values)})).")
        emit(f"fact_cost({term}, {fact.cost}).")
    field_classes: dict[tuple[str, str], tuple[ValueClass, ...]] = {}
    for (kind, name), field_def in sorted(builder.asked_fields.items()):
        values, classes = _candidates(
            field_def.type, builder.field_thresholds.get((kind, name), set())
        )
        if classes:
            field_classes[(kind, name)] = classes
        if not values:
            continue
        emit(f"field_candidate({kind}, {name}, ({'; '.join(values)})).")
        if field_def.only_for:
            emit(f"field_only_for({kind}, {name}, {field_def.only_for}).")
    emit()
    emit("% What each kind of record costs to obtain, to rank sets of the same size.")
    for record in builder.policy.vocabulary.records:
        emit(f"record_cost({record.name}, {record.cost}).")
    return fact_classes, field_classes
