"""Semantic checks: names, types and ranges, from syntax trees to checked models.

`check_vocabulary` turns a vocabulary file into a `Vocabulary` (`vocabulary_checks`);
`check_policy` checks a policy file against it and returns a `Policy`. Every problem found is
collected and reported together; nothing is raised until the whole file has been looked at.

This module owns the policy's declarations, header, versions and plan dates, criterion names
and services; the conditions are checked by `expression_checks`, references between definitions
by `references`, named sets narrowed where used by `narrowing`. The checked models and limits
(`checked`) and `check_vocabulary` are importable from here, as every stage imports them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from ..core.diagnostics import Code, DiagnosticSink, did_you_mean
from ..core.source import Span
from . import ast
from .checked import (
    BOOL_VALUES,
    CODE_DIGITS,
    COMPARATORS,
    CPT_FIELD,
    MAX_COST,
    MAX_COUNT,
    MAX_DAYS,
    MAX_DECIMALS,
    MAX_DEPTH,
    MAX_MONTHS,
    MAX_NUMBER,
    MAX_TREE_NODES,
    SOLVER_RESERVED,
    TYPE_NAMES,
    FactDef,
    FieldDef,
    Implication,
    Policy,
    RecordKind,
    ValueType,
    Vocabulary,
)
from .declarations import check_properties, check_reserved, decimals, require_properties
from .expression_checks import PolicyContext, check_condition, named_set_kind
from .label_numbers import label_warnings
from .narrowing import narrow_record_sets
from .references import check_cycles, check_depth, warn_unused
from .version_syntax import version_problem
from .vocabulary_checks import check_field, check_vocabulary

__all__ = [
    "BOOL_VALUES",
    "CODE_DIGITS",
    "COMPARATORS",
    "CPT_FIELD",
    "MAX_COST",
    "MAX_COUNT",
    "MAX_DAYS",
    "MAX_DECIMALS",
    "MAX_DEPTH",
    "MAX_MONTHS",
    "MAX_NUMBER",
    "MAX_TREE_NODES",
    "SOLVER_RESERVED",
    "TYPE_NAMES",
    "FactDef",
    "FieldDef",
    "Implication",
    "Policy",
    "RecordKind",
    "ValueType",
    "Vocabulary",
    "check_field",
    "check_policy",
    "check_vocabulary",
    "decimals",
    "narrow_record_sets",
]

_POLICY_PROPS = {"payer", "title", "document", "number", "effective", "cite", "url", "version"}
# Header properties that may be given per line of business: `effective for PLAN DATE`.
_PLAN_PROPS = {"effective"}
_POLICY_REQUIRED = ("payer", "title", "document", "effective", "cite")


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
            check_reserved(decl.name, "a definition", decl.span, sink)
            defines[decl.name] = decl
        elif isinstance(decl, ast.RecordsDecl):
            _declare_once(decl.name, decl.span, defines, record_sets, sink)
            check_reserved(decl.name, "a record set", decl.span, sink)
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

    context = PolicyContext(vocabulary, defines, record_sets, sink)
    meta = _check_policy_header(header, source.path, sink)
    if header is not None:
        check_reserved(header.name, "a policy", header.span, sink)
    # Cycles and depth first: the checks below follow references only once both are known safe.
    acyclic = check_cycles(defines, record_sets, sink)
    if acyclic:
        check_depth(defines, record_sets, [i for b in blocks for i in b.items], sink)
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
                check_condition(item.when, context)
                if item.recommend is not None:
                    check_condition(item.recommend, context)
                _need_section(item, sink)
                advisories.append((block.services, item))
                continue
            assert isinstance(item, ast.Criterion)
            _need_section(item, sink)
            check_condition(item.body, context)
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
        check_condition(decl.body, context)
    for name in record_sets:
        named_set_kind(name, context, frozenset())
    if not sink.errors:  # a misspelt reference would also make its target look unused
        warn_unused(defines, record_sets, blocks, sink)
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
    props = check_properties(header.properties, _POLICY_PROPS, f"policy '{header.name}'", sink)
    require_properties(
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
            check_reserved(node.name, "a criterion", node.span, sink)
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
