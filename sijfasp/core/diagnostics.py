"""Diagnostics as data: a code, a severity, a span, a message and maybe a suggestion.

Stages collect diagnostics instead of raising on the first problem; the CLI renders them all
together, `file:line:col: error[code]: message`, the source line and a caret under the span.
"""

from __future__ import annotations

import difflib
import stat
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from .source import SourceText, Span


class Code(StrEnum):
    """Stable codes a user can look up in docs/diagnostics.md; each is also its own text."""

    SYNTAX = "syntax"
    UNKNOWN_NAME = "unknown-name"
    DUPLICATE_NAME = "duplicate-name"
    RESERVED = "reserved"
    TYPE = "type"
    RANGE = "range"
    PRECISION = "precision"
    COUNT = "count"
    LIMIT = "limit"
    CYCLE = "cycle"
    PROPERTY = "property"
    IMPORT = "import"
    SCOPE = "scope"
    CASE = "case"
    UNUSED = "unused"
    # Proven by the solver over every case the vocabulary allows (sijfasp/authoring/prove.py).
    CONTRADICTORY = "contradictory"
    CONTRADICTORY_FILTER = "contradictory-filter"
    UNMEETABLE_SERVICE = "unmeetable-service"
    EXCLUSION_ALWAYS = "exclusion-always"
    EXCLUSION_NEVER = "exclusion-never"
    EXCLUSION_BLOCKS = "exclusion-blocks"
    REDUNDANT_CRITERION = "redundant-criterion"
    NEVER_MATTERS = "never-matters"
    IMPOSSIBLE_GROUP = "impossible-group"
    UNREACHABLE_COUNT = "unreachable-count"
    LABEL_NUMBER = "label-number"
    STALE_COMPILED = "stale-compiled"


CODES = {
    Code.SYNTAX: "the text does not follow the grammar",
    Code.UNKNOWN_NAME: "a name that is not declared",
    Code.DUPLICATE_NAME: "a name declared twice",
    Code.RESERVED: "a name the solver reserves",
    Code.TYPE: "a test that does not fit the type of what it tests",
    Code.RANGE: "a number outside the declared range, or a range that cannot be met",
    Code.PRECISION: "a number with more than two decimal places",
    Code.COUNT: "a count larger than the list or set it counts",
    Code.LIMIT: "a number, nesting or chain past a documented limit",
    Code.CYCLE: "a definition that refers to itself",
    Code.PROPERTY: "a missing, unknown or malformed property",
    Code.IMPORT: "an import that cannot be read",
    Code.SCOPE: "a service without criteria, or criteria for an undeclared service",
    Code.CASE: "a case file that does not match the vocabulary",
    Code.UNUSED: "a definition that no criterion uses (a warning)",
    Code.CONTRADICTORY: "a criterion or definition that no case can meet",
    Code.CONTRADICTORY_FILTER: "a record filter that no record can meet",
    Code.UNMEETABLE_SERVICE: "a service whose criteria no case can meet together",
    Code.EXCLUSION_ALWAYS: "an exclusion that holds for every case",
    Code.EXCLUSION_NEVER: "an exclusion that no case can trigger",
    Code.EXCLUSION_BLOCKS: "an exclusion that applies to every case meeting a criterion",
    Code.REDUNDANT_CRITERION: "a criterion implied by another (a warning)",
    Code.NEVER_MATTERS: "an `any of` member or exclusion that never decides alone (a warning)",
    Code.IMPOSSIBLE_GROUP: "an `at least N of` group where fewer than N members can hold",
    Code.UNREACHABLE_COUNT: "a count or duration that no record set in its window can reach",
    Code.LABEL_NUMBER: "a number in a label that its condition does not state (a warning)",
    Code.STALE_COMPILED: "a compiled .lp beside a policy that differs from a fresh compile",
}


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class SijfaspError(Exception):
    """Raised by a stage when its input cannot be used; carries every diagnostic found."""

    def __init__(self, diagnostics: Iterable[Diagnostic], sources: Iterable[SourceText] = ()):
        self.diagnostics = list(diagnostics)
        # The texts the diagnostics point into, so they can be quoted with a caret.
        self.sources = {s.path: s for s in sources}
        super().__init__("\n".join(d.message for d in self.diagnostics))


@dataclass(frozen=True)
class Diagnostic:
    code: Code | str
    message: str
    span: Span | None = None
    severity: Severity | str = Severity.ERROR
    hint: str | None = None
    # For case files: the path of the field, e.g. "records.injection[0].date".
    field_path: str | None = None
    file: str | None = None

    def __post_init__(self) -> None:
        # A code or severity given as text must be one of the enum's: an unknown one is a bug.
        object.__setattr__(self, "code", Code(self.code))
        object.__setattr__(self, "severity", Severity(self.severity))

    def location(self) -> str:
        if self.span is not None:
            # A field of a file found at its line (a policy test file): both are named.
            return f"{self.span}: {self.field_path}" if self.field_path else str(self.span)
        where = self.file or "<input>"
        return f"{where}: {self.field_path}" if self.field_path else where


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate, or None when nothing is close."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, for a message that refuses it."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def code_point(character: str) -> str:
    """`U+0410 CYRILLIC CAPITAL LETTER A`: a character as a message shows it, whatever it
    looks like on screen."""
    name = unicodedata.name(character, "")
    return f"U+{ord(character):04X}" + (f" {name}" if name else "")


# Scripts that one name may mix: Japanese writes Han with kana, Korean Han with Hangul.
_MIXABLE = ({"CJK", "HIRAGANA", "KATAKANA"}, {"CJK", "HANGUL"})
# Names of letters that belong to no one script (their first word is no script's name).
_NO_SCRIPT = {"MODIFIER", "LETTER", "SMALL", "CAPITAL"}


def _script(character: str) -> str | None:
    """The script of a letter, from its Unicode name (`CYRILLIC SMALL LETTER A`: Cyrillic);
    None for anything else (digits, spaces, punctuation and marks go with any script)."""
    if not unicodedata.category(character).startswith("L"):
        return None
    word = unicodedata.name(character, "").split(" ")[0]
    return None if not word or word in _NO_SCRIPT else word


def script_problem(text: str) -> str | None:
    """Why a name that selects behaviour (a payer, a plan) is refused for mixing the letters of
    several scripts, each letter out of the main script shown by its code point; None when its
    letters are of one script (or of scripts written together, as Han with kana)."""
    scripts = [(i, c, _script(c)) for i, c in enumerate(text, 1)]
    found = {s for _, _, s in scripts if s is not None}
    if len(found) <= 1 or any(found <= group for group in _MIXABLE):
        return None
    counts = {s: sum(1 for _, _, t in scripts if t == s) for s in found}
    main = max(sorted(found), key=lambda s: counts[s])
    odd = [(i, c) for i, c, s in scripts if s is not None and s != main]
    shown = ", ".join(f"character {i} is {code_point(c)}" for i, c in odd[:5])
    more = f" and {len(odd) - 5} more" if len(odd) > 5 else ""
    names = ", ".join(s.title() for s in sorted(found, key=lambda s: (s != main, s)))
    return f"mixes letters of several scripts ({names}): {shown}{more}"


def non_ascii_note(text: str, limit: int = 3) -> str:
    """For a name that can only be ASCII (an id, a value of the vocabulary): the code points of
    its other characters, which may look like ASCII letters on screen; empty when it has none."""
    odd = [(i, c) for i, c in enumerate(text, 1) if not c.isascii()]
    if not odd:
        return ""
    shown = ", ".join(f"character {i} is {code_point(c)}" for i, c in odd[:limit])
    return f" ({shown}{', ...' if len(odd) > limit else ''})"


def normalized_name(text: str) -> str:
    """A name as it is compared: NFKC (so a full-width or ligature letter is the letter)."""
    return unicodedata.normalize("NFKC", text)


@dataclass
class DiagnosticSink:
    """Collects diagnostics while a stage runs."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(
        self, code: Code | str, message: str, span: Span | None = None, hint: str | None = None
    ) -> None:
        self.items.append(Diagnostic(code, message, span, Severity.ERROR, hint))

    def warning(
        self, code: Code | str, message: str, span: Span | None = None, hint: str | None = None
    ) -> None:
        self.items.append(Diagnostic(code, message, span, Severity.WARNING, hint))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise SijfaspError(self.items)


def render(diagnostic: Diagnostic, sources: dict[str, SourceText] | None = None) -> str:
    """One diagnostic as text: location, severity, code, message, then the line and a caret."""
    lines = [
        f"{diagnostic.location()}: {diagnostic.severity}[{diagnostic.code}]: {diagnostic.message}"
    ]
    span = diagnostic.span
    source = (sources or {}).get(span.path) if span else None
    if span is not None and source is not None:
        text = source.line(span.line)
        if text:
            width = (span.end_column - span.column) if span.end_line == span.line else 1
            gutter = f"{span.line:>4} | "
            lines.append(gutter + text.rstrip("\n"))
            lines.append(" " * (len(gutter) + span.column - 1) + "^" * max(1, width))
    if diagnostic.hint:
        lines.append(f"  hint: {diagnostic.hint}")
    return "\n".join(lines)


def render_all(
    diagnostics: Iterable[Diagnostic], sources: dict[str, SourceText] | None = None, limit: int = 50
) -> str:
    # Errors first, then warnings; each in the order of the text they point at.
    items = sorted(
        diagnostics,
        key=lambda d: (
            d.severity != "error",
            (d.span.path, d.span.line, d.span.column) if d.span else ("", 0, 0),
        ),
    )
    shown = [render(d, sources) for d in items[:limit]]
    if len(items) > limit:
        shown.append(f"... and {len(items) - limit} more")
    return "\n".join(shown)
