"""A number in a label that disagrees with the threshold it describes (a warning).

A label paraphrases its criterion for people ("At least 50% relief"); when the criterion's
threshold is edited and its label is not (`relief_percent >= 60`), every letter and explanation
states the old number. This check compares each number a label states as a bound ("at least N",
"N%", "N or more", "more than N", "N days", ...) with the numbers of the condition the label
sits on (its own thresholds, counts, windows and spacings, not those of named members, which
have labels of their own). A label number that none of them matches, read directly or as weeks,
months or years of days, is reported at the label's item. Numbers that bound nothing ("a 0-10
scale", "L5", "CPT 27278") are not read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from ..core.diagnostics import Code, Diagnostic, Severity
from . import ast

# A number stated as a bound: after a comparison word, or before a unit or "or more".
_BEFORE = (
    r"(?:at\s+least|at\s+most|more\s+than|less\s+than|fewer\s+than|under|over|above|below"
    r"|minimum\s+of|maximum\s+of|>=|<=|\u2265|\u2264|>|<)"
)
_NUMBER = r"(\d+(?:\.\d+)?)"
_AFTER = r"(?:\s*%|\s*percent|\s+or\s+more|\s+or\s+less|\s+or\s+higher|\s+or\s+greater|\+)"
_UNIT = r"\s*(days?|weeks?|months?|years?)\b"
_BOUND = re.compile(
    rf"{_BEFORE}\s*{_NUMBER}|{_NUMBER}(?={_AFTER})|{_NUMBER}(?={_UNIT})", re.IGNORECASE
)
_RANGE_OR_SCALE = re.compile(r"\d+\s*[-\u2013]\s*\d+|\d+/\d+|\b[A-Z]+\d+", re.IGNORECASE)


def _stated(label: str) -> Iterator[tuple[Decimal, str]]:
    """The numbers a label states as bounds, each with the words around it."""
    blanked = _RANGE_OR_SCALE.sub(lambda m: " " * len(m.group(0)), label)
    for match in _BOUND.finditer(blanked):
        text = next(g for g in match.groups() if g is not None)
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern only matches digits
            continue
        tail = re.match(rf"{_AFTER}|{_UNIT}", label[match.end() :], re.IGNORECASE)
        yield number, label[match.start() : match.end() + (tail.end() if tail else 0)].strip()


def _numbers(node: Any, into: set[Decimal]) -> None:
    """The thresholds, counts, windows and spacings of a condition, members with labels of
    their own (criteria) left out."""
    if isinstance(node, ast.Compare):
        into.add(node.value)
    elif isinstance(node, ast.FieldCondition):
        if node.number is not None:
            into.add(node.number)
    elif isinstance(node, ast.CountRecords):
        into.add(Decimal(node.minimum))
        for value in (node.window_days, node.window_months, node.apart_days):
            if value is not None:
                into.add(Decimal(value))
        _numbers(node.records, into)
    elif isinstance(node, ast.Combinator):
        if node.minimum is not None:
            into.add(Decimal(node.minimum))
        for member in node.members:
            if not isinstance(member, ast.Criterion):
                _numbers(member, into)
    elif isinstance(node, ast.RecordSet):
        for part in node.parts:
            _numbers(part, into)
    elif isinstance(node, ast.RecordFilter):
        for condition in node.all_conditions:
            _numbers(condition, into)


def _agrees(stated: Decimal, numbers: set[Decimal]) -> bool:
    """Whether a stated number is one of the condition's, directly or as a unit of it (weeks
    or months as days, years as days or months)."""
    return any(stated * factor in numbers for factor in (1, 7, 30, 12, 365))


def _labelled(declarations: tuple[ast.Declaration, ...]) -> Iterator[tuple[str, str, Any, Any]]:
    """(name, label, condition, span) of every labelled item."""

    def criterion(item: ast.Criterion) -> Iterator[tuple[str, str, Any, Any]]:
        yield item.name, item.label, item.body, item.span
        if isinstance(item.body, ast.Combinator):
            for member in item.body.members:
                yield from members(member)

    def members(member: Any) -> Iterator[tuple[str, str, Any, Any]]:
        if isinstance(member, ast.Criterion):
            yield from criterion(member)
        elif isinstance(member, ast.Combinator):
            for inner in member.members:
                yield from members(inner)

    for declaration in declarations:
        if isinstance(declaration, ast.DefineDecl):
            yield declaration.name, declaration.label, declaration.body, declaration.span
            yield from members(declaration.body)
        elif isinstance(declaration, ast.RecordsDecl):
            yield declaration.name, declaration.label, declaration.records, declaration.span
        elif isinstance(declaration, ast.CriteriaBlock):
            for item in declaration.items:
                if isinstance(item, ast.Criterion):
                    yield from criterion(item)
                else:
                    yield item.name, item.label, item.when, item.span


def label_warnings(source: ast.SourceFile) -> list[Diagnostic]:
    """A warning for each label number no threshold of its condition states."""
    found = []
    for name, label, condition, span in _labelled(source.declarations):
        numbers: set[Decimal] = set()
        _numbers(condition, numbers)
        if not numbers:
            continue  # a label over named members only: the members' labels are checked
        for stated, words in _stated(label):
            if not _agrees(stated, numbers):
                shown = ", ".join(sorted({format(n, "f") for n in numbers}, key=Decimal))
                found.append(
                    Diagnostic(
                        Code.LABEL_NUMBER,
                        f"the label of '{name}' says {format(stated, 'f')} ('{words}') but its "
                        f"condition's numbers are {shown}",
                        span,
                        Severity.WARNING,
                        hint="update the label, or the threshold if the label is right",
                    )
                )
    return found
