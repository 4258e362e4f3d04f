"""The Lark tree to `ast` dataclasses, each node with the span of the text it came from; texts
and sections with a control character are reported, not passed on.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from lark import Token, Transformer, v_args

from ..core.diagnostics import Code, Diagnostic
from ..core.source import Span
from . import ast
from .syntax_errors import JOINS, span_of_token


class RecoveredTreeError(Exception):
    pass


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def _unquote(token: Token) -> str:
    return str(token)[1:-1]


@dataclass(frozen=True)
class _Months:
    """`within last N months`, until `count_days` takes it in."""

    count: int


@dataclass(frozen=True)
class _Outcome:
    """The `with ...` part of a filter, until `filtered` takes it in."""

    conditions: tuple[ast.FieldCondition, ...]


def _number(token: Token) -> Decimal:
    return Decimal(str(token))


def _value(token: Token) -> str | Decimal:
    """A property's value: a quoted text unquoted, a number exact, a date as written."""
    if token.type == "STRING":
        return _unquote(token)
    if token.type in ("INT", "DECIMAL"):
        return _number(token)
    return str(token)


def _section(token: Token) -> str:
    return str(token)[1:-1].strip()


@v_args(meta=True)
class ToAst(Transformer):
    """Lark tree to `ast` nodes; each node gets the span of the text it came from."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.problems: list[Diagnostic] = []

    def __default_token__(self, token: Token) -> Token:
        # A text or section reaches terminals and the compiled program: no control characters.
        if token.type in ("STRING", "SECTION"):
            bad = next((c for c in str(token) if _is_control(c)), None)
            if bad is not None:
                self.problems.append(
                    Diagnostic(
                        Code.SYNTAX,
                        f"a text contains the control character U+{ord(bad):04X}",
                        span_of_token(self.path, token),
                    )
                )
        return token

    def _span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.path, 1, 1, 1, 1)
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, token: Token) -> Span:
        return span_of_token(self.path, token)

    # -------------------------------------------------------------- shared
    def start(self, meta, children):
        return ast.SourceFile(self.path, tuple(children))

    def name_list(self, meta, children):
        return [c for c in children if isinstance(c, Token) and c.type == "NAME"]

    def value_list(self, meta, children):
        return [c for c in children if isinstance(c, Token) and c.type in ("NAME", "INT")]

    def number(self, meta, children):
        return children[0]

    def range(self, meta, children):
        return (_number(children[0]), _number(children[1]))

    def simple_type(self, meta, children):
        name = children[0]
        low = high = None
        if len(children) > 1:
            low, high = children[1]
        return ast.TypeSpec(str(name), low, high, (), self._span(meta))

    def choice_type(self, meta, children):
        return ast.TypeSpec(
            "choice", None, None, tuple(str(v) for v in children[0]), self._span(meta)
        )

    def set_type(self, meta, children):
        return ast.TypeSpec("set", None, None, tuple(str(v) for v in children[0]), self._span(meta))

    def property(self, meta, children):
        name = children[0]
        value: str | Decimal | None = None
        if len(children) > 1:
            value = _value(children[1])
        return ast.Property(str(name), value, self._span(meta))

    def coding(self, meta, children):
        texts = [_unquote(c) for c in children[1:] if c.type == "STRING"]
        value = next((str(c) for c in children[1:] if c.type != "STRING"), None)
        return ast.Coding(
            "code",
            None,
            self._span(meta),
            str(children[0]),
            texts[0],
            texts[1] if len(texts) > 1 else None,
            value,
        )

    def plan_property(self, meta, children):
        return ast.PlanProperty(
            str(children[0]), str(children[1]), _value(children[2]), self._span(meta)
        )

    def _split_properties(self, children):
        return tuple(c for c in children if isinstance(c, ast.Property))

    # -------------------------------------------------------------- vocabulary
    def vocabulary_decl(self, meta, children):
        return ast.VocabularyDecl(str(children[0]), _unquote(children[1]), self._span(meta))

    def finding_decl(self, meta, children):
        return ast.FindingDecl(
            str(children[0]), children[1], self._split_properties(children[2:]), self._span(meta)
        )

    def request_decl(self, meta, children):
        return ast.RequestDecl(
            str(children[0]), children[1], self._split_properties(children[2:]), self._span(meta)
        )

    def field_decl(self, meta, children):
        return ast.FieldDecl(
            str(children[0]), children[1], self._split_properties(children[2:]), self._span(meta)
        )

    def record_decl(self, meta, children):
        fields = tuple(c for c in children[1:] if isinstance(c, ast.FieldDecl))
        return ast.RecordDecl(
            str(children[0]), self._split_properties(children[1:]), fields, self._span(meta)
        )

    # -------------------------------------------------------------- policy
    def import_decl(self, meta, children):
        return ast.ImportDecl(_unquote(children[0]), self._span(meta))

    def import_named(self, meta, children):
        return ast.ImportDecl(_unquote(children[0]), self._span(meta), by_name=True)

    def policy_decl(self, meta, children):
        return ast.PolicyDecl(
            str(children[0]),
            self._split_properties(children[1:]),
            self._span(meta),
            tuple(c for c in children[1:] if isinstance(c, ast.PlanProperty)),
        )

    def service_decl(self, meta, children):
        name = str(children[0])
        codes = tuple(str(c) for c in children[1:] if c.type == "INT")
        rest = [c for c in children[1:] if c.type != "INT"]
        if not rest:  # a vocabulary's table of codes: no section, no label
            return ast.ServiceCodesDecl(name, codes, self._span(meta))
        return ast.ServiceDecl(name, codes, _section(rest[0]), _unquote(rest[1]), self._span(meta))

    def implication_decl(self, meta, children):
        narrow, broad = children
        return ast.ImplicationDecl(
            str(narrow),
            str(broad),
            self._span(meta),
            self._tok_span(narrow),
            self._tok_span(broad),
        )

    def _labelled(self, children):
        """NAME SECTION? STRING ... -> (name, section, label, rest)."""
        name = str(children[0])
        index = 1
        section = None
        if isinstance(children[index], Token) and children[index].type == "SECTION":
            section = _section(children[index])
            index += 1
        label = _unquote(children[index])
        return name, section, label, children[index + 1 :]

    def define_decl(self, meta, children):
        name, section, label, rest = self._labelled(children)
        return ast.DefineDecl(name, section, label, rest[0], self._span(meta))

    def records_decl(self, meta, children):
        name, section, label, rest = self._labelled(children)
        return ast.RecordsDecl(name, section, label, rest[0], self._span(meta))

    def criterion(self, meta, children):
        name, section, label, rest = self._labelled(children)
        return ast.Criterion(name, section, label, rest[0], self._span(meta))

    def advisory(self, meta, children):
        name, section, label, rest = self._labelled(children)
        recommend = rest[1] if len(rest) > 1 else None
        return ast.Advisory(name, section, label, rest[0], recommend, self._span(meta))

    def _block(self, role, meta, children):
        services = children[0]
        return ast.CriteriaBlock(
            role,
            tuple(str(s) for s in services),
            tuple(children[1:]),
            self._span(meta),
            tuple(self._tok_span(s) for s in services),
        )

    def criteria_block(self, meta, children):
        return self._block(ast.BlockRole.CRITERIA, meta, children)

    def exclusions_block(self, meta, children):
        return self._block(ast.BlockRole.EXCLUSIONS, meta, children)

    def advisories_block(self, meta, children):
        return self._block(ast.BlockRole.ADVISORIES, meta, children)

    # -------------------------------------------------------------- conditions
    def _combinator(self, kind, minimum, meta, members):
        return ast.Combinator(kind, minimum, tuple(members), self._span(meta))

    def all_of(self, meta, children):
        return self._combinator(ast.CombinatorKind.ALL, None, meta, children)

    def any_of(self, meta, children):
        return self._combinator(ast.CombinatorKind.ANY, None, meta, children)

    def none_of(self, meta, children):
        return self._combinator(ast.CombinatorKind.NONE, None, meta, children)

    def at_least_of(self, meta, children):
        return self._combinator(ast.CombinatorKind.AT_LEAST, int(children[0]), meta, children[1:])

    def fact_ref(self, meta, children):
        if len(children) == 2:
            scope = str(children[0])
            return ast.FactRef(scope, str(children[1]), self._span(meta))
        return ast.FactRef("finding", str(children[0]), self._span(meta))

    def is_value(self, meta, children):
        return ast.IsValue(children[0], str(children[1]), False, self._span(meta))

    def is_not_value(self, meta, children):
        return ast.IsValue(children[0], str(children[1]), True, self._span(meta))

    def is_in(self, meta, children):
        return ast.IsIn(children[0], tuple(str(v) for v in children[1]), self._span(meta))

    def compare(self, meta, children):
        return ast.Compare(children[0], str(children[1]), _number(children[2]), self._span(meta))

    def reference(self, meta, children):
        name = str(children[0])
        if name in JOINS:
            # `{ a or b }` parses as three members; the middle one is the mistake.
            self.problems.append(
                Diagnostic(
                    Code.SYNTAX,
                    f"'{name}' does not join two conditions",
                    self._span(meta),
                    hint=JOINS[name],
                )
            )
        return ast.Reference(name, self._span(meta))

    def count_records(self, meta, children):
        return ast.CountRecords(
            ast.CountUnit.RECORDS, int(children[0]), children[1], None, self._span(meta)
        )

    def count_dates(self, meta, children):
        apart = children[2] if len(children) > 2 else None
        return ast.CountRecords(
            ast.CountUnit.DATES,
            int(children[0]),
            children[1],
            None,
            self._span(meta),
            apart_days=apart,
        )

    def spacing(self, meta, children):
        return int(children[0])

    def count_days(self, meta, children):
        window = children[2] if len(children) > 2 else None
        days = window if isinstance(window, int) else None
        months = window.count if isinstance(window, _Months) else None
        return ast.CountRecords(
            ast.CountUnit.DAYS, int(children[0]), children[1], days, self._span(meta), months
        )

    def count_months(self, meta, children):
        days = self.count_days(meta, children)
        return dataclasses.replace(days, in_months=True)

    def latest_record(self, meta, children):
        return ast.CountRecords(ast.CountUnit.LATEST, 1, children[0], None, self._span(meta))

    def window(self, meta, children):
        return int(children[0])

    def window_months(self, meta, children):
        return _Months(int(children[0]))

    # -------------------------------------------------------------- record sets
    def record_set(self, meta, children):
        parts: list[ast.RecordPart] = []
        for child in children:
            if isinstance(child, ast.RecordSet):
                parts.extend(child.parts)
            else:
                parts.append(child)
        return ast.RecordSet(tuple(parts), self._span(meta))

    def set_name(self, meta, children):
        return ast.RecordSetName(str(children[0]), self._span(meta))

    def filtered(self, meta, children):
        outcome: tuple[ast.FieldCondition, ...] = ()
        if children and isinstance(children[-1], _Outcome):
            outcome = children[-1].conditions
            children = children[:-1]
        return ast.RecordFilter(str(children[0]), tuple(children[1:]), self._span(meta), outcome)

    def outcome(self, meta, children):
        return _Outcome(tuple(children))

    def _field(self, meta, field, operator, values=(), comparator=None, number=None):
        return ast.FieldCondition(
            str(field),
            operator,
            tuple(str(v) for v in values),
            comparator,
            number,
            self._span(meta),
        )

    def field_is(self, meta, children):
        return self._field(meta, children[0], ast.FieldOperator.IS, [children[1]])

    def field_in(self, meta, children):
        return self._field(meta, children[0], ast.FieldOperator.IN, children[1])

    def field_compare(self, meta, children):
        return self._field(
            meta, children[0], ast.FieldOperator.COMPARE, (), str(children[1]), _number(children[2])
        )

    def field_has(self, meta, children):
        return self._field(meta, children[0], ast.FieldOperator.HAS, [children[1]])

    def field_within(self, meta, children):
        return self._field(
            meta, children[0], ast.FieldOperator.WITHIN, (), None, Decimal(int(children[1]))
        )

    def field_within_months(self, meta, children):
        condition = self._field(
            meta, children[0], ast.FieldOperator.WITHIN, (), None, Decimal(int(children[1]))
        )
        return dataclasses.replace(condition, months=True)

    def field_within_fact_months(self, meta, children):
        """`end within last pain_duration_months months`: the window's length is a finding's
        documented value; the finding's name is kept in `values`, `number` stays None."""
        condition = self._field(
            meta, children[0], ast.FieldOperator.WITHIN, [children[1]], None, None
        )
        return dataclasses.replace(condition, months=True)

    def field_matches(self, meta, children):
        fact = children[1]
        # Kept as "scope.name" so the semantic stage can insist on a request field.
        target = f"{fact.scope}.{fact.name}" if fact.scope != "finding" else fact.name
        return self._field(meta, children[0], ast.FieldOperator.MATCHES, [target])

    def field_covers(self, meta, children):
        fact = children[1]
        target = f"{fact.scope}.{fact.name}" if fact.scope != "finding" else fact.name
        return self._field(meta, children[0], ast.FieldOperator.COVERS, [target])

    def field_after(self, meta, children):
        return self._field(meta, children[0], ast.FieldOperator.AFTER, [children[1]])

    def field_before(self, meta, children):
        return self._field(meta, children[0], ast.FieldOperator.BEFORE, [children[1]])

    def __default__(self, data, children, meta):
        # Only reached for a tree shape the grammar should not produce after error recovery.
        raise RecoveredTreeError(data)
