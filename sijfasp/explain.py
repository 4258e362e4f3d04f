"""Models to results: determinations, the criteria tree with evidence, reasons, missing items.

Everything said about the case is read off the clingo snapshots (statuses, counts, days,
matching records, abduced items); this module only names and arranges it, using the compiled
policy's metadata for labels, sections and prompts.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import clingo

from .case import Case
from .compiler import CompiledPolicy, NodeInfo, ValueClass, scaled, unscaled
from .semantics import Policy
from .solver import Snapshot

STATUS_WORDS = {"met": "met", "not_met": "not met", "not_documented": "not documented"}


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class NodeResult:
    id: str
    label: str
    cite: str
    status: str  # met, not_met, not_documented
    kind: str
    minimum: int | None
    condition: str | None
    evidence: tuple[str, ...]
    children: tuple[NodeResult, ...]


@dataclass(frozen=True)
class MissingItem:
    """One piece of documentation that is missing, with what it must show."""

    key: str  # the ASP item, stable across runs
    fact: str  # finding or request field name, or the record kind
    need: str
    criterion: str  # section reference
    criterion_id: str
    prompt: str
    cost: int
    records: str | None = None  # for an added record: what the record set is, in words


@dataclass(frozen=True)
class MissingGroup:
    """A criterion that still needs documentation: all of its groups, or any one option."""

    criterion_id: str
    criterion: str
    label: str
    groups: tuple[MissingGroup, ...]
    options: tuple[tuple[MissingItem, ...], ...]
    options_complete: bool
    choose: int = 1  # how many of the options are needed (an "at least K of" criterion)

    def count(self) -> int | None:
        """How many minimal sets this group stands for (None when not known exactly)."""
        if self.groups:
            total = 1
            for group in self.groups:
                part = group.count()
                if part is None:
                    return None
                total *= part
            return total
        if not self.options_complete:
            return None
        return math.comb(len(self.options), self.choose)


@dataclass(frozen=True)
class ExclusionResult:
    id: str
    label: str
    cite: str
    status: str  # applies, documented_absent, not_documented
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class AdvisoryResult:
    id: str
    label: str
    cite: str
    applies: bool
    recommendation: str | None  # met / not_met / not_documented, when it has one
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class PolicyResult:
    policy: str
    payer: str
    title: str
    document: str
    number: str | None
    effective: dt.date
    cite: str
    service: str
    determination: str
    criteria: tuple[NodeResult, ...]
    exclusions: tuple[ExclusionResult, ...]
    advisories: tuple[AdvisoryResult, ...]
    reasons: tuple[str, ...]
    missing: tuple[tuple[MissingItem, ...], ...]
    missing_complete: bool
    missing_total: int | None
    grouped: tuple[MissingGroup, ...]
    grouped_exact: bool


@dataclass(frozen=True)
class CaseResult:
    case: str
    service: str
    request_date: dt.date
    results: tuple[PolicyResult, ...]


# ------------------------------------------------------------------ reading a snapshot
def fact_key(symbol: clingo.Symbol) -> str:
    """`vas_score` or `request(side)` as the user writes it: vas_score, request.side."""
    if symbol.type == clingo.SymbolType.Function and symbol.name == "request" and symbol.arguments:
        return f"request.{symbol.arguments[0].name}"
    return str(symbol)


@dataclass
class Reader:
    """Turns snapshot atoms about one case into words."""

    policy: Policy
    compiled: CompiledPolicy
    case: Case

    def cite(self, node_id: str) -> str:
        return self.compiled.cite(node_id, self.policy.cite)

    def statuses(self, snapshot: Snapshot) -> dict[str, str]:
        return {str(n): str(s) for n, s in snapshot.atoms("status", 2)}

    def documented(self, snapshot: Snapshot) -> dict[str, clingo.Symbol]:
        return {fact_key(f): v for f, v in snapshot.atoms("doc", 2)}

    def fact_value(self, key: str, value: clingo.Symbol) -> str:
        if value.type == clingo.SymbolType.Number:
            return str(unscaled(value.number))
        return str(value)

    def record_text(self, record: clingo.Symbol) -> str:
        kind, index = record.arguments[0].name, record.arguments[1].number
        found = self.case.record(kind, index)
        if found is None:
            return str(record)
        values = found.values
        if kind == "therapy":
            end = values.get("end")
            span = f"{values['start']}..{end}" if end else f"{values['start']}..ongoing"
            return f"{values.get('kind', 'therapy')} {span}"
        parts = [str(values.get("date", ""))]
        for name in ("purpose", "modality", "region", "procedure", "outcome"):
            if name in values:
                parts.append(str(values[name]))
        if "relief_percent" in values:
            parts.append(f"relief {values['relief_percent']}%")
        return f"{kind} " + " ".join(p for p in parts if p)

    def record_phrase(self, record: clingo.Symbol) -> str:
        """A documented record as a sentence names it: "the diagnostic injection of 2026-04-01"."""
        kind, index = record.arguments[0].name, record.arguments[1].number
        found = self.case.record(kind, index)
        if found is None:
            return f"the {kind} record {index + 1}"
        values = found.values
        if "start" in values:
            return f"the {values.get('kind', kind)} {kind} starting {values['start']}"
        qualifier = next(
            (str(values[n]) for n in ("purpose", "modality", "procedure") if n in values), ""
        )
        return f"the {qualifier + ' ' if qualifier else ''}{kind} of {values.get('date')}"

    def window_text(self, days: int | None) -> str:
        if not days:
            return f"up to {self.case.date}"
        start = self.case.date - dt.timedelta(days=days)
        return f"within {start}..{self.case.date}"


def node_evidence(
    reader: Reader, snapshot: Snapshot, info: NodeInfo, documented: dict[str, clingo.Symbol]
) -> tuple[str, ...]:
    """What the model says about one leaf: the documented value, or the records and figures."""
    if info.leaf is None:
        return ()
    node = clingo.Function(info.id)
    if info.leaf[0] == "fact":
        key = info.leaf[2]
        value = documented.get(key)
        if value is None:
            return (f"{key} not documented",)
        return (f"{key} = {reader.fact_value(key, value)}",)
    _, unit, set_id, minimum, window = info.leaf
    doc = clingo.Function("doc")
    members = sorted(
        {
            reader.record_text(r)
            for w, s, r in snapshot.atoms("in_set", 3)
            if w == doc and s.name == set_id
        }
    )
    lines: list[str] = []
    if unit == "days":
        covered = next(
            (c.number for w, n, c in snapshot.atoms("days_of", 3) if w == doc and n == node), 0
        )
        lines.append(f"{covered} of {minimum} days {reader.window_text(window)}")
    else:
        count = next(
            (c.number for w, n, c in snapshot.atoms("count_of", 3) if w == doc and n == node), 0
        )
        noun = "separate dates" if unit == "dates" else "qualifying records"
        if count > minimum:
            lines.append(f"{count} {noun} ({minimum} needed)")
        else:
            lines.append(f"{count} of {minimum} {noun}")
    if members:
        shown = members[:4]
        lines.extend(shown)
        if len(members) > len(shown):
            lines.append(f"... and {len(members) - len(shown)} more")
    return tuple(lines)


def criteria_tree(
    reader: Reader, snapshot: Snapshot, roots: tuple[str, ...]
) -> tuple[NodeResult, ...]:
    statuses = reader.statuses(snapshot)
    documented = reader.documented(snapshot)

    def build(node_id: str) -> NodeResult:
        info = reader.compiled.nodes[node_id]
        return NodeResult(
            node_id,
            info.label,
            reader.cite(node_id),
            statuses.get(node_id, "not_met"),
            info.kind,
            info.minimum,
            info.condition,
            node_evidence(reader, snapshot, info, documented),
            tuple(build(c) for c in info.children),
        )

    return tuple(build(r) for r in roots)


def exclusion_results(
    reader: Reader, snapshot: Snapshot, service: str
) -> tuple[ExclusionResult, ...]:
    documented = reader.documented(snapshot)
    applied = {str(x) for w, x in snapshot.atoms("excluded", 2) if w.name == "doc"}
    results = []
    for exclusion in reader.compiled.exclusions.get(service, ()):
        keys = sorted(_fact_keys(reader.compiled, exclusion))
        evidence = tuple(
            f"{k} = {reader.fact_value(k, documented[k])}"
            if k in documented
            else f"{k} not documented"
            for k in keys
        )
        if exclusion in applied:
            status = "applies"
        elif any(k in documented for k in keys):
            status = "documented_absent"
        else:
            status = "not_documented"
        info = reader.compiled.nodes[exclusion]
        results.append(
            ExclusionResult(exclusion, info.label, reader.cite(exclusion), status, evidence)
        )
    return tuple(results)


def _fact_keys(compiled: CompiledPolicy, node_id: str) -> set[str]:
    info = compiled.nodes[node_id]
    keys = {info.leaf[2]} if info.leaf and info.leaf[0] == "fact" else set()
    for child in info.children:
        keys |= _fact_keys(compiled, child)
    return keys


def advisory_results(
    reader: Reader, snapshot: Snapshot, service: str
) -> tuple[AdvisoryResult, ...]:
    statuses = reader.statuses(snapshot)
    documented = reader.documented(snapshot)
    applying = {str(a[0]) for a in snapshot.atoms("advisory_applies", 1)}
    results = []
    for advisory, when_id, recommend_id in reader.compiled.advisories.get(service, ()):
        info = reader.compiled.nodes[when_id]
        keys = sorted(
            _fact_keys(reader.compiled, when_id)
            | (_fact_keys(reader.compiled, recommend_id) if recommend_id else set())
        )
        evidence = tuple(
            f"{k} = {reader.fact_value(k, documented[k])}" for k in keys if k in documented
        )
        recommendation = statuses.get(recommend_id) if recommend_id else None
        results.append(
            AdvisoryResult(
                advisory,
                info.label,
                reader.cite(when_id),
                advisory in applying,
                recommendation,
                evidence,
            )
        )
    return tuple(results)


# ------------------------------------------------------------------ reasons
def reasons(
    reader: Reader,
    determination: str,
    tree: tuple[NodeResult, ...],
    exclusions: tuple[ExclusionResult, ...],
) -> tuple[str, ...]:
    """One specific, quotable reason per documented exclusion or contradicted criterion."""
    if determination == "excluded":
        return tuple(
            f"{e.cite}: {e.label}. Documented: {'; '.join(e.evidence)}."
            for e in exclusions
            if e.status == "applies"
        )
    if determination != "not_met":
        return ()
    found: list[str] = []

    def deepest_failures(node: NodeResult) -> list[NodeResult]:
        failing = [c for c in node.children if c.status == "not_met"]
        if not failing or node.kind in ("any", "at_least", "none"):
            return [node]
        return [leaf for child in failing for leaf in deepest_failures(child)]

    for top in tree:
        if top.status != "not_met":
            continue
        for node in deepest_failures(top):
            found.append(_reason_text(node))
    return tuple(found)


def _reason_text(node: NodeResult) -> str:
    if node.kind == "leaf":
        documented = "; ".join(node.evidence)
        return (
            f"{node.cite}: {node.label}. Not met as documented ({documented}); "
            f"the criterion needs {node.condition}."
        )
    if node.kind == "at_least":
        met = sum(1 for c in node.children if c.status == "met")
        negative = [c for c in node.children if c.status == "not_met"]
        return (
            f"{node.cite}: {node.label}. {met} of the required {node.minimum} met; "
            f"documented as not met: "
            + ", ".join("; ".join(c.evidence) or c.label for c in negative)
            + "."
        )
    if node.kind == "none":
        present = [("; ".join(c.evidence) or c.label) for c in node.children if c.status == "met"]
        return f"{node.cite}: {node.label}. Not met as documented: {', '.join(present)}."
    parts = [("; ".join(c.evidence) or c.label) for c in node.children if c.status == "not_met"]
    return (
        f"{node.cite}: {node.label}. None of the alternatives can be met as documented "
        f"({', '.join(parts)})."
    )


# ------------------------------------------------------------------ missing documentation
def items_of(snapshot: Snapshot) -> list[clingo.Symbol]:
    return sorted((a[0] for a in snapshot.atoms("item", 1)), key=str)


def describe_item(
    reader: Reader,
    snapshot: Snapshot,
    item: clingo.Symbol,
    scope: tuple[str, ...],
    statuses: dict[str, str],
) -> MissingItem:
    """Name a missing piece of documentation: what to document, the criterion, the prompt.

    `statuses` are the criteria statuses as documented; the item's cost is the model's.
    """
    compiled, vocabulary = reader.compiled, reader.policy.vocabulary
    kind = item.name
    args = item.arguments
    cost = next(c.number for x, c in snapshot.atoms("item_cost", 2) if x == item)
    if kind == "guess":
        key = fact_key(args[0])
        scope_name, _, name = key.rpartition(".")
        fact = vocabulary.fact("request" if scope_name else "finding", name)
        assert fact is not None
        need = _value_need(compiled.fact_classes.get(str(args[0])), args[1], fact.type)
        leaf = _criterion_for(
            compiled,
            scope,
            statuses,
            lambda info: (
                (info.leaf[0] == "fact" and info.leaf[2] == key)
                or (
                    info.leaf[0] == "records"  # a filter matched against a request field
                    and ("matches", key)
                    in {(c[0], c[2]) for c in compiled.set_conditions(info.leaf[2])}
                )
            ),
        )
        return MissingItem(str(item), key, f"{key} {need}", reader.cite(leaf), leaf, fact.ask, cost)
    if kind == "fill":
        record, field_name, value = args
        record_kind = record.arguments[0].name
        record_def = vocabulary.record(record_kind)
        assert record_def is not None
        field_def = record_def.field(field_name.name)
        assert field_def is not None
        need = _value_need(
            compiled.field_classes.get((record_kind, field_name.name)), value, field_def.type
        )
        leaf = _criterion_for(
            compiled,
            scope,
            statuses,
            lambda info: (
                info.leaf[0] == "records"
                and compiled.record_sets[info.leaf[2]].kind == record_kind
                and any(c[1] == field_name.name for c in compiled.set_conditions(info.leaf[2]))
            ),
        )
        return MissingItem(
            str(item),
            record_kind,
            f"{field_name.name} {need} on {reader.record_phrase(record)}",
            reader.cite(leaf),
            leaf,
            field_def.ask,
            cost,
        )
    if kind == "more_days":
        node_id = args[0].name
        info = compiled.nodes[node_id]
        assert info.leaf is not None
        _, _, set_id, minimum, window = info.leaf
        record_set = compiled.record_sets[set_id]
        record_def = vocabulary.record(record_set.kind)
        assert record_def is not None
        covered = next(
            (
                c.number
                for w, n, c in snapshot.atoms("days_of", 3)
                if w.name == "hyp" and n.name == node_id
            ),
            0,
        )
        days = max(minimum - covered, 1)
        need = f"{days} more days of {record_set.label} {reader.window_text(window)}"
        return MissingItem(
            str(item), record_set.kind, need, reader.cite(node_id), node_id, record_def.ask, cost
        )
    set_id, ordinal = args[0].name, args[1].number
    record_set = compiled.record_sets[set_id]
    record_def = vocabulary.record(record_set.kind)
    assert record_def is not None
    # Of the counts the record serves (its set or a broader one), one over its own set first.
    node_id = _criterion_for(
        compiled,
        scope,
        statuses,
        lambda info: info.leaf[0] == "records" and (set_id, info.leaf[2]) in compiled.subsumed,
        prefer=lambda info: info.leaf[2] == set_id,
    )
    info = compiled.nodes[node_id]
    separate = info.leaf is not None and info.leaf[1] == "dates"
    wanted = sum(
        1
        for (m,) in snapshot.atoms("item", 1)
        if m.name == "more" and m.arguments[0].name == set_id
    )
    need = f"{record_set.kind} {ordinal} of {wanted} more: {record_set.label}" + (
        ", on a date of its own" if separate else ""
    )
    return MissingItem(
        str(item),
        record_set.kind,
        need,
        reader.cite(node_id),
        node_id,
        record_def.ask,
        cost,
        record_set.label + (", each on a date of its own" if separate else ""),
    )


def _criterion_for(
    compiled: CompiledPolicy,
    scope: tuple[str, ...],
    statuses: dict[str, str],
    wanted,
    prefer=lambda info: True,
) -> str:
    """The leaf a missing item is needed for: the first that `wanted` accepts.

    Leaves under criteria that are all still open come first (a member of a criterion already
    met is not what the item is for), and among them those `prefer` accepts.
    """

    def leaves(nodes: list[str]) -> list[str]:
        return [n for n in nodes if compiled.nodes[n].leaf and wanted(compiled.nodes[n])]

    open_nodes = _subtree(compiled, scope, skip=lambda n: statuses.get(n) == "met")
    found = leaves(open_nodes) or leaves(_subtree(compiled, scope))
    found.sort(key=lambda n: not prefer(compiled.nodes[n]))
    return found[0] if found else scope[0]


def _value_need(classes: tuple[ValueClass, ...] | None, value: clingo.Symbol, value_type) -> str:
    if value.type == clingo.SymbolType.Number and classes:
        chosen = next((c for c in classes if c.representative == value.number), None)
        if chosen is not None:
            assert value_type.low is not None and value_type.high is not None
            return chosen.describe(scaled(value_type.low), scaled(value_type.high))
        return f"= {unscaled(value.number)}"
    return f"= {value}"


def _subtree(
    compiled: CompiledPolicy, roots: tuple[str, ...], skip=lambda node: False
) -> list[str]:
    """The nodes under `roots`, depth first in policy order, leaving out `skip` ones and below."""
    order: list[str] = []
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        if node in order or skip(node):
            continue
        order.append(node)
        stack.extend(reversed(compiled.nodes[node].children))
    return order


def sort_sets(sets: list[tuple[MissingItem, ...]]) -> list[tuple[MissingItem, ...]]:
    return sorted(sets, key=lambda s: (len(s), sum(i.cost for i in s), [i.key for i in s]))


def sort_items(items: list[MissingItem]) -> tuple[MissingItem, ...]:
    return tuple(sorted(items, key=lambda i: (i.cost, i.criterion_id, i.key)))


__all__ = [
    "STATUS_WORDS",
    "AdvisoryResult",
    "CaseResult",
    "ExclusionResult",
    "MissingGroup",
    "MissingItem",
    "NodeResult",
    "PolicyResult",
    "Reader",
    "advisory_results",
    "criteria_tree",
    "describe_item",
    "exclusion_results",
    "items_of",
    "reasons",
    "sort_items",
    "sort_sets",
]
