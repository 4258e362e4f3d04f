"""A vocabulary file checked into a `Vocabulary`: its findings, request fields and record kinds
with their fields, the implications between findings (no cycle), and the table of each
service's procedure codes.
"""

from __future__ import annotations

from ..core.diagnostics import Code, DiagnosticSink, did_you_mean
from ..core.source import Span
from . import ast
from .checked import CPT_FIELD, FactDef, FieldDef, Implication, RecordKind, Vocabulary
from .declarations import (
    VOCAB_PROPS,
    check_codes,
    check_properties,
    check_reserved,
    check_type,
    cost_of,
    require_properties,
    text_of,
)


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
            check_reserved(
                decl.name, f"a {scope if scope == 'finding' else 'request field'}", decl.span, sink
            )
            props = check_properties(
                decl.properties, VOCAB_PROPS[scope], f"{scope} '{decl.name}'", sink
            )
            value_type = check_type(decl.type, sink)
            require_properties(
                props, ("means", "ask"), f"{scope} '{decl.name}'", decl.span, sink, decl.properties
            )
            if value_type is None:
                continue
            fact = FactDef(
                decl.name,
                scope,
                value_type,
                text_of(props, "means"),
                text_of(props, "ask"),
                text_of(props, "unit") or None,
                cost_of(props),
                "required" in props,
                decl.span,
                check_codes(decl.properties, value_type, sink),
            )
            (findings if scope == "finding" else request_fields).append(fact)
        elif isinstance(decl, ast.RecordDecl):
            declare(decl.name, decl.span)
            check_reserved(decl.name, "a record kind", decl.span, sink)
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


def _check_record(decl: ast.RecordDecl, sink: DiagnosticSink) -> RecordKind:
    props = check_properties(decl.properties, VOCAB_PROPS["record"], f"record '{decl.name}'", sink)
    require_properties(props, ("means", "ask"), f"record '{decl.name}'", decl.span, sink)
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
        text_of(props, "means"),
        text_of(props, "ask"),
        cost_of(props),
        tuple(fields),
        decl.span,
        check_codes(decl.properties, None, sink),
    )


def check_field(record: str, field: ast.FieldDecl, sink: DiagnosticSink) -> FieldDef | None:
    check_reserved(field.name, "a field", field.span, sink)
    fprops = check_properties(
        field.properties, VOCAB_PROPS["field"], f"field '{record}.{field.name}'", sink
    )
    value_type = check_type(field.type, sink)
    required = "required" in fprops
    derived = "derived" in fprops
    require_properties(fprops, ("means",), f"field '{record}.{field.name}'", field.span, sink)
    if not required and not derived:
        require_properties(
            fprops, ("ask",), f"optional field '{record}.{field.name}'", field.span, sink
        )
    if value_type is None:
        return None
    return FieldDef(
        field.name,
        value_type,
        text_of(fprops, "means"),
        text_of(fprops, "ask"),
        text_of(fprops, "unit") or None,
        required,
        text_of(fprops, "only_for") or None,
        derived,
        field.span,
        check_codes(field.properties, value_type, sink),
    )
