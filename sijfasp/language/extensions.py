"""Vocabulary extensions: a policy's own findings, request fields, records, fields and values.

A policy imports the shared vocabulary first and then any extension vocabularies
(`import "vocabulary.sijv"` then `import "evicore_extra.sijv"`). An extension declares new items
as a vocabulary does, and adds values to an enumeration of the vocabulary it extends with
`extends`:

    finding imaging_modality: choice {spect} { extends }
    record therapy { extends
      field kind: choice {yoga} { extends }
      field hours: number 0..500 { means "..." ask "..." }
    }

It never redeclares an item (an error naming both places) and its items are never required: a
case judged by other policies need not document them. A case is validated against the union of
the vocabularies of the policies it is judged under (`union`), and each policy then sees only
its own items (case.restrict_case).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import lru_cache

from ..core.diagnostics import Code, DiagnosticSink, SijfaspError, did_you_mean
from . import ast
from .checked import FactDef, FieldDef, RecordKind, ValueType, Vocabulary
from .declarations import check_codes, check_properties
from .vocabulary_checks import check_field, check_vocabulary

EXTENDS = "extends"
_Item = ast.FindingDecl | ast.RequestDecl | ast.RecordDecl


def _extends(decl: _Item | ast.FieldDecl) -> bool:
    return any(p.name == EXTENDS for p in decl.properties)


def is_extension(source: ast.SourceFile) -> bool:
    """A vocabulary file that does not declare the request's service extends another (it may
    add services with `extends`)."""
    return not any(
        isinstance(d, ast.RequestDecl) and d.name == "service" and not _extends(d)
        for d in source.declarations
    )


def check_extension(source: ast.SourceFile, base: Vocabulary | None) -> Vocabulary:
    """`base` with the extension's items merged in; with no base (an extension linted on its
    own), the extension's new items alone, its `extends` only checked for form."""
    sink = DiagnosticSink()
    extending = [
        d
        for d in source.declarations
        if isinstance(d, (ast.FindingDecl, ast.RequestDecl, ast.RecordDecl)) and _extends(d)
    ]
    plain = tuple(d for d in source.declarations if d not in extending)
    own: Vocabulary | None = None
    try:
        own = check_vocabulary(ast.SourceFile(source.path, plain), extension=True)
    except SijfaspError as error:
        sink.items += error.diagnostics
    if own is not None:
        _never_required(own, sink)
    merged = base if base is not None else (own or _empty(source.path))
    if own is not None and base is not None:
        merged = _add_new(base, own, sink)
    for decl in extending:
        merged = _extend(merged, decl, sink, check_target=base is not None)
    sink.raise_if_errors()
    if base is None:
        return own or _empty(source.path)
    return Vocabulary(
        merged.name,
        merged.description,
        merged.findings,
        merged.request_fields,
        merged.records,
        merged.path,
        (*base.extensions, source.path),
        # The base's implications and table of codes, and the extension's own implications
        # (between its own findings: it is checked alone first).
        implications=merged.implications + (own.implications if own is not None else ()),
        service_codes=merged.service_codes,
    )


def _empty(path: str) -> Vocabulary:
    return Vocabulary("", "", (), (), (), path)


def _never_required(own: Vocabulary, sink: DiagnosticSink) -> None:
    for fact in own.request_fields:
        if fact.required:
            sink.error(
                Code.PROPERTY,
                f"request_field '{fact.name}' of an extension cannot be required: a case "
                "judged by other policies need not document it",
                fact.span,
            )


def _already(name: str, what: str, first, span, sink: DiagnosticSink) -> None:
    sink.error(
        Code.DUPLICATE_NAME,
        f"'{name}' is already declared as {what} by the vocabulary this one extends "
        f"(at {first.span}); an extension adds items, it never redeclares one",
        span,
        f"to add values to it, write {{ {EXTENDS} }} with only the new values",
    )


def _add_new(base: Vocabulary, own: Vocabulary, sink: DiagnosticSink) -> Vocabulary:
    for name, span in [(f.name, f.span) for f in own.findings] + [
        (r.name, r.span) for r in own.records
    ]:
        # Findings and record kinds share one namespace, as in a vocabulary file.
        finding, record = base.fact("finding", name), base.record(name)
        if finding is not None:
            _already(name, "a finding", finding, span, sink)
        elif record is not None:
            _already(name, "a record kind", record, span, sink)
    for fact in own.request_fields:
        first = base.fact("request", fact.name)
        if first is not None:
            _already(fact.name, "a request field", first, fact.span, sink)
    return Vocabulary(
        base.name,
        base.description,
        base.findings + own.findings,
        base.request_fields + own.request_fields,
        base.records + own.records,
        base.path,
        base.extensions,
        implications=base.implications,
        service_codes=base.service_codes,
    )


def _only_extends(decl: _Item | ast.FieldDecl, where: str, sink: DiagnosticSink) -> None:
    """An `extends` declaration adds values; every other property stays the original's."""
    check_properties(decl.properties, {EXTENDS}, where, sink)


def _more_values(
    original: ValueType, spec: ast.TypeSpec, where: str, sink: DiagnosticSink
) -> ValueType | None:
    if original.kind not in ("choice", "set"):
        sink.error(
            Code.TYPE,
            f"{where} has the type {original.kind}: only a choice or a set can be extended",
            spec.span,
        )
        return None
    if spec.name != original.kind or not spec.values:
        sink.error(
            Code.TYPE,
            f"{where} is a {original.kind}: extend it with '{original.kind} {{new_value}}'",
            spec.span,
        )
        return None
    repeated = [v for v in spec.values if v in original.values]
    if repeated:
        sink.error(
            Code.DUPLICATE_NAME,
            f"{where} already has the value{'s' if len(repeated) > 1 else ''} "
            + ", ".join(repeated),
            spec.span,
        )
    added = tuple(dict.fromkeys(v for v in spec.values if v not in original.values))
    return ValueType(original.kind, original.low, original.high, original.values + added)


def _extend(
    vocabulary: Vocabulary, decl: _Item, sink: DiagnosticSink, check_target: bool
) -> Vocabulary:
    if isinstance(decl, ast.RecordDecl):
        return _extend_record(vocabulary, decl, sink, check_target)
    scope = "finding" if isinstance(decl, ast.FindingDecl) else "request"
    what = "finding" if scope == "finding" else "request field"
    _only_extends(decl, f"the extension of {what} '{decl.name}'", sink)
    if not check_target:
        return vocabulary
    original = vocabulary.fact(scope, decl.name)
    if original is None:
        pool = vocabulary.findings if scope == "finding" else vocabulary.request_fields
        sink.error(
            Code.UNKNOWN_NAME,
            f"'{decl.name}' is not a {what} of the vocabulary this one extends",
            decl.span,
            did_you_mean(decl.name, [f.name for f in pool]),
        )
        return vocabulary
    value_type = _more_values(original.type, decl.type, f"{what} '{decl.name}'", sink)
    if value_type is None:
        return vocabulary
    extended = _replace_fact(original, value_type, check_codes(decl.properties, value_type, sink))
    if scope == "finding":
        findings = tuple(extended if f is original else f for f in vocabulary.findings)
        return _with(vocabulary, findings=findings)
    fields = tuple(extended if f is original else f for f in vocabulary.request_fields)
    return _with(vocabulary, request_fields=fields)


def _replace_fact(fact: FactDef, value_type: ValueType, codes: tuple = ()) -> FactDef:
    """With more values, and the codes an extension gives them (core/codings.py)."""
    more = tuple(c for c in codes if c not in fact.codes)
    return dataclasses.replace(fact, type=value_type, codes=fact.codes + more)


def _replace_field(field: FieldDef, value_type: ValueType, codes: tuple = ()) -> FieldDef:
    more = tuple(c for c in codes if c not in field.codes)
    return dataclasses.replace(field, type=value_type, codes=field.codes + more)


def _with(vocabulary: Vocabulary, **changes) -> Vocabulary:
    values = {
        "findings": vocabulary.findings,
        "request_fields": vocabulary.request_fields,
        "records": vocabulary.records,
        **changes,
    }
    return Vocabulary(
        vocabulary.name,
        vocabulary.description,
        values["findings"],
        values["request_fields"],
        values["records"],
        vocabulary.path,
        vocabulary.extensions,
        implications=vocabulary.implications,
        service_codes=vocabulary.service_codes,
    )


def _extend_record(
    vocabulary: Vocabulary, decl: ast.RecordDecl, sink: DiagnosticSink, check_target: bool
) -> Vocabulary:
    _only_extends(decl, f"the extension of record '{decl.name}'", sink)
    original = vocabulary.record(decl.name) if check_target else None
    if check_target and original is None:
        sink.error(
            Code.UNKNOWN_NAME,
            f"'{decl.name}' is not a record kind of the vocabulary this one extends",
            decl.span,
            did_you_mean(decl.name, [r.name for r in vocabulary.records]),
        )
        return vocabulary
    fields = list(original.fields) if original is not None else []
    for field in decl.fields:
        where = f"field '{decl.name}.{field.name}'"
        existing = next((f for f in fields if f.name == field.name), None)
        if _extends(field):
            _only_extends(field, f"the extension of {where}", sink)
            if not check_target:
                continue
            if existing is None:
                sink.error(
                    Code.UNKNOWN_NAME,
                    f"record '{decl.name}' has no field '{field.name}' to extend",
                    field.span,
                    did_you_mean(field.name, [f.name for f in fields]),
                )
                continue
            value_type = _more_values(existing.type, field.type, where, sink)
            if value_type is not None:
                fields[fields.index(existing)] = _replace_field(
                    existing, value_type, check_codes(field.properties, value_type, sink)
                )
            continue
        if existing is not None:
            _already(f"{decl.name}.{field.name}", "a field", existing, field.span, sink)
            continue
        checked = check_field(decl.name, field, sink)
        if checked is None:
            continue
        if checked.required:
            sink.error(
                Code.PROPERTY,
                f"{where} added by an extension cannot be required: a case judged by other "
                "policies need not document it",
                field.span,
            )
        fields.append(checked)
    if original is None:
        return vocabulary
    record = RecordKind(
        original.name,
        original.means,
        original.ask,
        original.cost,
        tuple(fields),
        original.span,
        original.codes,
    )
    records = tuple(record if r is original else r for r in vocabulary.records)
    return _with(vocabulary, records=records)


# ------------------------------------------------------------------ the union of a case
def _fact_key(fact: FactDef) -> tuple:
    return (fact.scope, fact.type.kind, fact.type.low, fact.type.high, fact.unit, fact.required)


def _field_key(field: FieldDef) -> tuple:
    t = field.type
    return (t.kind, t.low, t.high, field.unit, field.required, field.only_for, field.derived)


def _union_type(first: ValueType, other: ValueType) -> ValueType:
    added = tuple(v for v in other.values if v not in first.values)
    return ValueType(first.kind, first.low, first.high, first.values + added) if added else first


def _conflict(name: str, first_span, span) -> SijfaspError:
    sink = DiagnosticSink()
    sink.error(
        Code.DUPLICATE_NAME,
        f"'{name}' is declared differently by two vocabularies of the policies a case is "
        f"judged under (the other at {first_span}); a case could not be read for both",
        span,
        "give the extension's item its own name",
    )
    return SijfaspError(sink.items)


def union(vocabularies: Sequence[Vocabulary]) -> Vocabulary:
    """What a case judged under several policies may document: every policy's items, the
    values of an enumeration joined. The same name declared two ways is an error."""
    distinct = tuple(dict.fromkeys(vocabularies))
    if len(distinct) == 1:
        return distinct[0]
    return _union(distinct)


@lru_cache(maxsize=16)
def _union(vocabularies: tuple[Vocabulary, ...]) -> Vocabulary:
    first, *others = vocabularies
    facts: dict[tuple[str, str], FactDef] = {(f.scope, f.name): f for f in first.findings}
    facts.update({(f.scope, f.name): f for f in first.request_fields})
    records: dict[str, RecordKind] = {r.name: r for r in first.records}
    for vocabulary in others:
        for fact in (*vocabulary.findings, *vocabulary.request_fields):
            known = facts.get((fact.scope, fact.name))
            if known is None:
                facts[(fact.scope, fact.name)] = fact
            elif _fact_key(known) != _fact_key(fact):
                raise _conflict(fact.name, known.span, fact.span)
            else:
                facts[(fact.scope, fact.name)] = _replace_fact(
                    known, _union_type(known.type, fact.type), fact.codes
                )
        for record in vocabulary.records:
            mine = records.get(record.name)
            if mine is None:
                records[record.name] = record
                continue
            fields = {f.name: f for f in mine.fields}
            for field in record.fields:
                seen = fields.get(field.name)
                if seen is None:
                    fields[field.name] = field
                elif _field_key(seen) != _field_key(field):
                    raise _conflict(f"{record.name}.{field.name}", seen.span, field.span)
                else:
                    fields[field.name] = _replace_field(
                        seen, _union_type(seen.type, field.type), field.codes
                    )
            records[record.name] = RecordKind(
                mine.name,
                mine.means,
                mine.ask,
                mine.cost,
                tuple(fields.values()),
                mine.span,
                mine.codes + tuple(c for c in record.codes if c not in mine.codes),
            )
    return Vocabulary(
        first.name,
        first.description,
        tuple(f for f in facts.values() if f.scope == "finding"),
        tuple(f for f in facts.values() if f.scope == "request"),
        tuple(records.values()),
        first.path,
        tuple(dict.fromkeys(e for v in vocabularies for e in v.extensions)),
        implications=tuple(dict.fromkeys(i for v in vocabularies for i in v.implications)),
        service_codes=tuple(dict.fromkeys(c for v in vocabularies for c in v.service_codes)),
    )
