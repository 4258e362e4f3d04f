"""The letter as HTML for the reviewer's page: the Markdown the letter renderer writes
(`render.markdown_missing`), read back for the subset it uses, so the page and its print show
headings, tables and lists, never `#` or `|---|`.

The subset: headings (`#` to `###`), tables (a header row, its `|---|` rule, rows), lists
(`- ` items, and an item's continuation lines indented by two spaces), paragraphs, `> `
notices, `---` between the documents of two payers, `**strong**`; inline, the escapes of
`textsafe.markdown` (a backslash before punctuation, `&amp;`, `&lt;`, `&gt;`). Every piece of
text is HTML-escaped; the only tags are those written here. A line outside the subset is a
paragraph of text, shown as written.
"""

from __future__ import annotations

import html
import re

_HEADING = re.compile(r"(#{1,6}) (.*)")
_RULE = re.compile(r"-{3,}")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}
_TOKEN = re.compile(r"\\([!-/:-@\[-`{-~])|&(?:amp|lt|gt);|\*\*")
# The letter's `#` is the page's third level: the page has its own h1 and the letter's h2.
_LEVEL_SHIFT = 2


def inline_pieces(text: str) -> list[tuple[str, bool]]:
    """Inline Markdown as (literal text, strong) pieces: escapes undone, `**` pairs strong."""
    pieces: list[tuple[str, bool]] = []
    strong = False
    opened_at = -1  # where an unclosed `**` started, to give it back as text
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            pieces.append(("".join(buffer), strong))
            buffer.clear()

    position = 0
    for match in _TOKEN.finditer(text):
        buffer.append(text[position : match.start()])
        position = match.end()
        token = match.group()
        if match.group(1) is not None:
            buffer.append(match.group(1))
        elif token in _ENTITIES:
            buffer.append(_ENTITIES[token])
        else:  # `**`
            flush()
            if not strong:
                opened_at = len(pieces)
            strong = not strong
    buffer.append(text[position:])
    flush()
    if strong:  # no closing `**`: what followed it was never strong
        pieces = pieces[:opened_at] + [("**", False)] + [(t, False) for t, _ in pieces[opened_at:]]
    return [(t, s) for t, s in pieces if t]


def plain_text(markdown: str) -> str:
    """Inline Markdown as plain text (for a FHIR `text` or a card's summary)."""
    return "".join(text for text, _ in inline_pieces(markdown))


def inline_html(text: str) -> str:
    """Inline Markdown as HTML: escaped text, `<strong>` for `**` pairs."""
    return "".join(
        f"<strong>{html.escape(piece)}</strong>" if strong else html.escape(piece)
        for piece, strong in inline_pieces(text)
    )


def _cells(line: str) -> list[str]:
    """A table row's cells: split at `|` not escaped by a backslash."""
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", body)]


def _table(lines: list[str]) -> str:
    header, rows = _cells(lines[0]), [_cells(line) for line in lines[2:]]
    head = (
        "<thead><tr>"
        + "".join(f'<th scope="col">{inline_html(c)}</th>' for c in header)
        + "</tr></thead>"
        if any(header)
        else ""
    )
    body = "".join(
        "<tr>"
        + "".join(
            # A row of a name and a value (the letter's header): the name heads the row.
            f'<th scope="row">{inline_html(c)}</th>'
            if n == 0 and not any(header)
            else f"<td>{inline_html(c)}</td>"
            for n, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>{head}<tbody>{body}</tbody></table>"


def _is_rule_row(line: str) -> bool:
    return bool(re.fullmatch(r"\|?(\s*:?-{3,}:?\s*\|)+\s*:?-*:?\s*", line.strip()))


def letter_html(markdown: str) -> str:
    """The letter's Markdown as HTML blocks (escaped text, the tags of the subset only)."""
    lines = markdown.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if not stripped:
            index += 1
            continue
        if _RULE.fullmatch(stripped):
            out.append('<hr class="next-letter">')
            index += 1
            continue
        heading = _HEADING.fullmatch(stripped)
        if heading:
            level = min(len(heading.group(1)) + _LEVEL_SHIFT, 6)
            out.append(f"<h{level}>{inline_html(heading.group(2))}</h{level}>")
            index += 1
            continue
        if stripped.startswith("|") and index + 1 < len(lines) and _is_rule_row(lines[index + 1]):
            block = [line, lines[index + 1]]
            index += 2
            while index < len(lines) and lines[index].strip().startswith("|"):
                block.append(lines[index])
                index += 1
            out.append(_table(block))
            continue
        if stripped.startswith("- "):
            items: list[list[str]] = []
            while index < len(lines):
                current = lines[index]
                if current.startswith("- "):
                    items.append([current[2:].strip()])
                elif current.startswith("  ") and current.strip() and items:
                    items[-1].append(current.strip())
                else:
                    break
                index += 1
            out.append(
                "<ul>"
                + "".join(f"<li>{inline_html(' '.join(item))}</li>" for item in items)
                + "</ul>"
            )
            continue
        if stripped.startswith(">"):
            quoted = []
            while index < len(lines) and lines[index].strip().startswith(">"):
                quoted.append(lines[index].strip()[1:].strip())
                index += 1
            out.append(f"<blockquote><p>{inline_html(' '.join(quoted))}</p></blockquote>")
            continue
        paragraph = []
        while index < len(lines):
            current = lines[index].strip()
            if (
                not current
                or _RULE.fullmatch(current)
                or _HEADING.fullmatch(current)
                or current.startswith(("- ", ">", "|"))
            ):
                break
            paragraph.append(current)
            index += 1
        if not paragraph:  # a line starting with `|` that is no table: text as written
            paragraph.append(stripped)
            index += 1
        out.append(f"<p>{inline_html(' '.join(paragraph))}</p>")
    return "\n".join(out)


__all__ = ["inline_html", "inline_pieces", "letter_html", "plain_text"]
