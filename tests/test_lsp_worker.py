"""`sijfasp lsp` answers while a long policy is linted: the check runs in a worker thread, and an
edit that a newer one replaces is never shown (issue 25)."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pygls")

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "policies_asp" / "aim_sijf_2022.sijp"
BENCHMARK = ROOT / "benchmarks" / "large_policy.py"


def _long_policy(folder: Path, size: int) -> Path:
    spec = importlib.util.spec_from_file_location("large_policy", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    policy, _ = module.write(size, folder)
    return policy


def _open(client: LanguageClient, path: Path, text: str, version: int = 1) -> str:
    uri = from_fs_path(str(path))
    assert uri is not None
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="sijfasp", version=version, text=text)
        )
    )
    return uri


@pytest.mark.slow  # a server process linting a 600-criterion policy: seconds
def test_the_server_answers_while_a_long_policy_is_linted(tmp_path: Path):
    policy = _long_policy(tmp_path, 600)
    text = policy.read_text(encoding="utf-8")
    shutil.copy(BUNDLED, tmp_path / BUNDLED.name)

    async def main() -> None:
        client = LanguageClient("sijfasp-tests", "1")
        published: dict[str, list[types.Diagnostic]] = {}
        when: dict[str, float] = {}
        arrived = asyncio.Event()

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def keep(params: types.PublishDiagnosticsParams) -> None:
            published.setdefault(params.uri, []).extend(params.diagnostics)
            when.setdefault(params.uri, time.monotonic())
            arrived.set()

        await client.start_io(sys.executable, "-m", "sijfasp", "lsp")
        try:
            await client.initialize_async(
                types.InitializeParams(
                    process_id=None,
                    root_uri=from_fs_path(str(tmp_path)),
                    capabilities=types.ClientCapabilities(),
                )
            )
            client.initialized(types.InitializedParams())
            bundled = _open(client, tmp_path / BUNDLED.name, BUNDLED.read_text(encoding="utf-8"))
            await asyncio.wait_for(arrived.wait(), 60)
            assert published == {bundled: []}

            # The long policy: its lint takes seconds; a hover on the other document is
            # answered meanwhile, before the long one's findings are published.
            long_uri = _open(client, policy, text)
            await asyncio.sleep(0.5)  # the worker has started on it
            asked = time.monotonic()
            hover = await asyncio.wait_for(
                client.text_document_hover_async(
                    types.HoverParams(
                        types.TextDocumentIdentifier(bundled), _position(BUNDLED, "vas_score")
                    )
                ),
                20,
            )
            answered = time.monotonic()
            assert hover is not None and "0-10" in str(hover.contents)
            assert long_uri not in published, "the hover waited for the lint"

            # Two quick edits: only the last text is checked and shown.
            for version, edited in ((2, text + "\n# first edit\n"), (3, text)):
                client.text_document_did_change(
                    types.DidChangeTextDocumentParams(
                        types.VersionedTextDocumentIdentifier(uri=long_uri, version=version),
                        [types.TextDocumentContentChangeWholeDocument(edited)],
                    )
                )
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and long_uri not in published:
                arrived.clear()
                await asyncio.wait_for(arrived.wait(), 300)
            assert when[long_uri] > answered >= asked
            codes = {str(d.code) for d in published[long_uri]}
            assert "redundant-criterion" in codes and "syntax" not in codes
            # The opened text's analysis was replaced by the edits' before it was shown: the
            # findings arrive once, not once per text.
            await asyncio.sleep(1)
            shown = published[long_uri]
            assert len(shown) == len({(d.range.start.line, d.code) for d in shown})
        finally:
            await asyncio.wait_for(client.shutdown_async(None), 300)
            client.exit(None)
            await asyncio.wait_for(client.stop(), 20)

    asyncio.run(main())


def _position(path: Path, needle: str) -> types.Position:
    text = path.read_text(encoding="utf-8")
    before = text[: text.index(needle) + 2]
    return types.Position(before.count("\n"), len(before) - (before.rfind("\n") + 1))
