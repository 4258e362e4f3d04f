"""`sijfasp lsp`: a language server for policy (.sijp) and vocabulary (.sijv) files.

Diagnostics as you type (parse, semantics, the solver's lint), hover on vocabulary items,
go-to-definition and completion. It composes the existing stages; the protocol is pygls's,
installed with the optional `lsp` extra.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from ..core.diagnostics import Diagnostic, SijfaspError
from ..core.source import SourceText, Span
from ..language import ast
from ..language.extensions import check_extension, is_extension
from ..language.grammar import keywords
from ..language.parser import parse
from ..language.semantics import FactDef, FieldDef, RecordKind, Vocabulary, check_vocabulary
from ..policies.loading import (
    VOCABULARY_SUFFIX,
    imported_vocabulary,
    load_policy_text,
)
from . import prove

SOURCE = "sijfasp"
# An edit is checked once typing pauses this long: the text of each keystroke is not linted.
DEBOUNCE_SECONDS = 0.3
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class DocumentState:
    """What the last analysis of a document found; the last good tree and vocabulary are kept
    so hover and completion keep working while the text does not parse."""

    path: Path
    tree: ast.SourceFile | None = None
    vocabulary: Vocabulary | None = None
    vocabulary_path: Path | None = None
    diagnostics: list[types.Diagnostic] = field(default_factory=list)


def to_range(span: Span | None) -> types.Range:
    """A 1-based, end-exclusive span as a 0-based LSP range."""
    if span is None:
        return types.Range(types.Position(0, 0), types.Position(0, 1))
    start = types.Position(max(span.line - 1, 0), max(span.column - 1, 0))
    end = types.Position(max(span.end_line - 1, 0), max(span.end_column - 1, 0))
    if (end.line, end.character) <= (start.line, start.character):
        end = types.Position(start.line, start.character + 1)
    return types.Range(start, end)


def _to_lsp(diagnostic: Diagnostic, own_path: str) -> types.Diagnostic:
    span = diagnostic.span
    message = diagnostic.message
    if diagnostic.hint:
        message += f"\nhint: {diagnostic.hint}"
    if span is not None and span.path != own_path:
        # A problem in the imported vocabulary: shown at the top, naming where it is.
        message = f"{span}: {message}"
        span = None
    severity = (
        types.DiagnosticSeverity.Error
        if diagnostic.severity == "error"
        else types.DiagnosticSeverity.Warning
    )
    return types.Diagnostic(
        range=to_range(span),
        message=message,
        severity=severity,
        code=str(diagnostic.code),
        source=SOURCE,
    )


def analyze(state: DocumentState, text: str) -> None:
    """Check a document's current text; update its state in place."""
    path = state.path
    found: list[Diagnostic] = []
    try:
        tree = parse(SourceText(str(path), text))
    except SijfaspError as error:
        state.diagnostics = [_to_lsp(d, str(path)) for d in error.diagnostics]
        if state.vocabulary is None and path.suffix != VOCABULARY_SUFFIX:
            _vocabulary_of_unparsed(state, text)
        return
    state.tree = tree
    try:
        if path.suffix == VOCABULARY_SUFFIX:
            if is_extension(tree):
                state.vocabulary = check_extension(tree, None)
            else:
                state.vocabulary = check_vocabulary(tree)
            state.vocabulary_path = path
        else:
            imported = imported_vocabulary(path, tree)
            if imported is not None:
                state.vocabulary, state.vocabulary_path = imported
            loaded = load_policy_text(path, text)
            found += loaded.policy.warnings
            found += prove.prove(loaded)  # the solver's lint, only on a policy that compiles
    except SijfaspError as error:
        found += error.diagnostics
    state.diagnostics = [_to_lsp(d, str(path)) for d in found]


_IMPORT = re.compile(r'^[ \t]*import[ \t]+"([^"\n]+)"', re.MULTILINE)


def _vocabulary_of_unparsed(state: DocumentState, text: str) -> None:
    """A policy opened with a syntax error still gets hover and completion from the vocabulary
    its import line names."""
    match = _IMPORT.search(text)
    if match is None:
        return
    span = Span(str(state.path), 1, 1, 1, 2)
    tree = ast.SourceFile(str(state.path), (ast.ImportDecl(match.group(1), span),))
    try:
        imported = imported_vocabulary(state.path, tree)
    except SijfaspError:
        return
    if imported is not None:
        state.vocabulary, state.vocabulary_path = imported


# ------------------------------------------------------------------ looking things up
def word_at(text: str, position: types.Position) -> tuple[str, bool] | None:
    """The name under the cursor, and whether it is written `request.NAME`."""
    lines = text.splitlines()
    if position.line >= len(lines):
        return None
    line = lines[position.line]
    for match in _WORD.finditer(line):
        if match.start() <= position.character <= match.end():
            return match.group(), line[: match.start()].endswith("request.")
    return None


Item = FactDef | FieldDef | RecordKind


def vocabulary_items(vocabulary: Vocabulary, name: str, request: bool) -> list[tuple[str, Item]]:
    """Every vocabulary item a name may mean, each with what it is."""
    if request:
        return [("request field", f) for f in vocabulary.request_fields if f.name == name]
    items: list[tuple[str, Item]] = [("finding", f) for f in vocabulary.findings if f.name == name]
    for kind in vocabulary.records:
        if kind.name == name:
            items.append(("record kind", kind))
        items += [(f"field of {kind.name}", f) for f in kind.fields if f.name == name]
    return items


def _type_text(item: FactDef | FieldDef) -> str:
    value_type = item.type
    text = value_type.kind
    if value_type.low is not None or value_type.high is not None:
        text += f" {value_type.low if value_type.low is not None else ''}..{value_type.high if value_type.high is not None else ''}"
    if value_type.values:
        text += " {" + ", ".join(value_type.values) + "}"
    return text


def hover_text(vocabulary: Vocabulary, name: str, request: bool) -> str | None:
    parts: list[str] = []
    for what, item in vocabulary_items(vocabulary, name, request):
        lines = [f"**{item.name}** ({what})"]
        if isinstance(item, RecordKind):
            lines.append(f"fields: {', '.join(f.name for f in item.fields)}")
        else:
            lines.append(f"type: `{_type_text(item)}`")
            if item.unit:
                lines.append(f"unit: {item.unit}")
        if item.means:
            lines.append(item.means)
        parts.append("\n\n".join(lines))
    if not request:
        # A choice or set value: which items allow it.
        owners = [f.name for f in vocabulary.findings if name in f.type.values]
        owners += [f"request.{f.name}" for f in vocabulary.request_fields if name in f.type.values]
        for kind in vocabulary.records:
            owners += [f"{kind.name}.{f.name}" for f in kind.fields if name in f.type.values]
        if owners:
            parts.append(f"**{name}**: a value of {', '.join(owners)}")
    return "\n\n---\n\n".join(parts) or None


def local_definitions(tree: ast.SourceFile) -> dict[str, ast.DefineDecl | ast.RecordsDecl]:
    return {d.name: d for d in tree.declarations if isinstance(d, ast.DefineDecl | ast.RecordsDecl)}


# ------------------------------------------------------------------ completion
_WHERE = re.compile(r"\b([A-Za-z_]\w*)\s+where\b(?:.*\b(?:and|with)\s+|\s+)\w*$")
_IS = re.compile(r"((?:request\.)?[A-Za-z_]\w*)\s+(?:is|covers)\s+(?:not\s+)?\w*$")
_IN = re.compile(r"((?:request\.)?[A-Za-z_]\w*)\s+in\s*\{[^}]*$")
_KIND_BEFORE = re.compile(r"\b([A-Za-z_]\w*)\s+where\b")
_ORDERED = re.compile(r"\b[a-z_]\w*\s+(?:after|before)\s+\w*$")  # `date after SET`


def _values(vocabulary: Vocabulary, name: str, prefix: str) -> list[str]:
    if name.startswith("request."):
        facts: list[FactDef | FieldDef] = [
            f for f in vocabulary.request_fields if f.name == name[len("request.") :]
        ]
    else:
        facts = [f for f in vocabulary.findings if f.name == name]
        kind = _KIND_BEFORE.findall(prefix)
        kinds = [k for k in vocabulary.records if not kind or k.name == kind[-1]]
        facts += [f for k in kinds for f in k.fields if f.name == name]
    values: list[str] = []
    for fact in facts:
        values += [v for v in fact.type.values if v not in values]
        if fact.type.kind == "bool":
            values += [v for v in ("true", "false") if v not in values]
    return values


def completions(state: DocumentState, prefix: str) -> list[types.CompletionItem]:
    """What may be written at the end of `prefix` (the line up to the cursor)."""
    vocabulary = state.vocabulary
    Kind = types.CompletionItemKind
    if vocabulary is not None:
        if prefix.endswith("request.") or re.search(r"request\.\w+$", prefix):
            return [
                types.CompletionItem(f.name, kind=Kind.Field, detail=f.means)
                for f in vocabulary.request_fields
            ]
        for pattern in (_IN, _IS):
            match = pattern.search(prefix)
            if match:
                values = _values(vocabulary, match.group(1), prefix)
                if values:
                    return [types.CompletionItem(v, kind=Kind.EnumMember) for v in values]
        outside_text = prefix.count('"') % 2 == 0  # not inside a label's quotes
        if outside_text and _ORDERED.search(prefix) and state.tree is not None:
            return [
                types.CompletionItem(d.name, kind=Kind.Class, detail=d.label)
                for d in local_definitions(state.tree).values()
                if isinstance(d, ast.RecordsDecl)
            ]
        match = _WHERE.search(prefix)
        if match:
            kind_name = match.group(1)
            definitions = local_definitions(state.tree) if state.tree else {}
            for kind in vocabulary.records:
                if kind.name == kind_name or (
                    kind_name in definitions and kind.name in _kinds_of(definitions[kind_name])
                ):
                    return [
                        types.CompletionItem(f.name, kind=Kind.Field, detail=f.means)
                        for f in kind.fields
                    ]
    items = [types.CompletionItem(k, kind=Kind.Keyword) for k in sorted(keywords())]
    if vocabulary is not None:
        items += [
            types.CompletionItem(f.name, kind=Kind.Variable, detail=f.means)
            for f in vocabulary.findings
        ]
        items += [
            types.CompletionItem(f"request.{f.name}", kind=Kind.Field, detail=f.means)
            for f in vocabulary.request_fields
        ]
        items += [
            types.CompletionItem(k.name, kind=Kind.Class, detail=k.means)
            for k in vocabulary.records
        ]
    if state.tree is not None:
        items += [
            types.CompletionItem(name, kind=Kind.Reference, detail=d.label)
            for name, d in local_definitions(state.tree).items()
        ]
    return items


def _kinds_of(decl: ast.DefineDecl | ast.RecordsDecl) -> set[str]:
    if not isinstance(decl, ast.RecordsDecl):
        return set()
    return {p.kind if isinstance(p, ast.RecordFilter) else p.name for p in decl.records.parts}


# ------------------------------------------------------------------ the server
class PolicyLanguageServer(LanguageServer):
    """Documents are checked in a worker thread (the solver's lint of a long policy takes
    seconds), so the server answers hover, definition and completion meanwhile from the last
    analysis; a text an edit has replaced is never analyzed, and its findings never shown."""

    def __init__(self) -> None:
        super().__init__("sijfasp", "0.1.0")
        self.documents: dict[str, DocumentState] = {}
        self.versions: dict[str, int] = {}  # per document, counts the texts it was given
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sijfasp-check")

    def state(self, uri: str) -> DocumentState:
        if uri not in self.documents:
            self.documents[uri] = DocumentState(Path(to_fs_path(uri) or uri))
        return self.documents[uri]

    async def check(self, uri: str, pause: float = 0.0) -> None:
        """Analyze the document's current text in the worker and publish what it finds, unless
        another text has arrived meanwhile (after `pause` seconds, or during the analysis)."""
        version = self.versions[uri] = self.versions.get(uri, 0) + 1
        text = self.workspace.get_text_document(uri).source
        if pause:
            await asyncio.sleep(pause)
            if self.versions.get(uri) != version:
                return  # typed on: the newer text is checked instead
        fresh = dataclasses.replace(self.state(uri))  # the old state answers meanwhile

        def work() -> bool:
            if self.versions.get(uri) != version:
                return False  # replaced while it waited for the worker
            analyze(fresh, text)
            return True

        done = await asyncio.get_running_loop().run_in_executor(self.worker, work)
        if not done or self.versions.get(uri) != version or uri not in self.documents:
            return
        self.documents[uri] = fresh
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=fresh.diagnostics)
        )


server = PolicyLanguageServer()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: PolicyLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    await ls.check(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: PolicyLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    await ls.check(params.text_document.uri, DEBOUNCE_SECONDS)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: PolicyLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    await ls.check(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: PolicyLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.documents.pop(params.text_document.uri, None)
    ls.versions.pop(params.text_document.uri, None)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: PolicyLanguageServer, params: types.HoverParams) -> types.Hover | None:
    uri = params.text_document.uri
    state = ls.state(uri)
    found = word_at(ls.workspace.get_text_document(uri).source, params.position)
    if found is None or state.vocabulary is None:
        return None
    text = hover_text(state.vocabulary, *found)
    if text is None:
        return None
    return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, text))


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def definition(ls: PolicyLanguageServer, params: types.DefinitionParams) -> list[types.Location]:
    uri = params.text_document.uri
    state = ls.state(uri)
    found = word_at(ls.workspace.get_text_document(uri).source, params.position)
    if found is None:
        return []
    name, request = found
    if not request and state.tree is not None:
        local = local_definitions(state.tree).get(name)
        if local is not None:
            return [types.Location(uri, to_range(local.span))]
    if state.vocabulary is None or state.vocabulary_path is None:
        return []
    target = from_fs_path(str(state.vocabulary_path)) or uri
    return [
        types.Location(target, to_range(item.span))
        for _, item in vocabulary_items(state.vocabulary, name, request)
    ]


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=[".", " ", "{"]),
)
def completion(ls: PolicyLanguageServer, params: types.CompletionParams) -> types.CompletionList:
    uri = params.text_document.uri
    lines = ls.workspace.get_text_document(uri).source.splitlines()
    line = lines[params.position.line] if params.position.line < len(lines) else ""
    items = completions(ls.state(uri), line[: params.position.character])
    return types.CompletionList(is_incomplete=False, items=items)


def serve() -> None:
    server.start_io()
