"""scripts/refresh_docs.py: which example blocks it re-runs, and how it keeps the docs' cuts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "refresh_docs.py"
_spec = importlib.util.spec_from_file_location("refresh_docs", SCRIPT)
assert _spec is not None and _spec.loader is not None
refresh_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(refresh_docs)


def test_only_sijfasp_commands_on_files_the_repository_has_are_refreshed():
    assert refresh_docs._refreshable(["$ sijfasp check examples/cases/vas_4.yaml", "old"])
    assert not refresh_docs._refreshable(["$ sijfasp check bad_case.yaml", "old"])
    assert not refresh_docs._refreshable(["$ printf x > a.yaml", "$ sijfasp check a.yaml"])
    assert not refresh_docs._refreshable(["$ sijfasp compile --check", "$ echo $?", "1"])
    assert not refresh_docs._refreshable(["plain text"])


def test_cuts_keep_the_head_and_restart_each_part_at_its_first_line():
    fresh = ["a", "b", "c", "d", "e", "f", "g"]
    assert refresh_docs._trimmed_like(fresh, ["a", "old"]) == fresh
    assert refresh_docs._trimmed_like(fresh, ["a", "x", "..."]) == ["a", "b", "..."]
    assert refresh_docs._trimmed_like(fresh, ["a", "...", "e", "old"]) == ["a", "...", "e", "f"]
    # A part whose first line is gone is kept as written, for a person to look at.
    assert refresh_docs._trimmed_like(fresh, ["a", "...", "zz"]) == ["a", "...", "zz"]
