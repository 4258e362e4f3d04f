"""Conditions in policy words, for a compiled node's label and for explanations: the default
label of a member written without one, and a leaf's test as written (`vas_score >= 5`,
`at least 2 separate dates of injection`).
"""

from __future__ import annotations

from . import ast
from .program_builder import Builder


def describe_expr(builder: Builder, expr: ast.Expr) -> str:
    """A default label for a member written without one: the meaning of what it tests."""
    if isinstance(expr, ast.IsValue):
        fact = builder.policy.vocabulary.fact(expr.fact.scope, expr.fact.name)
        meaning = fact.means if fact else expr.fact.name
        if expr.value == "true" and not expr.negated:
            return f"{meaning}: positive" if "test" in expr.fact.name else meaning
        if expr.value == "false":
            return f"{meaning}: documented negative"
        if expr.negated:
            return f"{meaning}: not documented as present"
        return f"{meaning}: {expr.value}"
    if isinstance(expr, ast.IsIn):
        fact = builder.policy.vocabulary.fact(expr.fact.scope, expr.fact.name)
        meaning = fact.means if fact else expr.fact.name
        *rest, last = expr.values
        return f"{meaning}: {', '.join(rest)} or {last}" if rest else f"{meaning}: {last}"
    if isinstance(expr, ast.Combinator):
        words = {
            ast.CombinatorKind.ALL: "All of",
            ast.CombinatorKind.ANY: "Any of",
            ast.CombinatorKind.NONE: "None of",
            ast.CombinatorKind.AT_LEAST: f"At least {expr.minimum} of",
        }
        head = words[expr.kind]
        parts = [_member_label(builder, m) for m in expr.members]
        return f"{head}: " + "; ".join(parts)
    return condition_text(builder, expr)


def _member_label(builder: Builder, member: ast.Member) -> str:
    if isinstance(member, ast.Criterion):
        return member.label
    if isinstance(member, ast.Reference):
        define = builder.policy.define(member.name)
        return define.label if define is not None else member.name
    return describe_expr(builder, member)


def _fact_key(ref: ast.FactRef) -> str:
    return ref.name if ref.scope == "finding" else f"request.{ref.name}"


def condition_text(builder: Builder, expr: ast.Expr) -> str:
    if isinstance(expr, ast.IsValue):
        key = _fact_key(expr.fact)
        if expr.negated:
            return f"{key} is not true"
        return f"{key} = {expr.value}"
    if isinstance(expr, ast.IsIn):
        return f"{_fact_key(expr.fact)} in {{{', '.join(expr.values)}}}"
    if isinstance(expr, ast.Compare):
        return f"{_fact_key(expr.fact)} {expr.operator} {expr.value}"
    if isinstance(expr, ast.CountRecords):
        what = set_text(builder, expr.records)
        window = f" within the last {expr.window_days} days" if expr.window_days else ""
        if expr.window_months:
            window = f" within the last {expr.window_months} months"
        if expr.unit == "records":
            return f"at least {expr.minimum} {what}"
        if expr.unit == "dates" and expr.apart_days:
            return (
                f"at least {expr.minimum} separate dates of {what}, "
                f"at least {expr.apart_days} days apart"
            )
        if expr.unit == "dates":
            return f"at least {expr.minimum} separate dates of {what}"
        if expr.unit == "latest":
            return f"the latest of {what}"
        assert expr.unit == "days", expr.unit
        unit = "months" if expr.in_months else "days"
        return f"at least {expr.minimum} {unit} of {what}{window}"
    if isinstance(expr, ast.Reference):
        return expr.name
    raise AssertionError(f"not a condition: {type(expr).__name__}")


def set_text(builder: Builder, records: ast.RecordSet) -> str:
    parts = []
    for part in records.parts:
        if isinstance(part, ast.RecordSetName):
            parts.append(part.name)
        else:
            parts.append(_filter_text(part))
    return " or ".join(parts)


def _filter_text(part: ast.RecordFilter) -> str:
    if not part.conditions:
        return part.kind
    text = f"{part.kind} where " + _conditions_text(part.conditions)
    if part.outcome:
        text += " with " + _conditions_text(part.outcome)
    return text


def _conditions_text(conditions: tuple[ast.FieldCondition, ...]) -> str:
    tests = []
    for c in conditions:
        if c.operator == "is":
            tests.append(f"{c.field} = {c.values[0]}")
        elif c.operator == "in":
            tests.append(f"{c.field} in {{{', '.join(c.values)}}}")
        elif c.operator == "compare":
            tests.append(f"{c.field} {c.comparator} {c.number}")
        elif c.operator == "has":
            tests.append(f"{c.field} has {c.values[0]}")
        elif c.operator == "within":
            unit = "months" if c.months else "days"
            length = c.number if c.number is not None else c.values[0]
            tests.append(f"{c.field} within the last {length} {unit}")
        elif c.operator == "matches":
            tests.append(f"{c.field} same as {c.values[0]}")
        elif c.operator == "covers":
            tests.append(f"{c.field} same as {c.values[0]} or bilateral")
        elif c.operator in ("after", "before"):
            tests.append(f"{c.field} {c.operator} a record of {c.values[0]}")
        else:
            raise AssertionError(f"unknown field operator {c.operator}")
    return " and ".join(tests)
