"""Text to syntax tree: Lark (LALR, positions kept) and a transformer into `ast` dataclasses.

Syntax errors are collected, not raised one at a time: after an unexpected token the parser skips
it and goes on, so an author sees every place the grammar was not followed in one run.

The grammar is loaded by `grammar`, errors are worded and repaired by `syntax_errors`, and the
tree becomes `ast` nodes in `to_ast`; this module runs them.
"""

from __future__ import annotations

import contextlib

from lark import Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..core.diagnostics import Code, Diagnostic, SijfaspError
from ..core.source import SourceText, Span
from . import ast
from .checked import MAX_DEPTH
from .grammar import lark_parser
from .syntax_errors import (
    Fix,
    guided_fix,
    insert_missing,
    syntax_diagnostic,
    unclosed_diagnostics,
    with_hint,
)
from .to_ast import RecoveredTreeError, ToAst

MAX_SYNTAX_ERRORS = 20


def parse(source: SourceText) -> ast.SourceFile:
    """Parse one file; raise SijfaspError with every syntax error found.

    After an unexpected token the parser inserts the one token that would fit, or else skips
    the token, and goes on; after an unexpected character it blanks the character and parses
    again. Either way the author sees every error in one run.
    """
    text = source.text
    lexical: list[Diagnostic] = []  # bad characters and guided fixes, one per line
    tree = None
    for _ in range(MAX_SYNTAX_ERRORS):
        errors: list[Diagnostic] = []
        fixes: list[Fix] = []

        def recover(error: UnexpectedInput) -> bool:
            if isinstance(error, UnexpectedToken):
                fix = guided_fix(source.path, text, error)
                if fix is not None:
                    fixes.append(fix)
                    return False  # parse again with the mistake repaired
            diagnostic = with_hint(syntax_diagnostic(source.path, error), text, error)
            # A skipped token often causes a second error on the same line: keep the first.
            if (
                not errors
                or errors[-1].span is None
                or diagnostic.span is None
                or errors[-1].span.line != diagnostic.span.line
            ):
                errors.append(diagnostic)
            if (
                len(errors) >= MAX_SYNTAX_ERRORS
                or not isinstance(error, UnexpectedToken)
                or error.token.type == "$END"
            ):
                return False
            insert_missing(error)
            return True

        try:
            tree = lark_parser().parse(text, on_error=recover)
        except UnexpectedCharacters as error:
            diagnostic = syntax_diagnostic(source.path, error)
            if not any(
                d.span and diagnostic.span and d.span.line == diagnostic.span.line for d in lexical
            ):
                lexical.append(diagnostic)
            position = error.pos_in_stream
            assert position is not None  # a lexer error knows where it is
            text = text[:position] + " " + text[position + 1 :]
            continue
        except UnexpectedInput as error:
            if fixes:
                fixed = fixes[0].diagnostic
                # After a blanked character the rest of its word may look misspelt: one error.
                if not any(
                    d.span and fixed.span and d.span.line == fixed.span.line for d in lexical
                ):
                    lexical.append(fixed)
                text = fixes[0].apply(text)
                tree = None
                continue
            diagnostic = with_hint(syntax_diagnostic(source.path, error), text, error)
            if diagnostic not in errors and not (isinstance(error, UnexpectedToken) and errors):
                errors.append(diagnostic)
        break
    # A blanked character usually leaves a stray token behind on its line: one error is enough.
    lexical_lines = {d.span.line for d in lexical if d.span}
    parsed = [e for e in errors if e.span is None or e.span.line not in lexical_lines]
    unclosed = unclosed_diagnostics(source.path, source.text, parsed) if parsed else None
    if unclosed is not None:
        brackets, parsed = unclosed
        parsed = brackets + parsed
    found = lexical + parsed
    if found and tree is not None and not parsed:
        # The repaired text parsed: what its tree shows wrong belongs to the same run.
        checker = ToAst(source.path)
        with contextlib.suppress(RecoveredTreeError):
            checker.transform(tree)
        found += [p for p in checker.problems if p.span is None or p.span.line not in lexical_lines]
    if found or tree is None:
        raise SijfaspError(
            found
            or [Diagnostic("syntax", "too many errors to go on", Span(source.path, 1, 1, 1, 2))]
        )
    too_deep = _too_deep(tree, source.path)
    if too_deep is not None:
        raise SijfaspError([too_deep])
    transformer = ToAst(source.path)
    try:
        result = transformer.transform(tree)
    except RecoveredTreeError:
        raise SijfaspError(
            [Diagnostic("syntax", "the file could not be read", Span(source.path, 1, 1, 1, 2))]
        ) from None
    if transformer.problems:
        raise SijfaspError(transformer.problems)
    return result


# Nesting that counts against MAX_DEPTH: combinators, and record sets in parentheses.
_NESTING = frozenset({"all_of", "any_of", "none_of", "at_least_of", "record_set"})


def _too_deep(tree: Tree, path: str) -> Diagnostic | None:
    """A diagnostic at the first condition nested more than MAX_DEPTH deep, found without
    recursion, so that no later stage ever recurses deeper than the limit."""
    pending: list[tuple[Tree, int]] = [(tree, 0)]
    while pending:
        node, depth = pending.pop()
        if node.data in _NESTING:
            depth += 1
            if depth > MAX_DEPTH:
                meta = node.meta
                span = Span(path, meta.line, meta.column, meta.end_line, meta.end_column)
                return Diagnostic(Code.LIMIT, f"conditions nest more than {MAX_DEPTH} deep", span)
        pending.extend((c, depth) for c in node.children if isinstance(c, Tree))
    return None


def parse_text(text: str, path: str = "<text>") -> ast.SourceFile:
    return parse(SourceText(path, text))


__all__ = ["Tree", "parse", "parse_text"]
