"""The canonical layout of a policy or vocabulary file, printed from its syntax tree.

The layout is the one the bundled policies are written in: two spaces per level, one member,
property or field per line, a label on the line of its name unless the line would pass
`WIDTH`, a `where` chain broken where its author broke it (and wherever it passes the width),
at most one blank line kept between items. Comments are not in the syntax tree: they are found
in the text again and each is printed before the item it preceded, or at the end of the line it
trailed. Formatting changes only layout and comments' places, never the compiled program.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from decimal import Decimal

from ..core.source import SourceText, Span
from . import ast
from .parser import parse

WIDTH = 100
STEP = 2


@dataclass(frozen=True)
class Comment:
    line: int
    text: str
    trailing: bool  # code comes before it on its line


def find_comments(text: str) -> list[Comment]:
    """Every `#` comment outside texts and section references, as the lexer reads them."""
    found: list[Comment] = []
    # Lines as the parser counts them: only "\n" ends one.
    for number, line in enumerate(text.split("\n"), 1):
        index = 0
        while index < len(line):
            char = line[index]
            if char == '"':
                close = line.find('"', index + 1)
                index = len(line) if close < 0 else close + 1
                continue
            if char == "[":
                close = line.find("]", index + 1)
                index = len(line) if close < 0 else close + 1
                continue
            if char == "#":
                found.append(Comment(number, line[index:].rstrip(), bool(line[:index].strip())))
                break
            index += 1
    return found


@dataclass(frozen=True)
class _Chunk:
    """A piece of a condition that a line may break before."""

    text: str
    offset: int = 0  # indentation past the condition's own when it starts a line
    forced: bool = False  # its author started it on a new line
    aligned: bool = False  # an item of a `{...}` list: aligned under the list's first item
    line: int = 0  # the source line it ends on: a comment trailing that line follows it


def _on(chunks: list[_Chunk], line: int) -> list[_Chunk]:
    return [replace(c, line=line) if not c.line else c for c in chunks]


def _number(value: Decimal) -> str:
    return number_text(value)


def number_text(value: Decimal) -> str:
    """A number as the grammar reads it (`INT` or `DECIMAL`: digits, maybe a point and more
    digits), with the digits written: never an exponent (`str` gives `0E-7` for 0.0000000)."""
    text = format(value, "f")
    return text[:-1] if text.endswith(".") else text


def _quote(text: str) -> str:
    return f'"{text}"'


def _names(head: str, names: tuple[str, ...] | list[str], tail: str = "") -> list[_Chunk]:
    """`head{a, b, c}tail` as chunks breaking between the names."""
    items = list(names)
    chunks: list[_Chunk] = []
    for index, name in enumerate(items):
        last = index == len(items) - 1
        text = name + ("}" + tail if last else ",")
        if index == 0:
            chunks.append(_Chunk(head + "{" + text))
        else:
            chunks.append(_Chunk(text, aligned=True))
    return chunks


def _fact(fact: ast.FactRef) -> str:
    return fact.name if fact.scope == "finding" else f"{fact.scope}.{fact.name}"


def _field(condition: ast.FieldCondition, prefix: str) -> list[_Chunk]:
    return _on(_field_chunks(condition, prefix), condition.span.end_line)


def _field_chunks(condition: ast.FieldCondition, prefix: str) -> list[_Chunk]:
    name = condition.field
    operator = condition.operator
    if operator is ast.FieldOperator.IS:
        return [_Chunk(f"{prefix}{name} is {condition.values[0]}")]
    if operator is ast.FieldOperator.IN:
        return _names(f"{prefix}{name} in ", condition.values)
    if operator is ast.FieldOperator.COMPARE:
        assert condition.number is not None
        return [_Chunk(f"{prefix}{name} {condition.comparator} {_number(condition.number)}")]
    if operator is ast.FieldOperator.HAS:
        return [_Chunk(f"{prefix}{name} has {condition.values[0]}")]
    if operator is ast.FieldOperator.WITHIN and condition.number is None:
        # A window as long as a finding documents: `end within last pain_duration_months months`.
        return [_Chunk(f"{prefix}{name} within last {condition.values[0]} months")]
    if operator is ast.FieldOperator.WITHIN:
        assert condition.number is not None
        unit = "months" if condition.months else "days"
        return [_Chunk(f"{prefix}{name} within last {int(condition.number)} {unit}")]
    if operator in (ast.FieldOperator.AFTER, ast.FieldOperator.BEFORE):
        return [_Chunk(f"{prefix}{name} {operator.value} {condition.values[0]}")]
    word = "matches" if operator is ast.FieldOperator.MATCHES else "covers"
    return [_Chunk(f"{prefix}{name} {word} {condition.values[0]}")]


def _conditions(
    conditions: tuple[ast.FieldCondition, ...], first_prefix: str, previous: Span | None, base: int
) -> list[_Chunk]:
    """`first_prefix c1 and c2 ...`: each `and` may start a line, one level in from `base`."""
    chunks: list[_Chunk] = []
    for index, condition in enumerate(conditions):
        if index == 0:
            pieces = _field(condition, first_prefix)
            forced = previous is not None and condition.span.line > previous.end_line
            pieces[0] = replace(pieces[0], offset=base, forced=forced)
        else:
            pieces = _field(condition, "and ")
            forced = condition.span.line > conditions[index - 1].span.end_line
            pieces[0] = replace(pieces[0], offset=base + STEP, forced=forced)
        chunks.extend(pieces)
    return chunks


def _part(part: ast.RecordPart, base: int) -> list[_Chunk]:
    if isinstance(part, ast.RecordSetName):
        return [_Chunk(part.name, base, line=part.span.end_line)]
    chunks = _conditions(part.conditions, f"{part.kind} where ", None, base)
    if part.outcome:
        chunks.extend(_conditions(part.outcome, "with ", part.conditions[-1].span, base))
    return chunks


def _record_set(records: ast.RecordSet, head: str = "") -> list[_Chunk]:
    """Parts joined by `or`: each `or` may start a line, under the first part when the set
    follows a count (`at least 1 a` / `or b`), the `and`s of a part one level past its start."""
    chunks: list[_Chunk] = []
    base = len(head) if len(records.parts) > 1 else 0
    for index, part in enumerate(records.parts):
        if index == 0:
            pieces = _part(part, base)
            pieces[0] = replace(pieces[0], text=head + pieces[0].text, offset=0, forced=False)
        else:
            pieces = _part(part, base + len("or "))
            forced = part.span.line > records.parts[index - 1].span.end_line
            pieces[0] = replace(pieces[0], text="or " + pieces[0].text, offset=base, forced=forced)
        chunks.extend(pieces)
    return chunks


def _leaf(expr: ast.Expr) -> list[_Chunk]:
    return _on(_leaf_chunks(expr), expr.span.end_line)


def _leaf_chunks(expr: ast.Expr) -> list[_Chunk]:
    if isinstance(expr, ast.IsValue):
        middle = "is not" if expr.negated else "is"
        return [_Chunk(f"{_fact(expr.fact)} {middle} {expr.value}")]
    if isinstance(expr, ast.IsIn):
        return _names(f"{_fact(expr.fact)} in ", expr.values)
    if isinstance(expr, ast.Compare):
        return [_Chunk(f"{_fact(expr.fact)} {expr.operator} {_number(expr.value)}")]
    if isinstance(expr, ast.Reference):
        return [_Chunk(expr.name)]
    assert isinstance(expr, ast.CountRecords), expr
    if expr.unit == ast.CountUnit.LATEST:
        return _record_set(expr.records, "latest of ")
    of = {
        ast.CountUnit.RECORDS: "",
        ast.CountUnit.DATES: "separate dates of ",
        ast.CountUnit.DAYS: "months of " if expr.in_months else "days of ",
    }[expr.unit]
    chunks = _record_set(expr.records, f"at least {expr.minimum} {of}")
    window = None
    if expr.window_days is not None:
        window = f"within last {expr.window_days} days"
    elif expr.window_months is not None:
        window = f"within last {expr.window_months} months"
    elif expr.apart_days is not None:
        window = f", at least {expr.apart_days} days apart"
    if window is not None and window.startswith(","):
        last = chunks[-1]
        chunks[-1] = replace(last, text=f"{last.text}{window}", line=expr.span.end_line)
    elif window is not None:
        last = chunks[-1]
        chunks[-1] = replace(last, text=f"{last.text} {window}", line=expr.span.end_line)
    return chunks


def _single(chunks: list[_Chunk]) -> str | None:
    """The chunks on one line, unless their author broke them."""
    if any(c.forced for c in chunks[1:]):
        return None
    return " ".join(c.text for c in chunks)


def _opener(node: ast.Combinator) -> str:
    if node.kind is ast.CombinatorKind.AT_LEAST:
        return f"at least {node.minimum} of {{"
    return f"{node.kind.value} of {{"


def _inline(expr: ast.Expr | ast.Criterion) -> str | None:
    """A condition on one line, when it was written on one line and names no member."""
    if isinstance(expr, ast.Criterion):
        return None
    if isinstance(expr, ast.Combinator):
        if expr.span.line != expr.span.end_line:
            return None
        texts = [_inline(m) for m in expr.members]
        if any(t is None for t in texts):
            return None
        return _opener(expr) + " " + "  ".join(t for t in texts if t is not None) + " }"
    return _single(_leaf(expr))


class _Printer:
    def __init__(self, text: str, comments: list[Comment]):
        self.source_lines = text.split("\n")
        self.comments = deque(comments)
        self.out: list[str] = []
        self.block_start = True

    # -------------------------------------------------------------- lines, blanks, comments
    def _blank_before(self, line: int) -> None:
        if (
            not self.block_start
            and self.out
            and self.out[-1] != ""
            and 2 <= line <= len(self.source_lines) + 1
            and not self.source_lines[line - 2].strip()
        ):
            self.out.append("")

    def emit(self, line: str, opens: bool = False) -> None:
        self.out.append(line.rstrip())
        self.block_start = opens

    def comments_before(self, line: int, indent: int) -> None:
        while self.comments and self.comments[0].line < line:
            comment = self.comments.popleft()
            if comment.trailing and self.out and self.out[-1] != "":
                self.out[-1] += "  " + comment.text
                continue
            self._blank_before(comment.line)
            self.emit(" " * indent + comment.text)

    def start_item(self, span: Span, indent: int) -> None:
        self.comments_before(span.line, indent)
        self._blank_before(span.line)

    def close(self, span: Span, indent: int, text: str = "}") -> None:
        self.comments_before(span.end_line, indent + STEP)
        self.emit(" " * indent + text)

    # -------------------------------------------------------------- filling chunks
    def fill(self, prefix: str, chunks: list[_Chunk], indent: int) -> None:
        """Lay out chunks after `prefix`, breaking where forced or past the width; a comment
        that trailed a line of the chunks trails the line its chunk ends up on."""
        current = prefix + chunks[0].text
        source_line = chunks[0].line
        align = _align(prefix, chunks[0].text, None)
        for chunk in chunks[1:]:
            start = align if chunk.aligned and align is not None else indent + chunk.offset
            if chunk.forced or len(current) + 1 + len(chunk.text) > WIDTH:
                self.emit(current + self._trailing(source_line))
                line_start = " " * start
                current = line_start + chunk.text
                align = _align(line_start, chunk.text, align)
            else:
                align = _align(current + " ", chunk.text, align)
                current += " " + chunk.text
            source_line = max(source_line, chunk.line)
        self.emit(current + self._trailing(source_line))

    def _trailing(self, source_line: int) -> str:
        texts = []
        while self.comments and self.comments[0].trailing and self.comments[0].line <= source_line:
            texts.append(self.comments.popleft().text)
        return "".join("  " + t for t in texts)

    # -------------------------------------------------------------- conditions
    def expr(self, prefix: str, indent: int, expr: ast.Expr, leaf_indent: int) -> None:
        """`expr` after `prefix` (the line so far, indented `indent`): a combinator's members
        one level in, a condition that does not fit on the next line at `leaf_indent`."""
        if isinstance(expr, ast.Combinator):
            inline = _inline(expr)
            if inline is not None and len(prefix + inline) <= WIDTH:
                self.emit(prefix + inline)
                return
            self.emit(prefix + _opener(expr), opens=True)
            for member in expr.members:
                self.member(member, indent + STEP)
            self.close(expr.span, indent)
            return
        chunks = _leaf(expr)
        single = _single(chunks)
        if not prefix.strip() or (single is not None and len(prefix + single) <= WIDTH):
            self.fill(prefix, chunks, len(prefix) - len(prefix.lstrip()) or leaf_indent)
            return
        self.emit(prefix)
        self.fill(" " * leaf_indent, chunks, leaf_indent)

    def member(self, member: ast.Member, indent: int) -> None:
        self.start_item(member.span, indent)
        if isinstance(member, ast.Criterion):
            head = member.name + _section(member.section)
            self.labelled(indent, head, member.label, member.body)
        else:
            self.expr(" " * indent, indent, member, indent)

    def labelled(self, indent: int, head: str, label: str, body: ast.Expr) -> None:
        """`head "label": body`, the label on a line of its own when the line is too long."""
        pad = " " * indent
        one = f"{pad}{head} {_quote(label)}:"
        if isinstance(body, ast.Combinator):
            fits = len(one) + 1 + len(_opener(body)) <= WIDTH
        else:
            fits = len(one) <= WIDTH
        if fits:
            self.expr(one + " ", indent, body, indent + STEP)
            return
        self.emit(pad + head)
        inner = indent + STEP
        self.expr(" " * inner + _quote(label) + ": ", inner, body, inner)

    # -------------------------------------------------------------- declarations
    def declaration(self, decl: ast.Declaration) -> None:
        self.start_item(decl.span, 0)
        if isinstance(decl, ast.VocabularyDecl):
            self.emit(f"vocabulary {decl.name} {_quote(decl.description)}")
        elif isinstance(decl, ast.ImportDecl):
            named = "vocabulary " if decl.by_name else ""
            self.emit(f"import {named}{_quote(decl.path)}")
        elif isinstance(decl, (ast.FindingDecl, ast.RequestDecl)):
            keyword = "finding" if isinstance(decl, ast.FindingDecl) else "request_field"
            self.typed(0, f"{keyword} {decl.name}: ", decl.type, decl.properties, decl.span, True)
        elif isinstance(decl, ast.RecordDecl):
            self.record(decl)
        elif isinstance(decl, ast.PolicyDecl):
            self.policy(decl)
        elif isinstance(decl, ast.ImplicationDecl):
            self.emit(f"finding {decl.narrow} implies {decl.broad}")
        elif isinstance(decl, ast.ServiceCodesDecl):
            codes = ", ".join(decl.cpt_codes)
            self.emit(f"service {decl.name}" + (f" cpt {codes}" if codes else ""))
        elif isinstance(decl, ast.ServiceDecl):
            codes = ", ".join(decl.cpt_codes)
            head = f"service {decl.name}" + (f" cpt {codes}" if codes else "")
            head += f" [{decl.section}]"
            one = f"{head} {_quote(decl.label)}"
            if len(one) <= WIDTH:
                self.emit(one)
            else:
                self.emit(head)
                self.emit(" " * STEP + _quote(decl.label))
        elif isinstance(decl, ast.DefineDecl):
            self.labelled(0, f"define {decl.name}{_section(decl.section)}", decl.label, decl.body)
        elif isinstance(decl, ast.RecordsDecl):
            self.records(decl)
        else:
            self.block(decl)

    def records(self, decl: ast.RecordsDecl) -> None:
        head = f"records {decl.name}{_section(decl.section)}"
        one = f"{head} {_quote(decl.label)}:"
        chunks = _record_set(decl.records)
        single = _single(chunks)
        if single is not None and len(one) + 1 + len(single) <= WIDTH:
            self.emit(f"{one} {single}")
            return
        if len(one) <= WIDTH:
            self.emit(one)
        else:
            self.emit(head)
            self.emit(" " * STEP + _quote(decl.label) + ":")
        self.fill(" " * STEP, chunks, STEP)

    def block(self, decl: ast.CriteriaBlock) -> None:
        keyword = {
            ast.BlockRole.CRITERIA: "criteria",
            ast.BlockRole.EXCLUSIONS: "exclusions",
            ast.BlockRole.ADVISORIES: "advisories",
        }[decl.role]
        first = decl.services[0] + ("," if len(decl.services) > 1 else " {")
        chunks = [_Chunk(f"{keyword} for {first}")] + [
            _Chunk(s + ("," if i < len(decl.services) - 1 else " {"), 2 * STEP)
            for i, s in enumerate(decl.services)
            if i > 0
        ]
        self.fill("", chunks, 0)
        self.block_start = True
        for item in decl.items:
            if isinstance(item, ast.Criterion):
                self.member(item, STEP)
            else:
                self.advisory(item, STEP)
        self.close(decl.span, 0)

    def advisory(self, item: ast.Advisory, indent: int) -> None:
        self.start_item(item.span, indent)
        head = item.name + _section(item.section)
        pad = " " * indent
        one = f"{pad}{head} {_quote(item.label)}:"
        inner = indent + STEP
        when = _inline(item.when)
        recommend = _inline(item.recommend) if item.recommend is not None else ""
        if when is not None and recommend is not None:
            text = "when " + when + (f" recommend {recommend}" if recommend else "")
            if len(one) + 1 + len(text) <= WIDTH:
                self.emit(f"{one} {text}")
                return
        if len(one) <= WIDTH:
            self.emit(one)
        else:
            self.emit(pad + head)
            self.emit(" " * inner + _quote(item.label) + ":")
        self.expr(" " * inner + "when ", inner, item.when, inner + STEP)
        if item.recommend is not None:
            last = self.out.pop()
            self.expr(last + " recommend ", inner, item.recommend, inner + STEP)

    def policy(self, decl: ast.PolicyDecl) -> None:
        items: list[ast.Property | ast.PlanProperty] = sorted(
            [*decl.properties, *decl.plan_properties], key=lambda p: (p.span.line, p.span.column)
        )
        texts = [self.property_value(p) for p in items]
        head = f"policy {decl.name} {{"
        inline = head + " " + " ".join(_plain(p, t) for p, t in zip(items, texts)) + " }"
        if decl.span.line == decl.span.end_line and items and len(inline) <= WIDTH:
            self.emit(inline)
            return
        self.emit(head, opens=True)
        width = max((len(p.name) for p in items), default=0)
        for item, text in zip(items, texts):
            self.start_item(item.span, STEP)
            name = item.name.ljust(width)
            if isinstance(item, ast.PlanProperty):
                self.emit(f"{' ' * STEP}{name} for {item.plan} {text}")
            else:
                self.emit(f"{' ' * STEP}{name} {text}".rstrip())
        self.close(decl.span, 0)

    def property_value(self, item: ast.Property | ast.PlanProperty) -> str:
        """A value as written: a date and a text look alike in the tree, the source tells."""
        value = item.value
        if value is None:
            return ""
        if isinstance(value, Decimal):
            return _number(value)
        written = self._text_of(item.span)
        if written.rstrip().endswith('"'):
            return _quote(value)
        return value

    def _text_of(self, span: Span) -> str:
        lines = self.source_lines[span.line - 1 : span.end_line]
        if not lines:
            return ""
        if len(lines) == 1:
            return lines[0][span.column - 1 : span.end_column - 1]
        lines[-1] = lines[-1][: span.end_column - 1]
        lines[0] = lines[0][span.column - 1 :]
        return "\n".join(lines)

    def properties(self, indent: int, properties: tuple[ast.Property, ...], span: Span) -> None:
        """After the line last printed: `{`, one property a line and `}`; on that line when
        written on one line and it fits."""
        texts = [_plain(p, self.property_value(p)) for p in properties]
        first = self.out.pop()
        inline = first + (" { " + " ".join(texts) + " }" if texts else " {}")
        written_inline = span.line == span.end_line or not texts
        if written_inline and len(inline) <= WIDTH:
            self.emit(inline)
            return
        self.emit(first + " {", opens=True)
        for item, text in zip(properties, texts):
            self.start_item(item.span, indent + STEP)
            self.emit(" " * (indent + STEP) + text)
        self.close(span, indent)

    def typed(
        self,
        indent: int,
        head: str,
        spec: ast.TypeSpec,
        properties: tuple[ast.Property, ...],
        span: Span,
        block: bool,
    ) -> None:
        """`head TYPE { properties }`: a choice's names fill lines under the first one."""
        pad = " " * indent
        if spec.name in ("choice", "set") and spec.values:
            chunks = _names(f"{pad}{head}{spec.name} ", spec.values, " ")
        else:
            text = spec.name
            if spec.low is not None and spec.high is not None:
                text += f" {_number(spec.low)}..{_number(spec.high)}"
            chunks = [_Chunk(f"{pad}{head}{text} ")]
        if not block and not properties:
            last = chunks[-1]
            chunks[-1] = replace(last, text=last.text.rstrip())
            self.fill("", chunks, indent)
            return
        self.fill("", chunks, indent)
        self.properties(indent, properties, span)

    def record(self, decl: ast.RecordDecl) -> None:
        self.emit(f"record {decl.name} {{", opens=True)
        items: list[ast.Property | ast.FieldDecl] = sorted(
            [*decl.properties, *decl.fields], key=lambda p: (p.span.line, p.span.column)
        )
        for item in items:
            self.start_item(item.span, STEP)
            if isinstance(item, ast.Property):
                self.emit(" " * STEP + _plain(item, self.property_value(item)))
            else:
                self.typed(
                    STEP, f"field {item.name}: ", item.type, item.properties, item.span, False
                )
        self.close(decl.span, 0)

    def finish(self) -> str:
        self.comments_before(len(self.source_lines) + 2, 0)
        while self.out and self.out[-1] == "":
            self.out.pop()
        return "\n".join(line.rstrip() for line in self.out) + "\n"


def _align(line_so_far: str, text: str, previous: int | None) -> int | None:
    """The column under a list's first item, once the chunk that opens the list is placed."""
    brace = text.rfind("{")
    if brace < 0 or text.endswith("{") or text.endswith("{ "):
        return previous
    return len(line_so_far) + brace + 1


def _section(section: str | None) -> str:
    return f" [{section}]" if section is not None else ""


def _plain(item: ast.Property | ast.PlanProperty, text: str) -> str:
    if isinstance(item, ast.Coding):
        display = f" {_quote(item.display)}" if item.display is not None else ""
        value = f" for {item.for_value}" if item.for_value is not None else ""
        return f"code {item.system} {_quote(item.code)}{display}{value}"
    if isinstance(item, ast.PlanProperty):
        return f"{item.name} for {item.plan} {text}"
    return f"{item.name} {text}".rstrip()


def format_source(source: SourceText) -> str:
    """The file in canonical layout; raise SijfaspError when it does not parse."""
    tree = parse(source)
    printer = _Printer(source.text, find_comments(source.text))
    for decl in tree.declarations:
        printer.declaration(decl)
    return printer.finish()


def format_text(text: str, path: str = "<text>") -> str:
    return format_source(SourceText(path, text))


__all__ = ["WIDTH", "Comment", "find_comments", "format_source", "format_text"]
