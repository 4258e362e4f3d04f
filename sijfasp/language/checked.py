"""The checked forms the later stages read: a `Vocabulary` (its findings, request fields, record
kinds, implications and service codes) and a `Policy`; and the limits every check holds a policy
and a vocabulary to.

Frozen data and the small look-ups on it, no checks: `vocabulary_checks` and `semantics` build
them from syntax trees.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from ..core import codings
from ..core.diagnostics import Diagnostic
from ..core.source import Span
from ..core.units import DECIMALS
from . import ast

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
