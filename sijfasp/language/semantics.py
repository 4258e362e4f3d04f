"""Semantic checks: names, types and ranges, from syntax trees to checked models.

`check_vocabulary` turns a vocabulary file into a `Vocabulary`; `check_policy` checks a policy
file against it and returns a `Policy`. Every problem found is collected and reported together;
nothing is raised until the whole file has been looked at.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..core import codings
from ..core.diagnostics import Code, Diagnostic, DiagnosticSink, did_you_mean
from ..core.kinds import BOTH_SIDES
from ..core.source import Span
from ..core.units import DECIMALS, is_code, month_days_range
from . import ast
from .label_numbers import label_warnings
from .version_syntax import version_problem

# The request field a case documents the procedure code in; a service's `cpt` codes are its values.
CPT_FIELD = "cpt_code"
CODE_DIGITS = 5
TYPE_NAMES = ("bool", "number", "date", "choice", "set")
BOOL_VALUES = ("true", "false")
COMPARATORS = (">=", "<=", ">", "<", "=", "!=")

# Every number reaches the solver as a 32-bit signed integer (numbers scaled by 100, dates as
# days). These limits keep every value and every sum the encoding forms (a count plus the records
# it adds, a day count) far inside that range; docs/dsl.md lists them.
MAX_NUMBER = Decimal(1_000_000)  # a vocabulary range bound, hence every threshold and case value
MAX_DECIMALS = DECIMALS  # the same precision the case loader accepts (core/units.py)
MAX_COUNT = 100  # at least N records / separate dates: the search for missing records grows with N
MAX_DAYS = 110_000  # a window or day count: the dates accepted (1900..2199) span 109,572 days
MAX_COST = 1_000
# A window in months: the request-date facts give each month start up to this many months back.
MAX_MONTHS = 240  # as case_facts.MAX_WINDOW_MONTHS
# How deep conditions nest (combinators inside combinators, with definitions expanded in place)
# and how long a chain of record sets including record sets may be.
MAX_DEPTH = 64
# How many conditions one criterion may hold with its definitions written out, as an explanation
# shows it: definitions shared many times over would otherwise multiply without bound.
MAX_TREE_NODES = 10_000
# Words the solver reads as its own: a name spelt so would break the compiled program.
SOLVER_RESERVED = frozenset({"not"})


# ------------------------------------------------------------------ checked models
@dataclass(frozen=True)
class ValueType:
    kind: str  # bool, number, date, choice, set
    low: Decimal | None = None
    high: Decimal | None = None
    values: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "number":
            return f"a number from {self.low} to {self.high}"
        if self.kind in ("choice", "set"):
            return ("one of " if self.kind == "choice" else "a list of ") + ", ".join(self.values)
        if self.kind == "date":
            return "a date YYYY-MM-DD"
        return "true or false"


@dataclass(frozen=True)
class FactDef:
    """A finding or a request field: a single documented value."""

    name: str
    scope: str  # "finding" or "request"
    type: ValueType
    means: str
    ask: str
    unit: str | None
    cost: int
    required: bool
    span: Span
    codes: tuple[codings.Coding, ...] = ()  # `code` clauses (core/codings.py)

    @property
    def key(self) -> str:
        return self.name if self.scope == "finding" else f"request.{self.name}"


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: ValueType
    means: str
    ask: str
    unit: str | None
    required: bool
    only_for: str | None
    derived: bool
    span: Span
    codes: tuple[codings.Coding, ...] = ()


@dataclass(frozen=True)
class RecordKind:
    name: str
    means: str
    ask: str
    cost: int
    fields: tuple[FieldDef, ...]
    span: Span
    codes: tuple[codings.Coding, ...] = ()

    def field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class Implication:
    """`narrow implies broad` between two true/false findings: narrow documented true makes
    broad true, and broad documented false makes narrow false (the contrapositive)."""

    narrow: str
    broad: str
    span: Span


@dataclass(frozen=True)
class Vocabulary:
    name: str
    description: str
    findings: tuple[FactDef, ...]
    request_fields: tuple[FactDef, ...]
    records: tuple[RecordKind, ...]
    path: str
    # The extension vocabularies merged into this one (language/extensions.py), in import order.
    extensions: tuple[str, ...] = ()
    implications: tuple[Implication, ...] = ()
    # `service NAME cpt CODES` in the vocabulary: the codes a request for the service may
    # document, per service (a service not listed may document any code).
    service_codes: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def broader(self, name: str) -> tuple[str, ...]:
        """Every finding `name` implies, directly or through others, nearest first."""
        found: list[str] = []
        pending = [name]
        while pending:
            current = pending.pop(0)
            for implication in self.implications:
                if implication.narrow == current and implication.broad not in found:
                    found.append(implication.broad)
                    pending.append(implication.broad)
        return tuple(found)

    def contradictions(self, findings: dict[str, object]) -> list[tuple[str, str]]:
        """Pairs (narrow, broad) of documented findings that contradict an implication: the
        narrow one true, a finding it implies false."""
        return [
            (name, broad)
            for name, value in findings.items()
            if value is True
            for broad in self.broader(name)
            if findings.get(broad) is False
        ]

    def codes_of(self, service: str) -> tuple[str, ...] | None:
        """The codes a request for `service` may document, or None: the table does not list the
        service, so any code goes."""
        return next((codes for name, codes in self.service_codes if name == service), None)

    def fact(self, scope: str, name: str) -> FactDef | None:
        pool = self.findings if scope == "finding" else self.request_fields
        return next((f for f in pool if f.name == name), None)

    def record(self, name: str) -> RecordKind | None:
        return next((r for r in self.records if r.name == name), None)


@dataclass(frozen=True)
class Policy:
    """A checked policy: metadata, and its criteria, exclusions and advisories per service."""

    id: str
    payer: str
    title: str
    document: str
    number: str | None
    effective: dt.date
    cite: str
    path: str
    vocabulary: Vocabulary
    services: tuple[ast.ServiceDecl, ...]
    defines: tuple[ast.DefineDecl, ...]
    record_sets: tuple[ast.RecordsDecl, ...]
    criteria: tuple[tuple[str, ast.Criterion], ...]  # (service, criterion)
    exclusions: tuple[tuple[tuple[str, ...], ast.Criterion], ...]  # (services, exclusion)
    advisories: tuple[tuple[tuple[str, ...], ast.Advisory], ...]
    warnings: tuple[Diagnostic, ...] = ()
    version: str = ""  # as the header states it, else the effective date (docs/dsl.md)
    # (plan, date) per `effective for PLAN DATE` line, in the order written.
    plan_effective: tuple[tuple[str, dt.date], ...] = ()

    def define(self, name: str) -> ast.DefineDecl | None:
        return next((d for d in self.defines if d.name == name), None)

    def record_set(self, name: str) -> ast.RecordsDecl | None:
        return next((r for r in self.record_sets if r.name == name), None)


# ------------------------------------------------------------------ properties
_VOCAB_PROPS = {
    "finding": {"means", "ask", "unit", "cost"},
    "request": {"means", "ask", "unit", "cost", "required"},
    "record": {"means", "ask", "cost"},
    "field": {"means", "ask", "unit", "required", "only_for", "derived"},
}
_FLAGS = {"required", "derived", "extends"}  # extends: language/extensions.py
_POLICY_PROPS = {"payer", "title", "document", "number", "effective", "cite", "url", "version"}
# Header properties that may be given per line of business: `effective for PLAN DATE`.
_PLAN_PROPS = {"effective"}
_POLICY_REQUIRED = ("payer", "title", "document", "effective", "cite")


def _properties(
    props: Iterable[ast.Property], allowed: set[str], where: str, sink: DiagnosticSink
) -> dict[str, ast.Property]:
    found: dict[str, ast.Property] = {}
    for prop in props:
        if isinstance(prop, ast.Coding):  # checked by _codes, and may be given many times
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


def _cost(props: dict[str, ast.Property]) -> int:
    value = props["cost"].value if "cost" in props else None
    return int(value) if isinstance(value, Decimal) else 1


def _text(props: dict[str, ast.Property], name: str) -> str:
    prop = props.get(name)
    return prop.value if prop is not None and isinstance(prop.value, str) else ""


def _codes(
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


def _reserved(name: str, what: str, span: Span, sink: DiagnosticSink) -> None:
    if name in SOLVER_RESERVED:
        sink.error(
            Code.RESERVED,
            f"'{name}' cannot name {what}: the solver reserves the word",
            span,
            f"choose another name, like '{name}_{what.split()[-1]}'",
        )


def _check_service_codes(
    services: Iterable[ast.ServiceDecl], vocabulary: Vocabulary, sink: DiagnosticSink
) -> None:
    """Every code a service lists is a value of the request field the case documents it in."""
    field = vocabulary.fact("request", CPT_FIELD)
    for service in services:
        if not service.cpt_codes:
            continue
        if len(set(service.cpt_codes)) != len(service.cpt_codes):
            sink.error(
                "duplicate-name", f"service '{service.name}' lists a code twice", service.span
            )
        if field is None or field.type.kind != "choice":
            sink.error(
                "unknown-name",
                f"service '{service.name}' lists CPT codes, but the vocabulary declares no "
                f"request field '{CPT_FIELD}' (a choice of codes) for a request to carry its code",
                service.span,
            )
            continue
        for code in service.cpt_codes:
            if code not in field.type.values:
                sink.error(
                    "unknown-name",
                    f"CPT {code} of service '{service.name}' is not a value of "
                    f"'request.{CPT_FIELD}'",
                    service.span,
                    did_you_mean(code, field.type.values)
                    or "values: " + ", ".join(field.type.values),
                )
                continue
            # A case documenting this code with this service is refused (the vocabulary's
            # table of codes): listing it would address a request that cannot be made.
            table = vocabulary.codes_of(service.name)
            if table is not None and code not in table:
                sink.error(
                    Code.TYPE,
                    f"CPT {code} is not a code of service '{service.name}' in the vocabulary",
                    service.span,
                    f"the vocabulary gives {service.name} the codes " + ", ".join(table),
                )


def decimals(value: Decimal) -> int:
    """How many decimal places a number is written with (7.50 has 2, 7 has 0)."""
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _check_precision(value: Decimal, span: Span, sink: DiagnosticSink) -> bool:
    if decimals(value.normalize()) > MAX_DECIMALS:
        sink.error(
            Code.PRECISION,
            f"{value} has more than {MAX_DECIMALS} decimal places: numbers are compared "
            f"to hundredths, as cases give them",
            span,
        )
        return False
    return True


def _check_type(spec: ast.TypeSpec, sink: DiagnosticSink) -> ValueType | None:
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
            _reserved(value, "a value", spec.span, sink)
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
        if not all(_check_precision(bound, spec.span, sink) for bound in (spec.low, spec.high)):
            return None
        return ValueType("number", spec.low, spec.high)
    if spec.low is not None:
        sink.error("range", f"'{spec.name}' takes no range", spec.span)
        return None
    return ValueType(spec.name)


# ------------------------------------------------------------------ vocabulary
def check_vocabulary(source: ast.SourceFile, extension: bool = False) -> Vocabulary:
    """A vocabulary file's declarations checked; a shared vocabulary (not an `extension`, see
    language/extensions.py) must declare the request's service and date."""
    sink = DiagnosticSink()
    header: ast.VocabularyDecl | None = None
    findings: list[FactDef] = []
    request_fields: list[FactDef] = []
    records: list[RecordKind] = []
    seen: dict[str, Span] = {}

    def declare(name: str, span: Span) -> None:
        if name in seen:
            sink.error(
                "duplicate-name", f"'{name}' is declared twice (first at {seen[name]})", span
            )
        seen[name] = span

    for decl in source.declarations:
        if isinstance(decl, ast.VocabularyDecl):
            if header is not None:
                sink.error("duplicate-name", "a file declares one vocabulary", decl.span)
            header = decl
        elif isinstance(decl, (ast.FindingDecl, ast.RequestDecl)):
            scope = "finding" if isinstance(decl, ast.FindingDecl) else "request"
            declare(decl.name if scope == "finding" else f"request.{decl.name}", decl.span)
            _reserved(
                decl.name, f"a {scope if scope == 'finding' else 'request field'}", decl.span, sink
            )
            props = _properties(
                decl.properties, _VOCAB_PROPS[scope], f"{scope} '{decl.name}'", sink
            )
            value_type = _check_type(decl.type, sink)
            _require(
                props, ("means", "ask"), f"{scope} '{decl.name}'", decl.span, sink, decl.properties
            )
            if value_type is None:
                continue
            fact = FactDef(
                decl.name,
                scope,
                value_type,
                _text(props, "means"),
                _text(props, "ask"),
                _text(props, "unit") or None,
                _cost(props),
                "required" in props,
                decl.span,
                _codes(decl.properties, value_type, sink),
            )
            (findings if scope == "finding" else request_fields).append(fact)
        elif isinstance(decl, ast.RecordDecl):
            declare(decl.name, decl.span)
            _reserved(decl.name, "a record kind", decl.span, sink)
            records.append(_check_record(decl, sink))
        elif isinstance(decl, (ast.ImplicationDecl, ast.ServiceCodesDecl)):
            continue  # checked below, once every finding and request field is known
        else:
            sink.error(
                "syntax",
                "a vocabulary file holds only vocabulary, finding, request_field, record, "
                "implication ('a implies b') and service code ('service NAME cpt CODES') "
                "declarations",
                decl.span,
            )
    implications = _check_implications(source, findings, sink)
    service_codes = _check_code_table(source, request_fields, sink)
    if header is None:
        sink.error(
            "property",
            "the file does not start with 'vocabulary NAME \"...\"'",
            Span(source.path, 1, 1, 1, 2),
        )
    for name in () if extension else ("service", "date"):
        if not any(f.name == name for f in request_fields):
            sink.error(
                "unknown-name",
                f"the vocabulary must declare request_field {name}",
                Span(source.path, 1, 1, 1, 2),
            )
    sink.raise_if_errors()
    assert header is not None
    return Vocabulary(
        header.name,
        header.description,
        tuple(findings),
        tuple(request_fields),
        tuple(records),
        source.path,
        implications=implications,
        service_codes=service_codes,
    )


def _check_implications(
    source: ast.SourceFile, findings: list[FactDef], sink: DiagnosticSink
) -> tuple[Implication, ...]:
    """Each `narrow implies broad`: two declared true/false findings, not the same, not twice,
    and no chain of implications leading back to where it started."""
    by_name = {f.name: f for f in findings}
    found: list[Implication] = []
    for decl in source.declarations:
        if not isinstance(decl, ast.ImplicationDecl):
            continue
        fine = True
        for name, span in ((decl.narrow, decl.narrow_span), (decl.broad, decl.broad_span)):
            fact = by_name.get(name)
            if fact is None:
                sink.error(
                    Code.UNKNOWN_NAME,
                    f"'{name}' is not a finding of this vocabulary",
                    span,
                    did_you_mean(name, list(by_name)),
                )
                fine = False
            elif fact.type.kind != "bool":
                # A value of a choice or a number would need its own contrapositive (which
                # other values does a false broad finding rule out?): only true/false findings.
                sink.error(
                    Code.TYPE,
                    f"'{name}' is {fact.type.describe()}; an implication joins findings that are "
                    "true or false",
                    span,
                )
                fine = False
        if not fine:
            continue
        if decl.narrow == decl.broad:
            sink.error(Code.CYCLE, f"'{decl.narrow}' implies itself", decl.span)
            continue
        twice = next((i for i in found if (i.narrow, i.broad) == (decl.narrow, decl.broad)), None)
        if twice is not None:
            sink.error(
                Code.DUPLICATE_NAME,
                f"'{decl.narrow} implies {decl.broad}' is written twice (first at {twice.span})",
                decl.span,
            )
            continue
        found.append(Implication(decl.narrow, decl.broad, decl.span))
    _check_implication_cycles(found, sink)
    return tuple(found)


def _check_implication_cycles(implications: list[Implication], sink: DiagnosticSink) -> None:
    """A chain of implications back to its start would make each finding of it imply the
    others: they are one finding, and the vocabulary should say so."""
    reported: set[str] = set()
    for first in implications:
        # Depth-first from first.broad, looking for first.narrow; the path is the cycle.
        pending: list[tuple[str, tuple[str, ...]]] = [(first.broad, (first.narrow, first.broad))]
        seen: set[str] = set()
        while pending:
            name, path = pending.pop()
            if name == first.narrow:
                if not reported & set(path):
                    sink.error(
                        Code.CYCLE,
                        "implications go round in a circle: " + " implies ".join(path),
                        first.span,
                        "findings that imply each other are one finding: keep one of them",
                    )
                reported.update(path)
                break
            if name in seen:
                continue
            seen.add(name)
            for step in implications:
                if step.narrow == name:
                    pending.append((step.broad, (*path, step.broad)))


def _check_code_table(
    source: ast.SourceFile, request_fields: list[FactDef], sink: DiagnosticSink
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`service NAME cpt CODES` in a vocabulary: NAME a value of request field `service`, each
    code a value of `cpt_code`, each service listed once, with one code or more."""
    service = next((f for f in request_fields if f.name == "service"), None)
    cpt = next((f for f in request_fields if f.name == CPT_FIELD), None)
    table: dict[str, tuple[str, ...]] = {}
    for decl in source.declarations:
        if not isinstance(decl, ast.ServiceCodesDecl):
            continue
        services = service.type.values if service is not None else ()
        if decl.name not in services:
            sink.error(
                Code.UNKNOWN_NAME,
                f"'{decl.name}' is not a value of the request field service",
                decl.span,
                did_you_mean(decl.name, list(services)) or "services: " + ", ".join(services),
            )
            continue
        if not decl.cpt_codes:
            sink.error(
                Code.SYNTAX,
                f"the vocabulary's line for service '{decl.name}' lists no code",
                decl.span,
                f"write: service {decl.name} cpt 27278, 27279",
            )
            continue
        if cpt is None:
            sink.error(
                Code.UNKNOWN_NAME,
                f"codes of services need the request field {CPT_FIELD}",
                decl.span,
            )
            continue
        unknown = [c for c in decl.cpt_codes if c not in cpt.type.values]
        if unknown:
            sink.error(
                Code.UNKNOWN_NAME,
                f"{unknown[0]} is not a value of request field {CPT_FIELD}",
                decl.span,
                "codes: " + ", ".join(cpt.type.values),
            )
            continue
        if decl.name in table:
            sink.error(
                Code.DUPLICATE_NAME,
                f"the codes of service '{decl.name}' are listed twice",
                decl.span,
                "list them on one line",
            )
            continue
        table[decl.name] = tuple(dict.fromkeys(decl.cpt_codes))
    return tuple(table.items())


def _require(
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


def _check_record(decl: ast.RecordDecl, sink: DiagnosticSink) -> RecordKind:
    props = _properties(decl.properties, _VOCAB_PROPS["record"], f"record '{decl.name}'", sink)
    _require(props, ("means", "ask"), f"record '{decl.name}'", decl.span, sink)
    fields: list[FieldDef] = []
    names: set[str] = set()
    for field in decl.fields:
        if field.name in names:
            sink.error("duplicate-name", f"field '{field.name}' is declared twice", field.span)
        names.add(field.name)
        checked = check_field(decl.name, field, sink)
        if checked is not None:
            fields.append(checked)
    dates = [f for f in fields if f.type.kind == "date"]
    if not any(f.name in ("date", "start") and f.required for f in dates):
        sink.error(
            "property", f"record '{decl.name}' needs a required field 'date' or 'start'", decl.span
        )
    return RecordKind(
        decl.name,
        _text(props, "means"),
        _text(props, "ask"),
        _cost(props),
        tuple(fields),
        decl.span,
        _codes(decl.properties, None, sink),
    )


def check_field(record: str, field: ast.FieldDecl, sink: DiagnosticSink) -> FieldDef | None:
    _reserved(field.name, "a field", field.span, sink)
    fprops = _properties(
        field.properties, _VOCAB_PROPS["field"], f"field '{record}.{field.name}'", sink
    )
    value_type = _check_type(field.type, sink)
    required = "required" in fprops
    derived = "derived" in fprops
    _require(fprops, ("means",), f"field '{record}.{field.name}'", field.span, sink)
    if not required and not derived:
        _require(fprops, ("ask",), f"optional field '{record}.{field.name}'", field.span, sink)
    if value_type is None:
        return None
    return FieldDef(
        field.name,
        value_type,
        _text(fprops, "means"),
        _text(fprops, "ask"),
        _text(fprops, "unit") or None,
        required,
        _text(fprops, "only_for") or None,
        derived,
        field.span,
        _codes(field.properties, value_type, sink),
    )


# ------------------------------------------------------------------ policy
@dataclass
class _PolicyContext:
    vocabulary: Vocabulary
    defines: dict[str, ast.DefineDecl]
    record_sets: dict[str, ast.RecordsDecl]
    sink: DiagnosticSink
    # The record kind of each named set, worked out once however often the set is used.
    set_kinds: dict[str, str | None] = dataclasses.field(default_factory=dict)


def narrow_record_sets(source: ast.SourceFile, vocabulary: Vocabulary) -> ast.SourceFile:
    """`NAMED where C` (a named record set narrowed where it is used) rewritten as the set's
    own filters, each with C added (and its outcome kept): every later stage sees plain filters
    of a record kind. A name that is neither a kind nor a set is left for the checks to report;
    a cycle of sets is left as written (reported as a cycle)."""
    named = {d.name: d for d in source.declarations if isinstance(d, ast.RecordsDecl)}

    def expand(name: str, visiting: frozenset[str]) -> list[ast.RecordFilter] | None:
        if name in visiting or len(visiting) > MAX_DEPTH:
            return None
        found: list[ast.RecordFilter] = []
        for part in named[name].records.parts:
            if isinstance(part, ast.RecordSetName):
                if part.name in named and vocabulary.record(part.name) is None:
                    inner = expand(part.name, visiting | {name})
                    if inner is None:
                        return None
                    found += inner
                else:
                    found.append(ast.RecordFilter(part.name, (), part.span))
            else:
                narrowed = narrow(part, visiting | {name})
                if narrowed is None:
                    return None
                found += narrowed
        return found

    def narrow(part: ast.RecordFilter, visiting: frozenset[str]) -> list[ast.RecordFilter] | None:
        if part.kind not in named or vocabulary.record(part.kind) is not None:
            return [part]
        inner = expand(part.kind, visiting)
        if inner is None:
            return None
        return [
            ast.RecordFilter(
                f.kind,
                f.conditions + part.conditions,
                part.span,
                f.outcome + part.outcome,
                narrows=part.kind,
            )
            for f in inner
        ]

    def rewrite(node: Any) -> Any:
        if isinstance(node, ast.RecordSet):
            parts: list[ast.RecordPart] = []
            for part in node.parts:
                narrowed = narrow(part, frozenset()) if isinstance(part, ast.RecordFilter) else None
                parts += narrowed if narrowed is not None else [part]
            return dataclasses.replace(node, parts=tuple(parts))
        if not dataclasses.is_dataclass(node) or isinstance(node, (type, Span)):
            return node
        changes = {}
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if isinstance(value, tuple):
                rewritten = tuple(rewrite(v) for v in value)
                if any(a is not b for a, b in zip(rewritten, value)):
                    changes[f.name] = rewritten
            elif dataclasses.is_dataclass(value):
                rewritten = rewrite(value)
                if rewritten is not value:
                    changes[f.name] = rewritten
        return dataclasses.replace(node, **changes) if changes else node

    if not any(
        isinstance(part, ast.RecordFilter) and part.kind in named for part in _record_parts(source)
    ):
        return source
    return rewrite(source)


def _record_parts(node: Any) -> Iterable[ast.RecordPart]:
    """Every part of every record set in a tree."""
    if isinstance(node, ast.RecordSet):
        yield from node.parts
    elif dataclasses.is_dataclass(node) and not isinstance(node, (type, Span)):
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            for child in value if isinstance(value, tuple) else (value,):
                if dataclasses.is_dataclass(child):
                    yield from _record_parts(child)


def check_policy(source: ast.SourceFile, vocabulary: Vocabulary) -> Policy:
    """Check a parsed policy against the vocabulary it imports."""
    source = narrow_record_sets(source, vocabulary)
    sink = DiagnosticSink()
    header: ast.PolicyDecl | None = None
    services: list[ast.ServiceDecl] = []
    defines: dict[str, ast.DefineDecl] = {}
    record_sets: dict[str, ast.RecordsDecl] = {}
    blocks: list[ast.CriteriaBlock] = []
    for decl in source.declarations:
        if isinstance(decl, ast.PolicyDecl):
            if header is not None:
                sink.error("duplicate-name", "a file declares one policy", decl.span)
            header = decl
        elif isinstance(decl, ast.ImportDecl):
            pass
        elif isinstance(decl, ast.ServiceDecl):
            if any(s.name == decl.name for s in services):
                sink.error("duplicate-name", f"service '{decl.name}' is declared twice", decl.span)
            services.append(decl)
        elif isinstance(decl, ast.DefineDecl):
            _declare_once(decl.name, decl.span, defines, record_sets, sink)
            _reserved(decl.name, "a definition", decl.span, sink)
            defines[decl.name] = decl
        elif isinstance(decl, ast.RecordsDecl):
            _declare_once(decl.name, decl.span, defines, record_sets, sink)
            _reserved(decl.name, "a record set", decl.span, sink)
            if vocabulary.record(decl.name) is not None:
                # A count of NAME would mean the kind to one stage and the set to another.
                sink.error(
                    Code.DUPLICATE_NAME,
                    f"'{decl.name}' is a record kind of the vocabulary; a set of records needs "
                    "a name of its own",
                    decl.span,
                )
            record_sets[decl.name] = decl
        elif isinstance(decl, ast.CriteriaBlock):
            blocks.append(decl)
        elif isinstance(decl, ast.ServiceCodesDecl):
            sink.error(
                Code.SYNTAX,
                f"service '{decl.name}' needs a section and a label",
                decl.span,
                f'write: service {decl.name} [section] "label" (codes, if any, before the section)',
            )
        else:
            sink.error("syntax", "vocabulary declarations belong in the vocabulary file", decl.span)

    context = _PolicyContext(vocabulary, defines, record_sets, sink)
    meta = _check_policy_header(header, source.path, sink)
    if header is not None:
        _reserved(header.name, "a policy", header.span, sink)
    # Cycles and depth first: the checks below follow references only once both are known safe.
    acyclic = _check_cycles(defines, record_sets, sink)
    if acyclic:
        _check_depth(defines, record_sets, [i for b in blocks for i in b.items], sink)
    requestable = {f.type.values for f in vocabulary.request_fields if f.name == "service"}
    known_services = set(next(iter(requestable), ()))
    for service in services:
        if service.name not in known_services:
            sink.error(
                "unknown-name",
                f"'{service.name}' is not a service of the vocabulary",
                service.span,
                did_you_mean(service.name, known_services),
            )

    _check_service_codes(services, vocabulary, sink)

    declared = {s.name for s in services}
    criteria: list[tuple[str, ast.Criterion]] = []
    exclusions: list[tuple[tuple[str, ...], ast.Criterion]] = []
    advisories: list[tuple[tuple[str, ...], ast.Advisory]] = []
    with_criteria: set[str] = set()
    declared_names: dict[str, ast.DefineDecl | ast.RecordsDecl] = {**defines, **record_sets}
    ids: dict[str, Span] = {name: d.span for name, d in declared_names.items()}
    for define in defines.values():
        _collect_ids(define.body, ids, sink, define.name)
    for block in blocks:
        for name, span in zip(block.services, block.service_spans):
            if name not in declared:
                sink.error(
                    "scope",
                    f"'{name}' is not a service this policy declares",
                    span,
                    did_you_mean(name, declared),
                )
        for item in block.items:
            _collect_ids(item, ids, sink)
            if block.role == "advisories":
                assert isinstance(item, ast.Advisory)
                _check_expr(item.when, context)
                if item.recommend is not None:
                    _check_expr(item.recommend, context)
                _need_section(item, sink)
                advisories.append((block.services, item))
                continue
            assert isinstance(item, ast.Criterion)
            _need_section(item, sink)
            _check_expr(item.body, context)
            if block.role == "criteria":
                for service_name in block.services:
                    criteria.append((service_name, item))
                    with_criteria.add(service_name)
            else:
                exclusions.append((block.services, item))
    for service in services:
        if service.name not in with_criteria:
            sink.error(
                "scope", f"service '{service.name}' has no 'criteria for' block", service.span
            )
    for decl in defines.values():
        _check_expr(decl.body, context)
    for name in record_sets:
        _named_set_kind(name, context, frozenset())
    if not sink.errors:  # a misspelt reference would also make its target look unused
        _warn_unused(defines, record_sets, blocks, sink)
        sink.items.extend(label_warnings(source))  # "At least 50%" over `>= 60`
    if not services:
        sink.error("scope", "the policy declares no service", Span(source.path, 1, 1, 1, 2))
    # A condition narrowing a named set is checked once per filter of the set: said once.
    sink.items = list(dict.fromkeys(sink.items))
    sink.raise_if_errors()
    assert meta is not None
    return Policy(
        meta["id"],
        meta["payer"],
        meta["title"],
        meta["document"],
        meta.get("number"),
        meta["effective"],
        meta["cite"],
        source.path,
        vocabulary,
        tuple(services),
        tuple(defines.values()),
        tuple(record_sets.values()),
        tuple(criteria),
        tuple(exclusions),
        tuple(advisories),
        tuple(d for d in sink.items if d.severity == "warning"),
        meta.get("version") or meta["effective"].isoformat(),
        meta["plan_effective"],
    )


def _declare_once(
    name: str, span: Span, defines: dict, record_sets: dict, sink: DiagnosticSink
) -> None:
    if name in defines or name in record_sets:
        sink.error("duplicate-name", f"'{name}' is defined twice", span)


def _check_policy_header(
    header: ast.PolicyDecl | None, path: str, sink: DiagnosticSink
) -> dict | None:
    if header is None:
        sink.error(
            "property", "the file has no 'policy NAME { ... }' block", Span(path, 1, 1, 1, 2)
        )
        return None
    props = _properties(header.properties, _POLICY_PROPS, f"policy '{header.name}'", sink)
    _require(
        props, _POLICY_REQUIRED, f"policy '{header.name}'", header.span, sink, header.properties
    )
    meta: dict = {"id": header.name}
    for name, prop in props.items():
        meta[name] = prop.value
    effective = props.get("effective")
    if effective is not None:
        meta["effective"] = _date(effective.value, "effective", effective.span, sink)
        if meta["effective"] is None:
            del meta["effective"]
    version = props.get("version")
    if version is not None and isinstance(version.value, str):
        problem = version_problem(version.value)
        if problem is not None:
            sink.error(Code.PROPERTY, problem, version.span)
    meta["plan_effective"] = _plan_dates(header.plan_properties, sink)
    return meta if all(k in meta for k in _POLICY_REQUIRED) else None


def _date(value: object, name: str, span: Span, sink: DiagnosticSink) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        sink.error(Code.PROPERTY, f"{name} takes a date YYYY-MM-DD", span)
        return None


def _plan_dates(
    lines: Iterable[ast.PlanProperty], sink: DiagnosticSink
) -> tuple[tuple[str, dt.date], ...]:
    """`effective for PLAN DATE` lines: one per plan. A plan's date may be before or after the
    general one: the version takes effect for that plan on its own date either way."""
    dates: dict[str, dt.date] = {}
    for line in lines:
        if line.name not in _PLAN_PROPS:
            sink.error(
                Code.PROPERTY,
                f"'{line.name}' cannot be given for a plan; only 'effective' can "
                "(effective for PLAN YYYY-MM-DD)",
                line.span,
                did_you_mean(line.name, _PLAN_PROPS),
            )
            continue
        if line.plan in dates:
            sink.error(
                Code.DUPLICATE_NAME,
                f"the effective date for plan '{line.plan}' is given twice",
                line.span,
            )
            continue
        date = _date(line.value, f"effective for {line.plan}", line.span, sink)
        if date is not None:
            dates[line.plan] = date
    return tuple(dates.items())


def _need_section(item: ast.Criterion | ast.Advisory, sink: DiagnosticSink) -> None:
    if item.section is None:
        sink.error(
            "property",
            f"'{item.name}' needs its section of the source document, like [Section 2.1]",
            item.span,
        )


def _collect_ids(
    item: ast.Member | ast.Advisory, ids: dict[str, Span], sink: DiagnosticSink, owner: str = ""
) -> None:
    """Criterion names identify nodes in the compiled program: each is used once in a policy,
    wherever it is written (a block, a definition's body, an advisory's condition).

    `owner` is the definition whose body is walked: a criterion named after it would make the
    definition its own member.
    """
    pending: list[ast.Member | ast.Advisory] = [item]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Criterion, ast.Advisory)):
            _reserved(node.name, "a criterion", node.span, sink)
            if node.name == owner:
                sink.error(
                    Code.CYCLE,
                    f"'{owner}' refers to itself: a criterion inside it has its name: "
                    f"{owner} -> {owner}",
                    node.span,
                )
            elif node.name in ids:
                sink.error(
                    Code.DUPLICATE_NAME,
                    f"'{node.name}' is already used at {ids[node.name]}",
                    node.span,
                )
            ids.setdefault(node.name, node.span)
        if isinstance(node, ast.Criterion):
            pending.append(node.body)
        elif isinstance(node, ast.Advisory):
            pending.append(node.when)
            if node.recommend is not None:
                pending.append(node.recommend)
        elif isinstance(node, ast.Combinator):
            pending.extend(reversed(node.members))


# ------------------------------------------------------------------ expressions
def _check_expr(expr: ast.Member, context: _PolicyContext) -> None:
    sink = context.sink
    if isinstance(expr, ast.Criterion):
        _check_expr(expr.body, context)
    elif isinstance(expr, ast.Combinator):
        listed: set[str] = set()
        for member in expr.members:
            _check_expr(member, context)
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


def _fact_names(context: _PolicyContext) -> list[str]:
    return [f.name for f in context.vocabulary.findings]


def _fact(ref: ast.FactRef, context: _PolicyContext) -> FactDef | None:
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
    context: _PolicyContext, kind: str, field_name: str, what: str, span: Span
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
    if not _check_precision(value, span, sink):
        return
    if value < low or value > high:
        sink.error("range", f"{value} is outside the range of '{name}' ({low}..{high})", span)
        return
    never = {">": value >= high, "<": value <= low}.get(operator, False)
    if never:
        sink.error("range", f"'{name} {operator} {value}' can never hold in {low}..{high}", span)


def _has_outcome(records: ast.RecordSet, context: _PolicyContext, seen: frozenset[str]) -> bool:
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
    records: ast.RecordSet, context: _PolicyContext, visiting: frozenset[str] = frozenset()
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


def _named_set_kind(name: str, context: _PolicyContext, visiting: frozenset[str]) -> str | None:
    """A named set's kind, checked once; a cycle or too long a chain is reported elsewhere."""
    if name in context.set_kinds:
        return context.set_kinds[name]
    if name in visiting or len(visiting) > MAX_DEPTH:
        return None
    kind = _record_set_kind(context.record_sets[name].records, context, visiting | {name})
    context.set_kinds[name] = kind
    return kind


def _record_part_kind(
    part: ast.RecordPart, context: _PolicyContext, visiting: frozenset[str]
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
        return _named_set_kind(part.name, context, visiting)
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


def _check_fact_window(condition: ast.FieldCondition, context: _PolicyContext) -> None:
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
    record: RecordKind, condition: ast.FieldCondition, context: _PolicyContext
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


def _check_order(field: FieldDef, condition: ast.FieldCondition, context: _PolicyContext) -> None:
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
        return  # a cycle: _check_cycles reports it
    if ordered:
        sink.error(
            Code.LIMIT,
            f"'{target}' is itself ordered against another set"
            + (f" (in '{ordered}')" if ordered != target else "")
            + f"; '{condition.operator}' names a set with no 'after' or 'before' of its own",
            condition.span,
        )


def _order_closure(name: str, context: _PolicyContext) -> tuple[set[str], str | None]:
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
                nexts = list(_order_targets(part))
                if nexts and ordered is None:
                    ordered = current
            for other in nexts:
                reached.add(other)
                pending.append(other)
    return reached, ordered


def _order_targets(part: ast.RecordFilter) -> Iterable[str]:
    """The sets a filter's order conditions (`date after SET`) name."""
    for condition in part.all_conditions:
        if condition.operator in ("after", "before"):
            yield condition.values[0]


def _names_used(node) -> Iterable[str]:
    """Every definition or record-set name an expression, criterion or set mentions."""
    if isinstance(node, (ast.Criterion, ast.DefineDecl)):
        yield from _names_used(node.body)
    elif isinstance(node, ast.Advisory):
        yield from _names_used(node.when)
        if node.recommend is not None:
            yield from _names_used(node.recommend)
    elif isinstance(node, ast.Combinator):
        for member in node.members:
            yield from _names_used(member)
    elif isinstance(node, ast.Reference):
        yield node.name
    elif isinstance(node, ast.CountRecords):
        yield from _names_used(node.records)
    elif isinstance(node, (ast.RecordSet, ast.RecordsDecl)):
        records = node if isinstance(node, ast.RecordSet) else node.records
        for part in records.parts:
            if isinstance(part, ast.RecordSetName):
                yield part.name
            else:
                if part.narrows is not None:  # `NAMED where ...`: the set is used
                    yield part.narrows
                yield from _order_targets(part)


def _warn_unused(
    defines: dict[str, ast.DefineDecl],
    record_sets: dict[str, ast.RecordsDecl],
    blocks: list[ast.CriteriaBlock],
    sink: DiagnosticSink,
) -> None:
    """A definition nothing uses is most often a criterion the author forgot to attach."""
    used: set[str] = set()
    for block in blocks:
        for item in block.items:
            used |= set(_names_used(item))
    decls: dict[str, ast.DefineDecl | ast.RecordsDecl] = {**defines, **record_sets}
    for decl in decls.values():
        used |= set(_names_used(decl)) - {decl.name}
    for name, decl in decls.items():
        if name not in used:
            sink.warning("unused", f"'{name}' is defined but no criterion uses it", decl.span)


def _check_cycles(
    defines: dict[str, ast.DefineDecl],
    record_sets: dict[str, ast.RecordsDecl],
    sink: DiagnosticSink,
) -> bool:
    """Report each cycle of definitions or record sets once; True when there is none.

    An iterative depth-first search: linear in the definitions, whatever their shape.
    """
    decls: dict[str, ast.DefineDecl | ast.RecordsDecl] = {**defines, **record_sets}
    graph = {name: sorted(set(_names_used(decl)) & decls.keys()) for name, decl in decls.items()}
    done: set[str] = set()
    reported: set[frozenset[str]] = set()
    for root in graph:
        if root in done:
            continue
        path: list[str] = [root]
        on_path = {root}
        iterators = [iter(graph[root])]
        while iterators:
            target = next(iterators[-1], None)
            if target is None:
                iterators.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
                continue
            if target in on_path:
                members = path[path.index(target) :]
                if frozenset(members) not in reported:
                    cycle = " -> ".join([*members, target])
                    sink.error(
                        Code.CYCLE, f"'{target}' refers to itself: {cycle}", decls[target].span
                    )
                    reported.add(frozenset(members))
                continue
            if target in done:
                continue
            path.append(target)
            on_path.add(target)
            iterators.append(iter(graph[target]))
    return not reported


def _check_depth(
    defines: dict[str, ast.DefineDecl],
    record_sets: dict[str, ast.RecordsDecl],
    items: list[ast.Criterion | ast.Advisory],
    sink: DiagnosticSink,
) -> None:
    """With every definition expanded in place (as an explanation shows a criterion),
    conditions nest at most MAX_DEPTH deep and a criterion has at most MAX_TREE_NODES nodes;
    record sets include one another at most MAX_DEPTH deep. Needs acyclic definitions.

    Each definition is measured once, so a definition used many times costs nothing more.
    """
    decls: dict[str, ast.DefineDecl | ast.RecordsDecl] = {**defines, **record_sets}
    shape: dict[str, tuple[int, int]] = {}  # name -> (depth, nodes)
    for root in decls:
        # Definitions in dependency order, without recursion: a chain may be long.
        pending = [root]
        while pending:
            current = pending[-1]
            if current in shape:
                pending.pop()
                continue
            decl = decls[current]
            missing = [n for n in _names_used(decl) if n in decls and n not in shape]
            if missing:
                pending.extend(missing)
                continue
            pending.pop()
            if isinstance(decl, ast.RecordsDecl):
                depth = 1 + max(
                    (shape[n][0] for n in _names_used(decl) if n in record_sets), default=0
                )
                shape[current] = (depth, 1)
            else:
                assert isinstance(decl, ast.DefineDecl)
                shape[current] = _expr_shape(decl.body, shape)
        depth, nodes = shape[root]
        if depth > MAX_DEPTH:
            what = "record sets include one another" if root in record_sets else "conditions nest"
            sink.error(
                Code.LIMIT,
                f"'{root}': {what} {depth} deep through definitions; the limit is {MAX_DEPTH}",
                decls[root].span,
            )
            return
        if nodes > MAX_TREE_NODES:
            sink.error(
                Code.LIMIT,
                f"'{root}' expands to {nodes} conditions with its definitions written out; "
                f"the limit is {MAX_TREE_NODES}",
                decls[root].span,
            )
            return
    for item in items:
        bodies = [item.when, item.recommend] if isinstance(item, ast.Advisory) else [item.body]
        for body in bodies:
            if body is None:
                continue
            depth, nodes = _expr_shape(body, shape)
            if depth > MAX_DEPTH or nodes > MAX_TREE_NODES:
                sink.error(
                    Code.LIMIT,
                    f"'{item.name}' with its definitions written out nests {depth} deep and "
                    f"holds {nodes} conditions; the limits are {MAX_DEPTH} and {MAX_TREE_NODES}",
                    item.span,
                )


def _expr_shape(expr: ast.Member, shape: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """(depth, nodes) of a condition with the definitions it uses written out in place."""
    if isinstance(expr, ast.Criterion):
        return _expr_shape(expr.body, shape)
    if isinstance(expr, ast.Combinator):
        parts = [_expr_shape(m, shape) for m in expr.members]
        return 1 + max(d for d, _ in parts), 1 + sum(n for _, n in parts)
    if isinstance(expr, ast.Reference):
        depth, nodes = shape.get(expr.name, (0, 0))
        return 1 + depth, 1 + nodes
    return 0, 1  # a test nests nothing: depth counts combinators and references, as parsing does
