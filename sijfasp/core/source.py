"""Source text and the spans that point into it."""

from __future__ import annotations

import functools
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A region of a file, 1-based lines and columns, end exclusive."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True)
class SourceText:
    """A file's text, kept so diagnostics can quote the line they point at."""

    path: str
    text: str

    def line(self, number: int) -> str:
        lines = self._lines
        return lines[number - 1] if 1 <= number <= len(lines) else ""

    @functools.cached_property
    def _lines(self) -> list[str]:
        """Split once: a lint of a long policy quotes hundreds of its lines."""
        return self.text.splitlines()

    def __getstate__(self) -> dict[str, str]:
        return {"path": self.path, "text": self.text}  # the split lines are not kept
