"""The hostile case corpus (tests/hostile/cases/): each file gives the exit status and the one
message listed for it in tests/hostile/expected_cases.yaml, never a traceback or exit 3."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
import yaml

from sijfasp.cli.main import main

HOSTILE = Path(__file__).resolve().parent / "hostile"
CASES = HOSTILE / "cases"
EXPECTED = yaml.safe_load((HOSTILE / "expected_cases.yaml").read_text(encoding="utf-8"))


def test_every_corpus_file_has_an_expectation():
    assert sorted(p.name for p in CASES.iterdir()) == sorted(EXPECTED)


@pytest.mark.slow  # a few seconds; the full tier runs it
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_case(name):
    expected = EXPECTED[name]
    path = CASES / name
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", str(path), "--format", "json"])
    stderr = err.getvalue()
    assert code == expected["exit"], stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    # Nothing of the case reaches the terminal raw: no control or bidirectional characters.
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", stderr)
    if expected["exit"] != 2:
        assert stderr == ""
        return
    assert out.getvalue() == ""
    errors = [line for line in stderr.splitlines() if not line.startswith(" ")]
    assert len(errors) == 1 or expected.get("more"), stderr
    where = expected.get("where")
    prefix = f"{path}:{where}: " if where and where[0].isdigit() else f"{path}: "
    if where and not where[0].isdigit():
        prefix += f"{where}: "
    assert errors[0].startswith(prefix + "error[case]: "), errors[0]
    assert expected["says"] in errors[0], errors[0]
