"""What vocabulary and policy declarations share: their properties (`means`, `ask`, `cost`, ...),
their value types and ranges, their `code` clauses, and the words the solver reserves.

Each check reports to a `DiagnosticSink` and goes on; `vocabulary_checks`, `semantics` and
`extensions` build on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from ..core import codings
from ..core.diagnostics import Code, DiagnosticSink, did_you_mean
from ..core.source import Span
from ..core.units import is_code
from . import ast
from .checked import (
    BOOL_VALUES,
    CODE_DIGITS,
    MAX_COST,
    MAX_DECIMALS,
    MAX_NUMBER,
    SOLVER_RESERVED,
    TYPE_NAMES,
    ValueType,
)

VOCAB_PROPS = {
    "finding": {"means", "ask", "unit", "cost"},
    "request": {"means", "ask", "unit", "cost", "required"},
    "record": {"means", "ask", "cost"},
    "field": {"means", "ask", "unit", "required", "only_for", "derived"},
}

_FLAGS = {"required", "derived", "extends"}  # extends: language/extensions.py


def check_properties(
    props: Iterable[ast.Property], allowed: set[str], where: str, sink: DiagnosticSink
) -> dict[str, ast.Property]:
    found: dict[str, ast.Property] = {}
    for prop in props:
        if isinstance(prop, ast.Coding):  # checked by check_codes, and may be given many times
            continue
        if prop.name not in allowed:
            sink.error(
                "property",
                f"unknown property '{prop.name}' on {where}",
                prop.span,
                did_you_mean(prop.name, allowed) or "allowed here: " + ", ".join(sorted(allowed)),
            )
            continue
        if prop.name in found:
            sink.error("property", f"property '{prop.name}' given twice", prop.span)
            continue
        if prop.name in _FLAGS and prop.value is not None:
            sink.error("property", f"'{prop.name}' takes no value", prop.span)
        if prop.name not in _FLAGS and prop.value is None:
            sink.error("property", f"'{prop.name}' needs a value", prop.span)
            continue
        if prop.name == "cost" and not (
            isinstance(prop.value, Decimal) and prop.value == int(prop.value) and prop.value >= 0
        ):
            sink.error("property", "cost is a whole number of 0 or more", prop.span)
            continue
        if prop.name == "cost" and isinstance(prop.value, Decimal) and prop.value > MAX_COST:
            sink.error(Code.LIMIT, f"cost is at most {MAX_COST}", prop.span)
            continue
        if prop.name in (
            "means",
            "ask",
            "unit",
            "only_for",
            "payer",
            "title",
            "document",
            "number",
            "cite",
            "url",
            "version",
        ) and not isinstance(prop.value, str):
            sink.error("property", f"'{prop.name}' takes a text in double quotes", prop.span)
            continue
        found[prop.name] = prop
    return found


def cost_of(props: dict[str, ast.Property]) -> int:
    value = props["cost"].value if "cost" in props else None
    return int(value) if isinstance(value, Decimal) else 1


def text_of(props: dict[str, ast.Property], name: str) -> str:
    prop = props.get(name)
    return prop.value if prop is not None and isinstance(prop.value, str) else ""


def check_codes(
    props: Iterable[ast.Property], value_type: ValueType | None, sink: DiagnosticSink
) -> tuple[codings.Coding, ...]:
    """The item's `code` clauses checked: a known system, the code's form, a listed value."""
    found: list[codings.Coding] = []
    for prop in props:
        if not isinstance(prop, ast.Coding):
            continue
        system = codings.SYSTEMS.get(prop.system)
        if system is None:
            sink.error(
                Code.PROPERTY,
                f"unknown code system '{prop.system}'",
                prop.span,
                did_you_mean(prop.system, codings.SYSTEMS)
                or "systems: " + ", ".join(codings.SYSTEMS),
            )
            continue
        problem = codings.form_problem(prop.system, prop.code)
        if problem is not None:
            sink.error(Code.PROPERTY, f"'{prop.code}': {problem}", prop.span)
            continue
        value = prop.for_value
        if value is not None and value_type is None:
            sink.error(
                Code.PROPERTY,
                "a record kind's code names the kind: 'for' names a value of a field",
                prop.span,
            )
            continue
        if value is not None and value_type is not None:
            values = BOOL_VALUES if value_type.kind == "bool" else value_type.values
            if value not in values:
                sink.error(
                    Code.UNKNOWN_NAME,
                    f"'{value}' is not a value of this item",
                    prop.span,
                    did_you_mean(value, values) or "values: " + ", ".join(values),
                )
                continue
        coding = codings.Coding(system, prop.code, prop.display, value)
        if coding in found:
            sink.error(Code.DUPLICATE_NAME, f"code {prop.code} is given twice", prop.span)
            continue
        found.append(coding)
    return tuple(found)


def check_reserved(name: str, what: str, span: Span, sink: DiagnosticSink) -> None:
    if name in SOLVER_RESERVED:
        sink.error(
            Code.RESERVED,
            f"'{name}' cannot name {what}: the solver reserves the word",
            span,
            f"choose another name, like '{name}_{what.split()[-1]}'",
        )


def decimals(value: Decimal) -> int:
    """How many decimal places a number is written with (7.50 has 2, 7 has 0)."""
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def check_precision(value: Decimal, span: Span, sink: DiagnosticSink) -> bool:
    if decimals(value.normalize()) > MAX_DECIMALS:
        sink.error(
            Code.PRECISION,
            f"{value} has more than {MAX_DECIMALS} decimal places: numbers are compared "
            f"to hundredths, as cases give them",
            span,
        )
        return False
    return True


def check_type(spec: ast.TypeSpec, sink: DiagnosticSink) -> ValueType | None:
    if spec.name not in TYPE_NAMES:
        sink.error(
            "type",
            f"unknown type '{spec.name}'",
            spec.span,
            did_you_mean(spec.name, TYPE_NAMES) or "types: " + ", ".join(TYPE_NAMES),
        )
        return None
    if spec.name in ("choice", "set"):
        if not spec.values:
            sink.error("type", f"'{spec.name}' needs its values in braces", spec.span)
            return None
        if len(set(spec.values)) != len(spec.values):
            sink.error("duplicate-name", f"a value is listed twice in {spec.name}", spec.span)
        for value in spec.values:
            check_reserved(value, "a value", spec.span, sink)
            if is_code(value) and len(value) != CODE_DIGITS:
                sink.error(
                    "type",
                    f"'{value}': a value written in digits is a procedure code of "
                    f"{CODE_DIGITS} digits",
                    spec.span,
                )
        return ValueType(spec.name, values=spec.values)
    if spec.values:
        sink.error("type", f"'{spec.name}' takes no list of values", spec.span)
        return None
    if spec.name == "number":
        if spec.low is None or spec.high is None:
            sink.error("range", "a number needs its range, like 'number 0..10'", spec.span)
            return None
        if spec.low > spec.high:
            sink.error("range", f"the range {spec.low}..{spec.high} is empty", spec.span)
            return None
        if max(abs(spec.low), abs(spec.high)) > MAX_NUMBER:
            sink.error(
                Code.LIMIT,
                f"the range {spec.low}..{spec.high} goes past the largest number sijfasp "
                f"compares, {MAX_NUMBER}",
                spec.span,
            )
            return None
        if not all(check_precision(bound, spec.span, sink) for bound in (spec.low, spec.high)):
            return None
        return ValueType("number", spec.low, spec.high)
    if spec.low is not None:
        sink.error("range", f"'{spec.name}' takes no range", spec.span)
        return None
    return ValueType(spec.name)


def require_properties(
    props: dict,
    names: Iterable[str],
    where: str,
    span: Span,
    sink: DiagnosticSink,
    written: Iterable[ast.Property] = (),
) -> None:
    misspelt = {did_you_mean(p.name, names) for p in written if p.name not in props}
    for name in names:
        if name not in props and f"did you mean '{name}'?" not in misspelt:
            sink.error("property", f"{where} needs '{name} \"...\"'", span)
