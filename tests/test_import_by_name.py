"""An outside policy imports the bundled vocabulary by its name (`import vocabulary
"sij_fusion"`): no copy of the file, no `../` path; fmt keeps the form."""

from __future__ import annotations

import shutil

import pytest
from support import REPO, run_cli

from sijfasp.core.source import SourceText
from sijfasp.language.formatter import format_source
from sijfasp.language.parser import parse_text
from sijfasp.policies.loading import bundled_vocabularies, load_policy

EXAMPLE = REPO / "examples" / "third_policy"
POLICY = "examplepayer_sijf_2026.sijp"


def _outside(tmp_path):
    """The example third policy in a folder of its own, its shared vocabulary imported by name."""
    folder = tmp_path / "payer"
    folder.mkdir()
    text = (EXAMPLE / POLICY).read_text(encoding="utf-8")
    assert 'import "vocabulary.sijv"' in text
    (folder / POLICY).write_text(
        text.replace('import "vocabulary.sijv"', 'import vocabulary "sij_fusion"'), "utf-8"
    )
    shutil.copy(EXAMPLE / "examplepayer_extra.sijv", folder)
    return folder


def test_the_bundled_vocabulary_is_known_by_its_name():
    assert bundled_vocabularies()["sij_fusion"].name == "vocabulary.sijv"


@pytest.mark.slow  # lint with its proofs through the command line
def test_an_outside_policy_imports_the_bundled_vocabulary_by_name(tmp_path):
    folder = _outside(tmp_path)
    assert not (folder / "vocabulary.sijv").exists()
    loaded = load_policy(folder / POLICY)
    assert loaded.policy.vocabulary.path.endswith("vocabulary.sijv")
    # Its extension is merged as with a path import: the extension's items are known.
    assert len(loaded.sources) == 3
    done = run_cli("lint", str(folder / POLICY), cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_fmt_keeps_an_import_by_name():
    text = 'import vocabulary "sij_fusion"\n'
    tree = parse_text(text)
    (decl,) = tree.declarations
    assert decl.by_name and decl.path == "sij_fusion"
    assert format_source(SourceText("x.sijp", text)).startswith('import vocabulary "sij_fusion"\n')
