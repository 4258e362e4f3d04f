"""User-supplied text made safe for the format it is written into.

A case id, a key or a value comes from a file anyone may write. Written raw it could move the
terminal's cursor, set its title (ESC, OSC), or forge a section of a Markdown letter. JSON needs
nothing here: json.dumps escapes what it must.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"
DIAGNOSTIC_WIDTH = 60

# C0 controls, DEL, C1 controls, and the bidirectional overrides and isolates that reorder text.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal(text: str, keep_tabs: bool = False) -> str:
    """One line of plain text: control characters shown as escapes (ESC becomes `\\x1b`)."""
    if keep_tabs:
        return "\t".join(_UNSAFE.sub(_escape, part) for part in text.split("\t"))
    return _UNSAFE.sub(_escape, text)


def shorten(text: str, width: int = DIAGNOSTIC_WIDTH) -> str:
    """At most `width` characters, with an ellipsis when cut."""
    return text if len(text) <= width else text[:width] + ELLIPSIS


def for_diagnostic(value: object, width: int = DIAGNOSTIC_WIDTH) -> str:
    """A key or value echoed in a message: cut to `width`, then escaped for the terminal."""
    return terminal(shorten(str(value), width))


# Characters that start emphasis, code, links, table cells, strike-through or HTML anywhere in a
# line. The id is written mid-line and on one line, so line-start markers (#, -, 1.) are harmless.
_MARKDOWN_SPECIAL = re.compile(r"[\\`*\[\]|~]")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# An underscore opens or closes emphasis only at the edge of a word: `odi_missing` is safe.
_EDGE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def markdown(text: str) -> str:
    """Inline Markdown text that shows as written: no emphasis, link, table cell or HTML can
    start inside it. Control characters are shown as escapes, on one line."""
    text = terminal(text)
    text = _MARKDOWN_SPECIAL.sub(lambda m: "\\" + m.group(), text)
    text = _EDGE_UNDERSCORE.sub(r"\\_", text)
    # No automatic link: a scheme's "://" is written with escaped slashes.
    text = text.replace("://", ":\\/\\/")
    return "".join(_HTML.get(char, char) for char in text)
