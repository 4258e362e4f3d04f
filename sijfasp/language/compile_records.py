"""Record sets to facts: each named or anonymous set's filters (`filter/3`, `condition/3`,
`outcome/2`, `set_includes/2`) with the values they accept, and each field condition in the
normal form that subsumption compares (`condition_key`).
"""

from __future__ import annotations

from typing import assert_never

from ..core.kinds import FieldOperator, Operator
from ..core.units import scaled, value_term
from . import ast
from .compiled import (
    OPERATORS,
    CmpCondition,
    Condition,
    HasCondition,
    InCondition,
    MatchesCondition,
    OrderCondition,
    RecordSetInfo,
    WithinCondition,
    WithinFactMonthsCondition,
    WithinMonthsCondition,
    fact_term,
)
from .condition_text import set_text
from .program_builder import Builder, bracketed, source_line


def compile_named_set(builder: Builder, decl: ast.RecordsDecl) -> None:
    builder.comment(
        f"{builder.policy.cite}{bracketed(decl.section or '')} {decl.label}  ({source_line(decl.span)})"
    )
    _compile_set(builder, decl.name, decl.label, decl.records)
    builder.emit()


def compile_set_reference(builder: Builder, base: str, records: ast.RecordSet, label: str) -> str:
    """A set used in a count: a named set is used as it is; anything else becomes a new set."""
    if (
        len(records.parts) == 1
        and isinstance(records.parts[0], ast.RecordSetName)
        and builder.policy.record_set(records.parts[0].name) is not None
    ):
        return records.parts[0].name
    set_id = builder.fresh_id(base)
    _compile_set(builder, set_id, label, records)
    return set_id


def _compile_set(builder: Builder, set_id: str, label: str, records: ast.RecordSet) -> None:
    emit = builder.emit
    kind = None
    filters: list[tuple[Condition, ...]] = []
    includes: list[str] = []
    for index, part in enumerate(records.parts, start=1):
        if isinstance(part, ast.RecordSetName):
            named = builder.policy.record_set(part.name)
            if named is not None:
                emit(f"set_includes({set_id}, {part.name}).")
                includes.append(part.name)
                kind = kind or kind_of(builder, named.records)
                continue
            # A bare record kind: every record of that kind.
            filter_id = f"{set_id}_f{index}"
            emit(f"filter({set_id}, {filter_id}, {part.name}).")
            filters.append(())
            kind = part.name
            continue
        filters.append(tuple(condition_key(c) for c in part.all_conditions))
        filter_id = f"{set_id}_f{index}"
        kind = part.kind
        emit(f"filter({set_id}, {filter_id}, {part.kind}).")
        for number, condition in enumerate(part.all_conditions, start=1):
            # The condition reads first, then the values it accepts (emitted while compiling it).
            position = len(builder.lines)
            test = _compile_field_condition(builder, filter_id, number, part.kind, condition)
            builder.lines.insert(position, f"condition({filter_id}, {number}, {test}).")
            if number > len(part.conditions):
                emit(f"outcome({filter_id}, {number}).")
    outcome_fields = tuple(
        dict.fromkeys(
            c.field
            for part in records.parts
            if isinstance(part, ast.RecordFilter)
            for c in part.outcome
        )
    )
    builder.record_sets[set_id] = RecordSetInfo(
        set_id,
        kind or "",
        label,
        set_text(builder, records),
        tuple(filters),
        tuple(includes),
        outcome_fields,
    )


def condition_key(condition: ast.FieldCondition) -> Condition:
    """A field condition in the normal form subsumption compares."""
    operator = FieldOperator(condition.operator)
    match operator:
        case FieldOperator.IS | FieldOperator.IN:
            return InCondition("in", condition.field, frozenset(condition.values))
        case FieldOperator.COMPARE:
            assert condition.comparator is not None and condition.number is not None
            return CmpCondition(
                "cmp",
                condition.field,
                Operator.of_symbol(condition.comparator),
                scaled(condition.number),
            )
        case FieldOperator.HAS:
            return HasCondition("has", condition.field, condition.values[0])
        case FieldOperator.WITHIN if condition.months and condition.number is None:
            return WithinFactMonthsCondition(
                "within_fact_months", condition.field, condition.values[0]
            )
        case FieldOperator.WITHIN if condition.months:
            assert condition.number is not None
            return WithinMonthsCondition("within_months", condition.field, int(condition.number))
        case FieldOperator.WITHIN:
            assert condition.number is not None
            return WithinCondition("within", condition.field, -int(condition.number), 0)
        case FieldOperator.MATCHES:
            return MatchesCondition("matches", condition.field, condition.values[0])
        case FieldOperator.COVERS:
            return MatchesCondition("covers", condition.field, condition.values[0])
        case FieldOperator.AFTER:
            return OrderCondition("after", condition.field, condition.values[0])
        case FieldOperator.BEFORE:
            return OrderCondition("before", condition.field, condition.values[0])
    assert_never(operator)


def kind_of(builder: Builder, records: ast.RecordSet) -> str | None:
    for part in records.parts:
        if isinstance(part, ast.RecordFilter):
            return part.kind
        named = builder.policy.record_set(part.name)
        if named is None:
            return part.name
        return kind_of(builder, named.records)
    return None


def _compile_field_condition(
    builder: Builder, filter_id: str, number: int, kind: str, condition: ast.FieldCondition
) -> str:
    record = builder.policy.vocabulary.record(kind)
    assert record is not None
    field_def = record.field(condition.field)
    assert field_def is not None
    ask = builder.deciding and not field_def.required and not field_def.derived
    if ask:
        builder.asked_fields[(kind, field_def.name)] = field_def
    op = condition.operator
    if op in ("is", "in"):
        for value in condition.values:
            builder.emit(f"condition_value({filter_id}, {number}, {value_term(value)}).")
        return f"value_in({field_def.name})"
    if op == "compare":
        assert condition.comparator is not None and condition.number is not None
        threshold = scaled(condition.number)
        test = OPERATORS[condition.comparator]
        if ask:
            builder.field_thresholds.setdefault((kind, field_def.name), set()).add(
                (test, threshold)
            )
        return f"compare({field_def.name}, {test}, {threshold})"
    if op == "has":
        return f"has({field_def.name}, {condition.values[0]})"
    if op == "within" and condition.months and condition.number is None:
        return f"within_fact_months({field_def.name}, {condition.values[0]})"
    if op == "within" and condition.months:
        assert condition.number is not None
        return f"within_months({field_def.name}, {int(condition.number)})"
    if op == "within":
        assert condition.number is not None
        return f"within({field_def.name}, {-int(condition.number)}, 0)"
    if op in ("after", "before"):
        # The other set's records are dated by their `date`, or by their `start` (a therapy).
        target = builder.policy.record_set(condition.values[0])
        assert target is not None
        target_kind = builder.policy.vocabulary.record(kind_of(builder, target.records) or "")
        assert target_kind is not None
        dated_by = "date" if target_kind.field("date") is not None else "start"
        return f"{op}({field_def.name}, {target.name}, {dated_by})"
    assert op in ("matches", "covers")
    request_field = condition.values[0].partition(".")[2]
    fact = builder.policy.vocabulary.fact("request", request_field)
    assert fact is not None
    if builder.deciding:
        builder.asked_facts[fact_term("request", request_field)] = fact
    return f"{op}({field_def.name}, {fact_term('request', request_field)})"
