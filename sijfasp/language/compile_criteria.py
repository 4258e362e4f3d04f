"""The criteria tree to facts: each criterion, definition and advisory condition as `node/2`,
`child/2` and `leaf/2` with its label and section, and the metadata (`NodeInfo`) an explanation
shows; a define written without a section cites its members' sections.
"""

from __future__ import annotations

from ..core.kinds import CountUnit, LeafTest, NodeKind, Operator
from ..core.units import month_days_range, scaled, value_term
from . import ast
from .checked import Policy
from .compile_records import compile_set_reference
from .compiled import OPERATORS, FactLeaf, NodeInfo, RecordsLeaf, fact_term
from .condition_text import condition_text, describe_expr
from .program_builder import Builder, quote, source_line


def compile_criterion(builder: Builder, criterion: ast.Criterion, inherited: str) -> str:
    section = criterion.section or inherited
    if not inherited:
        builder.comment(
            f"{builder.policy.cite} [{section}] {criterion.label}  ({source_line(criterion.span)})"
        )
    compile_node(builder, criterion.name, criterion.label, section, criterion.body, criterion.span)
    return criterion.name


def compile_node(
    builder: Builder, node_id: str, label: str, section: str, body: ast.Expr, span
) -> None:
    emit = builder.emit
    # Two nodes of one id would merge into one in the program: semantics and fresh_id rule it out.
    if node_id in builder.nodes:
        raise AssertionError(f"node id {node_id} compiled twice")
    emit(f"label({node_id}, {quote(label)}).")
    emit(f"section({node_id}, {quote(section)}).")
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
    builder: Builder, parent: str, index: int, member: ast.Member, section: str
) -> str:
    if isinstance(member, ast.Criterion):
        return compile_criterion(builder, member, section)
    if isinstance(member, ast.Reference):
        return member.name
    node_id = builder.fresh_id(f"{parent}_{index}")
    label = describe_expr(builder, member)
    compile_node(builder, node_id, label, section, member, member.span)
    return node_id


def _compile_leaf(
    builder: Builder, node_id: str, expr: ast.Expr, label: str
) -> tuple[str, str, FactLeaf | RecordsLeaf]:
    vocabulary = builder.policy.vocabulary
    text = condition_text(builder, expr)
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
    set_id = compile_set_reference(builder, f"{node_id}_records", expr.records, label)
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
