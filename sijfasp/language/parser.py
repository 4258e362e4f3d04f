"""Text to syntax tree: Lark (LALR, positions kept) and a transformer into `ast` dataclasses.

Syntax errors are collected, not raised one at a time: after an unexpected token the parser skips
it and goes on, so an author sees every place the grammar was not followed in one run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import lark
from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..core.diagnostics import Code, Diagnostic, SijfaspError
from ..core.resources import grammar_path
from ..core.source import SourceText, Span
from ..core.user_cache import cache_dir
from . import ast
from .semantics import MAX_DEPTH

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
    """Where the built parser is kept between runs: the user's cache directory (core/user_cache.py),
    named by the grammar's hash and Lark's version (Lark also checks the hash on loading).
    False (no cache) when there is none, or when SIJFASP_NO_CACHE is set."""
    folder = cache_dir()
    if folder is None:
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


# ---------------------------------------------------------------- guiding hints
# A syntax error is often a known mistake: a misspelt keyword, `a or b` between conditions,
# `==`. Such an error gets its own message and hint, and the text is repaired (in a copy, with
# the same positions where it can) and parsed again, so the mistake costs one error, not a
# cascade of follow-on errors.

_WORD_CHAR = re.compile(r"[a-z0-9_]", re.IGNORECASE)
# Keywords written as two words, as an author may run them together.
_PHRASES = ("at least", "all of", "any of", "none of", "separate dates", "within last")
_JOINS = {
    "or": "when one of them is enough, write any of { a  b } (members two spaces apart)",
    "and": (
        "when all of them must hold, write all of { a  b } (members two spaces apart); "
        "'and' joins only the conditions of a record filter (therapy where a is b and c is d)"
    ),
}
# Mistyped comparisons and what was meant.
_COMPARISONS = {"==": "=", "=>": ">=", "=<": "<=", "<>": "!=", "=!": "!="}


@dataclass(frozen=True)
class _Fix:
    """A diagnosed mistake and the text that replaces it for parsing on."""

    diagnostic: Diagnostic
    start: int
    end: int
    replacement: str

    def apply(self, text: str) -> str:
        return text[: self.start] + self.replacement + text[self.end :]


@lru_cache(maxsize=1)
def _keywords() -> frozenset[str]:
    return frozenset(
        t.pattern.value
        for t in _lark().terminals
        if t.pattern.type == "str" and re.fullmatch(r"[a-z_]+", t.pattern.value)
    )


def _meant_keyword(word: str, fuzzy: bool) -> str | None:
    """The keyword a word not in the grammar was probably meant to be: two keywords run
    together (`atleast`), or, when `fuzzy`, a keyword spelt nearly so."""
    lowered = word.lower()
    if len(word) < 4 or lowered in _keywords():
        return None
    for phrase in _PHRASES:
        if lowered == phrase.replace(" ", ""):
            return phrase
    if not fuzzy:
        return None
    long_keywords = sorted(k for k in _keywords() if len(k) >= 4)
    close = difflib.get_close_matches(lowered, long_keywords, n=1, cutoff=0.8)
    return close[0] if close else None


def _word_around(text: str, position: int) -> tuple[int, int]:
    start = end = position
    while start > 0 and _WORD_CHAR.match(text[start - 1]):
        start -= 1
    while end < len(text) and _WORD_CHAR.match(text[end]):
        end += 1
    return start, end


def _word_before(text: str, position: int) -> tuple[int, int] | None:
    index = position
    while index > 0 and text[index - 1] in " \t":
        index -= 1
    if index == 0 or not _WORD_CHAR.match(text[index - 1]):
        return None
    return _word_around(text, index - 1)


def _span_at(path: str, text: str, start: int, end: int) -> Span:
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return Span(path, line, column, line, column + max(1, end - start))


def _blank_outside_texts(line: str) -> str:
    """The line with its quoted texts, section references and comment blanked out."""
    line = re.sub(r'"[^"\n]*"', lambda m: " " * len(m.group()), line)
    line = re.sub(r"\[[^\]\n]*\]", lambda m: " " * len(m.group()), line)
    hash_at = line.find("#")
    return line if hash_at < 0 else line[:hash_at] + " " * (len(line) - hash_at)


def _keyword_fix(path: str, text: str, error: UnexpectedToken) -> _Fix | None:
    """A misspelt keyword: the unexpected word itself, or the word just before it.

    A near spelling counts only where the keyword could stand: expected there, at the start of
    a line, glued to a keyword the lexer split off (`criteria|s`), or a word taken for a name
    just before the error on its line; so a real name is not taken for a misspelt keyword."""
    position = error.token.start_pos
    if position is None:
        return None
    expected = {_describe(t).strip("'") for t in error.expected}
    at = _word_around(text, position)
    before = _word_before(text, position)
    candidates: list[tuple[tuple[int, int], bool]] = []
    if at[0] < at[1]:
        fragment = text[at[0] : at[1]] != str(error.token)
        candidates.append((at, fragment or _starts_line(text, at[0])))
    if before is not None:
        candidates.append((before, True))
    for (start, end), near_allowed in candidates:
        word = text[start:end]
        meant = _meant_keyword(word, fuzzy=True)
        glued = text[start:position]
        if meant is None and (start, end) == at and glued.lower() in _keywords():
            meant = glued.lower()  # `all off`: the lexer took `of` and left `f`
        if meant is None:
            continue
        if not (near_allowed or meant in expected or _meant_keyword(word, fuzzy=False)):
            continue
        diagnostic = Diagnostic(
            Code.SYNTAX,
            f"unexpected '{word}'; it is not a keyword",
            _span_at(path, text, start, end),
            hint=f"did you mean '{meant}'?",
        )
        return _Fix(diagnostic, start, end, meant)
    return None


def _starts_line(text: str, position: int) -> bool:
    return not text[text.rfind("\n", 0, position) + 1 : position].strip()


def _joined_conditions_fix(path: str, text: str, error: UnexpectedToken) -> _Fix | None:
    """`a or b` / `a and b` between two conditions, where a combinator is meant: the parser
    finds the `or` unexpected, or has just taken it for the name of a next criterion."""
    position = error.token.start_pos
    parser = error.interactive_parser
    if position is None:
        return None
    # The join itself unexpected, or taken for a name just before the unexpected token.
    join: object = error.token
    if str(join) not in _JOINS:
        stack = parser.parser_state.value_stack if parser is not None else []
        join = stack[-1] if stack else None
        if not isinstance(join, Token) or join.type != "NAME" or str(join) not in _JOINS:
            return None
    assert isinstance(join, Token)
    start = join.start_pos
    if start is None:
        return None
    word = str(join)
    end_of_line = text.find("\n", position)
    end_of_line = len(text) if end_of_line < 0 else end_of_line
    # Blank the join and what it joins, to the end of the line (before a `}` or a comment).
    tail = _blank_outside_texts(text[start:end_of_line])
    stop = min((i for i in (tail.find("}"), tail.find("#")) if i >= 0), default=len(tail))
    end = start + stop
    blanked = re.sub(r"[^\n]", " ", text[start:end])
    return _Fix(
        Diagnostic(
            Code.SYNTAX,
            f"'{word}' does not join two conditions",
            _span_at(path, text, start, start + len(word)),
            hint=_JOINS[word],
        ),
        start,
        end,
        blanked,
    )


def _comparison_fix(path: str, text: str, error: UnexpectedToken) -> _Fix | None:
    position = error.token.start_pos
    if position is None or position == 0 or error.token.type != "COMPARATOR":
        return None
    written = text[position - 1 : position + 1]
    meant = _COMPARISONS.get(written)
    if meant is None:
        return None
    diagnostic = Diagnostic(
        Code.SYNTAX,
        f"'{written}' is not a comparison",
        _span_at(path, text, position - 1, position + 1),
        hint=f"write '{meant}'; the comparisons are >=, <=, >, <, = and !=",
    )
    return _Fix(diagnostic, position - 1, position + 1, meant.ljust(2))


# The units of time the language has: a duration or window in days or calendar months, a
# spacing in days.
DURATION_UNITS = ("days", "months")
_UNIT_PLACE = re.compile(
    r"\b(?P<lead>at\s+least|within\s+last)\s+\d+\s+(?P<unit>[A-Za-z_]\w*)(?P<tail>\s+(?:of|apart)\b)?"
)


def _unit_fix(path: str, text: str, error: UnexpectedToken) -> _Fix | None:
    """`at least 6 weeks of ...`, `within last 2 years`, `at least 2 months apart`: a unit the
    language lacks, named with the units it has, and read as days to parse on."""
    position = error.token.start_pos
    if position is None:
        return None
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    line = _blank_outside_texts(text[start : end if end != -1 else len(text)])
    for match in _UNIT_PLACE.finditer(line):
        unit, tail = match.group("unit"), (match.group("tail") or "").strip()
        lead = " ".join(match.group("lead").split())
        apart = tail == "apart"
        if lead == "at least" and not tail:
            continue  # `at least 2 injection_set`: a count of records
        if unit in (("days",) if apart else DURATION_UNITS) or unit == "separate":
            continue
        if apart:
            message = f"'{unit}' is not a unit of a spacing; the dates are spaced in days"
            hint = "write: at least 2 separate dates of SET, at least 14 days apart"
        else:
            message = (
                f"'{unit}' is not a unit of time here; durations and windows are in days or months"
            )
            hint = (
                f"write: {lead} N days or {lead} N months (a month is a calendar month back "
                "from the request date)"
            )
        at = start + match.start("unit")
        return _Fix(
            Diagnostic(Code.SYNTAX, message, _span_at(path, text, at, at + len(unit)), hint=hint),
            at,
            at + len(unit),
            "days",
        )
    return None


def _guided_fix(path: str, text: str, error: UnexpectedToken) -> _Fix | None:
    if error.token.type == "$END":
        return None
    return (
        _unit_fix(path, text, error)
        or _comparison_fix(path, text, error)
        or _keyword_fix(path, text, error)
        or _joined_conditions_fix(path, text, error)
    )


def _with_hint(diagnostic: Diagnostic, text: str, error: UnexpectedInput) -> Diagnostic:
    """A hint for a forgotten ':' after a label, or a spacing written without its comma."""
    if isinstance(error, UnexpectedToken) and _spacing_without_comma(text, error.token):
        return dataclasses.replace(
            diagnostic,
            hint="a spacing follows the record set after a comma: "
            "at least 2 separate dates of SET, at least 14 days apart",
        )
    if not isinstance(error, UnexpectedToken) or set(error.expected) != {"COLON"}:
        return diagnostic
    position = error.token.start_pos
    if position is None or not text[:position].rstrip().endswith('"'):
        return diagnostic
    return dataclasses.replace(
        diagnostic, hint="a label is followed by ':' and then its condition: \"Label\": condition"
    )


def _spacing_without_comma(text: str, token: Token) -> bool:
    """`... of SET at least 14 days apart`: the error falls on the spacing's words."""
    if token.start_pos is None or token.value not in ("at", "apart"):
        return False
    start = text.rfind("\n", 0, token.start_pos) + 1
    end = text.find("\n", token.start_pos)
    line = text[start : end if end != -1 else len(text)]
    return re.search(r"\bat\s+least\s+\d+\s+days\s+apart\b", line) is not None


@dataclass(frozen=True)
class _Opener:
    char: str
    position: int
    line: int
    column: int
    indent: int


def _unclosed(text: str) -> list[_Opener]:
    """Brackets never closed, when the file has more openers than closers.

    Indentation tells which: a closer on its own line, less indented than the line that opened
    the innermost bracket, shows that bracket was left open.
    """
    openers: list[_Opener] = []
    unclosed: list[_Opener] = []
    closers = 0
    offset = 0
    for number, raw in enumerate(text.split("\n"), 1):
        line = _blank_outside_texts(raw)
        indent = len(raw) - len(raw.lstrip(" \t"))
        for column, char in enumerate(line, 1):
            if char in "{(":
                openers.append(_Opener(char, offset + column - 1, number, column, indent))
            elif char in "})":
                closers += 1
                if column == indent + 1:
                    while openers and openers[-1].indent > indent:
                        unclosed.append(openers.pop())
                if openers:
                    openers.pop()
        offset += len(raw) + 1
    unclosed += openers
    total_openers = sum(_blank_outside_texts(r).count(c) for r in text.split("\n") for c in "{(")
    if total_openers <= closers:
        return []
    return sorted(unclosed, key=lambda o: o.position)


def _unclosed_diagnostics(
    path: str, text: str, errors: list[Diagnostic]
) -> tuple[list[Diagnostic], list[Diagnostic]] | None:
    """Diagnostics at each bracket never closed, and the parser's errors kept: those before the
    first such bracket (the later ones follow from it)."""
    unclosed = _unclosed(text)
    if not unclosed:
        return None
    first = unclosed[0]
    later = [e for e in errors if e.span is None or (e.span.line, e.span.column) > (first.line, 0)]
    kept = [e for e in errors if e not in later]
    diagnostics = []
    for opener in unclosed:
        noticed = next(
            (e for e in later if e.span is None or e.span.line >= opener.line),
            None,
        )
        closer = "}" if opener.char == "{" else ")"
        if noticed is None or noticed.span is None or "end of the file" in noticed.message:
            hint = f"close it with '{closer}'; the file ends before it is closed"
        else:
            found = noticed.message.split(";")[0]
            hint = (
                f"close it with '{closer}'; the parser noticed at line {noticed.span.line}: {found}"
            )
        diagnostics.append(
            Diagnostic(
                Code.SYNTAX,
                f"'{opener.char}' opened at line {opener.line} is never closed",
                Span(path, opener.line, opener.column, opener.line, opener.column + 1),
                hint=hint,
            )
        )
    return diagnostics, kept


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
        fixes: list[_Fix] = []

        def recover(error: UnexpectedInput) -> bool:
            if isinstance(error, UnexpectedToken):
                fix = _guided_fix(source.path, text, error)
                if fix is not None:
                    fixes.append(fix)
                    return False  # parse again with the mistake repaired
            diagnostic = _with_hint(_syntax_diagnostic(source.path, error), text, error)
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
            diagnostic = _with_hint(_syntax_diagnostic(source.path, error), text, error)
            if diagnostic not in errors and not (isinstance(error, UnexpectedToken) and errors):
                errors.append(diagnostic)
        break
    # A blanked character usually leaves a stray token behind on its line: one error is enough.
    lexical_lines = {d.span.line for d in lexical if d.span}
    parsed = [e for e in errors if e.span is None or e.span.line not in lexical_lines]
    unclosed = _unclosed_diagnostics(source.path, source.text, parsed) if parsed else None
    if unclosed is not None:
        brackets, parsed = unclosed
        parsed = brackets + parsed
    found = lexical + parsed
    if found and tree is not None and not parsed:
        # The repaired text parsed: what its tree shows wrong belongs to the same run.
        checker = _ToAst(source.path)
        with contextlib.suppress(_RecoveredTreeError):
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

    def value_list(self, meta, children):
        return [c for c in children if isinstance(c, Token) and c.type in ("NAME", "INT")]

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

    def coding(self, meta, children):
        texts = [_unquote(c) for c in children[1:] if c.type == "STRING"]
        value = next((str(c) for c in children[1:] if c.type != "STRING"), None)
        return ast.Coding(
            "code",
            None,
            self._span(meta),
            str(children[0]),
            texts[0],
            texts[1] if len(texts) > 1 else None,
            value,
        )

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

    def import_named(self, meta, children):
        return ast.ImportDecl(_unquote(children[0]), self._span(meta), by_name=True)

    def policy_decl(self, meta, children):
        return ast.PolicyDecl(
            str(children[0]),
            self._split_properties(children[1:]),
            self._span(meta),
            tuple(c for c in children[1:] if isinstance(c, ast.PlanProperty)),
        )

    def service_decl(self, meta, children):
        name = str(children[0])
        codes = tuple(str(c) for c in children[1:] if c.type == "INT")
        rest = [c for c in children[1:] if c.type != "INT"]
        if not rest:  # a vocabulary's table of codes: no section, no label
            return ast.ServiceCodesDecl(name, codes, self._span(meta))
        return ast.ServiceDecl(name, codes, _section(rest[0]), _unquote(rest[1]), self._span(meta))

    def implication_decl(self, meta, children):
        narrow, broad = children
        return ast.ImplicationDecl(
            str(narrow),
            str(broad),
            self._span(meta),
            self._tok_span(narrow),
            self._tok_span(broad),
        )

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
        name = str(children[0])
        if name in _JOINS:
            # `{ a or b }` parses as three members; the middle one is the mistake.
            self.problems.append(
                Diagnostic(
                    Code.SYNTAX,
                    f"'{name}' does not join two conditions",
                    self._span(meta),
                    hint=_JOINS[name],
                )
            )
        return ast.Reference(name, self._span(meta))

    def count_records(self, meta, children):
        return ast.CountRecords(
            ast.CountUnit.RECORDS, int(children[0]), children[1], None, self._span(meta)
        )

    def count_dates(self, meta, children):
        apart = children[2] if len(children) > 2 else None
        return ast.CountRecords(
            ast.CountUnit.DATES,
            int(children[0]),
            children[1],
            None,
            self._span(meta),
            apart_days=apart,
        )

    def spacing(self, meta, children):
        return int(children[0])

    def count_days(self, meta, children):
        window = children[2] if len(children) > 2 else None
        days = window if isinstance(window, int) else None
        months = window.count if isinstance(window, _Months) else None
        return ast.CountRecords(
            ast.CountUnit.DAYS, int(children[0]), children[1], days, self._span(meta), months
        )

    def count_months(self, meta, children):
        days = self.count_days(meta, children)
        return dataclasses.replace(days, in_months=True)

    def latest_record(self, meta, children):
        return ast.CountRecords(ast.CountUnit.LATEST, 1, children[0], None, self._span(meta))

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

    def field_within_fact_months(self, meta, children):
        """`end within last pain_duration_months months`: the window's length is a finding's
        documented value; the finding's name is kept in `values`, `number` stays None."""
        condition = self._field(
            meta, children[0], ast.FieldOperator.WITHIN, [children[1]], None, None
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

    def field_after(self, meta, children):
        return self._field(meta, children[0], ast.FieldOperator.AFTER, [children[1]])

    def field_before(self, meta, children):
        return self._field(meta, children[0], ast.FieldOperator.BEFORE, [children[1]])

    def __default__(self, data, children, meta):
        # Only reached for a tree shape the grammar should not produce after error recovery.
        raise _RecoveredTreeError(data)


def parse_text(text: str, path: str = "<text>") -> ast.SourceFile:
    return parse(SourceText(path, text))


__all__ = ["Tree", "parse", "parse_text"]
