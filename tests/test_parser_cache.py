"""The built parser is cached between runs, and a bad or unusable cache only costs a rebuild."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import support

POLICY = support.REPO_ROOT / "policies_asp" / "aim_sijf_2022.sijp"
# Parse a bundled policy in a fresh process and print what it found.
SCRIPT = (
    "import sys, pathlib; from sijfasp.language.parser import parse; from sijfasp.core.source import SourceText; "
    "path = pathlib.Path(sys.argv[1]); "
    "tree = parse(SourceText(str(path), path.read_text(encoding='utf-8'))); print(repr(tree)[:2000])"
)


def _parse_in_process(cache_home: Path, **env: str) -> str:
    environment = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    environment.pop("SIJFASP_NO_CACHE", None)
    environment.update(env)
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(POLICY)],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    return run.stdout.strip()


def _cache_files(cache_home: Path) -> list[Path]:
    return sorted((cache_home / "sijfasp").glob("grammar-*.cache"))


@pytest.mark.slow  # an integration run of half a second or more; the full tier runs it
def test_the_parser_is_cached_and_reused(tmp_path):
    first = _parse_in_process(tmp_path)
    (cached,) = _cache_files(tmp_path)
    written = cached.stat().st_mtime_ns
    assert _parse_in_process(tmp_path) == first
    assert cached.stat().st_mtime_ns == written  # loaded, not rebuilt


@pytest.mark.slow
def test_a_corrupt_cache_is_rebuilt(tmp_path):
    expected = _parse_in_process(tmp_path)
    (cached,) = _cache_files(tmp_path)
    cached.write_bytes(b"not a parser\n")
    assert _parse_in_process(tmp_path) == expected
    assert cached.read_bytes() != b"not a parser\n"


@pytest.mark.slow
def test_no_cache_where_none_can_be_written(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory would be")
    assert _parse_in_process(blocked) == _parse_in_process(tmp_path / "ok")
    assert _parse_in_process(tmp_path / "off", SIJFASP_NO_CACHE="1")
    assert not (tmp_path / "off").exists()
