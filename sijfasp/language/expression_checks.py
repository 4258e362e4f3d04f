"""The conditions of a policy checked against its vocabulary and its own definitions: names
resolved (with a did-you-mean), types of each test, ranges and limits of counts and windows,
the record kind of each record set and the fields its filters test, and order conditions
(`date after SET`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ..core.diagnostics import Code, DiagnosticSink, did_you_mean
from ..core.kinds import BOTH_SIDES
from ..core.source import Span
from ..core.units import month_days_range
from . import ast
from .checked import (
    BOOL_VALUES,
    MAX_COUNT,
    MAX_DAYS,
    MAX_DEPTH,
    MAX_MONTHS,
    FactDef,
    FieldDef,
    RecordKind,
    ValueType,
    Vocabulary,
)
from .declarations import check_precision
from .references import order_targets


@dataclass
class PolicyContext:
    vocabulary: Vocabulary
    defines: dict[str, ast.DefineDecl]
    record_sets: dict[str, ast.RecordsDecl]
    sink: DiagnosticSink
    # The record kind of each named set, worked out once however often the set is used.
    set_kinds: dict[str, str | None] = dataclasses.field(default_factory=dict)


def check_condition(expr: ast.Member, context: PolicyContext) -> None:
    sink = context.sink
    if isinstance(expr, ast.Criterion):
        check_condition(expr.body, context)
    elif isinstance(expr, ast.Combinator):
        listed: set[str] = set()
        for member in expr.members:
            check_condition(member, context)
            if isinstance(member, ast.Reference):
                # Listed twice it is still one member: 'at least 2 of { d d }' could never hold.
                if member.name in listed:
                    sink.error(
                        Code.DUPLICATE_NAME,
                        f"'{member.name}' is listed twice among the same members",
                        member.span,
                    )
                listed.add(member.name)
        if expr.kind == "at_least":
            assert expr.minimum is not None
            if expr.minimum < 1:
                sink.error("count", "'at least' needs a count of 1 or more", expr.span)
            elif expr.minimum > len(expr.members):
                sink.error(
                    "count",
                    f"at least {expr.minimum} of {len(expr.members)} members can never be met",
                    expr.span,
                )
    elif isinstance(expr, ast.Reference):
        if expr.name not in context.defines:
            hint = did_you_mean(expr.name, list(context.defines) + _fact_names(context))
            if expr.name in context.record_sets:
                hint = f"'{expr.name}' is a set of records: count it, 'at least 1 {expr.name}'"
            sink.error("unknown-name", f"'{expr.name}' is not a defined condition", expr.span, hint)
    elif isinstance(expr, ast.IsValue):
        fact = _fact(expr.fact, context)
        if fact is None:
            return
        if expr.value in BOOL_VALUES:
            if fact.type.kind != "bool":
                sink.error(
                    "type", f"'{fact.key}' is {fact.type.describe()}, not true or false", expr.span
                )
            elif expr.negated and expr.value == "false":
                sink.error(
                    "type", "write 'is true' or 'is not true' rather than 'is not false'", expr.span
                )
            return
        if expr.negated:
            sink.error("type", "only 'is not true' may be negated", expr.span)
            return
        _check_choice(fact, (expr.value,), expr.span, sink)
    elif isinstance(expr, ast.IsIn):
        fact = _fact(expr.fact, context)
        if fact is not None:
            _check_choice(fact, expr.values, expr.span, sink)
    elif isinstance(expr, ast.Compare):
        fact = _fact(expr.fact, context)
        if fact is None:
            return
        if fact.type.kind != "number":
            sink.error(
                "type", f"'{fact.key}' is {fact.type.describe()}; only numbers compare", expr.span
            )
            return
        _check_comparison(fact.type, expr.operator, expr.value, fact.key, expr.span, sink)
    elif isinstance(expr, ast.CountRecords):
        kind = _record_set_kind(expr.records, context)
        if expr.unit == "latest" and not _has_outcome(expr.records, context, frozenset()):
            sink.error(
                "type",
                "'latest of' reads the outcome of the most recent attempt: the set needs an "
                "outcome, written after 'with'",
                expr.span,
                "e.g. latest of lab where test is cotinine with result is negative",
            )
        if expr.minimum < 1:
            sink.error("count", "'at least' needs a count of 1 or more", expr.span)
        limit = MAX_DAYS if expr.unit == "days" else MAX_COUNT
        if expr.in_months:
            _check_months_duration(expr, sink)
        elif expr.minimum > limit:
            sink.error(
                Code.LIMIT,
                f"at least {expr.minimum} {expr.unit} is past the limit of {limit}",
                expr.span,
            )
        if expr.window_days is not None and expr.window_days > MAX_DAYS:
            sink.error(
                Code.LIMIT,
                f"a window of {expr.window_days} days is past the limit of {MAX_DAYS} "
                "(the dates sijfasp accepts span fewer days)",
                expr.span,
            )
        if expr.unit == "days" and kind is not None:
            _require_field(
                context,
                kind,
                "start",
                "days are counted over records with a start and an end",
                expr.span,
            )
        if expr.apart_days is not None:
            if not 1 <= expr.apart_days <= MAX_DAYS:
                sink.error(
                    Code.LIMIT if expr.apart_days > MAX_DAYS else "range",
                    f"a spacing runs from 1 to {MAX_DAYS} days",
                    expr.span,
                )
            if kind is not None:
                _require_field(
                    context, kind, "date", "dates are spaced over records with a date", expr.span
                )
        if expr.window_months is not None:
            if not 1 <= expr.window_months <= MAX_MONTHS:
                sink.error(
                    "range", f"a window in months runs from 1 to {MAX_MONTHS} months", expr.span
                )
            elif expr.in_months and expr.minimum > expr.window_months:
                sink.error(
                    "count",
                    f"{expr.minimum} months cannot fit in a window of {expr.window_months} months",
                    expr.span,
                )
            elif not expr.in_months and expr.minimum > 31 * expr.window_months + 1:
                sink.error(
                    "count",
                    f"{expr.minimum} days cannot fit in a window of {expr.window_months} months",
                    expr.span,
                )
        if expr.window_days is not None:
            if expr.window_days < 1:
                sink.error("range", "a window needs at least 1 day", expr.span)
            elif expr.in_months and 1 <= expr.minimum <= MAX_MONTHS:
                fewest = month_days_range(expr.minimum)[0]
                if fewest > expr.window_days + 1:
                    sink.error(
                        "count",
                        f"{expr.minimum} months (at least {fewest} days) cannot fit in a window "
                        f"of {expr.window_days} days",
                        expr.span,
                    )
            elif expr.unit == "days" and expr.minimum > expr.window_days + 1:
                sink.error(
                    "count",
                    f"{expr.minimum} days cannot fit in a window of {expr.window_days} days",
                    expr.span,
                )
    else:
        raise AssertionError(f"not a condition: {type(expr).__name__}")


def _check_months_duration(expr: ast.CountRecords, sink: DiagnosticSink) -> None:
    """`at least N months of`: N calendar months back from the request date, as the case's
    month_start/2 facts give them, so no further back than a window in months may reach."""
    if expr.minimum > MAX_MONTHS:
        sink.error(
            Code.LIMIT,
            f"at least {expr.minimum} months is past the limit of {MAX_MONTHS}",
            expr.span,
        )


def _fact_names(context: PolicyContext) -> list[str]:
    return [f.name for f in context.vocabulary.findings]


def _fact(ref: ast.FactRef, context: PolicyContext) -> FactDef | None:
    vocabulary = context.vocabulary
    if ref.scope not in ("finding", "request"):
        context.sink.error(
            "unknown-name",
            f"'{ref.scope}.{ref.name}': only request fields are "
            "written with a dot, as request.NAME",
            ref.span,
            did_you_mean(ref.scope, ["request"]),
        )
        return None
    fact = vocabulary.fact(ref.scope, ref.name)
    if fact is None:
        pool = vocabulary.findings if ref.scope == "finding" else vocabulary.request_fields
        hint = did_you_mean(ref.name, [f.name for f in pool])
        if ref.scope == "finding" and vocabulary.fact("request", ref.name) is not None:
            hint = f"a request field is written request.{ref.name}"
        if ref.scope == "finding" and ref.name in context.record_sets:
            hint = f"'{ref.name}' is a set of records: count it, 'at least 1 {ref.name}'"
        what = "finding" if ref.scope == "finding" else "request field"
        context.sink.error(
            "unknown-name", f"'{ref.name}' is not a {what} of the vocabulary", ref.span, hint
        )
    return fact


def _require_field(
    context: PolicyContext, kind: str, field_name: str, what: str, span: Span
) -> None:
    """A type error unless records of `kind` have the field a count over them reads."""
    record = context.vocabulary.record(kind)
    if record is None or record.field(field_name) is None:
        context.sink.error("type", f"{what}; '{kind}' has none", span)


def _check_choice(
    fact: FactDef | FieldDef, values: Iterable[str], span: Span, sink: DiagnosticSink
) -> None:
    name = fact.key if isinstance(fact, FactDef) else fact.name
    if fact.type.kind == "bool":
        for value in values:
            if value not in BOOL_VALUES:
                sink.error("type", f"'{name}' is true or false, not '{value}'", span)
        return
    if fact.type.kind != "choice":
        sink.error("type", f"'{name}' is {fact.type.describe()}; 'is'/'in' test a choice", span)
        return
    for value in values:
        if value not in fact.type.values:
            sink.error(
                "unknown-name",
                f"'{value}' is not a value of '{name}'",
                span,
                did_you_mean(value, fact.type.values) or "values: " + ", ".join(fact.type.values),
            )


def _check_comparison(
    value_type: ValueType,
    operator: str,
    value: Decimal,
    name: str,
    span: Span,
    sink: DiagnosticSink,
) -> None:
    low, high = value_type.low, value_type.high
    assert low is not None and high is not None
    if not check_precision(value, span, sink):
        return
    if value < low or value > high:
        sink.error("range", f"{value} is outside the range of '{name}' ({low}..{high})", span)
        return
    never = {">": value >= high, "<": value <= low}.get(operator, False)
    if never:
        sink.error("range", f"'{name} {operator} {value}' can never hold in {low}..{high}", span)


def _has_outcome(records: ast.RecordSet, context: PolicyContext, seen: frozenset[str]) -> bool:
    """Whether some filter of the set, or of a set it includes, has an outcome (`with ...`)."""
    for part in records.parts:
        if isinstance(part, ast.RecordFilter) and part.outcome:
            return True
        if isinstance(part, ast.RecordSetName) and part.name not in seen:
            named = context.record_sets.get(part.name)
            if named is not None and _has_outcome(named.records, context, seen | {part.name}):
                return True
    return False


def _record_set_kind(
    records: ast.RecordSet, context: PolicyContext, visiting: frozenset[str] = frozenset()
) -> str | None:
    """The record kind of a set (all parts must agree), checking each filter on the way."""
    kinds: set[str] = set()
    for part in records.parts:
        kind = _record_part_kind(part, context, visiting)
        if kind is not None:
            kinds.add(kind)
    if len(kinds) > 1:
        context.sink.error(
            "type", "a set of records mixes kinds: " + ", ".join(sorted(kinds)), records.span
        )
        return None
    return next(iter(kinds), None)


def named_set_kind(name: str, context: PolicyContext, visiting: frozenset[str]) -> str | None:
    """A named set's kind, checked once; a cycle or too long a chain is reported elsewhere."""
    if name in context.set_kinds:
        return context.set_kinds[name]
    if name in visiting or len(visiting) > MAX_DEPTH:
        return None
    kind = _record_set_kind(context.record_sets[name].records, context, visiting | {name})
    context.set_kinds[name] = kind
    return kind


def _record_part_kind(
    part: ast.RecordPart, context: PolicyContext, visiting: frozenset[str]
) -> str | None:
    vocabulary, sink = context.vocabulary, context.sink
    if isinstance(part, ast.RecordSetName):
        if vocabulary.record(part.name) is not None:
            return part.name
        decl = context.record_sets.get(part.name)
        if decl is None:
            hint = did_you_mean(
                part.name, [r.name for r in vocabulary.records] + list(context.record_sets)
            )
            if vocabulary.fact("finding", part.name) is not None:
                hint = (
                    f"'{part.name}' is a finding, not records: test it directly, "
                    f"e.g. '{part.name} is true' or '{part.name} >= N'"
                )
            sink.error(
                "unknown-name",
                f"'{part.name}' is neither a record kind nor a defined set of records",
                part.span,
                hint,
            )
            return None
        return named_set_kind(part.name, context, visiting)
    record = vocabulary.record(part.kind)
    if record is None:
        sink.error(
            "unknown-name",
            f"'{part.kind}' is neither a record kind nor a defined set of records",
            part.span,
            did_you_mean(
                part.kind, [r.name for r in vocabulary.records] + list(context.record_sets)
            ),
        )
        return None
    for condition in part.all_conditions:
        _check_field_condition(record, condition, context)
    return record.name


def _check_fact_window(condition: ast.FieldCondition, context: PolicyContext) -> None:
    """`FIELD within last FINDING months`: the window is as long as a number finding documents
    in months (the pain's duration: the current episode of care)."""
    name = condition.values[0]
    fact = context.vocabulary.fact("finding", name)
    if fact is None:
        names = [f.name for f in context.vocabulary.findings if f.type.kind == "number"]
        context.sink.error(
            "unknown-name",
            f"'{name}' is not a finding; a window in months is a number or a number finding",
            condition.span,
            did_you_mean(name, names) or "number findings: " + ", ".join(names),
        )
    elif fact.type.kind != "number" or fact.unit != "months":
        context.sink.error(
            "type",
            f"a window as long as a finding needs a number of months; '{name}' is "
            f"{fact.type.describe()}" + (f" in {fact.unit}" if fact.unit else ""),
            condition.span,
        )


def _check_field_condition(
    record: RecordKind, condition: ast.FieldCondition, context: PolicyContext
) -> None:
    sink = context.sink
    field = record.field(condition.field)
    if field is None:
        names = [f.name for f in record.fields]
        sink.error(
            "unknown-name",
            f"'{condition.field}' is not a field of {record.name}",
            condition.span,
            did_you_mean(condition.field, names) or "fields: " + ", ".join(names),
        )
        return
    kind = field.type.kind
    op = condition.operator
    if op in ("is", "in"):
        _check_choice(field, condition.values, condition.span, sink)
    elif op == "compare":
        if kind != "number":
            sink.error(
                "type",
                f"'{field.name}' is {field.type.describe()}; only numbers compare",
                condition.span,
            )
            return
        assert condition.comparator is not None and condition.number is not None
        _check_comparison(
            field.type, condition.comparator, condition.number, field.name, condition.span, sink
        )
    elif op == "has":
        if kind != "set":
            sink.error(
                "type",
                f"'has' tests a list; '{field.name}' is {field.type.describe()}",
                condition.span,
            )
            return
        value = condition.values[0]
        if value not in field.type.values:
            sink.error(
                "unknown-name",
                f"'{value}' is not a value of '{field.name}'",
                condition.span,
                did_you_mean(value, field.type.values) or "values: " + ", ".join(field.type.values),
            )
    elif op == "within":
        if kind != "date":
            sink.error(
                "type",
                f"'within' tests a date; '{field.name}' is {field.type.describe()}",
                condition.span,
            )
        elif condition.months and condition.number is None:
            _check_fact_window(condition, context)
        elif condition.months and condition.number is not None:
            if not 1 <= condition.number <= MAX_MONTHS:
                sink.error(
                    "range",
                    f"a window in months runs from 1 to {MAX_MONTHS} months",
                    condition.span,
                )
        elif condition.number is not None and condition.number > MAX_DAYS:
            sink.error(
                Code.LIMIT,
                f"a window of {condition.number} days is past the limit of {MAX_DAYS} "
                "(the dates sijfasp accepts span fewer days)",
                condition.span,
            )
    elif op in ("matches", "covers"):
        target = condition.values[0]
        scope, _, name = target.partition(".")
        fact = context.vocabulary.fact("request", name) if scope == "request" else None
        if fact is None:
            sink.error(
                "unknown-name",
                f"'{target}' is not a request field; write '{op} request.NAME'",
                condition.span,
            )
            return
        if (
            kind != "choice"
            or fact.type.kind != "choice"
            or not set(field.type.values) & set(fact.type.values)
        ):
            sink.error("type", f"'{field.name}' and '{target}' do not share values", condition.span)
        elif op == "covers" and BOTH_SIDES not in field.type.values:
            sink.error(
                "type",
                f"'covers' needs a side field with the value bilateral; '{field.name}' is "
                f"{field.type.describe()}",
                condition.span,
            )
    elif op in ("after", "before"):
        _check_order(field, condition, context)
    else:
        raise AssertionError(f"unknown field operator {op}")


def _check_order(field: FieldDef, condition: ast.FieldCondition, context: PolicyContext) -> None:
    """`date after SET`: a date field, ordered against a named set that is not itself ordered
    against another (its members are worked out first; a cycle is reported with the others)."""
    sink = context.sink
    if field.type.kind != "date":
        sink.error(
            "type",
            f"'{condition.operator}' orders a date; '{field.name}' is {field.type.describe()}",
            condition.span,
        )
    target = condition.values[0]
    if target not in context.record_sets:
        sink.error(
            "unknown-name",
            f"'{target}' is not a set of records this policy declares",
            condition.span,
            did_you_mean(target, context.record_sets)
            or f'declare it first: records {target} [section] "label": KIND where ...',
        )
        return
    reached, ordered = _order_closure(target, context)
    if target in reached:
        return  # a cycle: check_cycles reports it
    if ordered:
        sink.error(
            Code.LIMIT,
            f"'{target}' is itself ordered against another set"
            + (f" (in '{ordered}')" if ordered != target else "")
            + f"; '{condition.operator}' names a set with no 'after' or 'before' of its own",
            condition.span,
        )


def _order_closure(name: str, context: PolicyContext) -> tuple[set[str], str | None]:
    """The sets `name` reaches through includes and order conditions (itself only through a
    cycle), and one set among them, `name` included, with an order condition of its own."""
    reached: set[str] = set()
    ordered: str | None = None
    pending = [name]
    seen: set[str] = set()
    while pending:
        current = pending.pop()
        if current in seen or current not in context.record_sets:
            continue
        seen.add(current)
        for part in context.record_sets[current].records.parts:
            if isinstance(part, ast.RecordSetName):
                nexts = [part.name]
            else:
                nexts = list(order_targets(part))
                if nexts and ordered is None:
                    ordered = current
            for other in nexts:
                reached.add(other)
                pending.append(other)
    return reached, ordered
