"""Syntax errors an author can act on: each unexpected token or character in words, with what
was expected; known mistakes (a misspelt keyword, `a or b` between conditions, `==`, a unit
left out) diagnosed and repaired so that parsing goes on; the one token that would fit put in;
and brackets never closed found by indentation.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..core.diagnostics import Code, Diagnostic
from ..core.source import Span
from .grammar import keywords, lark_parser, terminal_names

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


def _describe(terminal: str) -> str:
    if terminal in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[terminal]
    pattern = lark_parser().get_terminal(terminal).pattern if terminal in terminal_names() else None
    if pattern is not None and pattern.type == "str":
        return f"'{pattern.value}'"
    return terminal.lower()


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


def span_of_token(path: str, token: Token) -> Span:
    line = token.line or 1
    column = token.column or 1
    end_line = token.end_line or line
    end_column = token.end_column or column + 1
    return Span(path, line, column, end_line, end_column)


def syntax_diagnostic(path: str, error: UnexpectedInput) -> Diagnostic:
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
    span = span_of_token(path, token)
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


def insert_missing(error: UnexpectedToken) -> bool:
    """When exactly one token would fit, pretend it was written and go on.

    A forgotten ':' or count then costs one error, not one on every line after it.
    """
    if len(error.expected) != 1 or error.interactive_parser is None:
        return False
    (terminal,) = error.expected
    if terminal in _PLACEHOLDERS:
        value = _PLACEHOLDERS[terminal]
    else:
        pattern = (
            lark_parser().get_terminal(terminal).pattern if terminal in terminal_names() else None
        )
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
JOINS = {
    "or": "when one of them is enough, write any of { a  b } (members two spaces apart)",
    "and": (
        "when all of them must hold, write all of { a  b } (members two spaces apart); "
        "'and' joins only the conditions of a record filter (therapy where a is b and c is d)"
    ),
}
# Mistyped comparisons and what was meant.
_COMPARISONS = {"==": "=", "=>": ">=", "=<": "<=", "<>": "!=", "=!": "!="}


@dataclass(frozen=True)
class Fix:
    """A diagnosed mistake and the text that replaces it for parsing on."""

    diagnostic: Diagnostic
    start: int
    end: int
    replacement: str

    def apply(self, text: str) -> str:
        return text[: self.start] + self.replacement + text[self.end :]


def _meant_keyword(word: str, fuzzy: bool) -> str | None:
    """The keyword a word not in the grammar was probably meant to be: two keywords run
    together (`atleast`), or, when `fuzzy`, a keyword spelt nearly so."""
    lowered = word.lower()
    if len(word) < 4 or lowered in keywords():
        return None
    for phrase in _PHRASES:
        if lowered == phrase.replace(" ", ""):
            return phrase
    if not fuzzy:
        return None
    long_keywords = sorted(k for k in keywords() if len(k) >= 4)
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


def _keyword_fix(path: str, text: str, error: UnexpectedToken) -> Fix | None:
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
        if meant is None and (start, end) == at and glued.lower() in keywords():
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
        return Fix(diagnostic, start, end, meant)
    return None


def _starts_line(text: str, position: int) -> bool:
    return not text[text.rfind("\n", 0, position) + 1 : position].strip()


def _joined_conditions_fix(path: str, text: str, error: UnexpectedToken) -> Fix | None:
    """`a or b` / `a and b` between two conditions, where a combinator is meant: the parser
    finds the `or` unexpected, or has just taken it for the name of a next criterion."""
    position = error.token.start_pos
    parser = error.interactive_parser
    if position is None:
        return None
    # The join itself unexpected, or taken for a name just before the unexpected token.
    join: object = error.token
    if str(join) not in JOINS:
        stack = parser.parser_state.value_stack if parser is not None else []
        join = stack[-1] if stack else None
        if not isinstance(join, Token) or join.type != "NAME" or str(join) not in JOINS:
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
    return Fix(
        Diagnostic(
            Code.SYNTAX,
            f"'{word}' does not join two conditions",
            _span_at(path, text, start, start + len(word)),
            hint=JOINS[word],
        ),
        start,
        end,
        blanked,
    )


def _comparison_fix(path: str, text: str, error: UnexpectedToken) -> Fix | None:
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
    return Fix(diagnostic, position - 1, position + 1, meant.ljust(2))


# The units of time the language has: a duration or window in days or calendar months, a
# spacing in days.
DURATION_UNITS = ("days", "months")
_UNIT_PLACE = re.compile(
    r"\b(?P<lead>at\s+least|within\s+last)\s+\d+\s+(?P<unit>[A-Za-z_]\w*)(?P<tail>\s+(?:of|apart)\b)?"
)


def _unit_fix(path: str, text: str, error: UnexpectedToken) -> Fix | None:
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
        return Fix(
            Diagnostic(Code.SYNTAX, message, _span_at(path, text, at, at + len(unit)), hint=hint),
            at,
            at + len(unit),
            "days",
        )
    return None


def guided_fix(path: str, text: str, error: UnexpectedToken) -> Fix | None:
    if error.token.type == "$END":
        return None
    return (
        _unit_fix(path, text, error)
        or _comparison_fix(path, text, error)
        or _keyword_fix(path, text, error)
        or _joined_conditions_fix(path, text, error)
    )


def with_hint(diagnostic: Diagnostic, text: str, error: UnexpectedInput) -> Diagnostic:
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


def unclosed_diagnostics(
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
