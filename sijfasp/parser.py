"""Text to syntax tree: Lark (LALR, positions kept) and a transformer into `ast` dataclasses.

Syntax errors are collected, not raised one at a time: after an unexpected token the parser skips
it and goes on, so an author sees every place the grammar was not followed in one run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import lark
from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import ast
from .diagnostics import Code, Diagnostic, SijfaspError
from .resources import grammar_path
from .semantics import MAX_DEPTH
from .source import SourceText, Span

MAX_SYNTAX_ERRORS = 20

# How the grammar's terminals read to a policy author.
_TERMINAL_WORDS = {
    "NAME": "a name (lower case letters, digits, _)",
    "SECTION": "a section reference in brackets, like [D.I.B.6]",
    "STRING": "a text in double quotes",
    "DATE": "a date YYYY-MM-DD",
    "INT": "a whole number",
    "DECIMAL": "a number",
    "COMPARATOR": "a comparison (>=, <=, >, <, =, !=)",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "COLON": "':'",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "DOT": "'.'",
    "$END": "the end of the file",
}


def _cache_file(grammar: str) -> str | bool:
    """Where the built parser is kept between runs: the user's cache directory, named by the
    grammar's hash and Lark's version (Lark also checks the hash on loading). False (no
    cache) when that directory cannot be made, or when SIJFASP_NO_CACHE is set."""
    if os.environ.get("SIJFASP_NO_CACHE"):
        return False
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "sijfasp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    digest = hashlib.sha256(grammar.encode("utf-8")).hexdigest()[:16]
    return str(folder / f"grammar-{digest}-lark-{lark.__version__}.cache")


@lru_cache(maxsize=1)
def _lark() -> Lark:
    # Building the LALR tables takes most of a cold start's parsing; a cached parser loads in
    # a tenth of that. Lark rebuilds (and rewrites) a cache that is missing or does not match.
    grammar = grammar_path().read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=False,
        cache=_cache_file(grammar),
    )


def _describe(terminal: str) -> str:
    if terminal in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[terminal]
    pattern = _lark().get_terminal(terminal).pattern if terminal in _terminal_names() else None
    if pattern is not None and pattern.type == "str":
        return f"'{pattern.value}'"
    return terminal.lower()


@lru_cache(maxsize=1)
def _terminal_names() -> frozenset[str]:
    return frozenset(t.name for t in _lark().terminals)


def _expected(expected: set[str]) -> str:
    if "DECIMAL" in expected:
        expected = expected - {"INT"}  # "a number" covers whole numbers
    words = sorted({_describe(t) for t in expected})
    if len(words) > 6:
        words = words[:6] + ["..."]
    return ", ".join(words)


def _token_text(token: Token) -> str:
    if token.type == "$END":
        return "the end of the file"
    return f"'{token.value}'"


def _span_of_token(path: str, token: Token) -> Span:
    line = token.line or 1
    column = token.column or 1
    end_line = token.end_line or line
    end_column = token.end_column or column + 1
    return Span(path, line, column, end_line, end_column)


def _syntax_diagnostic(path: str, error: UnexpectedInput) -> Diagnostic:
    if isinstance(error, UnexpectedCharacters):
        span = Span(path, error.line, error.column, error.line, error.column + 1)
        return Diagnostic(
            "syntax", f"unexpected character '{error.char}'", span, hint=_char_hint(error.char)
        )
    if isinstance(error, UnexpectedEOF):
        return Diagnostic(
            "syntax", "the file ends too early; expected " + _expected(set(error.expected)), None
        )
    assert isinstance(error, UnexpectedToken)
    token = error.token
    span = _span_of_token(path, token)
    message = f"unexpected {_token_text(token)}; expected {_expected(set(error.expected))}"
    return Diagnostic("syntax", message, span)


def _char_hint(char: str) -> str | None:
    if char.isupper():
        return "names are lower case: letters, digits and '_'"
    if char == "'":
        return 'texts are written in double quotes: "..."'
    return None


_PLACEHOLDERS = {
    "INT": "1",
    "NAME": "missing",
    "STRING": '""',
    "SECTION": "[?]",
    "DECIMAL": "1.0",
    "DATE": "2000-01-01",
}


def _insert_missing(error: UnexpectedToken) -> bool:
    """When exactly one token would fit, pretend it was written and go on.

    A forgotten ':' or count then costs one error, not one on every line after it.
    """
    if len(error.expected) != 1 or error.interactive_parser is None:
        return False
    (terminal,) = error.expected
    if terminal in _PLACEHOLDERS:
        value = _PLACEHOLDERS[terminal]
    else:
        pattern = _lark().get_terminal(terminal).pattern if terminal in _terminal_names() else None
        if pattern is None or pattern.type != "str":
            return False
        value = pattern.value
    parser = error.interactive_parser.copy()
    try:
        parser.feed_token(Token(terminal, value))
        parser.feed_token(error.token)
    except UnexpectedInput:
        return False
    error.interactive_parser.parser_state = parser.parser_state
    return True


def parse(source: SourceText) -> ast.SourceFile:
    """Parse one file; raise SijfaspError with every syntax error found.

    After an unexpected token the parser inserts the one token that would fit, or else skips
    the token, and goes on; after an unexpected character it blanks the character and parses
    again. Either way the author sees every error in one run.
    """
    text = source.text
    lexical: list[Diagnostic] = []
    tree = None
    for _ in range(MAX_SYNTAX_ERRORS):
        errors: list[Diagnostic] = []

        def recover(error: UnexpectedInput) -> bool:
            diagnostic = _syntax_diagnostic(source.path, error)
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
            _insert_missing(error)
            return True

        try:
            tree = _lark().parse(text, on_error=recover)
        except UnexpectedCharacters as error:
            diagnostic = _syntax_diagnostic(source.path, error)
            if not any(
                d.span and diagnostic.span and d.span.line == diagnostic.span.line for d in lexical
            ):
                lexical.append(diagnostic)
            position = error.pos_in_stream
            assert position is not None  # a lexer error knows where it is
            text = text[:position] + " " + text[position + 1 :]
            continue
        except UnexpectedInput as error:
            diagnostic = _syntax_diagnostic(source.path, error)
            if diagnostic not in errors and not (isinstance(error, UnexpectedToken) and errors):
                errors.append(diagnostic)
        break
    # A blanked character usually leaves a stray token behind on its line: one error is enough.
    lexical_lines = {d.span.line for d in lexical if d.span}
    found = lexical + [e for e in errors if e.span is None or e.span.line not in lexical_lines]
    if found or tree is None:
        raise SijfaspError(
            found
            or [Diagnostic("syntax", "too many errors to go on", Span(source.path, 1, 1, 1, 2))]
        )
    too_deep = _too_deep(tree, source.path)
    if too_deep is not None:
        raise SijfaspError([too_deep])
    transformer = _ToAst(source.path)
    try:
        result = transformer.transform(tree)
    except _RecoveredTreeError:
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


class _RecoveredTreeError(Exception):
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
class _ToAst(Transformer):
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
                        _span_of_token(self.path, token),
                    )
                )
        return token

    def _span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.path, 1, 1, 1, 1)
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, token: Token) -> Span:
        return _span_of_token(self.path, token)

    # -------------------------------------------------------------- shared
    def start(self, meta, children):
        return ast.SourceFile(self.path, tuple(children))

    def name_list(self, meta, children):
        return [c for c in children if isinstance(c, Token) and c.type == "NAME"]

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

    def policy_decl(self, meta, children):
        return ast.PolicyDecl(
            str(children[0]),
            self._split_properties(children[1:]),
            self._span(meta),
            tuple(c for c in children[1:] if isinstance(c, ast.PlanProperty)),
        )

    def service_decl(self, meta, children):
        name = str(children[0])
        rest = children[1:]
        cpt = None
        if rest and rest[0].type == "INT":
            cpt = str(rest[0])
            rest = rest[1:]
        return ast.ServiceDecl(name, cpt, _section(rest[0]), _unquote(rest[1]), self._span(meta))

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
        return ast.Reference(str(children[0]), self._span(meta))

    def count_records(self, meta, children):
        return ast.CountRecords(
            ast.CountUnit.RECORDS, int(children[0]), children[1], None, self._span(meta)
        )

    def count_dates(self, meta, children):
        return ast.CountRecords(
            ast.CountUnit.DATES, int(children[0]), children[1], None, self._span(meta)
        )

    def count_days(self, meta, children):
        window = children[2] if len(children) > 2 else None
        days = window if isinstance(window, int) else None
        months = window.count if isinstance(window, _Months) else None
        return ast.CountRecords(
            ast.CountUnit.DAYS, int(children[0]), children[1], days, self._span(meta), months
        )

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

    def field_matches(self, meta, children):
        fact = children[1]
        # Kept as "scope.name" so the semantic stage can insist on a request field.
        target = f"{fact.scope}.{fact.name}" if fact.scope != "finding" else fact.name
        return self._field(meta, children[0], ast.FieldOperator.MATCHES, [target])

    def field_covers(self, meta, children):
        fact = children[1]
        target = f"{fact.scope}.{fact.name}" if fact.scope != "finding" else fact.name
        return self._field(meta, children[0], ast.FieldOperator.COVERS, [target])

    def __default__(self, data, children, meta):
        # Only reached for a tree shape the grammar should not produce after error recovery.
        raise _RecoveredTreeError(data)


def parse_text(text: str, path: str = "<text>") -> ast.SourceFile:
    return parse(SourceText(path, text))


__all__ = ["Tree", "parse", "parse_text"]
