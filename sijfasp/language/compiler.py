"""Checked policy to ASP facts, with the metadata explanations need to point back at the text.

The policy becomes facts only (`node/2`, `child/2`, `leaf/2`, record filters, candidate values
for missing documentation); their meaning is the hand-written `encodings/policy.lp`. Each top
criterion's facts are preceded by a comment naming its section, label and source line, so the
committed `.lp` can be read by an auditor beside the policy text.

Numbers are fixed point: every number is multiplied by `units.SCALE` so that ASP compares integers.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Literal, NamedTuple, assert_never

from ..core.kinds import BOTH_SIDES, CountUnit, FieldOperator, LeafTest, NodeKind, Operator
from ..core.units import month_days_range, scaled, unscaled, value_term
from . import ast
from .semantics import FactDef, FieldDef, Policy, ValueType

OPERATORS = {text: Operator.of_symbol(text).value for text in (">=", "<=", ">", "<", "=", "!=")}

# A window as long as a finding documents (`within last FINDING months`) reaches this far back at
# most: the longest window in months (semantics.MAX_MONTHS); a longer duration sets no bound.
FACT_WINDOW_MONTHS = 240


def fact_term(scope: str, name: str) -> str:
    """How a finding or request field is named in ASP: `vas_score`, `request(side)`."""
    return name if scope == "finding" else f"request({name})"


@dataclass(frozen=True)
class ValueClass:
    """Values of a number that every comparison in the policy treats alike, and a representative."""

    representative: int
    low: int
    high: int

    def describe(self, full_low: int, full_high: int) -> str:
        low, high = unscaled(self.low), unscaled(self.high)
        if self.low == self.high:
            return f"= {low}"
        if self.high == full_high:
            return f">= {low}"
        if self.low == full_low:
            return f"<= {high}"
        return f"{low} to {high}"


@dataclass(frozen=True)
class FactLeaf:
    """A leaf testing a finding or request field (`key` as a case writes it: request.side)."""

    source: Literal["fact"]
    test: LeafTest
    key: str
    operator: Operator | None = None  # a comparison's
    threshold: int | None = None  # a comparison's, scaled
    values: tuple[str, ...] = ()  # the values a value_in test accepts


@dataclass(frozen=True)
class RecordsLeaf:
    """A leaf counting records, distinct dates or days of therapy in a record set."""

    source: Literal["records"]
    unit: CountUnit
    set_id: str
    minimum: int
    window: int | None  # days back from the request date, for a days leaf
    window_months: int | None = None  # calendar months back from the request date, inclusive
    apart: int | None = None  # a dates leaf's spacing: the dates counted are this many days apart
    # `at least N months of`: N calendar months ending on the request date, as many days as the
    # case's month_start/2 says; `minimum` is then the fewest days N months can be (any date).
    minimum_months: int | None = None


@dataclass(frozen=True)
class NodeInfo:
    """One node of the criteria tree as an explanation shows it."""

    id: str
    kind: NodeKind
    minimum: int | None
    label: str
    section: str
    children: tuple[str, ...]
    condition: str | None  # the leaf's test in policy words, e.g. "vas_score >= 5"
    leaf: FactLeaf | RecordsLeaf | None
    line: int

    def fact_key(self) -> str | None:
        """The finding or request field a fact leaf tests."""
        return self.leaf.key if isinstance(self.leaf, FactLeaf) else None

    def set_id(self) -> str | None:
        """The record set a records leaf counts."""
        return self.leaf.set_id if isinstance(self.leaf, RecordsLeaf) else None

    def records_leaf(self) -> RecordsLeaf:
        if not isinstance(self.leaf, RecordsLeaf):
            raise ValueError(f"{self.id} is not a records leaf")
        return self.leaf

    def counts_dates(self) -> bool:
        return isinstance(self.leaf, RecordsLeaf) and self.leaf.unit == CountUnit.DATES


class InCondition(NamedTuple):
    """The field's value is one of `values`."""

    test: Literal["in"]
    field: str
    values: frozenset[str]


class CmpCondition(NamedTuple):
    """The field's number compares with a scaled threshold."""

    test: Literal["cmp"]
    field: str
    operator: Operator
    threshold: int


class HasCondition(NamedTuple):
    """The list field has `value` among its members."""

    test: Literal["has"]
    field: str
    value: str


class WithinCondition(NamedTuple):
    """The date field is between `low` and `high` days from the request date."""

    test: Literal["within"]
    field: str
    low: int
    high: int


class WithinMonthsCondition(NamedTuple):
    """The date field is no earlier than `months` calendar months before the request date."""

    test: Literal["within_months"]
    field: str
    months: int


class WithinFactMonthsCondition(NamedTuple):
    """The date field is no earlier than as many calendar months before the request date as the
    number finding `fact` documents (the current episode of care, from the pain's duration)."""

    test: Literal["within_fact_months"]
    field: str
    fact: str


class MatchesCondition(NamedTuple):
    """The field has the same value as a request field (`target`, e.g. request.side); with
    `covers`, or the value bilateral."""

    test: Literal["matches", "covers"]
    field: str
    target: str


class OrderCondition(NamedTuple):
    """The date field is strictly later (`after`) or earlier (`before`) than the date of some
    record of the named set `target`."""

    test: Literal["after", "before"]
    field: str
    target: str


# A field condition in the normal form subsumption compares; the tag comes first.
Condition = (
    InCondition
    | CmpCondition
    | HasCondition
    | WithinCondition
    | WithinMonthsCondition
    | WithinFactMonthsCondition
    | MatchesCondition
    | OrderCondition
)


@dataclass(frozen=True)
class RecordSetInfo:
    id: str
    kind: str
    label: str
    description: str
    filters: tuple[tuple[Condition, ...], ...] = ()  # each filter as its conditions
    includes: tuple[str, ...] = ()
    outcome_fields: tuple[str, ...] = ()  # fields the filters' `with` outcome tests


class AdvisoryInfo(NamedTuple):
    """An advisory: its condition node, and the criterion it recommends (if any)."""

    id: str
    when: str
    recommend: str | None


@dataclass(frozen=True)
class CompiledPolicy:
    id: str
    program: str
    nodes: dict[str, NodeInfo]
    top: dict[str, tuple[str, ...]]  # service -> its top criteria
    exclusions: dict[str, tuple[str, ...]]  # service -> exclusion nodes
    advisories: dict[str, tuple[AdvisoryInfo, ...]]  # service -> its advisories
    record_sets: dict[str, RecordSetInfo]
    fact_classes: dict[str, tuple[ValueClass, ...]]  # fact term -> classes of a number
    field_classes: dict[tuple[str, str], tuple[ValueClass, ...]]  # (kind, field) -> classes
    subsumed: frozenset[tuple[str, str]] = frozenset()  # (narrow, broad) record sets
    # (narrow, broad, request field as `request.F`, value): narrow within broad once the
    # request field has that value (a record of the requested side is then a record of that side).
    subsumed_when: frozenset[tuple[str, str, str, str]] = frozenset()

    def may_count_for(self, narrow: str, broad: str) -> bool:
        """Whether a record added to set `narrow` counts for set `broad`, for some request."""
        return (narrow, broad) in self.subsumed or any(
            (n, b) == (narrow, broad) for n, b, _, _ in self.subsumed_when
        )

    def window_months(self) -> frozenset[int]:
        """The calendar-month windows the policy reads (`within the last N months` in a filter
        or on a days leaf): the only lengths of month_start/2 its program needs."""
        found = {
            months
            for node in self.nodes.values()
            if isinstance(node.leaf, RecordsLeaf)
            for months in (node.leaf.window_months, node.leaf.minimum_months)
            if months
        }
        found |= {
            condition.months
            for info in self.record_sets.values()
            for conditions in info.filters
            for condition in conditions
            if condition.test == "within_months"
        }
        if self.reads_fact_windows():
            found |= set(range(1, FACT_WINDOW_MONTHS + 1))
        return frozenset(found)

    def reads_fact_windows(self) -> bool:
        """Whether a filter's window is as long as a finding documents (`within last FINDING
        months`): the case's value decides its length, so every length may be needed."""
        return any(
            condition.test == "within_fact_months"
            for info in self.record_sets.values()
            for conditions in info.filters
            for condition in conditions
        )

    def cite(self, node_id: str, policy_cite: str) -> str:
        return f"{policy_cite} {self.nodes[node_id].section}".strip()

    def set_conditions(self, set_id: str) -> list[Condition]:
        """Every field condition of a record set's filters, included sets too."""
        return [c for f in _filters(self.record_sets, set_id) for c in f]

    def condition_fields(self, set_id: str) -> set[str]:
        """The record fields a set's filters test."""
        return {c.field for c in self.set_conditions(set_id)}

    def outcome_fields(self, set_id: str) -> list[str]:
        """The fields a set's outcome (`with ...`) tests, included sets too, in order."""
        found: list[str] = []
        seen, pending = {set_id}, [set_id]
        while pending:
            info = self.record_sets[pending.pop(0)]
            found += [f for f in info.outcome_fields if f not in found]
            for included in info.includes:
                if included not in seen:
                    seen.add(included)
                    pending.append(included)
        return found

    def matched_request_fields(self, set_id: str) -> set[str]:
        """The request fields (`request.side`) a set's filters match a record field against."""
        return {c.target for c in self.set_conditions(set_id) if isinstance(c, MatchesCondition)}


@dataclass
class _Builder:
    policy: Policy
    lines: list[str] = field(default_factory=list)
    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    record_sets: dict[str, RecordSetInfo] = field(default_factory=dict)
    used_ids: set[str] = field(default_factory=set)
    fact_thresholds: dict[str, set[tuple[str, int]]] = field(default_factory=dict)
    field_thresholds: dict[tuple[str, str], set[tuple[str, int]]] = field(default_factory=dict)
    asked_facts: dict[str, FactDef] = field(default_factory=dict)
    asked_fields: dict[tuple[str, str], FieldDef] = field(default_factory=dict)
    deciding: bool = True  # advisories are compiled with deciding=False: they drive no guess

    def emit(self, line: str = "") -> None:
        self.lines.append(line)

    def comment(self, text: str) -> None:
        """A `%` comment line; whatever it quotes cannot end the comment early."""
        self.lines.append("% " + _comment_text(text))

    def fresh_id(self, base: str) -> str:
        candidate, index = base, 1
        while candidate in self.used_ids:
            index += 1
            candidate = f"{base}_{index}"
        self.used_ids.add(candidate)
        return candidate


def _quote(text: str) -> str:
    """An ASP string literal. Clingo knows the escapes \\\\, \\" and \\n only; any other control
    character (the parser refuses them in texts) becomes U+FFFD rather than reach the program."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + "".join("\ufffd" if _is_control(c) else c for c in escaped) + '"'


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp")


def _comment_text(text: str) -> str:
    """Text for a `%` comment: a line break or other control character would end the comment
    and let the rest be read as program, so each is written as a visible escape."""
    return "".join(repr(c)[1:-1] if _is_control(c) else c for c in text)


def source_name(path: str) -> str:
    """How a compiled program names its source: the file name alone, never a machine's path."""
    return PurePath(path.replace("\\", "/")).name


def compile_policy(policy: Policy) -> CompiledPolicy:
    builder = _Builder(policy)
    reserved = {d.name for d in policy.defines} | {r.name for r in policy.record_sets}
    builder.used_ids |= reserved | _criterion_names(policy)
    emit = builder.emit
    builder.comment(f"{policy.payer}: {policy.title}")
    builder.comment(
        f"{policy.document}{' ' + policy.number if policy.number else ''}, "
        f"effective {policy.effective.isoformat()}; cited as {policy.cite}."
    )
    plans = "".join(f"; {d.isoformat()} for {name}" for name, d in policy.plan_effective)
    builder.comment(f"Version {policy.version}: effective {policy.effective.isoformat()}{plans}.")
    builder.comment(
        f"Generated by sijfasp from {source_name(policy.path)}; do not edit. The meaning of these"
    )
    emit("% facts is sijfasp/encodings/policy.lp. Numbers are scaled by 100; days count back from")
    emit("% the request date (day 0).")
    emit()
    emit(f"policy({policy.id}).")
    for service in policy.services:
        about = _comment_text(f"{policy.cite} [{service.section}] {service.label}")
        emit(f"service({service.name}).  % {about}")
        # The procedure codes the service covers (policy.lp: another code is not addressed).
        for code in service.cpt_codes:
            emit(f"service_code({service.name}, {value_term(code)}).")
    if policy.vocabulary.implications:
        emit()
        emit("% A documented true finding makes each finding it implies true (the vocabulary's")
        emit("% `implies`); policy.lp applies them, the contrapositive too.")
        for implication in policy.vocabulary.implications:
            emit(f"implication({implication.narrow}, {implication.broad}).")

    emit()
    emit("% ================================================================ record sets")
    for decl in policy.record_sets:
        _compile_named_set(builder, decl)

    emit()
    emit("% ================================================================ definitions")
    for define in policy.defines:
        where = _where(define.span)
        # A define with no section of its own cites its members' sections.
        section = define.section or member_sections(policy, define.body)
        builder.comment(f"{policy.cite}{_bracketed(section)} {define.label}  ({where})")
        _compile_node(builder, define.name, define.label, section, define.body, define.span)
        emit()

    top: dict[str, list[str]] = {s.name: [] for s in policy.services}
    for service_name, criterion in policy.criteria:
        top[service_name].append(criterion.name)
    compiled_tops: set[str] = set()
    for service in policy.services:
        emit(
            f"% ================================================================ criteria: "
            f"{service.name}"
        )
        for name in top[service.name]:
            emit(f"top({service.name}, {name}).")
        emit()
        for service_name, criterion in policy.criteria:
            if service_name != service.name or criterion.name in compiled_tops:
                continue
            compiled_tops.add(criterion.name)
            _compile_criterion(builder, criterion, "")
            emit()

    emit("% ================================================================ exclusions")
    exclusions: dict[str, list[str]] = {s.name: [] for s in policy.services}
    for services, criterion in policy.exclusions:
        for service_name in services:
            emit(f"excludes({service_name}, {criterion.name}).")
            exclusions[service_name].append(criterion.name)
        _compile_criterion(builder, criterion, "")
        emit()

    emit("% ================================================================ advisories")
    emit("% Advisory recommendations are shown to the reviewer and never decide a case.")
    advisories: dict[str, list[AdvisoryInfo]] = {s.name: [] for s in policy.services}
    builder.deciding = False
    for services, advisory in policy.advisories:
        when_id = builder.fresh_id(f"{advisory.name}_when")
        recommend_id = (
            builder.fresh_id(f"{advisory.name}_recommend")
            if advisory.recommend is not None
            else None
        )
        builder.comment(
            f"{policy.cite} [{advisory.section}] {advisory.label}  ({_where(advisory.span)})"
        )
        for service_name in services:
            emit(f"advises({service_name}, {advisory.name}).")
            advisories[service_name].append(AdvisoryInfo(advisory.name, when_id, recommend_id))
        emit(f"advisory_when({advisory.name}, {when_id}).")
        _compile_node(
            builder, when_id, advisory.label, advisory.section or "", advisory.when, advisory.span
        )
        if advisory.recommend is not None:
            assert recommend_id is not None
            emit(f"advisory_recommend({advisory.name}, {recommend_id}).")
            _compile_node(
                builder,
                recommend_id,
                advisory.label,
                advisory.section or "",
                advisory.recommend,
                advisory.span,
            )
        emit()
    builder.deciding = True

    subsumed = subsumed_sets(builder.record_sets)
    subsumed_when = _request_subsumed(builder)
    _emit_subsumed(builder, subsumed, subsumed_when)
    fact_classes, field_classes = _emit_candidates(builder)
    program = "\n".join(builder.lines).rstrip() + "\n"
    return CompiledPolicy(
        policy.id,
        program,
        builder.nodes,
        {k: tuple(v) for k, v in top.items()},
        {k: tuple(v) for k, v in exclusions.items()},
        {k: tuple(v) for k, v in advisories.items()},
        builder.record_sets,
        fact_classes,
        field_classes,
        frozenset(subsumed),
        frozenset(subsumed_when),
    )


def _where(span) -> str:
    return f"{source_name(span.path)}:{span.line}"


def _criterion_names(policy: Policy) -> set[str]:
    """Every name written in the policy, wherever it stands: derived ids must avoid them all."""
    names: set[str] = set()
    pending: list = [c for _, c in policy.criteria] + [c for _, c in policy.exclusions]
    pending += [d.body for d in policy.defines]
    pending += [a for _, a in policy.advisories]
    while pending:
        member = pending.pop()
        if isinstance(member, (ast.Criterion, ast.Advisory)):
            names.add(member.name)
        if isinstance(member, ast.Criterion):
            pending.append(member.body)
        elif isinstance(member, ast.Advisory):
            pending += [member.when] + ([member.recommend] if member.recommend else [])
        elif isinstance(member, ast.Combinator):
            pending.extend(member.members)
    return names


# ------------------------------------------------------------------ criteria tree
def _compile_criterion(builder: _Builder, criterion: ast.Criterion, inherited: str) -> str:
    section = criterion.section or inherited
    if not inherited:
        builder.comment(
            f"{builder.policy.cite} [{section}] {criterion.label}  ({_where(criterion.span)})"
        )
    _compile_node(builder, criterion.name, criterion.label, section, criterion.body, criterion.span)
    return criterion.name


def _compile_node(
    builder: _Builder, node_id: str, label: str, section: str, body: ast.Expr, span
) -> None:
    emit = builder.emit
    # Two nodes of one id would merge into one in the program: semantics and fresh_id rule it out.
    if node_id in builder.nodes:
        raise AssertionError(f"node id {node_id} compiled twice")
    emit(f"label({node_id}, {_quote(label)}).")
    emit(f"section({node_id}, {_quote(section)}).")
    if isinstance(body, ast.Combinator):
        kind = body.kind if body.kind != "at_least" else f"at_least({body.minimum})"
        emit(f"node({node_id}, {kind}).")
        children: list[str] = []
        for index, member in enumerate(body.members, start=1):
            child_id = _compile_member(builder, node_id, index, member, section)
            children.append(child_id)
            emit(f"child({node_id}, {child_id}).")
        builder.nodes[node_id] = NodeInfo(
            node_id,
            NodeKind(body.kind),
            body.minimum,
            label,
            section,
            tuple(children),
            None,
            None,
            span.line,
        )
        return
    if isinstance(body, ast.Reference):
        # A criterion that is exactly a definition: an all-of over that one definition.
        emit(f"node({node_id}, all).")
        emit(f"child({node_id}, {body.name}).")
        builder.nodes[node_id] = NodeInfo(
            node_id, NodeKind.ALL, None, label, section, (body.name,), None, None, span.line
        )
        return
    leaf, text, structured = _compile_leaf(builder, node_id, body, label)
    emit(f"node({node_id}, leaf).")
    emit(f"leaf({node_id}, {leaf}).")
    builder.nodes[node_id] = NodeInfo(
        node_id, NodeKind.LEAF, None, label, section, (), text, structured, span.line
    )


def _compile_member(
    builder: _Builder, parent: str, index: int, member: ast.Member, section: str
) -> str:
    if isinstance(member, ast.Criterion):
        return _compile_criterion(builder, member, section)
    if isinstance(member, ast.Reference):
        return member.name
    node_id = builder.fresh_id(f"{parent}_{index}")
    label = _describe_expr(builder, member)
    _compile_node(builder, node_id, label, section, member, member.span)
    return node_id


def _describe_expr(builder: _Builder, expr: ast.Expr) -> str:
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
    return _condition_text(builder, expr)


def _member_label(builder: _Builder, member: ast.Member) -> str:
    if isinstance(member, ast.Criterion):
        return member.label
    if isinstance(member, ast.Reference):
        define = builder.policy.define(member.name)
        return define.label if define is not None else member.name
    return _describe_expr(builder, member)


def _fact_key(ref: ast.FactRef) -> str:
    return ref.name if ref.scope == "finding" else f"request.{ref.name}"


def _condition_text(builder: _Builder, expr: ast.Expr) -> str:
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
        what = _set_text(builder, expr.records)
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


def _set_text(builder: _Builder, records: ast.RecordSet) -> str:
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


def _compile_leaf(
    builder: _Builder, node_id: str, expr: ast.Expr, label: str
) -> tuple[str, str, FactLeaf | RecordsLeaf]:
    vocabulary = builder.policy.vocabulary
    text = _condition_text(builder, expr)
    if isinstance(expr, (ast.IsValue, ast.IsIn, ast.Compare)):
        fact = vocabulary.fact(expr.fact.scope, expr.fact.name)
        assert fact is not None
        term = fact_term(fact.scope, fact.name)
        if builder.deciding:
            builder.asked_facts[term] = fact
        if isinstance(expr, ast.Compare):
            op = OPERATORS[expr.operator]
            threshold = scaled(expr.value)
            if builder.deciding:
                builder.fact_thresholds.setdefault(term, set()).add((op, threshold))
            return (
                f"compare({term}, {op}, {threshold})",
                text,
                FactLeaf("fact", LeafTest.COMPARE, fact.key, Operator(op), threshold),
            )
        if isinstance(expr, ast.IsValue) and expr.value in ("true", "false"):
            test = "not_true" if expr.negated else f"is_{expr.value}"
            return f"{test}({term})", text, FactLeaf("fact", LeafTest(test), fact.key)
        values = (expr.value,) if isinstance(expr, ast.IsValue) else expr.values
        for value in values:
            builder.emit(f"allowed({node_id}, {value_term(value)}).")
        return (
            f"value_in({term})",
            text,
            FactLeaf("fact", LeafTest.VALUE_IN, fact.key, values=tuple(values)),
        )
    assert isinstance(expr, ast.CountRecords)
    set_id = _compile_set_reference(builder, f"{node_id}_records", expr.records, label)
    if expr.unit == "records":
        leaf = f"count({set_id}, {expr.minimum})"
    elif expr.unit == "dates" and expr.apart_days:
        leaf = f"spaced({set_id}, {expr.minimum}, {expr.apart_days})"
    elif expr.unit == "dates":
        leaf = f"dates({set_id}, {expr.minimum})"
    elif expr.unit == "latest":
        # The field that dates a record of the set: `date`, or a therapy's `start`.
        record = builder.policy.vocabulary.record(builder.record_sets[set_id].kind)
        day = "date" if record is not None and record.field("date") is not None else "start"
        leaf = f"latest({set_id}, {day})"
    else:
        assert expr.unit == "days", expr.unit
        window = f"window({-expr.window_days}, 0)" if expr.window_days else "unbounded"
        if expr.window_months:
            window = f"months({expr.window_months})"
        if expr.in_months:
            # The days of N months depend on the request date: policy.lp reads them from the
            # case (month_start/2). The leaf holds the fewest they can be, a bound true of
            # every case for what reads the program without a case.
            fewest = month_days_range(expr.minimum)[0]
            builder.emit(f"duration_months({node_id}, {expr.minimum}).")
            leaf = f"days({set_id}, {fewest}, {window})"
        else:
            leaf = f"days({set_id}, {expr.minimum}, {window})"
    months = expr.minimum if expr.in_months else None
    return (
        leaf,
        text,
        RecordsLeaf(
            "records",
            CountUnit(expr.unit),
            set_id,
            month_days_range(expr.minimum)[0] if months else expr.minimum,
            expr.window_days,
            expr.window_months,
            expr.apart_days,
            months,
        ),
    )


def _bracketed(section: str) -> str:
    """` [SECTION]` for a comment, nothing for no section (never `[]`)."""
    return f" [{section}]" if section else ""


def member_sections(policy: Policy, body: ast.Member) -> str:
    """The sections a condition's members cite, in order, each once ("D.I.B.6, D.I.B.7"): its
    criteria's, the defines' and record sets' it names; for a define written without one."""
    found: list[str] = []

    def visit(node: ast.Member, seen: frozenset[str]) -> None:
        if isinstance(node, ast.Criterion):
            if node.section:
                found.append(node.section)
            else:
                visit(node.body, seen)
        elif isinstance(node, ast.Combinator):
            for member in node.members:
                visit(member, seen)
        elif isinstance(node, ast.Reference) and node.name not in seen:
            define = policy.define(node.name)
            if define is not None:
                if define.section:
                    found.append(define.section)
                else:
                    visit(define.body, seen | {node.name})
        elif isinstance(node, ast.CountRecords):
            for part in node.records.parts:
                named = (
                    policy.record_set(part.name) if isinstance(part, ast.RecordSetName) else None
                )
                if named is not None and named.section:
                    found.append(named.section)

    visit(body, frozenset())
    return ", ".join(dict.fromkeys(found))


# ------------------------------------------------------------------ record sets
def _compile_named_set(builder: _Builder, decl: ast.RecordsDecl) -> None:
    builder.comment(
        f"{builder.policy.cite}{_bracketed(decl.section or '')} {decl.label}  ({_where(decl.span)})"
    )
    _compile_set(builder, decl.name, decl.label, decl.records)
    builder.emit()


def _compile_set_reference(builder: _Builder, base: str, records: ast.RecordSet, label: str) -> str:
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


def _compile_set(builder: _Builder, set_id: str, label: str, records: ast.RecordSet) -> None:
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
                kind = kind or _kind_of(builder, named.records)
                continue
            # A bare record kind: every record of that kind.
            filter_id = f"{set_id}_f{index}"
            emit(f"filter({set_id}, {filter_id}, {part.name}).")
            filters.append(())
            kind = part.name
            continue
        filters.append(tuple(_condition_key(c) for c in part.all_conditions))
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
        _set_text(builder, records),
        tuple(filters),
        tuple(includes),
        outcome_fields,
    )


def _condition_key(condition: ast.FieldCondition) -> Condition:
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


def _filters(sets: dict[str, RecordSetInfo], set_id: str) -> list[tuple[Condition, ...]]:
    # Each included set once, without recursion: sets may share and chain their includes.
    found: list[tuple[Condition, ...]] = []
    seen, pending = {set_id}, [set_id]
    while pending:
        info = sets[pending.pop(0)]
        found += info.filters
        for included in info.includes:
            if included not in seen:
                seen.add(included)
                pending.append(included)
    return found


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
        and _within(_filters(sets, narrow), _filters(sets, broad))
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
        narrow_filters = _filters(sets, narrow)
        for request_field, values in request_values.items():
            if not ties(narrow_filters, request_field, "covers"):
                continue
            for broad, broad_info in sets.items():
                broad_filters = _filters(sets, broad)
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


def _request_subsumed(builder: _Builder) -> list[tuple[str, str, str, str]]:
    choices = {
        fact.key: tuple(fact.type.values)
        for fact in builder.policy.vocabulary.request_fields
        if fact.type.kind == "choice"
    }
    return request_subsumed_sets(builder.record_sets, choices)


def _kind_of(builder: _Builder, records: ast.RecordSet) -> str | None:
    for part in records.parts:
        if isinstance(part, ast.RecordFilter):
            return part.kind
        named = builder.policy.record_set(part.name)
        if named is None:
            return part.name
        return _kind_of(builder, named.records)
    return None


def _compile_field_condition(
    builder: _Builder, filter_id: str, number: int, kind: str, condition: ast.FieldCondition
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
        target_kind = builder.policy.vocabulary.record(_kind_of(builder, target.records) or "")
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


# ------------------------------------------------------------------ candidate values
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


def _emit_subsumed(
    builder: _Builder,
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


def _emit_candidates(builder: _Builder):
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
