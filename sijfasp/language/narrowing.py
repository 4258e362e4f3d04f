"""Named record sets narrowed where they are used (`NAMED where C`), rewritten before any check
as the set's own filters with C added, so that every later stage sees plain filters of a record
kind.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from ..core.source import Span
from . import ast
from .checked import MAX_DEPTH, Vocabulary


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
