"""The compiled program as it is written: `Builder` collects its lines and the metadata found on
the way, hands out fresh node ids, and writes ASP strings and `%` comments so that no text from
a policy can end a string or a comment early.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePath

from .checked import FactDef, FieldDef, Policy
from .compiled import NodeInfo, RecordSetInfo


@dataclass
class Builder:
    """A policy's program being written, with the metadata gathered on the way."""

    policy: Policy
    lines: list[str] = field(default_factory=list)
    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    record_sets: dict[str, RecordSetInfo] = field(default_factory=dict)
    used_ids: set[str] = field(default_factory=set)
    fact_thresholds: dict[str, set[tuple[str, int]]] = field(default_factory=dict)
    field_thresholds: dict[tuple[str, str], set[tuple[str, int]]] = field(default_factory=dict)
    asked_facts: dict[str, FactDef] = field(default_factory=dict)
    asked_fields: dict[tuple[str, str], FieldDef] = field(default_factory=dict)
    deciding: bool = True  # advisories are compiled with deciding=False: they drive no guess

    def emit(self, line: str = "") -> None:
        self.lines.append(line)

    def comment(self, text: str) -> None:
        """A `%` comment line; whatever it quotes cannot end the comment early."""
        self.lines.append("% " + comment_text(text))

    def fresh_id(self, base: str) -> str:
        candidate, index = base, 1
        while candidate in self.used_ids:
            index += 1
            candidate = f"{base}_{index}"
        self.used_ids.add(candidate)
        return candidate


def quote(text: str) -> str:
    """An ASP string literal. Clingo knows the escapes \\\\, \\" and \\n only; any other control
    character (the parser refuses them in texts) becomes U+FFFD rather than reach the program."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + "".join("\ufffd" if _is_control(c) else c for c in escaped) + '"'


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp")


def comment_text(text: str) -> str:
    """Text for a `%` comment: a line break or other control character would end the comment
    and let the rest be read as program, so each is written as a visible escape."""
    return "".join(repr(c)[1:-1] if _is_control(c) else c for c in text)


def source_name(path: str) -> str:
    """How a compiled program names its source: the file name alone, never a machine's path."""
    return PurePath(path.replace("\\", "/")).name


def source_line(span) -> str:
    return f"{source_name(span.path)}:{span.line}"


def bracketed(section: str) -> str:
    """` [SECTION]` for a comment, nothing for no section (never `[]`)."""
    return f" [{section}]" if section else ""
