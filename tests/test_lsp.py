"""`sijfasp lsp` over the Language Server Protocol: a real server process driven by pygls's
client, as an editor drives it."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

pytest.importorskip("pygls")

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "policies_asp" / "aim_sijf_2022.sijp"
VOCABULARY = ROOT / "policies_asp" / "vocabulary.sijv"
TEXT = BUNDLED.read_text(encoding="utf-8")


class Session:
    """A started server and the diagnostics it has published, by document."""

    def __init__(self, client: LanguageClient):
        self.client = client
        self.published: dict[str, list[types.Diagnostic]] = {}
        self.arrived = asyncio.Event()

    async def open(self, path: Path, text: str) -> list[types.Diagnostic]:
        uri = from_fs_path(str(path))
        assert uri is not None
        self.arrived.clear()
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id="sijfasp", version=1, text=text)
            )
        )
        await asyncio.wait_for(self.arrived.wait(), 20)
        return list(self.published[uri])

    async def change(self, path: Path, version: int, text: str) -> set[str]:
        """The codes of the diagnostics published for the document's new text."""
        uri = from_fs_path(str(path))
        assert uri is not None
        self.arrived.clear()
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [types.TextDocumentContentChangeWholeDocument(text)],
            )
        )
        await asyncio.wait_for(self.arrived.wait(), 20)
        return {str(d.code) for d in self.published[uri]}


def run_session(scenario: Callable[[Session], Awaitable[None]]) -> None:
    async def main() -> None:
        client = LanguageClient("sijfasp-tests", "1")
        session = Session(client)

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: types.PublishDiagnosticsParams) -> None:
            session.published[params.uri] = params.diagnostics
            session.arrived.set()

        await client.start_io(sys.executable, "-m", "sijfasp", "lsp")
        try:
            await client.initialize_async(
                types.InitializeParams(
                    process_id=None,
                    root_uri=from_fs_path(str(ROOT)),
                    capabilities=types.ClientCapabilities(),
                )
            )
            client.initialized(types.InitializedParams())
            await scenario(session)
        finally:
            # Also after a failed check, so that the server process ends.
            await asyncio.wait_for(client.shutdown_async(None), 20)
            client.exit(None)
            await asyncio.wait_for(client.stop(), 20)

    asyncio.run(main())


def _position(text: str, needle: str, offset: int = 0) -> types.Position:
    """The 0-based position of the first `needle` in text, `offset` characters into it."""
    before = text[: text.index(needle) + offset]
    return types.Position(before.count("\n"), len(before) - (before.rfind("\n") + 1))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder holding the shared vocabulary, for policies that import it."""
    shutil.copy(VOCABULARY, tmp_path / VOCABULARY.name)
    return tmp_path


@pytest.mark.slow  # an integration run of a second or so; the full tier runs it
def test_diagnostics_as_an_editor_opens_documents(folder: Path):
    contradictory = TEXT.replace("vas_score >= 5", "all of { vas_score >= 8  vas_score <= 3 }")
    assert contradictory != TEXT
    broken = TEXT.replace("criteria for", "criterias for", 1)

    async def scenario(session: Session) -> None:
        assert await session.open(BUNDLED, TEXT) == []
        assert await session.open(VOCABULARY, VOCABULARY.read_text(encoding="utf-8")) == []

        found = await session.open(folder / "contradictory.sijp", contradictory)
        line = contradictory[: contradictory.index("vas_score >= 8")].count("\n")
        # The label still says VAS 5+ over thresholds of 8 and 3: lint warns of that too.
        assert sorted((d.code, d.range.start.line) for d in found) == [
            ("contradictory", line),
            ("label-number", line),
        ]
        error = next(d for d in found if d.code == "contradictory")
        assert error.severity == types.DiagnosticSeverity.Error
        assert error.source == "sijfasp"

        found = await session.open(folder / "broken.sijp", broken)
        line = broken[: broken.index("criterias for")].count("\n")
        assert [(d.code, d.range.start.line, d.range.start.character) for d in found] == [
            ("syntax", line, 0)
        ]
        assert "did you mean 'criteria'" in found[0].message
        # Opened with a syntax error, it still knows its vocabulary.
        hover = await session.client.text_document_hover_async(
            types.HoverParams(
                types.TextDocumentIdentifier(from_fs_path(str(folder / "broken.sijp")) or ""),
                _position(broken, "vas_score >= 5", 2),
            )
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        assert "Pain intensity on a 0-10 scale" in hover.contents.value

        # An edit is checked again: the fixed text is clean, a renamed finding is unknown.
        for version, text, codes in (
            (2, TEXT, set()),
            (3, TEXT.replace("vas_score", "vas"), {"unknown-name"}),
        ):
            assert await session.change(folder / "broken.sijp", version, text) == codes

    run_session(scenario)


@pytest.mark.slow  # an integration run of a second or so; the full tier runs it
def test_hover_definition_and_completion():
    uri = from_fs_path(str(BUNDLED))
    assert uri is not None
    document = types.TextDocumentIdentifier(uri)
    vocabulary_text = VOCABULARY.read_text(encoding="utf-8")

    async def scenario(session: Session) -> None:
        await session.open(BUNDLED, TEXT)
        client = session.client

        hover = await client.text_document_hover_async(
            types.HoverParams(document, _position(TEXT, "vas_score >= 5", 2))
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        assert "Pain intensity on a 0-10 scale" in hover.contents.value
        assert "number 0..10" in hover.contents.value
        assert "points" in hover.contents.value

        # A record-set reference jumps to its `records` line.
        use = "at least 1 supervised_home_program_course"
        found = await client.text_document_definition_async(
            types.DefinitionParams(document, _position(TEXT, use, len(use) - 3))
        )
        assert isinstance(found, list) and len(found) == 1
        assert found[0].uri == uri
        records_line = TEXT[: TEXT.index("records supervised_home_program_course")].count("\n")
        assert found[0].range.start.line == records_line

        # A finding jumps to its declaration in the vocabulary file.
        found = await client.text_document_definition_async(
            types.DefinitionParams(document, _position(TEXT, "vas_score >= 5", 1))
        )
        assert isinstance(found, list) and len(found) == 1
        assert found[0].uri == from_fs_path(str(VOCABULARY))
        declared = vocabulary_text[: vocabulary_text.index("finding vas_score")].count("\n")
        assert found[0].range.start.line == declared

        # After `where `, the fields of the record kind.
        where = "therapy where "
        completed = await client.text_document_completion_async(
            types.CompletionParams(document, _position(TEXT, where, len(where)))
        )
        assert isinstance(completed, types.CompletionList)
        labels = {item.label for item in completed.items}
        assert {"kind", "start", "end", "patient_specific"} <= labels
        assert "vas_score" not in labels

        # After `is `, the values the field allows.
        value = "therapy where kind is "
        completed = await client.text_document_completion_async(
            types.CompletionParams(document, _position(TEXT, value, len(value)))
        )
        assert isinstance(completed, types.CompletionList)
        labels = {item.label for item in completed.items}
        assert {"physical_therapy", "home_exercise_program"} <= labels
        assert "kind" not in labels

    run_session(scenario)


@pytest.mark.slow  # an integration run of half a second or more; the full tier runs it
def test_without_pygls_the_command_names_the_extra(tmp_path: Path):
    # A module named pygls that cannot be imported stands for the missing extra.
    (tmp_path / "pygls").mkdir()
    (tmp_path / "pygls" / "__init__.py").write_text(
        "raise ModuleNotFoundError(name='pygls')\n", encoding="utf-8"
    )
    run = subprocess.run(
        [sys.executable, "-m", "sijfasp", "lsp"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": ""},
        timeout=60,
    )
    assert run.returncode == 2
    assert "install the lsp extra: pip install 'sijfasp[lsp]'" in run.stderr
    assert "Traceback" not in run.stderr


def test_no_other_command_loads_pygls():
    code = (
        "import sys, sijfasp.cli.main, sijfasp.api; "
        "print(sorted(m for m in ('pygls', 'lsprotocol') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_completion_after_an_order_word_offers_the_record_sets():
    """`date after ` is followed by a record set's name: the policy's own sets, and only them."""
    from sijfasp.authoring.lsp import DocumentState, analyze, completions

    state = DocumentState(BUNDLED)
    analyze(state, TEXT)
    offered = {c.label for c in completions(state, "  injection where date after ")}
    assert "supervised_home_program_course" in offered
    assert "diagnostic_block_75" in offered
    assert "vas_score" not in offered and "all" not in offered  # no finding, no keyword
    assert all(c.kind == types.CompletionItemKind.Class for c in completions(state, "x after "))
